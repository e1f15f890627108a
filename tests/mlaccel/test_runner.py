"""The suite runner and the ``mlaccel`` command fail well: a failing cell's own message and label
reach the CLI, the summaries and the exit code; parameters are checked before any kernel starts;
every mistake on the command line is one line on stderr and exit code 2.

Small notebooks written by each test run on the plain ``python3`` kernel: no twin needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from mlaccel import cli
from mlaccel.errors import MLAccelInputError
from mlaccel.notebooks import SuiteEntry, load_suite, run_suite
from mlaccel_twin import Twin
from tests.support import REPO

SPEC = {
    "n_rows": {"type": "int", "min": 1},
    "seed": {"type": "int", "min": 0},
    "fast": {"type": "bool"},
}
PARAMETERS = "n_rows = 10\nseed = 0\nfast = True"
RICH_TRACEBACKS = "from rich.traceback import install\n\ninstall()"  # as the SageMaker SDK does
FAILING_CELL = "# the cell that fails\ntotal = n_rows + 1\nraise ValueError('boom 42')"


def write_notebook(
    path: Path, *code: str, parameters: str = PARAMETERS, spec: dict[str, Any] | None = None
) -> Path:
    """A notebook of the kit's shape: a markdown cell, the parameters cell, the
    validate-parameters cell (when ``spec`` is given), then ``code``."""
    cells = [
        new_markdown_cell("# a test notebook"),
        new_code_cell(parameters, metadata={"tags": ["parameters"]}),
    ]
    if spec is not None:
        check = "from mlaccel.parameters import check_parameters\n\n"
        check += f"check_parameters(globals(), {spec!r})"
        cells.append(new_code_cell(check, metadata={"tags": ["validate-parameters"]}))
    cells += [new_code_cell(source) for source in code]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), path)
    return path


def write_suite(folder: Path, text: str) -> Path:
    suite = folder / "suite.yaml"
    suite.write_text(text)
    return suite


@pytest.fixture
def two_notebooks(tmp_path: Path) -> Path:
    """A suite of two notebooks with specs; ``01_a`` declares ``seed``, ``02_b`` does not."""
    write_notebook(tmp_path / "01_a.ipynb", "print(n_rows)", spec=SPEC)
    write_notebook(
        tmp_path / "02_b.ipynb",
        "print(tuning_jobs)",
        parameters="tuning_jobs = 4\nparallel_jobs = 2",
        spec={
            "tuning_jobs": {"type": "int", "min": 1},
            "parallel_jobs": {"type": "int", "min": 1, "max": "tuning_jobs"},
        },
    )
    return write_suite(tmp_path, "notebooks:\n  - path: 01_a.ipynb\n  - path: 02_b.ipynb\n")


def run_argv(suite: Path, *extra: str, backend: str = "aws") -> list[str]:
    """``mlaccel notebooks run`` confined to the test's folder: its suite, its output, and by
    default no twin (a mistake must stop the run before it connects anywhere)."""
    out = suite.parent / "out"
    return [
        "notebooks",
        "run",
        "--suite",
        str(suite),
        "--backend",
        backend,
        "--output",
        str(out),
        *extra,
    ]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -------------------------------------------------------------------- a failing cell


def executed_count_of(executed: Path, marker: str) -> int:
    """The execution count (In [n]) the executed notebook shows for the cell holding ``marker``."""
    nb = nbformat.read(executed, as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    count: int = cell.execution_count
    return count


@pytest.mark.notebook
@pytest.mark.parametrize("hooks", ["rich tracebacks", "plain IPython"])
def test_a_failing_cell_is_reported_by_its_label_and_message(hooks: str, tmp_path: Path) -> None:
    """rich's traceback hook turns the error into a display box; the message must survive."""
    setup = RICH_TRACEBACKS if hooks == "rich tracebacks" else "import math"
    path = write_notebook(tmp_path / "fails.ipynb", setup, FAILING_CELL)
    out = tmp_path / "out"

    (result,) = run_suite([SuiteEntry(path, {"n_rows": 3})], out, progress=False)

    label = executed_count_of(out / "fails.ipynb", "boom 42")  # papermill's cell shifts it
    assert result.status == "failed"
    assert result.error == "ValueError: boom 42"
    assert result.failed_cell == label
    assert result.failed_cell_source == "total = n_rows + 1"
    expected = f'In [{label}], the cell starting "total = n_rows + 1": ValueError: boom 42'
    assert expected in (out / "summary.md").read_text()
    (summary,) = json.loads((out / "summary.json").read_text())
    assert (summary["failed_cell"], summary["error"]) == (label, "ValueError: boom 42")


