"""Drifted batches made from any product's rows, the drift declared."""

from __future__ import annotations

import pandas as pd
import pytest

from mlaccel import demo, drift_batch
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract


@pytest.mark.parametrize("name", demo.list_demos())
def test_drifted_batch_differs_in_declared_columns_only(name: str) -> None:
    product = demo_contract(name)
    base = demo.generate(name, 20000, seed=0)
    batch = drift_batch.drifted_batch(base, product, seed=5, numeric_shift=1.0)
    drift = batch.attrs["drift"]
    assert len(drift["shifted"]) == drift_batch.SHIFTED_COLUMNS
    for column in drift["shifted"]:
        gap = (batch[column].median() - base[column].median()) / base[column].std()
        assert 0.5 < gap < 1.5, column
    (changed,) = drift["new_category"]
    assert drift_batch.NEW_CATEGORY in set(batch[changed])
    assert drift_batch.NEW_CATEGORY not in set(base[changed])
    (blanked,) = drift["extra_missing"]
    assert batch[blanked].isna().mean() > base[blanked].isna().mean() + 0.1
    declared = {*drift["shifted"], changed, blanked}
    for column in product.features:
        if column not in declared:
            pd.testing.assert_series_equal(batch[column], base[column], check_names=False)
    pd.testing.assert_series_equal(batch[product.target], base[product.target])


def test_no_drift_requested_gives_the_rows_back() -> None:
    rows = demo.generate("used_cars", 100)
    batch = drift_batch.drifted_batch(
        rows,
        demo_contract("used_cars"),
        numeric_shift=0,
        new_category_share=0,
        extra_missing=0,
    )
    assert batch.attrs["drift"] == {"shifted": [], "new_category": [], "extra_missing": []}
    pd.testing.assert_frame_equal(batch, rows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"extra_missing": 1.5}, "extra_missing=1.5 must be a number from 0 to 1"),
        ({"numeric_shift": -1}, "numeric_shift=-1 must be a number from 0 to 5"),
        ({"new_category_share": True}, "new_category_share=True must be a number"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        drift_batch.drifted_batch(
            demo.generate("used_cars", 10), demo_contract("used_cars"), **kwargs
        )


def test_rows_of_another_product_are_refused() -> None:
    with pytest.raises(MLAccelInputError, match=r"rows must be a non-empty sample of used_cars"):
        drift_batch.drifted_batch(demo.generate("credit_risk", 10), demo_contract("used_cars"))
