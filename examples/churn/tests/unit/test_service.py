"""The HTTP service through FastAPI's TestClient (no network, no uvicorn)."""
import importlib.util
import sys

import pytest

from .conftest import ROOT

pytest.importorskip("fastapi", reason="fastapi is not installed (Debian: python3-fastapi)")
pytest.importorskip("httpx", reason="TestClient needs httpx (Debian: python3-httpx)")
from fastapi.testclient import TestClient  # noqa: E402

CUSTOMER = {
    "tenure_months": 2,
    "monthly_charges": 99.0,
    "contract": "month-to-month",
    "internet_service": "fiber",
    "payment_method": "electronic-check",
    "paperless_billing": 1,
    "senior_citizen": 0,
    "support_calls": 5,
}


def load_service():
    spec = importlib.util.spec_from_file_location("churn_service", ROOT / "service" / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def client(trained_model):
    return TestClient(load_service().create_app(str(trained_model)))


def test_health_reports_the_loaded_model(client, trained_model):
    from churn.evaluate import sha256_of

    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["model_sha256"] == sha256_of(trained_model)


def test_predict_scores_risky_above_loyal(client):
    loyal = dict(CUSTOMER, tenure_months=60, contract="two-year", support_calls=0,
                 internet_service="dsl", payment_method="credit-card", total_charges=3000.0)
    r = client.post("/predict", json={"customers": [CUSTOMER, loyal]})
    assert r.status_code == 200, r.text
    risky, safe = r.json()["predictions"]
    assert 0.0 <= safe["churn_probability"] < risky["churn_probability"] <= 1.0
    assert risky["churned"] is True


def test_predict_rejects_invalid_input(client):
    r = client.post("/predict", json={"customers": [dict(CUSTOMER, contract="weekly")]})
    assert r.status_code == 422
    assert client.post("/predict", json={"customers": []}).status_code == 422


def test_missing_model_is_unhealthy_not_fatal(tmp_path):
    c = TestClient(load_service().create_app(str(tmp_path / "absent.pkl")))
    assert c.get("/health").status_code == 503
    assert c.post("/predict", json={"customers": [CUSTOMER]}).status_code == 503