@pytest.mark.notebook
def test_the_cli_prints_the_failure_and_exits_non_zero(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    twin: Twin,
) -> None:
    monkeypatch.setenv("MLACCEL_TWIN_URL", twin.url)  # the session's twin: none is started
    write_notebook(tmp_path / "01_fails.ipynb", RICH_TRACEBACKS, FAILING_CELL)
    suite = write_suite(tmp_path, "notebooks: [01_fails.ipynb]\n")
    out = tmp_path / "out"

    code, stdout, _ = run_cli(run_argv(suite, backend="local"), capsys)

    label = executed_count_of(out / "01_fails.ipynb", "boom 42")
    assert code == 1
    assert (
        f'FAILED 01_fails at In [{label}], the cell starting "total = n_rows + 1": '
        "ValueError: boom 42" in stdout
    )
    assert f"see {out / '01_fails.html'}" in stdout


@pytest.mark.notebook
def test_the_validation_cell_stops_a_notebook_run_alone(tmp_path: Path) -> None:
    """Run with papermill (or by hand), the notebook checks its own values first."""
    path = write_notebook(tmp_path / "alone.ipynb", "after_the_check = True", spec=SPEC)

    with pytest.raises(PapermillExecutionError) as raised:
        papermill.execute_notebook(
            str(path),
            str(tmp_path / "out.ipynb"),
            parameters={"n_rows": -5, "fast": 1},
            kernel_name="python3",
            progress_bar=False,
        )

    assert raised.value.ename == "MLAccelInputError"
    assert raised.value.evalue.splitlines()[1:] == [
        "  n_rows=-5 must be an int of at least 1",
        "  fast=1 must be True or False (it is an int)",
    ]
    last = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[-1]
    assert last.execution_count is None, "nothing ran after the check"


# -------------------------------------------------------------------- checks before any kernel


def test_every_bad_value_of_every_notebook_is_reported_at_once(two_notebooks: Path) -> None:
    overrides = {"01_a": {"n_rows": -5, "fast": "yes"}, "02_b": {"tuning_jobs": "four"}}

    with pytest.raises(MLAccelInputError) as raised:
        load_suite(two_notebooks, overrides, overrides_source="parameters file p.yaml")

    assert str(raised.value).splitlines() == [
        "3 problems; nothing ran:",
        "  - 01_a: n_rows=-5 must be an int of at least 1; set in parameters file p.yaml (01_a)",
        "  - 01_a: fast='yes' must be True or False (it is a str); "
        "set in parameters file p.yaml (01_a)",
        "  - 02_b: tuning_jobs='four' must be an int of at least 1 (it is a str); "
        "set in parameters file p.yaml (02_b)",
    ]


def test_a_bound_may_name_another_parameter(two_notebooks: Path) -> None:
    with pytest.raises(MLAccelInputError, match=r"parallel_jobs=5 must be an int from 1 to "):
        load_suite(two_notebooks, {"02_b": {"parallel_jobs": 5}})


def test_run_suite_checks_values_before_any_kernel_starts(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "01_a.ipynb", "print(n_rows)", spec=SPEC)
    out = tmp_path / "out"

    with pytest.raises(MLAccelInputError, match=r"^01_a: n_rows=-5 must be an int of at least 1"):
        run_suite([SuiteEntry(path, {"n_rows": -5})], out, progress=False)

    assert not out.exists(), "no kernel ran, nothing was written"


