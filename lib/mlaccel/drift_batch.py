"""A "future" batch with declared drift, made from any data product's own rows.

Workshops and tests need drift whose answer is known: :func:`drifted_batch` takes rows of a
registered table and shifts some numeric features, gives one categorical feature a value never
seen in training, and blanks values of another column, naming each change in
``attrs["drift"]``. It works from the contract alone, so every product gets the same treatment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

    from mlaccel.products import DataProduct

#: How many numeric features a drifted batch shifts (the first ones that vary).
SHIFTED_COLUMNS = 3
#: The value a drifted batch introduces into a categorical feature.
NEW_CATEGORY = "unseen_in_training"


def _check_share(name: str, value: Any, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise MLAccelInputError(f"{name}={value!r} must be a number from 0 to {high}")
    return float(value)


def drifted_batch(
    rows: pd.DataFrame,
    product: DataProduct,
    *,
    seed: int = 1,
    numeric_shift: float = 0.5,
    new_category_share: float = 0.15,
    extra_missing: float = 0.2,
) -> pd.DataFrame:
    """``rows`` (of ``product``'s table) with declared drift; the target is kept as the ground
    truth that would arrive later.

    Parameters
    ----------
    numeric_shift
        Shift of the drifted numeric columns, in their standard deviations (0 to 5).
    new_category_share
        Share of rows (0 to 1) whose first categorical feature gets :data:`NEW_CATEGORY`.
    extra_missing
        Share of rows (0 to 1) whose value goes missing in one more column.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlaccel.products import DataProduct
    >>> p = DataProduct("p", "y", "regression", "id", ("a",), ("c",))
    >>> rows = pd.DataFrame({"id": [1, 2, 3], "a": [1.0, 2.0, 3.0], "c": list("xyz"), "y": 0.0})
    >>> drifted_batch(rows, p, new_category_share=0).attrs["drift"]["shifted"]
    ['a']
    """
    import numpy as np
    import pandas as pd

    numeric_shift = _check_share("numeric_shift", numeric_shift, 5.0)
    new_category_share = _check_share("new_category_share", new_category_share, 1.0)
    extra_missing = _check_share("extra_missing", extra_missing, 1.0)
    missing = [c for c in product.features if c not in rows.columns]
    if missing or rows.empty:
        raise MLAccelInputError(
            f"rows must be a non-empty sample of {product.name}'s table; "
            + (f"they lack {missing}" if missing else "they are empty")
        )
    rng = np.random.default_rng(seed)
    out = rows.reset_index(drop=True).copy()
    numbers = {c: pd.to_numeric(out[c], errors="coerce") for c in product.numeric_features}
    varying = [c for c, v in numbers.items() if float(v.std(ddof=0) or 0) > 0]
    shifted = varying[:SHIFTED_COLUMNS] if numeric_shift > 0 else []
    for column in shifted:
        out[column] = numbers[column] + numeric_shift * float(numbers[column].std(ddof=0))
    new_category = list(product.categorical_features[:1]) if new_category_share > 0 else []
    for column in new_category:
        hit = rng.random(len(out)) < new_category_share
        out[column] = out[column].astype("object").where(~hit, NEW_CATEGORY)
    candidates = [c for c in product.features if c not in shifted and c not in new_category]
    blanked = candidates[:1] if extra_missing > 0 else []
    for column in blanked:
        out[column] = out[column].astype("object").where(rng.random(len(out)) >= extra_missing)
        if column in numbers:
            out[column] = pd.to_numeric(out[column], errors="coerce")
    out.attrs["drift"] = {
        "shifted": shifted,
        "new_category": new_category,
        "extra_missing": blanked,
    }
    return out
