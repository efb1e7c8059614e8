"""Train the churn model and write the model and its metrics.

    /usr/bin/python3 -m churn.train --data data/churn.csv --out model.pkl --metrics metrics.json

model.pkl holds a dict: {"pipeline": sklearn Pipeline, "features": [...],
"threshold": float, "sklearn_version": str, "model_name": str}.
metrics.json is a flat JSON object of numbers measured on the held-out split.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import sklearn
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline

from churn import features

SEED = 42


def build_model(kind: str = "logreg") -> Pipeline:
    if kind == "logreg":
        clf = LogisticRegression(max_iter=1000, C=1.0, random_state=SEED)
    elif kind == "gbm":
        clf = GradientBoostingClassifier(n_estimators=150, max_depth=3, random_state=SEED)
    else:
        raise ValueError(f"unknown model kind {kind!r} (use logreg or gbm)")
    return Pipeline([("prep", features.preprocessor()), ("clf", clf)])


def score(pipeline: Pipeline, X, y, threshold: float = 0.5) -> dict[str, float]:
    proba = pipeline.predict_proba(X)[:, 1]
    pred = (proba >= threshold).astype(int)
    return {
        "f1": round(float(f1_score(y, pred)), 6),
        "precision": round(float(precision_score(y, pred, zero_division=0)), 6),
        "recall": round(float(recall_score(y, pred)), 6),
        "accuracy": round(float(accuracy_score(y, pred)), 6),
        "roc_auc": round(float(roc_auc_score(y, proba)), 6),
    }


def train(data: str | Path, kind: str = "logreg", test_size: float = 0.25, seed: int = SEED):
    """Return (bundle, metrics) for the CSV at data."""
    X, y = features.load(data)
    X_train, X_test, y_train, y_test = features.split(X, y, test_size=test_size, seed=seed)
    pipeline = build_model(kind)
    pipeline.fit(X_train, y_train)
    metrics = score(pipeline, X_test, y_test)
    metrics["n_train"] = int(len(X_train))
    metrics["n_test"] = int(len(X_test))
    bundle = {
        "pipeline": pipeline,
        "features": list(features.FEATURES),
        "threshold": 0.5,
        "sklearn_version": sklearn.__version__,
        "model_name": "churn",
        "kind": kind,
    }
    return bundle, metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the churn model.")
    ap.add_argument("--data", default="data/churn.csv", help="training CSV")
    ap.add_argument("--out", default="model.pkl", help="where to write the pickled model")
    ap.add_argument("--metrics", default="metrics.json", help="where to write metrics (JSON)")
    ap.add_argument("--model", choices=["logreg", "gbm"], default="logreg")
    ap.add_argument("--test-size", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    started = time.monotonic()
    try:
        bundle, metrics = train(args.data, args.model, args.test_size, args.seed)
    except (OSError, features.SchemaError) as e:
        print(f"train: {args.data}: {e}", file=sys.stderr)
        return 2
    for path in (args.out, args.metrics):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as f:
        pickle.dump(bundle, f, protocol=4)
    with open(args.metrics, "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    took = time.monotonic() - started
    summary = " ".join(f"{k}={v}" for k, v in sorted(metrics.items()))
    print(f"train: {args.model} on {args.data} in {took:.2f}s: {summary}")
    print(f"train: wrote {args.out} and {args.metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
