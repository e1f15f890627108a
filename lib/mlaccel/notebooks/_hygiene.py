"""What an executed notebook may show a reader: no stack trace, no path of the machine it ran
on, no AWS account id (in an ARN or an image URI: notebooks are shared, account ids are not),
no warning (nothing on stderr, which renders red), no long dump of JSON, no image without
alternative text, and no progress dots rendered one per line.

:func:`check_outputs` reads one notebook's outputs and returns every :class:`Finding`;
:func:`check_executed` reads the files of a run. Tests run them over every executed notebook,
and ``mlaccel notebooks run`` lists what they find in its summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Lines of printed JSON one output may hold before it counts as a dump (show a summary, a
#: table, or a preview with a link to the file instead).
MAX_JSON_LINES = 40
#: Lines holding nothing but progress dots one output may hold.
MAX_DOT_LINES = 3

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# A path of this machine: home folders, temporary folders, a user's root. Not inside a URI
# (s3://bucket/tmp/...) nor a longer word: the character before must not belong to a path.
_MACHINE_PATH = re.compile(
    r"(?<![\w.:/~-])(?:/(?:home|tmp|root|Users|var/folders)/|[A-Z]:\\Users\\)"
)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
# An account id where AWS writes one: an ARN's fifth field, an ECR registry, ``account=``.
_ACCOUNT_ID = re.compile(
    r"(?:arn:aws[\w-]*:[\w-]*:[\w-]*:|account=)(\d{12})\b|\b(\d{12})\.dkr\.ecr"
)
_JSON_LINE = re.compile(r'^\s*(?:"[^"]*"\s*:.*|[\[\]{}],?|\{.*\}|\[.*\]),?\s*$')
_DOTS = re.compile(r"^[.!\s]*\.[.!\s]*$")
_IMG_ALT = re.compile(r"<img\b[^>]*\balt=\"[^\"]+\"", re.I)


@dataclass(frozen=True)
class Finding:
    """One thing a reader should not see: where (notebook, cell number from 1), which rule and
    what it saw."""

    notebook: str
    cell: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.rule}: {self.detail}"


def check_outputs(
    notebook: Mapping[str, Any],
    *,
    name: str = "notebook",
    machine_paths: Sequence[str] = (),
    max_json_lines: int = MAX_JSON_LINES,
) -> list[Finding]:
    """Every finding in the outputs of ``notebook`` (an nbformat 4 notebook as a dict).

    ``machine_paths`` adds paths that must not appear (the checkout, the output folder, the
    kit's home), besides home and temporary folders.

    Examples
    --------
    >>> cell = {"cell_type": "code", "source": "", "outputs": [
    ...     {"output_type": "stream", "name": "stderr", "text": "UserWarning: careful"}]}
    >>> [f.rule for f in check_outputs({"cells": [cell]})]
    ['stderr']
    >>> cell["outputs"][0] = {"output_type": "stream", "name": "stdout",
    ...                       "text": "arn:aws:sagemaker:us-east-1:123456789012:model/m"}
    >>> [f.rule for f in check_outputs({"cells": [cell]})]
    ['account id']
    """
    findings: list[Finding] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        outputs = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
        for output in outputs:
            for rule, detail in _problems(output, machine_paths, max_json_lines):
                findings.append(Finding(name, number, rule, detail))
        # a waiting SDK prints a dot per poll, each its own output
        dots = sum(
            bool(_DOTS.match(line))
            for output in outputs
            if output.get("output_type") == "stream"
            for line in _text(output.get("text")).splitlines()
        )
        if dots > MAX_DOT_LINES:
            findings.append(Finding(name, number, "progress dots", f"{dots} lines of dots"))
    return findings


def check_executed(paths: Iterable[Path], *, machine_paths: Sequence[str] = ()) -> list[Finding]:
    """:func:`check_outputs` over executed notebook files."""
    findings: list[Finding] = []
    for path in sorted(paths):
        notebook = json.loads(Path(path).read_text())
        findings += check_outputs(notebook, name=Path(path).stem, machine_paths=machine_paths)
    return findings


def _problems(
    output: Mapping[str, Any], machine_paths: Sequence[str], max_json_lines: int
) -> Iterator[tuple[str, str]]:
    kind = output.get("output_type")
    if kind == "error":
        yield "traceback", f"{output.get('ename', 'Error')}: {_short(output.get('evalue', ''))}"
        return
    if kind == "stream" and output.get("name") == "stderr" and _text(output.get("text")).strip():
        yield "stderr", _short(_text(output.get("text")))
    data = output.get("data") or {}
    texts = [_text(output.get("text"))] + [
        _text(data[mime]) for mime in ("text/plain", "text/html", "text/markdown") if mime in data
    ]
    for text in texts:
        if _TRACEBACK.search(text):
            yield "traceback", _short(_TRACEBACK.search(text).group(0))  # type: ignore[union-attr]
            break
    for text in texts:
        found = _MACHINE_PATH.search(text) or _first_of(machine_paths, text)
        if found:
            yield "machine path", _around(text, found)
            break
    for text in texts:
        found = _ACCOUNT_ID.search(text)
        if found:
            yield "account id", _around(text, found)
            break
    longest = max((_json_lines(text) for text in texts), default=0)
    if longest > max_json_lines:
        yield "long JSON", f"{longest} lines of JSON in one output (at most {max_json_lines})"
    images = [mime for mime in IMAGE_TYPES if mime in data]
    metadata = output.get("metadata") or {}
    for mime in images:
        alt = (
            (metadata.get(mime) or {}).get("alt") if isinstance(metadata.get(mime), dict) else None
        )
        if not alt and not _IMG_ALT.search(_text(data.get("text/html"))):
            yield "no alt text", f"{mime} image without alternative text"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _json_lines(text: str) -> int:
    """The longest run of consecutive lines that read as JSON."""
    longest = run = 0
    for line in text.splitlines():
        run = run + 1 if line.strip() and _JSON_LINE.match(line) else 0
        longest = max(longest, run)
    return longest


def _first_of(paths: Sequence[str], text: str) -> re.Match[str] | None:
    for path in paths:
        if len(path) > 1 and path in text:
            return re.search(re.escape(path), text)
    return None


def _around(text: str, found: re.Match[str]) -> str:
    start = max(0, found.start() - 20)
    return _short(text[start : found.end() + 40])


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
