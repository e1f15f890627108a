"""Running the suite: one papermill run per notebook, its failure read from the kernel's own
reply, the run id and output folder the kernels share, and the clean-up after a failure."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlaccel.notebooks._record import read_records, read_varying_records
from mlaccel.notebooks._results import NotebookResult, write_summary
from mlaccel.notebooks._suite import SuiteEntry, raise_problems, suite_problems

log = logging.getLogger(__name__)

RUN_ID_VARIABLE = "MLACCEL_RUN_ID"  # the kernels' run id (mlaccel.cleanup.current_run_id)

OUTPUT_VARIABLE = "MLACCEL_OUTPUT_DIR"  # where the kernels write files (config.output_dir)


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
    raise_problems(suite_problems(entries))  # every notebook's values, before any kernel
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run_id = suite_run_id(env)
    previous = {name: os.environ.get(name) for name in (RUN_ID_VARIABLE, OUTPUT_VARIABLE)}
    # the kernels write their files (reports, exports) under the run's output folder only
    kernel_env = {RUN_ID_VARIABLE: run_id, OUTPUT_VARIABLE: str(output_dir.resolve())}
    os.environ.update({**(env or {}), **kernel_env})
    results: list[NotebookResult] = []
    bar = _progress(len(entries), progress)
    waits = _KernelWaits(bar)  # what a cell waits for (a job, a pipeline), beside the cell
    failed = False
    try:
        for entry in entries:
            name = entry.path.stem
            if failed and stop_on_failure:
                results.append(NotebookResult(name, "skipped", run_id=run_id, target=target))
                bar.update(1)
                continue
            bar.set_description(name)

            def show_cell(step: str) -> None:
                waits.new_cell(step[:60])  # where a long notebook is, cell by cell
                bar.set_postfix_str(step[:60])

            result = _run_one(entry, output_dir, kernel_name, workdir, show_cell)
            result.run_id, result.target = run_id, target
            if result.status == "failed" and clean_up_on_failure:
                _clean_up_after(result)
            failed = failed or result.status == "failed"
            results.append(result)
            bar.update(1)
            bar.set_postfix_str(f"{name}: {result.status} in {result.duration_s:.1f}s")
    finally:
        waits.stop()
        # the next suite run in this process gets its own id and folder
        for name, value in previous.items():
            _restore_variable(name, value)
    bar.close()
    write_summary(results, output_dir)
    return results


class _KernelWaits:
    """Shows the kernels' wait lines (:mod:`mlaccel.progress`) in the runner's progress bar:
    the kernels write them to a file the runner names (``MLACCEL_PROGRESS_FILE``), which a
    thread reads once a second."""

    def __init__(self, bar: Any, interval: float = 1.0) -> None:
        import tempfile
        import threading

        from mlaccel.progress import PROGRESS_FILE_VARIABLE

        self.bar, self.cell, self.interval = bar, "", interval
        handle, name = tempfile.mkstemp(prefix="mlaccel-progress-", suffix=".txt")
        os.close(handle)
        self.path = Path(name)
        self._previous = os.environ.get(PROGRESS_FILE_VARIABLE)
        self._variable = PROGRESS_FILE_VARIABLE
        os.environ[PROGRESS_FILE_VARIABLE] = name  # the kernels inherit it
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        shown = ""
        while not self._stopped.wait(self.interval):
            try:
                line = self.path.read_text(encoding="utf-8").strip()
            except OSError:
                continue
            if line and line != shown:
                # the wait's line is the news: the cell by its number only
                self.bar.set_postfix_str(f"{self.cell.split(':')[0]} · {line}"[:120])
                shown = line

    def new_cell(self, step: str) -> None:
        """A new cell starts: a wait line of the cell before is no longer news."""
        self.cell = step
        self.path.write_text("", encoding="utf-8")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)
        _restore_variable(self._variable, self._previous)


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
    import sys

    from tqdm.auto import tqdm

    if enabled and not sys.stderr.isatty():
        return LogLines(total, sys.stderr)  # CI logs: no carriage returns, no redraws
    return tqdm(total=total, unit="notebook", disable=not enabled)


_ELAPSED = re.compile(r" \(\d+ s\)$")


class LogLines:
    """The progress bar's interface for a log that is not a terminal: one line per change.

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> lines = LogLines(2, stream)
    >>> lines.set_description("01_explore_data")
    >>> lines.set_postfix_str("cell 3: profile = ...")
    >>> lines.set_postfix_str("cell 3: profile = ...")  # unchanged: not repeated
    >>> lines.set_postfix_str("cell 3 · training job a: InProgress (4 s)")
    >>> lines.set_postfix_str("cell 3 · training job a: InProgress (5 s)")  # only the clock
    >>> print(stream.getvalue(), end="")
    [1/2] 01_explore_data · cell 3: profile = ...
    [1/2] 01_explore_data · cell 3 · training job a: InProgress (4 s)
    """

    def __init__(self, total: int, stream: Any) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.name, self._last = "", ""

    def set_description(self, name: str) -> None:
        self.name = name

    def set_postfix_str(self, text: str) -> None:
        line = f"[{min(self.done + 1, self.total)}/{self.total}] {self.name} · {text}"
        news = _ELAPSED.sub("", line)  # a wait's clock alone is not a change worth a line
        if news != self._last:
            print(line, file=self.stream, flush=True)
            self._last = news

    def update(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        return None


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
    entry: SuiteEntry,
    output_dir: Path,
    kernel_name: str,
    workdir: Path | None = None,
    on_cell: Callable[[str], None] | None = None,
) -> NotebookResult:
    import papermill

    from mlaccel.notebooks._kernel import KERNEL_MANAGER

    def on_cell_start(cell: Any, cell_index: int, **_: Any) -> None:
        if on_cell is not None and cell.get("cell_type") == "code":
            on_cell(f"cell {cell_index + 1}: {first_code_line(cell.get('source', ''))}")

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
            kernel_manager_class=KERNEL_MANAGER,
            on_cell_start=on_cell_start,
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


def images_with_alt_html(nb: Any) -> Any:
    """``nb`` with an ``<img alt=...>`` HTML form added to each image output whose metadata
    carries ``alt`` and that has no HTML form: nbconvert's lab template reads the alt text
    from the HTML only, so without it the exported page shows a placeholder instead.

    Examples
    --------
    >>> from nbformat.v4 import new_notebook, new_code_cell, new_output
    >>> out = new_output("display_data", data={"image/png": "iVBO"},
    ...                  metadata={"image/png": {"alt": "Price by year"}})
    >>> nb = images_with_alt_html(new_notebook(cells=[new_code_cell(outputs=[out])]))
    >>> nb.cells[0].outputs[0].data["text/html"]
    '<img src="data:image/png;base64,iVBO" alt="Price by year"/>'
    """
    import html

    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data, metadata = output.get("data") or {}, output.get("metadata") or {}
            if "text/html" in data:
                continue
            for mime in ("image/png", "image/jpeg"):
                alt = (metadata.get(mime) or {}).get("alt") if mime in data else None
                if isinstance(alt, str) and alt.strip():
                    source = f"data:{mime};base64,{str(data[mime]).strip()}"
                    data["text/html"] = f'<img src="{source}" alt="{html.escape(alt)}"/>'
                    break
    return nb


class _HandledByHygiene(logging.Filter):
    """Drops nbconvert's count of images without alt text: the hygiene check names each one
    (notebook and cell) in the summary, and a bare count in the progress line helps no one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Alternative text is missing" not in record.getMessage()


_EXPORT_LOG = logging.getLogger(f"{__name__}.html")
_EXPORT_LOG.addFilter(_HandledByHygiene())


def _write_html(executed: Path) -> str | None:
    import nbformat
    from nbconvert import HTMLExporter

    try:
        notebook = images_with_alt_html(nbformat.read(executed, as_version=4))
        body, _ = HTMLExporter(log=_EXPORT_LOG).from_notebook_node(notebook)
    except Exception as exc:  # a rendering problem must not hide the run's result
        log.warning("could not render %s as HTML: %s", executed.name, exc)
        return None
    html_path = executed.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return html_path.name
