"""A reference model trained in the kernel, for checks that need predictions without a job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlaccel import products
from mlaccel.errors import MLAccelInputError
from mlaccel.training._objective import check_seed, encode_labels, objective_for

if TYPE_CHECKING:
    import pandas as pd


def fit_reference_model(
    train: pd.DataFrame, product: products.DataProduct, *, seed: int = 0
) -> Any:
    """A small in-process XGBoost on one-hot raw features, returning ``predict(frame)``: what
    model quality compares with the encoded labels (:func:`encode_labels`): the score
    (regression), the positive class's probability (binary) or the class index (multiclass);
    the same rows and ``seed`` give the same model.

    For notebooks that need predictions without a deployed model (the drift notebook run on
    its own); production scoring goes through the registered model and its preprocessor.
    """
    import xgboost as xgb

    check_seed(seed)
    columns = list(product.features)
    missing = [c for c in (*columns, product.target) if c not in train.columns]
    if missing:
        raise MLAccelInputError(
            f"train lacks the columns {missing} of {product.name!r}; pass rows of its table "
            f"(mlaccel.data.read_table(database, {product.name!r}, connection=conn))"
        )
    rows = train[train[product.target].notna()]
    encoded = _reference_features(rows[columns])
    params: dict[str, Any] = {
        "objective": objective_for(product).xgboost_objective,
        "max_depth": 5,
        "eta": 0.2,
        "nthread": 2,
        "seed": seed,
    }
    if product.problem_type == "multiclass":
        params["num_class"] = len(product.classes)
    booster = xgb.train(
        params, xgb.DMatrix(encoded, encode_labels(rows[product.target], product)), 80
    )

    def predict(frame: pd.DataFrame) -> Any:
        features = _reference_features(frame[columns]).reindex(
            columns=encoded.columns, fill_value=0.0
        )
        answers = booster.predict(xgb.DMatrix(features))
        return answers.argmax(axis=1) if product.problem_type == "multiclass" else answers

    return predict


def _reference_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers (text that is no number as missing), the rest one-hot."""
    import pandas as pd

    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.astype("int64").astype("float64")
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().mean() >= products.PARSE_SHARE:
                out[column] = numbers
            else:
                dummies = pd.get_dummies(values.astype("string"), prefix=column, dtype=float)
                out.update({str(c): dummies[c] for c in dummies.columns})
    return pd.DataFrame(out, index=frame.index)
