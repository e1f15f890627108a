"""Publish one of the kit's generated data products (:mod:`mlaccel.products`) to the lake."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlaccel._connect import Connection
from mlaccel.data._catalog import DEFAULT_DATABASE
from mlaccel.data._publish import PublishedTable, publish_data_product

# Glue's limit on a column comment.
_COMMENT_LIMIT = 255


def publish(
    name: str,
    n_rows: int,
    *,
    seed: int = 0,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
    partition_cols: Sequence[str] | None = None,
) -> PublishedTable:
    """Generate one of the kit's data products and publish it with its catalog metadata.

    Parameters
    ----------
    name
        ``"used_cars"`` or ``"credit_risk"`` (see :mod:`mlaccel.products`).
    n_rows
        Rows to generate.
    seed
        Seed of the generator: same seed, same data.
    connection
        From :func:`mlaccel.connect`.
    database
        Glue database to publish into.
    partition_cols
        Columns to partition by, or None.

    Examples
    --------
    >>> publish("used_cars", 5_000, seed=0, connection=mlaccel.connect())  # doctest: +SKIP
    PublishedTable(database='mlaccel_lake', table='used_cars', ...)
    """
    from mlaccel import products  # the generators load only when a demo product is published

    product = products.get_data_product(name)
    df = products.generate(name, n_rows, seed=seed)
    descriptions = dict(getattr(product, "column_descriptions", {}) or {})
    description = getattr(product, "description", None) or (
        f"{product.name}: {product.problem_type} data product, target column {product.target}"
    )
    return publish_data_product(
        df,
        database=database,
        table=product.name,
        description=str(description),
        column_comments={
            c: shorten(str(d), _COMMENT_LIMIT) for c, d in descriptions.items() if c in df.columns
        },
        tags=dict(getattr(product, "tags", {}) or {}),
        partition_cols=partition_cols,
        connection=connection,
        parameters=product_parameters(product, seed),
    )


def product_parameters(product: Any, seed: int) -> dict[str, str]:
    """The table parameters that tie a published table to its data product and generator."""
    parameters = {
        "data_product": product.name,
        "target": str(product.target),
        "problem_type": str(product.problem_type),
        "generator_seed": str(seed),
    }
    id_column = getattr(product, "id_column", None)
    if id_column:
        parameters["id_column"] = str(id_column)
    return parameters


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut.

    Examples
    --------
    >>> shorten("Sale price in EUR", 10)
    'Sale pric…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"
