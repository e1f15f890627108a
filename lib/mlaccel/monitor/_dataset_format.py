"""How a data set's files are written: Parquet, CSV, JSON Lines or endpoint data capture.

The formats a caller names (``"csv"``, Model Monitor's ``{"csv": {"header": true}}``...) and
the format a file's name implies (``part-0.csv.gz``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._formats import parse_json_text

PARQUET = "parquet"
CSV = "csv"
JSON = "json"
CAPTURE = "sagemakerCaptureJson"
CAPTURE_SIDES = ("endpointInput", "endpointOutput")

_SUFFIXES = {
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".csv": CSV,
    ".tsv": CSV,
    ".json": JSON,
    ".jsonl": JSON,
    ".jsonlines": JSON,
    ".ndjson": JSON,
}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2"}


@dataclass(frozen=True)
class DatasetFormat:
    """How to read a data set's files.

    Attributes
    ----------
    kind
        ``"parquet"``, ``"csv"``, ``"json"`` (JSON Lines) or ``"sagemakerCaptureJson"``.
    header
        CSV only: whether the first line names the columns (otherwise ``_c0``, ``_c1``...).
    capture_index_names
        Capture only: which sides of each record become columns.
    """

    kind: str
    header: bool = True
    capture_index_names: tuple[str, ...] = CAPTURE_SIDES


def parse_dataset_format(spec: Any, *, source: str = "dataset_format") -> DatasetFormat | None:
    """Read a format given as text, a Model Monitor ``dataset_format`` object or JSON string.

    Parameters
    ----------
    spec
        ``None`` (infer from file names), ``"csv"``, ``"parquet"``, ``"json"``, a
        ``DatasetFormat``, or Model Monitor's shapes: ``{"csv": {"header": true}}``,
        ``{"json": {"lines": true}}``, ``{"parquet": {}}``,
        ``{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}`` (also as a
        JSON string, as the analyzer's environment carries it).
    source
        Names the input in error messages.

    Returns
    -------
    DatasetFormat or None

    Examples
    --------
    >>> parse_dataset_format('{"csv": {"header": false}}')
    DatasetFormat(kind='csv', header=False, capture_index_names=('endpointInput', 'endpointOutput'))
    """
    if spec is None or isinstance(spec, DatasetFormat):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if not text.startswith("{"):
            return _format_from_name(text, {}, source)
        spec = parse_json_text(text, source)
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise MLAccelInputError(
            f"{source}={spec!r} must name one format, e.g. {{'csv': {{'header': True}}}}"
        )
    ((name, options),) = spec.items()
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise MLAccelInputError(f"{source}: the options of {name!r} must be an object")
    return _format_from_name(str(name), options, source)


def _format_from_name(name: str, options: Mapping[str, Any], source: str) -> DatasetFormat:
    lowered = {str(key).lower(): value for key, value in options.items()}
    kind = name.strip().lower()
    if kind == "csv":
        return DatasetFormat(CSV, header=_flag(lowered.get("header", True), f"{source}.header"))
    if kind in ("json", "jsonl", "jsonlines"):
        lines = lowered.get("lines", lowered.get("line", True))
        if not _flag(lines, f"{source}.lines"):
            raise MLAccelInputError(
                f"{source}: only JSON Lines is supported (one object per line); got lines=false"
            )
        return DatasetFormat(JSON)
    if kind == "parquet":
        return DatasetFormat(PARQUET)
    if kind == CAPTURE.lower():
        return DatasetFormat(CAPTURE, capture_index_names=_capture_sides(options, source))
    raise MLAccelInputError(
        f"{source}: unknown format {name!r}; use csv, json, parquet or sagemakerCaptureJson"
    )


def _capture_sides(options: Mapping[str, Any], source: str) -> tuple[str, ...]:
    names = options.get("captureIndexNames", list(CAPTURE_SIDES))
    if isinstance(names, str):
        names = [names]
    if not names or not set(names) <= set(CAPTURE_SIDES):
        raise MLAccelInputError(
            f"{source}.captureIndexNames must list endpointInput and/or endpointOutput, "
            f"got {names!r}"
        )
    return tuple(names)


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise MLAccelInputError(f"{where} must be true or false, got {value!r}")


def describe_file_name(name: str) -> tuple[str | None, str | None]:
    """The format and compression a file's name implies (``None`` where it says nothing).

    Examples
    --------
    >>> describe_file_name("part-0.csv.gz"), describe_file_name("batch.out")
    (('csv', 'gzip'), ('csv', None))
    """
    lowered = name.lower()
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if lowered.endswith(suffix):
            compression = codec
            lowered = lowered[: -len(suffix)]
    kind = next((k for suffix, k in _SUFFIXES.items() if lowered.endswith(suffix)), None)
    if kind is None and lowered.endswith(".out"):
        # Batch transform output: CSV unless a reader that sniffs each line is used.
        kind = CSV
    return kind, compression