def test_a_default_of_the_notebook_itself_is_checked_too(tmp_path: Path) -> None:
    write_notebook(
        tmp_path / "01_a.ipynb", parameters="n_rows = 0\nseed = 0\nfast = True", spec=SPEC
    )
    suite = write_suite(tmp_path, "notebooks: [01_a.ipynb]\n")

    with pytest.raises(MLAccelInputError) as raised:
        load_suite(suite)

    assert str(raised.value) == (
        "01_a: n_rows=0 must be an int of at least 1; set in the parameters cell of 01_a.ipynb"
    )


def test_every_parameter_needs_a_spec_and_every_spec_a_parameter(tmp_path: Path) -> None:
    spec = {"n_rows": SPEC["n_rows"], "ghost": {"type": "str"}}
    write_notebook(tmp_path / "01_a.ipynb", parameters="n_rows = 1\nseed = 0", spec=spec)
    suite = write_suite(tmp_path, "notebooks: [01_a.ipynb]\n")

    with pytest.raises(MLAccelInputError) as raised:
        load_suite(suite)

    assert str(raised.value).splitlines()[1:] == [
        "  - 01_a: parameter seed has no spec in the validate-parameters cell; add one",
        "  - 01_a: the validate-parameters cell has a spec for ghost, which the parameters "
        "cell does not assign; remove the spec or add the parameter",
    ]


def test_a_spec_the_runner_cannot_read_is_an_error(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "01_a.ipynb", spec=SPEC)
    nb = nbformat.read(path, as_version=4)
    nb.cells[
        2
    ].source = (
        "from mlaccel.parameters import check_parameters\n\ncheck_parameters(globals(), SPEC)"
    )
    nbformat.write(nb, path)
    suite = write_suite(tmp_path, "notebooks: [01_a.ipynb]\n")

    with pytest.raises(MLAccelInputError, match=r"the spec given to check_parameters must be a"):
        load_suite(suite)


# -------------------------------------------------------------------- suite-wide defaults


def test_defaults_go_to_the_notebooks_that_declare_them(two_notebooks: Path) -> None:
    two_notebooks.write_text("defaults: {seed: 7}\n" + two_notebooks.read_text())

    first, second = load_suite(two_notebooks)

    assert first.parameters == {"seed": 7}
    assert first.sources == {"seed": f"{two_notebooks} (defaults)"}
    assert second.parameters == {}, "02_b declares no seed"


def test_a_default_no_notebook_declares_is_an_error(two_notebooks: Path) -> None:
    with pytest.raises(MLAccelInputError) as raised:
        load_suite(two_notebooks, {"defaults": {"sede": 1}}, overrides_source="p.yaml")

    assert str(raised.value) == (
        "p.yaml (defaults) sets sede, which no notebook of the suite declares; did you mean 'seed'?"
    )


def test_a_notebook_override_must_be_declared_by_that_notebook(two_notebooks: Path) -> None:
    with pytest.raises(MLAccelInputError) as raised:
        load_suite(two_notebooks, {"02_b": {"seed": 1}}, overrides_source="p.yaml")

    assert str(raised.value) == (
        "02_b: p.yaml (02_b) sets seed, which its parameters cell does not declare; "
        "the parameters declared are parallel_jobs, tuning_jobs"
    )


def test_overrides_win_over_the_suite_in_order(two_notebooks: Path) -> None:
    two_notebooks.write_text(
        "defaults: {seed: 1, n_rows: 5}\n"
        "notebooks:\n  - {path: 01_a.ipynb, parameters: {n_rows: 6}}\n  - path: 02_b.ipynb\n"
    )
    overrides = {"defaults": {"seed": 2, "n_rows": 7}, "01_a": {"fast": False}}

    first, _ = load_suite(two_notebooks, overrides, overrides_source="p.yaml")

    assert first.parameters == {"seed": 2, "n_rows": 6, "fast": False}
    assert first.sources == {
        "seed": "p.yaml (defaults)",
        "n_rows": f"{two_notebooks} (01_a)",
        "fast": "p.yaml (01_a)",
    }


# -------------------------------------------------------------------- mistakes on the command line

