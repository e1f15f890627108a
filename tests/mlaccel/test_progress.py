"""Waits show one line that says what they wait for, not a dot per poll."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mlaccel._sagemaker import quietly
from mlaccel.progress import DotsToProgress, ProgressLine


def test_a_wait_prints_no_dots_and_ends_with_the_final_status(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def sdk_wait(name: str, poll: float) -> dict[str, Any]:
        print("\n2026-01-01 10:00:00 Starting - Preparing the instances for training", end="")
        for _ in range(5):
            print(".", end="", flush=True)
        print("!")
        return {"TrainingJobStatus": "Completed", "TrainingJobName": name}

    with caplog.at_level(logging.INFO, logger="mlaccel.progress"):
        answer = quietly("training job j-1", "TrainingJobStatus", sdk_wait, "j-1", 0.1)
    assert answer["TrainingJobName"] == "j-1"
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "training job j-1: waiting"
    assert lines[-1].startswith("training job j-1: Completed (")


def test_status_messages_become_the_state_and_a_failure_is_said() -> None:
    line = ProgressLine("processing job p")
    sink = DotsToProgress(line)
    sink.write("\n2026-01-01 10:00:00 Downloading - Downloading input data")
    assert line.state == "Downloading - Downloading input data"
    sink.write(".")
    assert line.state == "Downloading - Downloading input data"

    def failing(name: str, poll: float) -> Any:
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        quietly("processing job p", "ProcessingJobStatus", failing, "p", 0.1)


def test_kit_warnings_read_as_notes_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    from mlaccel.progress import NotebookNotes

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    logger = logging.getLogger("mlaccel.test-notes")
    handler = NotebookNotes(logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # whatever other tests set on the kit's loggers
    try:
        logger.warning("group %s has no approved version; approve one", "g")
        logger.info("not shown")
    finally:
        logger.removeHandler(handler)
    assert [m.data for m in shown] == ["**Note:** group g has no approved version; approve one"]
