"""One column, one batch at a time: what kind each value is, and running statistics.

Values are typed the way Model Monitor types CSV text: a present value is Integral (``12``),
Fractional (``1.5``) or String (anything else). Nulls, empty strings, NaN and infinities are
missing. Typed sources (Parquet, frames) keep their Arrow types: integers are Integral,
floats Fractional.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._formats import FRACTIONAL, INTEGRAL, STRING, UNKNOWN
from mlaccel.monitor._kernel import scan_numeric
from mlaccel.monitor._sketch import (
    Binner,
    NumericReference,
    QuantileSummary,
    current_distribution,
    equal_width_buckets,
    exact_kll_sketch,
    kll_sketch,
    quantile_grid,
)

log = logging.getLogger(__name__)

# Distinct values tracked per string column; beyond it the column counts as high-cardinality
# (no category buckets, no categorical drift), so memory stays bounded.
CATEGORY_CAP = 50_000
# Category buckets written to statistics.json (the most frequent ones).
MAX_CATEGORY_BUCKETS = 1000

_INTEGRAL = r"^[+-]?\d+$"
_NUMBER = r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf|infinity)$"

TYPED_INT = "int"
TYPED_FLOAT = "float"
TEXT = "text"


@dataclass
class Values:
    """One batch of one column, split by kind.

    Attributes
    ----------
    rows
        Rows in the batch.
    missing
        Nulls, empty strings, NaN and infinities.
    integral, fractional, text
        Present values of each kind (``fractional`` counts every value of a float column).
    numbers
        The finite numeric values, as float64.
    categories
        Present text values and their counts (text sources, when asked for).
    source
        ``"int"``, ``"float"`` or ``"text"``: the Arrow type the column arrived as.
    whole
        How many values of a float column are whole numbers (when asked for).
    """

    rows: int
    missing: int
    integral: int
    fractional: int
    text: int
    numbers: np.ndarray
    categories: tuple[list[Any], np.ndarray] | None
    source: str
    whole: int = 0


# Fixed-width Arrow types read straight from their buffers: pyarrow's own to_numpy imports
# pandas, which costs a fresh process (an analyzer container, a Lambda) more than a check.
_NUMPY_TYPES = {
    "double": np.float64,
    "float": np.float32,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
}


def buffer_values(array: pa.Array) -> np.ndarray | None:
    """A fixed-width numeric array's values without a copy (null slots hold any value).

    ``None`` for types read another way.
    """
    kind = _NUMPY_TYPES.get(str(array.type))
    if kind is None:
        return None
    dtype = np.dtype(kind)
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    data = array.buffers()[1]
    return np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def valid_mask(array: pa.Array) -> np.ndarray | None:
    """Which values are not null (``None`` when none is)."""
    if array.null_count == 0:
        return None
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    unpacked = np.unpackbits(bits, bitorder="little")
    return unpacked[array.offset : array.offset + len(array)].astype(bool)


def source_kind(data_type: pa.DataType) -> str:
    """How an Arrow type is read: ``"int"``, ``"float"`` or ``"text"``."""
    if pa.types.is_dictionary(data_type):
        return source_kind(data_type.value_type)
    if pa.types.is_integer(data_type):
        return TYPED_INT
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return TYPED_FLOAT
    return TEXT


def split_values(
    array: pa.Array | pa.ChunkedArray,
    *,
    name: str,
    want_numbers: bool = True,
    want_categories: bool = False,
    count_whole: bool = False,
) -> Values:
    """Split one batch of a column into missing, numeric and text values.

    Parameters
    ----------
    array
        The column's values in this batch.
    name
        The column's name, for error messages.
    want_numbers
        Return the numeric values (skipped for columns already known to be text).
    want_categories
        Count the text values (string sources only).
    count_whole
        For float columns: count whole numbers (an Integral baseline accepts them).

    Returns
    -------
    Values
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    data_type = array.type
    rows = len(array)
    if pa.types.is_null(data_type):
        return Values(rows, rows, 0, 0, 0, np.empty(0), None, TEXT)
    if pa.types.is_dictionary(data_type):
        value_type = data_type.value_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            return _split_dictionary(array, want_numbers, want_categories, count_whole)
        return split_values(
            array.dictionary_decode(),
            name=name,
            want_numbers=want_numbers,
            want_categories=want_categories,
            count_whole=count_whole,
        )
    if pa.types.is_integer(data_type):
        values = buffer_values(array)
        valid = valid_mask(array)
        if values is None:
            present = array.drop_null() if array.null_count else array
            numbers = np.asarray(present.to_numpy(zero_copy_only=False), dtype=np.float64)
        else:
            numbers = (values if valid is None else values[valid]).astype(np.float64)
        return Values(rows, array.null_count, int(numbers.size), 0, 0, numbers, None, TYPED_INT)
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        values = buffer_values(array)
        if values is None:
            values = np.asarray(
                pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )
        raw = values.astype(np.float64, copy=False)
        finite_mask = np.isfinite(raw)
        valid = valid_mask(array)
        if valid is not None:
            finite_mask &= valid
        numbers = raw if finite_mask.all() else raw[finite_mask]
        whole = int(np.count_nonzero(numbers == np.floor(numbers))) if count_whole else 0
        missing = rows - int(numbers.size)
        return Values(rows, missing, 0, int(numbers.size), 0, numbers, None, TYPED_FLOAT, whole)
    if not (pa.types.is_string(data_type) or pa.types.is_large_string(data_type)):
        try:
            array = pc.cast(array, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise MLAccelInputError(
                f"column {name!r} has Arrow type {data_type}, which cannot be read as numbers "
                "or text; drop it or convert it to strings"
            ) from None
    return _split_text(array, want_numbers, want_categories, count_whole)


def bool_values(array: pa.Array, *, null_as: bool) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls read as ``null_as`` (without pandas)."""
    if len(array) == 0:
        return np.empty(0, dtype=bool)
    bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    values = np.unpackbits(bits, bitorder="little")[array.offset : array.offset + len(array)]
    flags: np.ndarray = values.astype(bool)
    valid = valid_mask(array)
    if valid is not None:
        flags = np.where(valid, flags, null_as)
    return flags


def bool_array(mask: np.ndarray) -> pa.Array:
    """A numpy mask as an Arrow boolean array (built from its bits, without pandas)."""
    bits = np.packbits(mask.astype(bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), int(mask.size), [None, pa.py_buffer(bits)])


def _empty_text(trimmed: pa.Array) -> np.ndarray:
    """Which (trimmed) values are empty or null."""
    lengths = buffer_values(pc.utf8_length(trimmed))
    assert lengths is not None
    empty: np.ndarray = lengths == 0
    valid = valid_mask(trimmed)
    if valid is not None:
        empty |= ~valid
    return empty


def _classify_text(array: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """Trimmed values and, per value: is-integral, is-numeric, numeric value (NaN if not)."""
    trimmed = pc.utf8_trim_whitespace(array)
    is_integral = bool_values(pc.match_substring_regex(trimmed, _INTEGRAL), null_as=False)
    is_numeric = bool_values(
        pc.match_substring_regex(trimmed, _NUMBER, ignore_case=True), null_as=False
    )
    values = np.full(len(array), np.nan)
    if is_numeric.any():
        parsed = pc.cast(pc.filter(trimmed, bool_array(is_numeric)), pa.float64())
        numbers = buffer_values(parsed)
        assert numbers is not None
        values[is_numeric] = numbers
    return trimmed, is_integral, is_numeric, values


def _split_text(
    array: pa.Array, want_numbers: bool, want_categories: bool, count_whole: bool
) -> Values:
    rows = len(array)
    trimmed, is_integral, is_numeric, values = _classify_text(array)
    empty = _empty_text(trimmed)
    finite = np.isfinite(values)
    # NaN / infinity written as text count as missing, like a null.
    non_finite_numbers = is_numeric & ~finite
    present = ~empty & ~non_finite_numbers
    integral = int(np.count_nonzero(present & is_integral))
    numeric_present = present & is_numeric
    fractional = int(np.count_nonzero(numeric_present)) - integral
    text = int(np.count_nonzero(present)) - integral - fractional
    numbers = values[numeric_present] if want_numbers else np.empty(0)
    whole = 0
    if count_whole:
        # "12.0" is how pandas writes an integer column that has missing values.
        written_fractional = values[numeric_present & ~is_integral]
        whole = int(np.count_nonzero(written_fractional == np.floor(written_fractional)))
    categories = None
    if want_categories:
        kept = pc.filter(trimmed, bool_array(present))
        counted = pc.value_counts(kept)
        counts = buffer_values(counted.field("counts"))
        assert counts is not None
        categories = (counted.field("values").to_pylist(), counts.astype(np.int64))
    missing = rows - int(np.count_nonzero(present))
    return Values(rows, missing, integral, fractional, text, numbers, categories, TEXT, whole)


def _split_dictionary(
    array: pa.DictionaryArray, want_numbers: bool, want_categories: bool, count_whole: bool
) -> Values:
    rows = len(array)
    dictionary = array.dictionary
    size = len(dictionary)
    trimmed, is_integral, is_numeric, values = _classify_text(dictionary)
    empty = _empty_text(trimmed)
    finite = np.isfinite(values)
    # One extra slot at the end stands for null rows.
    entry_present = np.append(~empty & ~(is_numeric & ~finite), False)
    index = _dictionary_indices(array.indices, size)
    per_entry = np.bincount(index, minlength=size + 1)
    present_counts = per_entry * entry_present
    integral = int(present_counts[:-1][is_integral].sum())
    numeric_total = int(present_counts[:-1][is_numeric].sum())
    text = int(present_counts.sum()) - numeric_total
    whole = 0
    if count_whole:
        whole_entry = is_numeric & ~is_integral & finite
        whole_entry &= np.where(finite, values == np.floor(np.where(finite, values, 0.0)), False)
        whole = int(present_counts[:-1][whole_entry].sum())
    numbers = np.empty(0)
    if want_numbers and numeric_total:
        entry_numeric = np.append(is_numeric & finite & entry_present[:-1], False)
        numbers = np.append(values, np.nan)[index[entry_numeric[index]]]
    categories = None
    if want_categories:
        keep = np.flatnonzero(present_counts[:-1] > 0)
        merged: dict[Any, int] = {}
        labels = trimmed.to_pylist()
        for position in keep:
            # Different dictionary entries can trim to the same text.
            label = labels[position]
            merged[label] = merged.get(label, 0) + int(present_counts[position])
        categories = (list(merged), np.asarray(list(merged.values()), dtype=np.int64))
    missing = rows - int(present_counts.sum())
    return Values(
        rows, missing, integral, numeric_total - integral, text, numbers, categories, TEXT, whole
    )


def _dictionary_indices(indices: pa.Array, null_slot: int) -> np.ndarray:
    """Dictionary indices as numpy, null rows pointing at ``null_slot``."""
    values = buffer_values(indices)
    if values is None:
        filled = pc.fill_null(indices, null_slot) if indices.null_count else indices
        return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.intp)
    index = values.astype(np.intp)
    valid = valid_mask(indices)
    if valid is not None:
        index[~valid] = null_slot
    return index


class Moments:
    """Count, sum, mean, variance (pooled per batch), min and max of a stream of numbers."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.mean = 0.0
        self.m2 = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.negative = 0

    def add(self, values: np.ndarray) -> None:
        """Add finite values."""
        size = int(values.size)
        if size == 0:
            return
        batch_total = float(values.sum())
        centered = values - batch_total / size
        # Plain ufuncs, not np.dot: BLAS threads cost milliseconds per call on a busy machine.
        np.square(centered, out=centered)
        low, high = float(values.min()), float(values.max())
        negative = int(np.count_nonzero(values < 0)) if low < 0 else 0
        self.add_batch(size, batch_total, float(centered.sum()), low, high, negative)

    def add_batch(
        self, size: int, total: float, m2: float, low: float, high: float, negative: int
    ) -> None:
        """Pool one batch's count, sum, squares about its own mean, extremes and negatives."""
        if size == 0:
            return
        batch_mean = total / size
        delta = batch_mean - self.mean
        combined = self.count + size
        self.m2 += m2 + delta * delta * self.count * size / combined
        self.mean += delta * size / combined
        self.count = combined
        self.total += total
        self.low, self.high = min(self.low, low), max(self.high, high)
        self.negative += negative

    @property
    def std_dev(self) -> float:
        """Population standard deviation, as Deequ computes it."""
        return math.sqrt(self.m2 / self.count) if self.count else 0.0


class CategoryCounter:
    """Counts of a string column's values, up to ``cap`` distinct values."""

    def __init__(self, cap: int = CATEGORY_CAP) -> None:
        self.cap = cap
        self.counts: dict[str, int] = {}
        self.overflowed = False

    def add(self, labels: list[Any], counts: np.ndarray) -> None:
        """Add the counts of one batch."""
        if self.overflowed:
            return
        table = self.counts
        for label, count in zip(labels, counts.tolist(), strict=True):
            key = str(label)
            table[key] = table.get(key, 0) + count
        if len(table) > self.cap:
            self.overflowed = True
            self.counts = {}

    def buckets(self, limit: int = MAX_CATEGORY_BUCKETS) -> list[dict[str, Any]]:
        """The most frequent values as ``{"value", "count"}`` buckets."""
        ordered = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "count": count} for value, count in ordered[:limit]]

    @property
    def distinct(self) -> int:
        """Distinct values (a lower bound, ``cap``, once overflowed)."""
        return self.cap if self.overflowed else len(self.counts)