CLI_MISTAKES = {
    # name: (params file text or None, suite text or None, extra arguments, expected on stderr)
    "an --only name not in the suite": (
        None,
        None,
        ["--only", "01_a", "09_nothing"],
        "no notebook named '09_nothing' in the suite; choose from 01_a, 02_b",
    ),
    "a params file that is not YAML": (
        "01_a: [1",
        None,
        [],
        "is not valid YAML at line 1, column 9",
    ),
    "a params file that is a list": (
        "- 01_a\n",
        None,
        [],
        "must be a mapping of 'defaults' and notebook names to parameters",
    ),
    "a notebook's params that are not a mapping": (
        "01_a: 3\n",
        None,
        [],
        "01_a must map parameter names to values, e.g. '01_a: {seed: 1}'; it holds 3",
    ),
    "a parameter a notebook does not declare": (
        "01_a: {n_rowz: 3}\n",
        None,
        [],
        "01_a: parameters file PARAMS (01_a) sets n_rowz, which its parameters cell does not "
        "declare; did you mean 'n_rows'?",
    ),
    "a value its spec does not allow": (
        "02_b: {tuning_jobs: four}\n",
        None,
        [],
        "02_b: tuning_jobs='four' must be an int of at least 1 (it is a str); "
        "set in parameters file PARAMS (02_b)",
    ),
    "a suite file that is not YAML": (None, "notebooks: [01_a", [], "is not valid YAML"),
    "a suite file of the wrong shape": (
        None,
        "notebooks: 01_a.ipynb\n",
        [],
        "must hold a mapping with a 'notebooks' list",
    ),
    "a suite file with a misspelt key": (
        None,
        "default: {seed: 1}\nnotebooks: [01_a.ipynb]\n",
        [],
        "unknown key 'default'; it may have defaults, notebooks",
    ),
}


