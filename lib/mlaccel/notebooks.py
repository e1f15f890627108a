"""Run the kit's notebook suite headless with papermill: the job CI and workshops run.

The suite is a YAML file (``notebooks/suite.yaml``) listing notebooks in dependency order, each
with its parameters; a parameters file passed at run time overrides them. For every notebook the
runner writes the executed notebook and its HTML rendering, and finally ``summary.json`` and
``summary.md`` with status, duration, the failing cell and the key outputs each notebook
recorded with :func:`record`.

Suite ``defaults`` apply to the notebooks that declare them. Before any kernel starts, the
runner checks every notebook's values against the spec in its ``validate-parameters`` cell
(:mod:`mlaccel.parameters`) and reports every problem at once. A failing cell is reported by
the label the executed notebook shows (``In [n]``), its first line of code and the error's type
and message, whatever display hooks a library installed in the kernel.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.errors import MLAccelInputError
from mlaccel.parameters import parameter_problems, spec_from_source, spec_problems

log = logging.getLogger(__name__)

RECORD_MIME = "application/vnd.mlaccel.record+json"
RUN_ID_VARIABLE = "MLACCEL_RUN_ID"  # the kernels' run id (mlaccel.cleanup.current_run_id)
OUTPUT_VARIABLE = "MLACCEL_OUTPUT_DIR"  # where the kernels write files (config.output_dir)
SPEC_TAG = "validate-parameters"  # the cell after the parameters cell that checks them
SUITE_KEYS = ("defaults", "notebooks")
SUITE_ITEM_KEYS = ("path", "parameters")


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
    """One notebook of the suite and the parameters the suite passes to it.

    ``sources`` says where each of those parameters was set (a file and its section), so a
    value that fails its spec can be fixed where it came from.
    """

    path: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class NotebookResult:
    """What happened when one notebook ran."""

    notebook: str
    status: str  # "succeeded" | "failed" | "skipped"
    duration_s: float = 0.0
    output: str | None = None
    html: str | None = None
    # the failing cell as the executed notebook labels it (In [n]) and its first line of code
    failed_cell: int | None = None
    failed_cell_source: str | None = None
    error: str | None = None  # "<type>: <message>" of the exception the cell raised
    key_outputs: dict[str, Any] = field(default_factory=dict)
    varying_outputs: dict[str, str] = field(default_factory=dict)  # name: why it varies
    run_id: str = ""  # MLACCEL_RUN_ID of the kernels: the tag of what the notebook created
    target: str = ""  # where the kernels worked: Connection.describe() (backend, account, ...)
    cleaned_up: list[str] | None = None  # removed after a failure, as kind:name (None: not tried)
    cleanup_error: str | None = None  # why the clean-up after a failure did not finish


def describe_failure(result: NotebookResult) -> str:
    """Where and why ``result`` failed, in one line a person can act on.

    Examples
    --------
    >>> failed = NotebookResult("04_author_pipelines", "failed", failed_cell=14,
    ...                         failed_cell_source="run = workflows.execute(training)",
    ...                         error="ValueError: boom 42")
    >>> describe_failure(failed)
    'at In [14], the cell starting "run = workflows.execute(training)": ValueError: boom 42'
    """
    where = [] if result.failed_cell is None else [f"In [{result.failed_cell}]"]
    if result.failed_cell_source:
        where.append(f'the cell starting "{result.failed_cell_source}"')
    error = result.error or "no error message"
    return f"at {', '.join(where)}: {error}" if where else error


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document in ``path``; an error naming ``what`` the file is, its problem and the
    fix when it is missing, unreadable or not YAML."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MLAccelInputError(f"{what} {path} does not exist; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MLAccelInputError(
            f"{what} {path} cannot be read ({exc}); pass a YAML text file"
        ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "it cannot be parsed"
        raise MLAccelInputError(
            f"{what} {path} is not valid YAML{where}: {problem}; fix the file"
        ) from exc


def load_overrides(params_file: Path) -> dict[str, Any]:
    """The parameter overrides in ``params_file``: ``defaults`` and per-notebook maps.

    An empty file overrides nothing; a file of another shape is an error saying what to write.
    """
    overrides = read_yaml(params_file, "parameters file")
    _raise_problems(_overrides_shape_problems(overrides, f"parameters file {params_file}"))
    return dict(overrides or {})


def load_suite(
    suite_file: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    overrides_source: str = "the parameter overrides",
) -> list[SuiteEntry]:
    """Read the suite file and apply ``overrides`` (``defaults`` and per-notebook maps).

    ``defaults`` (the suite's, then the overrides') go to the notebooks that declare them; a
    notebook's own parameters in the suite, then in the overrides, come on top. Before
    returning, every notebook's values are checked against its spec; one
    :class:`MLAccelInputError` lists every problem found (``overrides_source`` names the
    overrides in it).
    """
    suite_file = Path(suite_file)
    suite = read_yaml(suite_file, "suite file")
    _raise_problems(
        _suite_shape_problems(suite, suite_file)
        + _overrides_shape_problems(overrides, overrides_source)
    )
    overrides = dict(overrides or {})
    defaults = [
        (f"{suite_file} (defaults)", suite.get("defaults") or {}),
        (f"{overrides_source} (defaults)", overrides.get("defaults") or {}),
    ]
    entries = []
    declared_anywhere: set[str] = set()
    for item in suite["notebooks"]:
        name = item if isinstance(item, str) else item["path"]
        path = suite_file.parent / name
        declared = _declared_names(path)
        declared_anywhere |= declared
        key = path.stem if path.stem in overrides else name
        layers = [(origin, _only(values, declared)) for origin, values in defaults]
        if isinstance(item, dict):
            layers.append((f"{suite_file} ({path.stem})", item.get("parameters") or {}))
        layers.append((f"{overrides_source} ({key})", overrides.get(key) or {}))
        entries.append(_entry(path, layers))
    problems = [
        f"{origin} sets {name}, which no notebook of the suite declares; "
        + _choose_from(name, declared_anywhere)
        for origin, values in defaults
        for name in values
        if name not in declared_anywhere
    ]
    known = {e.path.stem for e in entries} | {e.path.name for e in entries} | {"defaults"}
    problems += [
        f"{overrides_source} sets parameters for {name!r}, which is not in the suite; "
        f"its notebooks are {', '.join(e.path.stem for e in entries)}"
        for name in overrides
        if name not in known
    ]
    _raise_problems(problems + suite_problems(entries))
    return entries


def select_entries(entries: list[SuiteEntry], names: list[str]) -> list[SuiteEntry]:
    """The entries named in ``names`` (a notebook's name with or without ``.ipynb``), in suite
    order; an error naming every name that is not in the suite.

    Examples
    --------
    >>> suite = [SuiteEntry(Path("01_explore.ipynb")), SuiteEntry(Path("02_train.ipynb"))]
    >>> [e.path.stem for e in select_entries(suite, ["02_train"])]
    ['02_train']
    >>> select_entries(suite, ["09_nothing"])
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: no notebook named '09_nothing' in the suite; choose from 01_explore, 02_train
    """  # noqa: E501
    known = {e.path.stem for e in entries} | {e.path.name for e in entries}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise MLAccelInputError(
            f"no notebook named {', '.join(map(repr, unknown))} in the suite; "
            f"choose from {', '.join(e.path.stem for e in entries)}"
        )
    return [e for e in entries if e.path.stem in names or e.path.name in names]


def suite_problems(entries: list[SuiteEntry]) -> list[str]:
    """Every problem with the parameters ``entries`` pass, without starting a kernel.

    A parameter a notebook does not declare, a declared parameter without a spec (or a spec
    without a parameter), and a value its spec does not allow; each names the notebook, the
    parameter, the value, what is allowed and where the value was set.
    """
    problems: list[str] = []
    for entry in entries:
        problems += [f"{entry.path.stem}: {problem}" for problem in _entry_problems(entry)]
    return problems


def _entry_problems(entry: SuiteEntry) -> list[str]:
    if not entry.path.is_file():
        return [f"{entry.path} does not exist; fix the notebook's path in the suite file"]
    try:
        declared = notebook_parameters(entry.path)
        spec = parameter_spec(entry.path)
    except MLAccelInputError as exc:
        return [str(exc)]
    problems = [
        f"{entry.sources.get(name, 'the suite')} sets {name}, which its parameters cell does "
        "not declare; " + _choose_from(name, set(declared))
        for name in entry.parameters
        if name not in declared
    ]
    if spec is None:  # a notebook without a spec: its values are not checked
        return problems
    problems += [
        f"parameter {name} has no spec in the {SPEC_TAG} cell; add one"
        for name in declared
        if name not in spec
    ]
    problems += [
        f"the {SPEC_TAG} cell has a spec for {name}, which the parameters cell does not "
        "assign; remove the spec or add the parameter"
        for name in spec
        if name not in declared
    ]
    values = {**declared, **_only(entry.parameters, set(declared))}
    for name, why in parameter_problems(values, spec).items():
        origin = entry.sources.get(name, "the suite")
        if name not in entry.parameters:
            origin = f"the parameters cell of {entry.path.name}"
        problems.append(f"{why}; set in {origin}")
    return problems


def parameter_spec(path: Path) -> dict[str, dict[str, Any]] | None:
    """The spec in the notebook's ``validate-parameters`` cell; ``None`` when it has none."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if SPEC_TAG in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return None
    if len(cells) > 1:
        raise MLAccelInputError(
            f"{path.name} has {len(cells)} cells tagged {SPEC_TAG!r}; it needs at most one"
        )
    try:
        spec = spec_from_source(cells[0].source)
    except MLAccelInputError as exc:
        raise MLAccelInputError(f"{path.name}, the cell tagged {SPEC_TAG!r}, {exc}") from exc
    if spec is None:
        raise MLAccelInputError(
            f"{path.name}: the cell tagged {SPEC_TAG!r} must call "
            "check_parameters(globals(), {...}) with the parameters' spec"
        )
    wrong = spec_problems(spec)
    if wrong:
        raise MLAccelInputError(
            f"{path.name}: the spec in the {SPEC_TAG} cell is not valid: {'; '.join(wrong)}"
        )
    return spec


def _entry(path: Path, layers: Sequence[tuple[str, Mapping[str, Any]]]) -> SuiteEntry:
    """The entry for ``path`` from layers of values (lowest precedence first), each value
    remembered with the layer that set it."""
    parameters: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for origin, values in layers:
        parameters.update(values)
        sources.update(dict.fromkeys(values, origin))
    return SuiteEntry(path, parameters, sources)


def _declared_names(path: Path) -> set[str]:
    """The parameters ``path`` declares; none when it cannot be read (reported later)."""
    try:
        return set(notebook_parameters(path)) if path.is_file() else set()
    except MLAccelInputError:
        return set()


def _choose_from(name: str, declared: set[str]) -> str:
    """The fix for an undeclared parameter: the close name meant, else every declared one.

    Examples
    --------
    >>> _choose_from("seedz", {"seed", "n_rows"})
    "did you mean 'seed'?"
    >>> _choose_from("rows", {"seed", "backend"})
    'the parameters declared are backend, seed'
    """
    import difflib

    close = difflib.get_close_matches(name, sorted(declared), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"the parameters declared are {', '.join(sorted(declared))}"


def _only(values: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in names}


def _is_parameter_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


def _suite_shape_problems(suite: Any, suite_file: Path) -> list[str]:
    if not isinstance(suite, dict) or not isinstance(suite.get("notebooks"), list):
        return [
            f"suite file {suite_file} must hold a mapping with a 'notebooks' list, "
            "e.g. 'notebooks: [{path: 01_explore_data.ipynb}]'"
        ]
    problems = [
        f"suite file {suite_file}: unknown key {key!r}; it may have {', '.join(SUITE_KEYS)}"
        for key in suite
        if key not in SUITE_KEYS
    ]
    if not _is_parameter_map(suite.get("defaults") or {}):
        problems.append(f"suite file {suite_file}: 'defaults' must map parameter names to values")
    for position, item in enumerate(suite["notebooks"], 1):
        where = f"suite file {suite_file}, notebook {position} of the list"
        problems += [f"{where}: {problem}" for problem in _suite_item_problems(item)]
    return problems


def _suite_item_problems(item: Any) -> list[str]:
    if isinstance(item, str):
        return []
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return ["give a notebook's path, or a mapping with 'path' and optional 'parameters'"]
    problems = [
        f"unknown key {key!r}; an entry may have {', '.join(SUITE_ITEM_KEYS)}"
        for key in item
        if key not in SUITE_ITEM_KEYS
    ]
    if not _is_parameter_map(item.get("parameters") or {}):
        problems.append("'parameters' must map parameter names to values")
    return problems


def _overrides_shape_problems(overrides: Any, source: str) -> list[str]:
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        return [
            f"{source} must be a mapping of 'defaults' and notebook names to parameters, "
            f"e.g. '03_train_model: {{tuning_jobs: 2}}'; it holds a {type(overrides).__name__}"
        ]
    return [
        f"{source}: {key} must map parameter names to values, e.g. '{key}: {{seed: 1}}'; "
        f"it holds {value!r}"
        for key, value in overrides.items()
        if value is not None and not _is_parameter_map(value)
    ]


def _raise_problems(problems: list[str]) -> None:
    """One error for all ``problems``: the user fixes them in one go, and nothing ran."""
    if len(problems) == 1:
        raise MLAccelInputError(problems[0])
    if problems:
        raise MLAccelInputError(
            f"{len(problems)} problems; nothing ran:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


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
    target: str = "",
    workdir: Path | None = None,
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
    target
        Where the kernels work (:meth:`mlaccel.Connection.describe`): recorded in every
        result and at the top of the summary.
    workdir
        The kernels' working folder, where the notebooks' relative paths start (default: each
        notebook's own folder).

    The kernels write their files under ``output_dir`` (``MLACCEL_OUTPUT_DIR``, read by
    :func:`mlaccel.config.output_dir`). They share one run id, ``MLACCEL_RUN_ID``: the one
    ``env`` or the environment sets, else a new one (:func:`suite_run_id`). It is recorded in
    the results and the summary.
    """
    _raise_problems(suite_problems(entries))  # every notebook's values, before any kernel
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run_id = suite_run_id(env)
    previous = {name: os.environ.get(name) for name in (RUN_ID_VARIABLE, OUTPUT_VARIABLE)}
    # the kernels write their files (reports, exports) under the run's output folder only
    kernel_env = {RUN_ID_VARIABLE: run_id, OUTPUT_VARIABLE: str(output_dir.resolve())}
    os.environ.update({**(env or {}), **kernel_env})
    results: list[NotebookResult] = []
    bar = _progress(len(entries), progress)
    failed = False
    try:
        for entry in entries:
            name = entry.path.stem
            if failed and stop_on_failure:
                results.append(NotebookResult(name, "skipped", run_id=run_id, target=target))
                bar.update(1)
                continue
            bar.set_description(name)
            result = _run_one(entry, output_dir, kernel_name, workdir)
            result.run_id, result.target = run_id, target
            if result.status == "failed" and clean_up_on_failure:
                _clean_up_after(result)
            failed = failed or result.status == "failed"
            results.append(result)
            bar.update(1)
            bar.set_postfix_str(f"{name}: {result.status} in {result.duration_s:.1f}s")
    finally:
        # the next suite run in this process gets its own id and folder
        for name, value in previous.items():
            _restore_variable(name, value)
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


@dataclass(frozen=True)
class CellError:
    """Where a notebook failed, as its executed copy labels the cell, and the error's text."""

    execution_count: int | None  # shown as In [n] in the executed notebook and its HTML
    first_line: str | None
    error: str  # "<type>: <message>"

    @classmethod
    def from_reply(cls, cell: Mapping[str, Any], execute_reply: Mapping[str, Any]) -> CellError:
        """From the kernel's ``execute_reply`` to a failed cell (nbclient's ``on_cell_error``)."""
        content = execute_reply.get("content", {})
        count = cell.get("execution_count") or content.get("execution_count")
        return cls(count, first_code_line(cell.get("source", "")), _error_text(content))


def first_code_line(source: str, width: int = 60) -> str | None:
    """The first line of code in a cell's ``source`` (comments skipped), cut to ``width``.

    Examples
    --------
    >>> first_code_line("# NBVAL_CHECK_OUTPUT\\n\\nimport mlaccel\\nconn = mlaccel.connect()")
    'import mlaccel'
    >>> first_code_line("x = '" + "a" * 80 + "'", width=12)
    "x = 'aaaaaa…"
    """
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")] or lines
    if not code:
        return None
    return code[0] if len(code[0]) <= width else code[0][: width - 1] + "…"


def _error_text(content: Mapping[str, Any]) -> str:
    name = content.get("ename") or "Error"
    message = str(content.get("evalue") or "").strip()
    return f"{name}: {message}" if message else str(name)


def _failure(exc: Exception, cell_errors: list[CellError], executed: Path) -> CellError:
    """The failure behind ``exc``: the kernel's own error for a failing cell, else ``exc``."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        # papermill's own text is empty when a display hook replaced the traceback
        reported = [e for e in cell_errors if e.execution_count == exc.exec_count]
        if reported:
            return reported[-1]
        fallback = {"ename": exc.ename, "evalue": exc.evalue}
        return CellError(exc.exec_count, first_code_line(exc.source or ""), _error_text(fallback))
    cell = _unfinished_cell(executed)  # where a dying kernel stopped, if it started
    error = _error_text({"ename": type(exc).__name__, "evalue": str(exc)})
    if cell is None:
        return CellError(None, None, error)
    return CellError(cell.get("execution_count"), first_code_line(cell.get("source", "")), error)


def _unfinished_cell(executed: Path) -> dict[str, Any] | None:
    """The cell papermill marked running or failed in the executed notebook, if any."""
    if not executed.exists():
        return None
    for cell in json.loads(executed.read_text()).get("cells", []):
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if status in ("running", "failed"):
            source = cell.get("source", "")
            joined = "".join(source) if isinstance(source, list) else source
            return {"execution_count": cell.get("execution_count"), "source": joined}
    return None


def _run_one(
    entry: SuiteEntry, output_dir: Path, kernel_name: str, workdir: Path | None = None
) -> NotebookResult:
    import papermill

    name = entry.path.stem
    out_path = output_dir / f"{name}.ipynb"
    started = time.perf_counter()
    result = NotebookResult(name, "succeeded", output=out_path.name)
    cell_errors: list[CellError] = []
    try:
        papermill.execute_notebook(
            str(entry.path),
            str(out_path),
            parameters=entry.parameters,
            kernel_name=kernel_name,
            cwd=str(workdir or entry.path.parent),
            progress_bar=False,
            # nbclient's hook sees the kernel's own error reply, which display hooks (rich's
            # tracebacks, installed by importing the SageMaker SDK) cannot empty
            on_cell_error=lambda cell, execute_reply, **_: cell_errors.append(
                CellError.from_reply(cell, execute_reply)
            ),
        )
    except Exception as exc:  # a failing cell, or a kernel that dies or cannot start
        result.status = "failed"
        failure = _failure(exc, cell_errors, out_path)
        result.failed_cell, result.failed_cell_source = failure.execution_count, failure.first_line
        result.error = failure.error
    result.duration_s = round(time.perf_counter() - started, 2)
    if out_path.exists():
        forget_machine_paths(out_path, source_name=entry.path.name)
        result.key_outputs = read_records(out_path)
        result.varying_outputs = read_varying_records(out_path)
        result.html = _write_html(out_path)
    return result


def forget_machine_paths(executed: Path, *, source_name: str) -> None:
    """Name the source and executed notebooks in papermill's metadata by file name only:
    executed notebooks are shared (CI artifacts, reviews) and must not show this machine's
    folders.

    Examples
    --------
    >>> forget_machine_paths(Path("out/01_explore_data.ipynb"),  # doctest: +SKIP
    ...                      source_name="01_explore_data.ipynb")
    """
    nb = json.loads(executed.read_text())
    recorded = nb.get("metadata", {}).get("papermill")
    if not isinstance(recorded, dict):
        return
    recorded.update(input_path=source_name, output_path=executed.name)
    executed.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


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
    targets = sorted({r.target for r in results if r.target})
    lines = [f"ran on: {target}" for target in targets] + [""] * bool(targets)
    lines += ["| notebook | status | duration (s) | key outputs | error |", "|---|---|---|---|---|"]
    for r in results:
        outputs = ", ".join(f"{k}={v}" for k, v in r.key_outputs.items())
        error = _table_cell(describe_failure(r)) if r.status == "failed" else ""
        lines.append(f"| {r.notebook} | {r.status} | {r.duration_s} | {outputs} | {error} |")
    total = sum(r.duration_s for r in results)
    lines.append("")
    lines.append(
        f"{sum(r.status == 'succeeded' for r in results)}/{len(results)} succeeded in {total:.1f} s"
    )
    lines += cleanup_lines(results)
    (output_dir / "summary.md").write_text("\n".join(lines) + "\n")


def _table_cell(text: str) -> str:
    """``text`` on one line of a Markdown table: no line breaks, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


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
