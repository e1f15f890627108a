"""The drift check's pass over one numeric column, compiled when the package could build it.

A check against a baseline needs, per numeric column, the count of finite values, their sum,
extremes, squares about the mean, negatives, whole numbers, the count between each pair of
baseline edges and the values beyond the edges. The compiled pass (``_scan.c``) gathers all of
that in one read of Arrow's buffers, without the GIL; the numpy path in
:mod:`._profile` takes a dozen passes. Both give the same counts; where the compiled module is
missing (no C compiler at install time) or the column's type is not float64 / int64, the numpy
path runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pyarrow as pa

from mlaccel.monitor._sketch import Binner


def _compiled() -> ModuleType | None:
    try:
        from mlaccel.monitor import _scan  # type: ignore[attr-defined]
    except ImportError:
        return None
    module: ModuleType = _scan
    return module


_SCAN = _compiled()
COMPILED = _SCAN is not None
_TYPES = {"double": False, "int64": True}


@dataclass(frozen=True)
class NumericPass:
    """What one pass over a batch of a numeric column found (its slot counts were added)."""

    present: int
    whole: int
    negative: int
    total: float
    low: float
    high: float
    m2: float
    tails: np.ndarray


def scan_numeric(
    array: pa.Array, binner: Binner, slots: np.ndarray, *, want_whole: bool
) -> NumericPass | None:
    """One compiled pass over ``array``, adding its slot counts to ``slots``.

    ``None`` (nothing done) when the compiled pass is absent or does not read the array's type.
    """
    is_int = _TYPES.get(str(array.type))
    if _SCAN is None or is_int is None or len(array) == 0:
        return None
    validity, values = array.buffers()[:2]
    table, cells = binner.kernel_table
    edges = binner.edges
    tails = np.empty(len(array), dtype=np.float64)
    present, whole, negative, tail_count, total, low, high, m2 = _SCAN.numeric(
        values,
        is_int,
        array.offset,
        len(array),
        validity if array.null_count else None,
        edges,
        table,
        cells,
        binner.origin,
        binner.scale,
        float(edges[0]),
        binner.tail_start,
        want_whole,
        slots,
        tails,
    )
    return NumericPass(present, whole, negative, total, low, high, m2, tails[:tail_count])
