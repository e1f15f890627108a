"""What happened when each notebook ran, and the run summary (``summary.json``, ``summary.md``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    lines += hygiene_lines([output_dir / f"{r.notebook}.ipynb" for r in results])
    (output_dir / "summary.md").write_text("\n".join(lines) + "\n")


def hygiene_lines(executed: list[Path]) -> list[str]:
    """The summary's list of what readers of the executed notebooks should not see
    (:func:`mlaccel.notebooks.check_executed`); none when all is clean."""
    from mlaccel.notebooks._hygiene import check_executed

    findings = check_executed([path for path in executed if path.exists()])
    if not findings:
        return []
    return ["", f"output hygiene: {len(findings)} finding(s)"] + [f"- {f}" for f in findings]


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
