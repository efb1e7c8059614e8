from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "churn.csv"


@pytest.fixture(scope="session")
def full_df() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory, full_df) -> Path:
    """The first 400 rows: enough for both classes in train and test."""
    path = tmp_path_factory.mktemp("data") / "small.csv"
    full_df.head(400).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, small_csv) -> Path:
    from churn import train

    out = tmp_path_factory.mktemp("model")
    model, metrics = out / "model.pkl", out / "metrics.json"
    rc = train.main(["--data", str(small_csv), "--out", str(model), "--metrics", str(metrics)])
    assert rc == 0
    return model
