import numpy as np
import pytest

from churn import features

from .conftest import DATA


def test_shipped_dataset_matches_schema(full_df):
    features.validate(full_df)
    assert len(full_df) == 2000
    assert full_df["customer_id"].is_unique
    rate = full_df["churned"].mean()
    assert 0.2 < rate < 0.6, rate


def test_load_returns_features_and_label():
    X, y = features.load(DATA)
    assert list(X.columns) == features.FEATURES
    assert len(X) == len(y) == 2000
    assert set(y.unique()) == {0, 1}
    assert "customer_id" not in X.columns


def test_missing_column_is_a_schema_error(full_df):
    with pytest.raises(features.SchemaError, match="support_calls"):
        features.validate(full_df.drop(columns=["support_calls"]))


def test_label_must_be_binary(full_df):
    bad = full_df.head(10).copy()
    bad.loc[0, "churned"] = 2
    with pytest.raises(features.SchemaError, match="churned"):
        features.validate(bad)


def test_clean_normalises_categories_and_fills_total(full_df):
    df = full_df.head(3).copy()
    df.loc[0, "contract"] = " Month-to-Month "
    df.loc[1, "total_charges"] = np.nan
    out = features.clean(df)
    assert out.loc[0, "contract"] == "month-to-month"
    assert out.loc[1, "total_charges"] == pytest.approx(
        df.loc[1, "tenure_months"] * df.loc[1, "monthly_charges"]
    )
    assert df.loc[0, "contract"] == " Month-to-Month "  # input untouched


def test_split_is_deterministic_and_stratified():
    X, y = features.load(DATA)
    a = features.split(X, y, seed=42)
    b = features.split(X, y, seed=42)
    assert list(a[1].index) == list(b[1].index)
    assert len(a[1]) == 500
    assert abs(a[2].mean() - a[3].mean()) < 0.01


def test_preprocessor_ignores_unknown_categories(full_df):
    X = features.clean(full_df.head(200))[features.FEATURES]
    prep = features.preprocessor().fit(X)
    unseen = X.head(1).copy()
    unseen["payment_method"] = "crypto"
    out = prep.transform(unseen)
    assert out.shape[1] == prep.transform(X.head(1)).shape[1]
    assert not np.isnan(np.asarray(out.todense() if hasattr(out, "todense") else out)).any()
