"""The payload of a captured request or response, parsed into rows of text values.

Payloads may be CSV, JSON, JSON Lines or base64 of either. A row is a list of values
(positional fields) or a dict (named fields); values stay text, the engine types them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from mlaccel.errors import MLAccelInputError

# A JSON object with only one of these keys wraps the rows, as model servers answer.
_LIST_KEYS = ("instances", "inputs", "features", "data", "predictions", "outputs", "scores")


@dataclass(frozen=True)
class CapturedPayload:
    """One side of a captured record, as a record preprocessor script sees it."""

    data: str
    encoding: str = "CSV"
    observed_content_type: str = "text/csv"
    mode: str = ""


def parse_payload(payload: CapturedPayload) -> list[Any]:
    """Rows of one payload: each a list of values (positional) or a dict (named).

    Examples
    --------
    >>> parse_payload(CapturedPayload("1.5,a\\n2.5,"))
    [['1.5', 'a'], ['2.5', None]]
    >>> parse_payload(CapturedPayload('{"predictions": [0.2, 0.7]}', "JSON", "application/json"))
    [['0.2', '0.7']]
    """
    text = payload.data
    encoding = payload.encoding.upper()
    content_type = payload.observed_content_type.lower()
    if encoding == "BASE64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise MLAccelInputError(
                "a captured payload says BASE64 but does not decode to UTF-8 text"
            ) from None
        encoding = "JSON" if "json" in content_type else "CSV"
    if encoding == "JSON" or (encoding != "CSV" and "json" in content_type):
        return _json_rows(text)
    return _csv_rows(text)


def _csv_rows(text: str) -> list[Any]:
    return [
        [value if value != "" else None for value in fields]
        for fields in csv.reader(io.StringIO(text))
        if fields
    ]


def _json_rows(text: str) -> list[Any]:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        documents = [json.loads(stripped)]
    except json.JSONDecodeError:
        try:
            documents = [json.loads(line) for line in stripped.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise MLAccelInputError(
                "a captured payload says JSON but is neither JSON nor JSON Lines"
            ) from None
    rows: list[Any] = []
    for document in documents:
        rows.extend(_json_document_rows(document))
    return rows


def _json_document_rows(document: Any) -> list[Any]:
    if isinstance(document, dict):
        for key in _LIST_KEYS:
            if key in document and len(document) == 1:
                return _json_document_rows(document[key])
        return [{str(k): as_text(v) for k, v in document.items()}]
    if isinstance(document, list):
        if not document:
            return []
        if all(isinstance(item, dict) for item in document):
            return [{str(k): as_text(v) for k, v in item.items()} for item in document]
        if all(isinstance(item, list) for item in document):
            return [[as_text(v) for v in item] for item in document]
        # A flat list is one row; a capture with as many input rows splits it per row.
        return [[as_text(v) for v in document]]
    return [[as_text(document)]]


def as_text(value: Any) -> str | None:
    """A JSON value as the text a CSV reader would give (``None`` stays missing).

    Examples
    --------
    >>> as_text(0.5), as_text(True), as_text([1, 2]), as_text(None)
    ('0.5', 'true', '[1, 2]', None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)
