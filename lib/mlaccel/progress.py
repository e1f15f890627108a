"""One progress line for a wait: what is being waited for, its state and how long it has taken,
updated in place in a notebook (a display updated by id, which papermill keeps as one output)
and written once at the start and once at the end elsewhere (logs, CI).

The SageMaker SDK prints a dot per poll while it waits; rendered by papermill each dot is a line
of its own. :func:`progress_line` is what the kit's sessions show instead.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s*")
#: A file the suite runner (``mlaccel notebooks run``) names for the kernels: each wait writes
#: its line there, and the runner shows it beside the cell it is in.
PROGRESS_FILE_VARIABLE = "MLACCEL_PROGRESS_FILE"
#: Seconds between two updates of a line in a notebook (each is a message to the front end).
MIN_UPDATE_SECONDS = 1.0


class ProgressLine:
    """A line that says what is being waited for; :meth:`update` sets its state."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.started = time.monotonic()
        self._handle = _display_handle(f"{what}: starting")
        self._last_update = 0.0
        self.state = "starting"
        if self._handle is None:
            log.info("%s: waiting", what)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def text(self) -> str:
        return f"{self.what}: {self.state} ({self.elapsed:.0f} s)"

    def update(self, state: str | None = None, *, force: bool = False) -> None:
        """Set the state (or only the elapsed time); a notebook shows it at most once a second."""
        if state:
            self.state = state
        now = time.monotonic()
        if force or now - self._last_update >= MIN_UPDATE_SECONDS:
            if self._handle is not None:
                self._handle.update({"text/plain": self.text()}, raw=True)
            _tell_runner(self.text())
            self._last_update = now

    def finish(self, state: str) -> None:
        self.update(state, force=True)
        if self._handle is None:
            log.info("%s", self.text())


class DotsToProgress:
    """A stand-in for ``sys.stdout`` while the SDK waits: each dot it prints (one per poll)
    moves the line's clock, and a status message it prints ("2024-05-01 12:00:00 Starting -
    Preparing the instances for training") becomes the line's state."""

    def __init__(self, line: ProgressLine) -> None:
        self.line = line

    def write(self, text: str) -> int:
        stripped = text.strip()
        if stripped and stripped.strip(".!") == "":
            self.line.update()
        elif stripped:
            self.line.update(_TIMESTAMP.sub("", stripped.splitlines()[-1]).strip())
        return len(text)

    def flush(self) -> None:
        return None


@contextmanager
def progress_line(what: str) -> Iterator[ProgressLine]:
    """A :class:`ProgressLine` for ``what``; it ends ``failed`` when the block raises."""
    line = ProgressLine(what)
    try:
        yield line
    except BaseException:
        line.finish("failed")
        raise


def _tell_runner(text: str) -> None:
    """Write ``text`` to the runner's progress file, when a suite runner named one."""
    target = os.environ.get(PROGRESS_FILE_VARIABLE)
    if target:
        try:
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as exc:  # the line is a courtesy: a wait must not fail for it
            log.debug("could not write the progress line to %s: %s", target, exc)


def _display_handle(text: str) -> Any:
    """A display updated in place when running in a notebook kernel, else None."""
    if not _display_handle_possible():
        return None
    from IPython.display import display

    return display({"text/plain": text}, raw=True, display_id=True)


class NotebookNotes(logging.Handler):
    """The kit's warnings shown in a notebook as a note (Markdown), not as red stderr text: each
    says what to do, and a reader should see it as advice, not as a failure."""

    def emit(self, record: logging.LogRecord) -> None:
        from IPython.display import Markdown, display

        display(Markdown(f"**Note:** {self.format(record)}"))


def show_kit_warnings_as_notes() -> None:
    """In a notebook kernel, show the ``mlaccel`` loggers' warnings as notes (once); elsewhere
    leave logging as the application configured it."""
    if _display_handle_possible() and not any(
        isinstance(h, NotebookNotes) for h in logging.getLogger("mlaccel").handlers
    ):
        handler = NotebookNotes(logging.WARNING)
        kit = logging.getLogger("mlaccel")
        kit.addHandler(handler)
        kit.propagate = False  # else Python's last-resort handler prints it again, in red


def _display_handle_possible() -> bool:
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
