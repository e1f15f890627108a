"""The two demo data products: deterministic, realistic and learnable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import mean_absolute_error, roc_auc_score

from mlaccel import demo
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract

PRODUCTS = demo.list_demos()


@pytest.mark.parametrize("name", PRODUCTS)
def test_same_seed_same_rows_other_seed_other_rows(name: str) -> None:
    a = demo.generate(name, 500, seed=3)
    pd.testing.assert_frame_equal(a, demo.generate(name, 500, seed=3))
    assert not a.equals(demo.generate(name, 500, seed=4))


@pytest.mark.parametrize("name", PRODUCTS)
def test_columns_types_ids_and_missing_values(name: str) -> None:
    spec = demo.get_demo(name)
    df = demo.generate(name, 5000)
    assert tuple(df.columns) == spec.columns
    assert df[spec.id_column].is_unique
    assert set(spec.column_descriptions) == set(spec.columns)
    product = demo_contract(name)
    for column in product.numeric_features:
        assert pd.api.types.is_numeric_dtype(df[column]), column
    assert df.isna().any().sum() >= 2, "realistic data has gaps"
    assert df[product.target].notna().all()


def _fit_and_score(name: str) -> tuple[float, float]:
    product = demo_contract(name)
    df = demo.generate(name, 6000, seed=11)
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
    rate = demo.generate("credit_risk", 20000)["default"].mean()
    assert 0.05 < rate < 0.35


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: demo.generate("boats", 10), "'boats' is not one of the kit's demo data products"),
        (lambda: demo.generate("used_cars", 0), "n_rows=0 must be a whole number"),
        (lambda: demo.generate("used_cars", 2.5), "n_rows=2.5 must be a whole number"),
        (lambda: demo.generate("used_cars", 10, seed=-1), "seed=-1 must be a non-negative"),
    ],
)
def test_bad_parameters_name_the_parameter(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MLAccelInputError, match=message):
        call()


@pytest.mark.parametrize("name", PRODUCTS)
def test_the_contract_inferred_from_a_demo_uses_every_column(name: str) -> None:
    spec = demo.get_demo(name)
    product = demo_contract(name)
    assert product.columns[0] == spec.id_column and product.target == spec.target
    assert set(product.columns) == set(spec.columns) and not product.excluded
