"""Key outputs: what a notebook records with :func:`record`, read back from the executed
file, and the comparison of two runs' outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD_MIME = "application/vnd.mlaccel.record+json"


def record(name: str, value: Any, *, varies: str | None = None) -> None:
    """Record a key output of the running notebook for the suite's run summary.

    The value is shown in the notebook and read back by the runner from the executed file.
    Key outputs are reproducible: the same parameters give the same value on a fresh twin. A
    value that cannot be (a wall-clock latency) says why in ``varies``, and comparisons of runs
    (:func:`compare_runs`) leave it out.

    Examples
    --------
    >>> record("test_rmse", 1234.5)  # doctest: +SKIP
    >>> record("p50_ms", 3.2, varies="wall-clock time")  # doctest: +SKIP
    """
    from IPython.display import display

    payload = {"name": name, "value": _jsonable(value)}
    if varies:
        payload["varies"] = varies
    display({RECORD_MIME: payload, "text/plain": f"{name} = {payload['value']!r}"}, raw=True)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        item = getattr(value, "item", None)  # numpy scalars
        return item() if callable(item) else str(value)


def read_records(executed: Path) -> dict[str, Any]:
    """Key outputs recorded with :func:`record` in an executed notebook."""
    return {payload["name"]: payload.get("value") for payload in _record_payloads(executed)}


def read_varying_records(executed: Path) -> dict[str, str]:
    """The key outputs recorded as varying between runs, with the reason each varies."""
    return {p["name"]: str(p["varies"]) for p in _record_payloads(executed) if p.get("varies")}


def _record_payloads(executed: Path) -> list[dict[str, Any]]:
    nb = json.loads(executed.read_text())
    return [
        payload
        for cell in nb.get("cells", [])
        for output in cell.get("outputs", [])
        if isinstance(payload := output.get("data", {}).get(RECORD_MIME), dict)
        and "name" in payload
    ]


def compare_runs(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[str]:
    """How two runs' ``summary.json`` entries differ: status and reproducible key outputs.

    Durations and the outputs recorded as varying (``record(..., varies=...)``) are left out;
    an empty list means the runs agree.

    Examples
    --------
    >>> a = [{"notebook": "03", "status": "succeeded", "key_outputs": {"rmse": 1.5, "p50": 3},
    ...       "varying_outputs": {"p50": "wall-clock time"}}]
    >>> b = [{"notebook": "03", "status": "succeeded", "key_outputs": {"rmse": 1.7, "p50": 4},
    ...       "varying_outputs": {"p50": "wall-clock time"}}]
    >>> compare_runs(a, b)
    ['03: rmse is 1.5 in the first run, 1.7 in the second']
    """
    differences = []
    by_name = {entry["notebook"]: entry for entry in second}
    for entry in first:
        name = entry["notebook"]
        other = by_name.pop(name, None)
        if other is None:
            differences.append(f"{name}: only in the first run")
            continue
        if entry["status"] != other["status"]:
            differences.append(
                f"{name}: {entry['status']} in the first run, {other['status']} in the second"
            )
        varying = {*entry.get("varying_outputs", {}), *other.get("varying_outputs", {})}
        ours, theirs = entry.get("key_outputs", {}), other.get("key_outputs", {})
        for key in sorted((set(ours) | set(theirs)) - varying):
            if ours.get(key, "<missing>") != theirs.get(key, "<missing>"):
                differences.append(
                    f"{name}: {key} is {ours.get(key, '<missing>')!r} in the first run, "
                    f"{theirs.get(key, '<missing>')!r} in the second"
                )
    differences += [f"{name}: only in the second run" for name in by_name]
    return differences
