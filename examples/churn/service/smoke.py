"""Smoke test of the real service: start uvicorn on a free loopback port,
call /health and /predict, stop it.

    MODEL_PATH=model.pkl /usr/bin/python3 service/smoke.py

Exit 0 when both calls answer as expected, 1 otherwise. The port is picked
free just before uvicorn binds it, so another process can take it in between;
the pipeline's retry covers that.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SAMPLE = {
    "tenure_months": 3,
    "monthly_charges": 95.5,
    "total_charges": 286.5,
    "contract": "month-to-month",
    "internet_service": "fiber",
    "payment_method": "electronic-check",
    "paperless_billing": 1,
    "senior_citizen": 0,
    "support_calls": 4,
}
LOYAL = dict(SAMPLE, tenure_months=60, contract="two-year", support_calls=0,
             internet_service="dsl", payment_method="credit-card", total_charges=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, body: dict | None = None, timeout: float = 5.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def main() -> int:
    model = os.path.abspath(os.environ.get("MODEL_PATH", "model.pkl"))
    if not os.path.exists(model):
        print(f"smoke: no model at {model}", file=sys.stderr)
        return 1
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
           "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=dict(os.environ, MODEL_PATH=model))
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                print(f"smoke: uvicorn exited with {proc.returncode}", file=sys.stderr)
                return 1
            try:
                status, health = call(base + "/health", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                if time.monotonic() > deadline:
                    print("smoke: service did not answer within 20 s", file=sys.stderr)
                    return 1
                time.sleep(0.1)
        print(f"smoke: GET /health -> {status} {health}")
        if health.get("status") != "ok":
            return 1
        status, out = call(base + "/predict", {"customers": [SAMPLE, LOYAL]})
        print(f"smoke: POST /predict -> {status} {out['predictions']}")
        risky, loyal = (p["churn_probability"] for p in out["predictions"])
        if not risky > loyal:
            print("smoke: the risky customer should score above the loyal one", file=sys.stderr)
            return 1
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