@pytest.mark.parametrize("mistake", list(CLI_MISTAKES))
def test_a_cli_mistake_is_one_line_on_stderr_and_exit_code_2(
    mistake: str, two_notebooks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params_text, suite_text, extra, expected = CLI_MISTAKES[mistake]
    params = two_notebooks.parent / "params.yaml"
    argv = run_argv(two_notebooks, *extra)
    if params_text is not None:
        params.write_text(params_text)
        argv += ["--params", str(params)]
    if suite_text is not None:
        two_notebooks.write_text(suite_text)

    code, stdout, stderr = run_cli(argv, capsys)

    assert code == 2
    assert stderr.startswith("mlaccel: ") and stderr.count("\n") == 1, stderr
    assert expected.replace("PARAMS", str(params)) in stderr
    assert stdout == "" and not (two_notebooks.parent / "out").exists(), "nothing ran"


@pytest.mark.parametrize("missing", ["--params", "--suite"])
def test_a_missing_file_is_named_on_stderr(
    missing: str, two_notebooks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = run_argv(two_notebooks, missing, str(two_notebooks.parent / "nowhere.yaml"))

    code, _, stderr = run_cli(argv, capsys)

    what = "parameters file" if missing == "--params" else "suite file"
    assert code == 2
    assert stderr == (
        f"mlaccel: {what} {two_notebooks.parent / 'nowhere.yaml'} does not exist; check the path\n"
    )


def test_several_cli_mistakes_are_listed_together(
    two_notebooks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = two_notebooks.parent / "params.yaml"
    params.write_text("01_a: {n_rows: -5}\n02_b: {tuning_jobs: four}\n")
    code, _, stderr = run_cli(run_argv(two_notebooks, "--params", str(params)), capsys)

    assert code == 2
    assert stderr.splitlines()[0] == "mlaccel: 2 problems; nothing ran:"
    assert "01_a: n_rows=-5 must be an int of at least 1" in stderr
    assert "02_b: tuning_jobs='four' must be an int of at least 1" in stderr


def test_only_needs_at_least_one_name(
    two_notebooks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(run_argv(two_notebooks, "--only"))

    assert exited.value.code == 2
    assert "--only: expected at least one argument" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mlaccel {version('mlaccel')}\n"


def test_twin_port_out_of_range_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["twin", "start", "--port", "70000"])

    assert exited.value.code == 2
    assert "argument --port: '70000' is not a port" in capsys.readouterr().err


def test_snippets_into_a_path_that_cannot_be_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "jupyter"

    code, _, stderr = run_cli(
        ["snippets", "install", "--source", str(REPO / "snippets"), "--target", str(target)], capsys
    )

    assert code == 2
    assert stderr.startswith(f"mlaccel: {tmp_path / 'a-file'}") and "Not a directory" in stderr
    assert stderr.count("\n") == 1


def test_suite_kernels_use_local_sockets_and_leave_none_behind() -> None:
    """No kernel of a suite listens on TCP (it would warn that its traffic is plain text)."""
    import asyncio

    from mlaccel.notebooks._kernel import IpcKernelManager

    async def start_and_stop() -> tuple[dict, Path]:
        manager = IpcKernelManager(kernel_name="python3")
        await manager.start_kernel()
        try:
            return manager.get_connection_info(), manager._socket_dir
        finally:
            await manager.shutdown_kernel(now=True)

    info, folder = asyncio.run(start_and_stop())
    assert info["transport"] == "ipc" and str(info["ip"]).startswith(str(folder))
    assert not folder.exists()


def test_html_export_carries_alt_text_from_output_metadata(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from nbformat.v4 import new_output

    from mlaccel.notebooks._run import _write_html

    png = (  # one pixel
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    described = new_output(
        "display_data", data={"image/png": png}, metadata={"image/png": {"alt": "Price by year"}}
    )
    bare = new_output("display_data", data={"image/png": png})
    executed = tmp_path / "01_plots.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(outputs=[described, bare])]), executed)

    with caplog.at_level("WARNING"):
        assert _write_html(executed) == "01_plots.html"

    page = (tmp_path / "01_plots.html").read_text()
    assert 'alt="Price by year"' in page
    assert page.count("<img") == 2  # the bare image is exported too, with nbconvert's placeholder
    assert "Alternative text is missing" not in caplog.text  # the hygiene summary names it
    assert "alt" not in json.dumps(nbformat.read(executed, as_version=4).cells[0].outputs[1])


WAITING_CELL = """\
import time

from mlaccel.progress import progress_line

with progress_line("training job demo-1") as line:
    for state in ("Starting", "InProgress", "InProgress"):
        line.update(state, force=True)
        time.sleep(1.2)
    line.finish("Completed")
"""


@pytest.mark.notebook
def test_the_progress_bar_shows_what_a_cell_waits_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "01_waits.ipynb", WAITING_CELL)

    (result,) = run_suite([SuiteEntry(path, {"n_rows": 3})], tmp_path / "out", progress=True)

    assert result.status == "succeeded"
    shown = capsys.readouterr().err
    # the cell (papermill's injected parameters cell counts) and, beside it, the job's state;
    # the runner reads it once a second, so only a state held 2.4 s is sure to be seen
    assert "[1/1] 01_waits · cell 4: import time\n" in shown
    assert "[1/1] 01_waits · cell 4 · training job demo-1: InProgress" in shown
    assert "\r" not in shown  # not a terminal (a CI log): a line per change, no redraws
    assert len(shown.splitlines()) == len(set(shown.splitlines()))
    assert not any(p.name.startswith("mlaccel-progress-") for p in (tmp_path / "out").iterdir())


@pytest.mark.notebook
@pytest.mark.parametrize("strict", [False, True])
def test_hygiene_findings_fail_the_cli_only_when_asked(
    strict: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    twin: Twin,
) -> None:
    monkeypatch.setenv("MLACCEL_TWIN_URL", twin.url)
    write_notebook(
        tmp_path / "01_noisy.ipynb", "import sys\n\nprint('WARNING: noisy', file=sys.stderr)"
    )
    suite = write_suite(tmp_path, "notebooks: [01_noisy.ipynb]\n")
    argv = run_argv(suite, backend="local") + (["--strict-hygiene"] if strict else [])

    code, stdout, _ = run_cli(argv, capsys)

    assert "output hygiene: 1 finding(s)" in stdout
    assert "WARNING: noisy" in stdout
    assert code == (1 if strict else 0)
    assert ("FAILED output hygiene (--strict-hygiene)" in stdout) is strict
