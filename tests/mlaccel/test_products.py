"""The two data products: deterministic, realistic, learnable, with declared drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import mean_absolute_error, roc_auc_score

from mlaccel import products
from mlaccel.errors import MLAccelInputError

PRODUCTS = products.list_data_products()


@pytest.mark.parametrize("name", PRODUCTS)
def test_same_seed_same_rows_other_seed_other_rows(name: str) -> None:
    a = products.generate(name, 500, seed=3)
    pd.testing.assert_frame_equal(a, products.generate(name, 500, seed=3))
    assert not a.equals(products.generate(name, 500, seed=4))


@pytest.mark.parametrize("name", PRODUCTS)
def test_columns_types_ids_and_missing_values(name: str) -> None:
    product = products.get_data_product(name)
    df = products.generate(name, 5000)
    assert tuple(df.columns) == product.columns
    assert df[product.id_column].is_unique
    assert set(product.column_descriptions) == set(product.columns)
    for column in product.numeric_features:
        assert pd.api.types.is_numeric_dtype(df[column]), column
    assert df.isna().any().sum() >= 2, "realistic data has gaps"
    assert df[product.target].notna().all()


def _fit_and_score(name: str) -> tuple[float, float]:
    product = products.get_data_product(name)
    df = products.generate(name, 6000, seed=11)
    x = pd.get_dummies(df[list(product.features)], dtype=float)
    y = df[product.target]
    split = 4500
    params = {"max_depth": 4, "eta": 0.2, "verbosity": 0}
    if product.problem_type == "regression":
        params["objective"] = "reg:squarederror"
    else:
        params["objective"] = "binary:logistic"
    booster = xgb.train(params, xgb.DMatrix(x[:split], y[:split]), num_boost_round=80)
    pred = booster.predict(xgb.DMatrix(x[split:]))
    if product.problem_type == "regression":
        return mean_absolute_error(y[split:], pred), mean_absolute_error(
            y[split:], np.full(len(pred), y[:split].mean())
        )
    return roc_auc_score(y[split:], pred), 0.5


def test_used_car_prices_are_learnable_but_noisy() -> None:
    model_mae, constant_mae = _fit_and_score("used_cars")
    assert model_mae < 0.5 * constant_mae
    assert model_mae > 0.03 * constant_mae  # not a deterministic formula


def test_credit_defaults_are_learnable_but_noisy() -> None:
    auc, _ = _fit_and_score("credit_risk")
    assert 0.7 < auc < 0.95
    rate = products.generate("credit_risk", 20000)["default"].mean()
    assert 0.05 < rate < 0.35


@pytest.mark.parametrize("name", PRODUCTS)
def test_drifted_batch_differs_in_declared_columns_only(name: str) -> None:
    product = products.get_data_product(name)
    base = products.generate(name, 20000, seed=0)
    batch = products.generate_drifted_batch(name, 20000, seed=5, numeric_shift=1.0)
    drift = batch.attrs["drift"]
    assert drift == products.drifted_columns(name, products.Drift(numeric_shift=1.0))
    for column in drift["shifted"]:
        gap = abs(batch[column].median() - base[column].median()) / base[column].std()
        assert gap > 0.3, column
    column, value = product.drift_category
    assert value in set(batch[column]) and value not in set(base[column])
    missing = drift["extra_missing"][0]
    assert batch[missing].isna().mean() > base[missing].isna().mean() + 0.1
    untouched = [
        c
        for c in product.numeric_features
        if c not in drift["shifted"] + drift["extra_missing"] and c != product.target
    ]
    for column in untouched:
        gap = abs(batch[column].median() - base[column].median()) / (base[column].std() + 1e-9)
        assert gap < 0.25, column


def test_no_drift_requested_gives_a_batch_like_the_training_data() -> None:
    batch = products.generate_drifted_batch(
        "used_cars", 100, numeric_shift=0, new_category=False, extra_missing=0
    )
    assert batch.attrs["drift"] == {"shifted": [], "new_category": [], "extra_missing": []}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: products.generate("boats", 10), "data_product='boats' is not a data product"),
        (lambda: products.generate("used_cars", 0), "n_rows=0 must be a whole number"),
        (lambda: products.generate("used_cars", 2.5), "n_rows=2.5 must be a whole number"),
        (lambda: products.generate("used_cars", 10, seed=-1), "seed=-1 must be a non-negative"),
        (
            lambda: products.generate_drifted_batch("used_cars", 10, extra_missing=1.5),
            "extra_missing=1.5 must be a number from 0 to 1",
        ),
        (
            lambda: products.generate_drifted_batch("credit_risk", 10, numeric_shift=-1),
            "numeric_shift=-1 must be a number from 0 to 5",
        ),
    ],
)
def test_bad_parameters_name_the_parameter(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MLAccelInputError, match=message):
        call()
