"""Run the kit's notebook suite headless with papermill: the job CI and workshops run.

The suite is a YAML file (``notebooks/suite.yaml``) listing notebooks in dependency order, each
with its parameters; a parameters file passed at run time overrides them. For every notebook the
runner writes the executed notebook and its HTML rendering, and finally ``summary.json`` and
``summary.md`` with status, duration, the failing cell and the key outputs each notebook
recorded with :func:`record`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.errors import MLAccelInputError

log = logging.getLogger(__name__)

RECORD_MIME = "application/vnd.mlaccel.record+json"
RUN_ID_VARIABLE = "MLACCEL_RUN_ID"  # the kernels' run id (mlaccel.cleanup.current_run_id)


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


@dataclass(frozen=True)
class SuiteEntry:
    """One notebook of the suite and the parameters the suite passes to it."""

    path: Path
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class NotebookResult:
    """What happened when one notebook ran."""

    notebook: str
    status: str  # "succeeded" | "failed" | "skipped"
    duration_s: float = 0.0
    output: str | None = None
    html: str | None = None
    failed_cell: int | None = None
    error: str | None = None
    key_outputs: dict[str, Any] = field(default_factory=dict)
    varying_outputs: dict[str, str] = field(default_factory=dict)  # name: why it varies
    run_id: str = ""  # MLACCEL_RUN_ID of the kernels: the tag of what the notebook created
    cleaned_up: list[str] | None = None  # removed after a failure, as kind:name (None: not tried)
    cleanup_error: str | None = None  # why the clean-up after a failure did not finish


def load_suite(suite_file: Path, overrides: Mapping[str, Any] | None = None) -> list[SuiteEntry]:
    """Read the suite file; ``overrides`` has ``defaults`` and per-notebook parameter maps."""
    import yaml

    try:
        spec = yaml.safe_load(Path(suite_file).read_text())
    except FileNotFoundError as exc:
        raise MLAccelInputError(f"suite file {suite_file} does not exist") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("notebooks"), list):
        raise MLAccelInputError(
            f"suite file {suite_file} must hold a mapping with a 'notebooks' list"
        )
    overrides = dict(overrides or {})
    defaults = {**(spec.get("defaults") or {}), **(overrides.pop("defaults", None) or {})}
    base = Path(suite_file).parent
    entries = []
    for item in spec["notebooks"]:
        name = item["path"] if isinstance(item, dict) else str(item)
        params = dict(item.get("parameters") or {}) if isinstance(item, dict) else {}
        stem = Path(name).stem
        merged = {**defaults, **params, **(overrides.get(stem) or overrides.get(name) or {})}
        entries.append(SuiteEntry(base / name, merged))
    unknown = set(overrides) - {e.path.stem for e in entries} - {e.path.name for e in entries}
    if unknown:
        raise MLAccelInputError(
            f"parameters given for notebooks not in the suite: {sorted(unknown)}; "
            f"the suite has {[e.path.stem for e in entries]}"
        )
    return entries


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The literals assigned in the notebook's ``parameters`` cell."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise MLAccelInputError(
            f"{path.name} has {len(cells)} cells tagged 'parameters'; it needs exactly one"
        )
    values: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if not (isinstance(node, ast.Assign | ast.AnnAssign)):
            raise MLAccelInputError(
                f"{path.name}: the parameters cell may only assign literals (line {node.lineno})"
            )
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is None:
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise MLAccelInputError(
                f"{path.name}: parameter on line {node.lineno} is not a literal"
            ) from exc
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = value
    return values


def run_suite(
    entries: list[SuiteEntry],
    output_dir: Path,
    *,
    stop_on_failure: bool = False,
    kernel_name: str = "python3",
    env: Mapping[str, str] | None = None,
    progress: bool = True,
    clean_up_on_failure: bool = True,
) -> list[NotebookResult]:
    """Execute ``entries`` in order with papermill; write notebooks, HTML and a summary.

    Parameters
    ----------
    entries
        From :func:`load_suite`.
    output_dir
        Receives ``<name>.ipynb``, ``<name>.html``, ``summary.json`` and ``summary.md``.
    stop_on_failure
        Skip the remaining notebooks after the first failure (default: continue).
    env
        Extra environment for the kernels (e.g. ``MLACCEL_TWIN_URL``).
    clean_up_on_failure
        When a notebook fails or its kernel dies, remove what the run created (the resources
        tagged with its run id, :mod:`mlaccel.cleanup`) before going on.

    The kernels share one run id, ``MLACCEL_RUN_ID``: the one ``env`` or the environment sets,
    else a new one (:func:`suite_run_id`). It is recorded in the results and the summary.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        declared = notebook_parameters(entry.path)
        missing = sorted(set(entry.parameters) - set(declared))
        if missing:
            raise MLAccelInputError(
                f"the suite passes {missing} to {entry.path.name}, whose parameters cell "
                f"declares only {sorted(declared)}"
            )
    run_id = suite_run_id(env)
    previous_run_id = os.environ.get(RUN_ID_VARIABLE)
    os.environ.update({**(env or {}), RUN_ID_VARIABLE: run_id})
    results: list[NotebookResult] = []
    bar = _progress(len(entries), progress)
    failed = False
    try:
        for entry in entries:
            name = entry.path.stem
            if failed and stop_on_failure:
                results.append(NotebookResult(name, "skipped", run_id=run_id))
                bar.update(1)
                continue
            bar.set_description(name)
            result = _run_one(entry, output_dir, kernel_name)
            result.run_id = run_id
            if result.status == "failed" and clean_up_on_failure:
                _clean_up_after(result)
            failed = failed or result.status == "failed"
            results.append(result)
            bar.update(1)
            bar.set_postfix_str(f"{name}: {result.status} in {result.duration_s:.1f}s")
    finally:
        # the next suite run in this process gets its own id
        _restore_variable(RUN_ID_VARIABLE, previous_run_id)
    bar.close()
    write_summary(results, output_dir)
    return results


