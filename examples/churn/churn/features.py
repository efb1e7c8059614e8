"""Loading and preprocessing of the churn table.

The model pipeline built here contains scikit-learn objects only, so a pickled
model can be loaded by anything that has scikit-learn (the service does not
need this package).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ID_COLUMN = "customer_id"
LABEL = "churned"
NUMERIC = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "paperless_billing",
    "senior_citizen",
]
CATEGORICAL = ["contract", "internet_service", "payment_method"]
FEATURES = NUMERIC + CATEGORICAL


class SchemaError(ValueError):
    """The table does not have the columns or values the model expects."""


def validate(df: pd.DataFrame, require_label: bool = True) -> None:
    """Raise SchemaError if columns are missing or values are unusable."""
    needed = FEATURES + ([LABEL] if require_label else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SchemaError(f"missing columns: {', '.join(missing)}")
    if df.empty:
        raise SchemaError("no rows")
    for col in NUMERIC:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise SchemaError(f"column {col} is not numeric")
    if require_label and not set(df[LABEL].unique()) <= {0, 1}:
        raise SchemaError(f"column {LABEL} must hold only 0 and 1")


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with normalised categories and filled gaps.

    - category values are stripped and lower-cased ("Month-to-Month " and
      "month-to-month" are the same contract);
    - a missing total_charges (new customers in real exports) becomes
      tenure_months * monthly_charges.
    """
    out = df.copy()
    for col in CATEGORICAL:
        out[col] = out[col].astype(str).str.strip().str.lower()
    estimate = out["tenure_months"] * out["monthly_charges"]
    out["total_charges"] = out["total_charges"].fillna(estimate)
    return out


def load(path: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Read the CSV at path and return (features, label)."""
    df = pd.read_csv(path)
    validate(df)
    df = clean(df)
    return df[FEATURES], df[LABEL].astype(int)


def split(X: pd.DataFrame, y: pd.Series, test_size: float = 0.25, seed: int = 42):
    """Stratified train/test split; the same seed always gives the same split."""
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)


def preprocessor() -> ColumnTransformer:
    """Scale numeric columns, one-hot encode categories (unknown ones ignored)."""
    return ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
