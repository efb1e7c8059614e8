"""HTTP service for the churn model.

    MODEL_PATH=model.pkl /usr/bin/python3 -m uvicorn --app-dir service app:app --port 8000

GET  /health   200 {"status": "ok", ...} once the model is loaded, else 503
POST /predict  {"customers": [{tenure_months, monthly_charges, ...}, ...]}
               -> {"model_sha256": ..., "predictions": [{"churn_probability", "churned"}]}

The model file is the dict train.py writes; it holds scikit-learn objects
only, so this service needs scikit-learn and pandas but not the churn package.
"""

import hashlib
import os
import pickle
from typing import List, Literal, Optional

import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field


class Customer(BaseModel):
    tenure_months: int = Field(..., ge=0, le=1200)
    monthly_charges: float = Field(..., ge=0)
    total_charges: Optional[float] = Field(None, ge=0)
    contract: Literal["month-to-month", "one-year", "two-year"]
    internet_service: Literal["dsl", "fiber", "none"]
    payment_method: Literal["electronic-check", "mailed-check", "bank-transfer", "credit-card"]
    paperless_billing: int = Field(..., ge=0, le=1)
    senior_citizen: int = Field(..., ge=0, le=1)
    support_calls: int = Field(..., ge=0)


class PredictRequest(BaseModel):
    customers: List[Customer] = Field(..., min_items=1, max_items=1000)


class Prediction(BaseModel):
    churn_probability: float
    churned: bool


class PredictResponse(BaseModel):
    model_name: str
    model_sha256: str
    predictions: List[Prediction]


def _as_dict(m: BaseModel) -> dict:
    return m.model_dump() if hasattr(m, "model_dump") else m.dict()


class LoadedModel:
    def __init__(self, path: str):
        with open(path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        bundle = pickle.loads(raw)
        self.pipeline = bundle["pipeline"]
        self.features = list(bundle["features"])
        self.threshold = float(bundle.get("threshold", 0.5))
        self.name = bundle.get("model_name", "churn")
        self.sklearn_version = bundle.get("sklearn_version", "")


def create_app(model_path: Optional[str] = None) -> FastAPI:
    """Build the app; the model is loaded now, and a load error is reported by /health."""
    path = model_path or os.environ.get("MODEL_PATH", "model.pkl")
    app = FastAPI(title="churn model", version="0.1.0")
    model: Optional[LoadedModel] = None
    error = ""
    try:
        model = LoadedModel(path)
    except Exception as e:  # any failure to load makes the service unhealthy, not dead
        error = f"cannot load model from {path}: {e}"

    @app.get("/health")
    def health():
        if model is None:
            raise HTTPException(status_code=503, detail=error)
        return {
            "status": "ok",
            "model_name": model.name,
            "model_sha256": model.sha256,
            "sklearn_version": model.sklearn_version,
        }

    @app.post("/predict", response_model=PredictResponse)
    def predict(req: PredictRequest):
        if model is None:
            raise HTTPException(status_code=503, detail=error)
        df = pd.DataFrame([_as_dict(c) for c in req.customers])
        missing_total = df["total_charges"].isna()
        df.loc[missing_total, "total_charges"] = (
            df.loc[missing_total, "tenure_months"] * df.loc[missing_total, "monthly_charges"]
        )
        proba = model.pipeline.predict_proba(df[model.features])[:, 1]
        return PredictResponse(
            model_name=model.name,
            model_sha256=model.sha256,
            predictions=[
                Prediction(churn_probability=round(float(p), 6), churned=bool(p >= model.threshold))
                for p in proba
            ],
        )

    return app


app = create_app()
