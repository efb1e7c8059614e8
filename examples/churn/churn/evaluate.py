"""Evaluate a trained churn model on the held-out split and write a report.

    /usr/bin/python3 -m churn.evaluate --model model.pkl --data data/churn.csv \
        --out reports/evaluation.json [--expect-sha256 HEX] [--min-f1 0.8] \
        [--model-name churn] [--commit abc1234]

The held-out split is re-derived with the same seed and test size as training,
so the numbers match metrics.json for the same model and data. With
--expect-sha256 the model file must have that digest (it proves the stage
evaluates the model the train stage produced). With --min-f1 the exit status
is 1 when f1 is below it. Exit 2 on unusable input.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from pathlib import Path

from churn import features
from churn.train import SEED, score


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evaluate the churn model.")
    ap.add_argument("--model", default="model.pkl")
    ap.add_argument("--data", default="data/churn.csv")
    ap.add_argument("--out", default="reports/evaluation.json")
    ap.add_argument("--expect-sha256", default="", help="required digest of the model file")
    ap.add_argument("--min-f1", type=float, default=None, help="fail (exit 1) below this f1")
    ap.add_argument("--model-name", default="churn")
    ap.add_argument("--commit", default="", help="commit the model was built from (for the report)")
    ap.add_argument("--test-size", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    try:
        digest = sha256_of(args.model)
        if args.expect_sha256 and digest != args.expect_sha256.strip().lower():
            print(
                f"evaluate: {args.model} has sha256 {digest}, expected {args.expect_sha256}",
                file=sys.stderr,
            )
            return 2
        with open(args.model, "rb") as f:
            bundle = pickle.load(f)
        X, y = features.load(args.data)
    except (OSError, pickle.UnpicklingError, features.SchemaError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2

    _, X_test, _, y_test = features.split(X, y, test_size=args.test_size, seed=args.seed)
    metrics = score(bundle["pipeline"], X_test, y_test, bundle.get("threshold", 0.5))
    metrics["n_test"] = int(len(X_test))
    report = {
        "model_name": args.model_name,
        "commit": args.commit,
        "model_sha256": digest,
        "model_kind": bundle.get("kind", ""),
        "sklearn_version": bundle.get("sklearn_version", ""),
        "metrics": metrics,
        "min_f1": args.min_f1,
        "passed": args.min_f1 is None or metrics["f1"] >= args.min_f1,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")

    summary = " ".join(f"{k}={v}" for k, v in sorted(metrics.items()))
    label = f"{args.model_name}@{args.commit}" if args.commit else args.model_name
    print(f"evaluate: {label} sha256={digest[:12]} {summary}")
    if not report["passed"]:
        print(f"evaluate: f1 {metrics['f1']} is below the minimum {args.min_f1}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