def suite_run_id(env: Mapping[str, str] | None = None) -> str:
    """The run id of a suite run: ``MLACCEL_RUN_ID`` of ``env``, else of the environment,
    else a new one; an error naming ``MLACCEL_RUN_ID`` when it cannot be a run id.

    Examples
    --------
    >>> suite_run_id({"MLACCEL_RUN_ID": "ci-1234"})
    'ci-1234'
    """
    from mlaccel.cleanup import check_run_id, new_run_id

    given = (env or {}).get(RUN_ID_VARIABLE) or os.environ.get(RUN_ID_VARIABLE)
    return check_run_id(given, RUN_ID_VARIABLE) if given else new_run_id()


def _clean_up_after(result: NotebookResult) -> None:
    """Remove what the failed run created (tagged with its run id) from the kernels' backend;
    record what was removed, or why it could not be."""
    import mlaccel
    from mlaccel import cleanup
    from mlaccel.config import resolve_backend

    if resolve_backend() == "local" and not os.environ.get("MLACCEL_TWIN_URL"):
        # connect() would start a new twin, not find the kernels' one
        result.cleanup_error = "the kernels' twin is not known (MLACCEL_TWIN_URL is not set)"
        return
    try:
        connection = mlaccel.connect()  # the kernels' backend: MLACCEL_BACKEND, MLACCEL_TWIN_URL
        found = cleanup.find_resources(connection=connection, run_id=result.run_id)
        result.cleaned_up = cleanup.remove_resources(found, connection=connection)
    except Exception as exc:  # a failed clean-up is reported, and the suite goes on
        result.cleanup_error = f"{type(exc).__name__}: {exc}"
        log.warning("could not clean up run %s after %s: %s", result.run_id, result.notebook, exc)


def _restore_variable(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="notebook", disable=not enabled)


def _run_one(entry: SuiteEntry, output_dir: Path, kernel_name: str) -> NotebookResult:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    name = entry.path.stem
    out_path = output_dir / f"{name}.ipynb"
    started = time.perf_counter()
    result = NotebookResult(name, "succeeded", output=out_path.name)
    try:
        papermill.execute_notebook(
            str(entry.path),
            str(out_path),
            parameters=entry.parameters,
            kernel_name=kernel_name,
            cwd=str(entry.path.parent),
            progress_bar=False,
        )
    except PapermillExecutionError as exc:
        result.status = "failed"
        result.failed_cell = int(exc.cell_index)
        result.error = f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that dies or cannot start is a failed notebook too
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration_s = round(time.perf_counter() - started, 2)
    if out_path.exists():
        result.key_outputs = read_records(out_path)
        result.varying_outputs = read_varying_records(out_path)
        result.html = _write_html(out_path)
    return result


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


def _write_html(executed: Path) -> str | None:
    import nbformat
    from nbconvert import HTMLExporter

    try:
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    except Exception as exc:  # a rendering problem must not hide the run's result
        log.warning("could not render %s as HTML: %s", executed.name, exc)
        return None
    html_path = executed.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return html_path.name


def write_summary(results: list[NotebookResult], output_dir: Path) -> None:
    """Write ``summary.json`` and a ``summary.md`` table people can read."""
    (output_dir / "summary.json").write_text(
        json.dumps([asdict(r) for r in results], indent=2, default=str)
    )
    lines = ["| notebook | status | duration (s) | key outputs | error |", "|---|---|---|---|---|"]
    for r in results:
        outputs = ", ".join(f"{k}={v}" for k, v in r.key_outputs.items())
        error = f"cell {r.failed_cell}: {r.error}" if r.failed_cell is not None else (r.error or "")
        lines.append(f"| {r.notebook} | {r.status} | {r.duration_s} | {outputs} | {error} |")
    total = sum(r.duration_s for r in results)
    lines.append("")
    lines.append(
        f"{sum(r.status == 'succeeded' for r in results)}/{len(results)} succeeded in {total:.1f} s"
    )
    lines += cleanup_lines(results)
    (output_dir / "summary.md").write_text("\n".join(lines) + "\n")


def cleanup_lines(results: list[NotebookResult]) -> list[str]:
    """The summary's lines on the run id and on what was removed after each failure.

    Examples
    --------
    >>> failed = NotebookResult("04_author_pipelines", "failed", run_id="ci-1",
    ...                         cleaned_up=["endpoint:used-cars", "model:used-cars-1"])
    >>> print("\\n".join(cleanup_lines([failed])))
    <BLANKLINE>
    run id: ci-1 (the mlaccel:run-id tag of what the run created)
    clean-up after 04_author_pipelines failed: removed endpoint:used-cars, model:used-cars-1
    """
    run_ids = sorted({r.run_id for r in results if r.run_id})
    lines = [""] + [f"run id: {run_id} (the mlaccel:run-id tag of what the run created)"
                    for run_id in run_ids]  # fmt: skip
    for r in results:
        if r.status != "failed" or (r.cleaned_up is None and r.cleanup_error is None):
            continue
        if r.cleanup_error:
            lines.append(
                f"clean-up after {r.notebook} failed did not finish ({r.cleanup_error}); "
                f"run `mlaccel cleanup --run-id {r.run_id}`"
            )
        else:
            removed = ", ".join(r.cleaned_up or []) or "nothing was left"
            lines.append(f"clean-up after {r.notebook} failed: removed {removed}")
    return lines