def inferred_type(integral: int, fractional: int, text: int) -> str:
    """Deequ's rule: any text makes a String; any fraction a Fractional; else Integral."""
    if integral + fractional + text == 0:
        return UNKNOWN
    if text:
        return STRING
    if fractional:
        return FRACTIONAL
    return INTEGRAL


class ColumnStats:
    """Running statistics of one column, fed batch by batch.

    Parameters
    ----------
    name
        The column's name.
    keep_summary
        Keep a quantile summary (a baseline does; a check that has the baseline's edges
        counts values between them instead, see ``binner``).
    binner
        Counts the numeric values between a baseline's quantile edges.
    """

    def __init__(self, name: str, *, keep_summary: bool = True, binner: Binner | None = None):
        self.name = name
        self.source: str | None = None
        self.rows = 0
        self.integral = 0
        self.fractional = 0
        self.text = 0
        self.whole = 0
        self.moments = Moments()
        self.summary = QuantileSummary() if keep_summary else None
        self.binner = binner
        self.slots = np.zeros(binner.size + 1, dtype=np.int64) if binner is not None else None
        # Values beyond the baseline's range, to describe a distribution that moved away.
        self.tails = QuantileSummary() if binner is not None else None
        self.categories = CategoryCounter()

    @property
    def present(self) -> int:
        """Values that are neither null nor NaN nor infinite."""
        return self.integral + self.fractional + self.text

    def update(
        self,
        array: pa.Array | pa.ChunkedArray,
        *,
        want_numbers: bool = True,
        count_whole: bool = False,
        as_text: bool = False,
    ) -> Values:
        """Add one batch; return its split values.

        Parameters
        ----------
        array
            The column's values in this batch.
        want_numbers
            Accumulate numeric statistics of the numeric values.
        count_whole
            Count whole numbers in float columns.
        as_text
            Read typed values as text (a String baseline sees numbers as labels).
        """
        kind = source_kind(array.type)
        if self.source is None:
            self.source = kind
        if (as_text or self.source == TEXT) and kind != TEXT:
            # A column that started as text stays text, so its category counts stay complete.
            array = pc.cast(array, pa.string())
            kind = TEXT
        if want_numbers and kind != TEXT and self.summary is None and self.binner is not None:
            scanned = self._scan(array, count_whole)
            if scanned is not None:
                return scanned
        want_categories = kind == TEXT and not self.categories.overflowed
        values = split_values(
            array,
            name=self.name,
            want_numbers=want_numbers,
            want_categories=want_categories,
            count_whole=count_whole,
        )
        self.rows += values.rows
        self.integral += values.integral
        self.fractional += values.fractional
        self.text += values.text
        self.whole += values.whole
        if want_numbers and values.numbers.size:
            self.moments.add(values.numbers)
            if self.summary is not None:
                self.summary.add(values.numbers)
            if self.binner is not None and self.slots is not None and self.tails is not None:
                numbers = values.numbers
                self.slots += self.binner.count(numbers)
                edges = self.binner.edges
                outside = (numbers < edges[0]) | (numbers > self.binner.tail_start)
                if outside.any():
                    self.tails.add(numbers[outside])
        if values.categories is not None:
            self.categories.add(*values.categories)
        return values

    def _scan(self, array: pa.Array | pa.ChunkedArray, count_whole: bool) -> Values | None:
        """The compiled pass over a numeric batch of a check (``None``: not available)."""
        assert self.binner is not None and self.slots is not None and self.tails is not None
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        found = scan_numeric(array, self.binner, self.slots, want_whole=count_whole)
        if found is None:
            return None
        rows, is_int = len(array), pa.types.is_integer(array.type)
        integral = found.present if is_int else 0
        fractional = found.present - integral
        whole = found.whole if count_whole and not is_int else 0
        self.rows += rows
        self.integral += integral
        self.fractional += fractional
        self.whole += whole
        self.moments.add_batch(
            found.present, found.total, found.m2, found.low, found.high, found.negative
        )
        if found.tails.size:
            self.tails.add(found.tails)
        kind = TYPED_INT if is_int else TYPED_FLOAT
        return Values(
            rows, rows - found.present, integral, fractional, 0, np.empty(0), None, kind, whole
        )

    def drop_numbers(self) -> None:
        """Free the numeric summary of a column that turned out to be text."""
        if self.summary is not None and self.summary.count:
            self.summary = QuantileSummary()

    def statistics(
        self, item_count: int, *, reference: NumericReference | None = None
    ) -> dict[str, Any]:
        """The column's statistics.json feature entry."""
        kind = inferred_type(self.integral, self.fractional, self.text)
        common = {"num_present": self.present, "num_missing": item_count - self.present}
        entry: dict[str, Any] = {"name": self.name, "inferred_type": kind}
        if kind in (INTEGRAL, FRACTIONAL) and self.moments.count:
            entry["numerical_statistics"] = {
                "common": common,
                "mean": self.moments.mean,
                "sum": self.moments.total,
                "std_dev": self.moments.std_dev,
                "min": self.moments.low,
                "max": self.moments.high,
                "distribution": {"kll": self._kll(reference)},
            }
            return entry
        entry["string_statistics"] = {
            "common": common,
            "distinct_count": float(self.categories.distinct),
            "distribution": {"categorical": {"buckets": self.categories.buckets()}},
        }
        return entry

    def _kll(self, reference: NumericReference | None) -> dict[str, Any]:
        low, high = self.moments.low, self.moments.high
        if self.summary is not None and self.summary.count:
            values, weights = self.summary.weighted_items()
        elif reference is not None and self.slots is not None and self.tails is not None:
            tail_values, tail_weights = self.tails.weighted_items()
            values, weights = current_distribution(reference, self.slots, tail_values, tail_weights)
        else:
            values, weights = np.empty(0), np.empty(0)
        exact = self.summary.exact if self.summary is not None and self.summary.count else None
        if exact is not None:
            values, weights = exact[0], exact[1].astype(np.float64)
            sketch = exact_kll_sketch(*exact)
        else:
            sketch = kll_sketch(quantile_grid(values, weights))
        return {"buckets": equal_width_buckets(values, weights, low, high), "sketch": sketch}
