"""A quick registered model, for a notebook run on its own before anything was registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlaccel import data, products
from mlaccel.training._jobs import train_builtin_xgboost

if TYPE_CHECKING:
    from mlaccel._connect import Connection

QUICK_ROUNDS = 50


def register_quick_model(
    product: products.DataProduct,
    *,
    connection: Connection,
    group: str = "",
    database: str = data.DEFAULT_DATABASE,
    seed: int = 0,
    description: str = "quick model",
) -> str:
    """Train the built-in XGBoost briefly (``QUICK_ROUNDS`` rounds) on notebook 02's features,
    building them first when absent, and register it in ``group`` (empty: the product's model
    package group), pending approval, as notebook 03 would; return the package ARN.

    Notebooks that serve or judge the registry's model call it when run on their own
    (``train_if_missing``), so they work before notebook 03 has run.
    """
    from mlaccel import features, registry

    feature_set = features.existing_feature_set(product, connection=connection)
    if feature_set is None:
        feature_set = features.run_feature_job(
            product, connection=connection, database=database, seed=seed
        )
    model = train_builtin_xgboost(
        feature_set, connection=connection, hyperparameters={"num_round": QUICK_ROUNDS}, seed=seed
    )
    return registry.register_model(
        model,
        group=group or registry.group_name(product.name),
        connection=connection,
        description=description,
    )
