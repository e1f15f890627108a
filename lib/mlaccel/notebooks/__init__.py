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

from mlaccel.notebooks._hygiene import Finding, check_executed, check_outputs
from mlaccel.notebooks._record import (
    RECORD_MIME,
    compare_runs,
    read_records,
    read_varying_records,
    record,
)
from mlaccel.notebooks._results import (
    NotebookResult,
    cleanup_lines,
    describe_failure,
    write_summary,
)
from mlaccel.notebooks._run import (
    OUTPUT_VARIABLE,
    RUN_ID_VARIABLE,
    CellError,
    first_code_line,
    forget_machine_paths,
    run_suite,
    suite_run_id,
)
from mlaccel.notebooks._suite import (
    SPEC_TAG,
    SuiteEntry,
    load_overrides,
    load_suite,
    notebook_parameters,
    parameter_spec,
    read_yaml,
    select_entries,
    suite_problems,
)

__all__ = [
    "OUTPUT_VARIABLE",
    "RECORD_MIME",
    "RUN_ID_VARIABLE",
    "SPEC_TAG",
    "CellError",
    "Finding",
    "NotebookResult",
    "SuiteEntry",
    "check_executed",
    "check_outputs",
    "cleanup_lines",
    "compare_runs",
    "describe_failure",
    "first_code_line",
    "forget_machine_paths",
    "load_overrides",
    "load_suite",
    "notebook_parameters",
    "parameter_spec",
    "read_records",
    "read_varying_records",
    "read_yaml",
    "record",
    "run_suite",
    "select_entries",
    "suite_problems",
    "suite_run_id",
    "write_summary",
]
