"""Endpoint data capture and batch-transform output become frames the engine checks."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlaccel import monitor
from mlaccel.errors import MLAccelInputError
from tests.support import capture_record, write_capture


def test_csv_capture_becomes_named_columns(tmp_path: Path) -> None:
    write_capture(
        tmp_path,
        [
            capture_record("5.1,3.5,red", "0.93", event="e1"),
            capture_record("4.9,3.0,blue\n6.2,2.9,red", "0.12,0.77", event="e2"),
        ],
    )
    frame = monitor.read_capture(tmp_path, feature_names=["length", "width", "colour", "score"])
    assert frame.to_dict("records") == [
        {"length": "5.1", "width": "3.5", "colour": "red", "score": "0.93"},
        {"length": "4.9", "width": "3.0", "colour": "blue", "score": "0.12"},
        {"length": "6.2", "width": "2.9", "colour": "red", "score": "0.77"},
    ]
    unnamed = monitor.read_capture(tmp_path, capture_index_names=["endpointInput"])
    assert list(unnamed.columns) == ["_c0", "_c1", "_c2"]
    with_metadata = monitor.read_capture(tmp_path, include_metadata=True)
    assert with_metadata["eventId"].tolist() == ["e1", "e2", "e2"]


def test_json_and_base64_payloads(tmp_path: Path) -> None:
    encoded = base64.b64encode(b'{"instances": [{"age": 31, "plan": "pro"}]}').decode()
    write_capture(
        tmp_path,
        [
            capture_record(
                '{"age": 40, "plan": "basic"}',
                '{"predictions": [0.4]}',
                event="j1",
                in_type="application/json",
                out_type="application/json",
                encoding_in="JSON",
                encoding_out="JSON",
            ),
            capture_record(
                encoded,
                "0.8",
                event="j2",
                in_type="application/json",
                encoding_in="BASE64",
            ),
        ],
    )
    frame = monitor.read_capture(tmp_path, feature_names=["score"])
    assert frame.to_dict("records") == [
        {"age": "40", "plan": "basic", "score": "0.4"},
        {"age": "31", "plan": "pro", "score": "0.8"},
    ]


def test_time_window_and_preprocessor(tmp_path: Path) -> None:
    write_capture(
        tmp_path, [capture_record("1,2", "0", event="a", time="2024-05-01T09:59:59Z")], "09"
    )
    write_capture(tmp_path, [capture_record("3,4", "1", event="b", time="2024-05-01T10:30:00Z")])
    inside = monitor.read_capture(
        tmp_path, start_time="2024-05-01T10:00:00Z", end_time="2024-05-01T11:00:00Z"
    )
    assert inside["_c0"].tolist() == ["3"]

    def preprocess_handler(record, logger):  # the signature Model Monitor documents
        first, second = record.endpoint_input.data.split(",")
        return {"total": int(first) + int(second), "event": record.event_metadata.event_id}

    frame = monitor.read_capture(tmp_path, preprocess=preprocess_handler)
    assert frame.to_dict("records") == [{"total": "3", "event": "a"}, {"total": "7", "event": "b"}]


def test_capture_checked_against_a_training_baseline(tmp_path: Path) -> None:
    rng = np.random.default_rng(51)
    train = pd.DataFrame({"age": rng.integers(18, 70, 3_000), "income": rng.normal(50, 10, 3_000)})
    baseline = monitor.compute_baseline(train)
    records = [
        capture_record(f"{rng.integers(18, 70)},{rng.normal(80, 10):.3f}", "1", event=str(i))
        for i in range(500)
    ]
    write_capture(tmp_path, records)
    frame = monitor.read_capture(
        tmp_path, feature_names=baseline.feature_names, capture_index_names=["endpointInput"]
    )
    result = monitor.check_against_baseline(frame, baseline)
    assert result.flagged_features == {"income"}


def test_ground_truth_records(tmp_path: Path) -> None:
    merged = capture_record("1,2", "0.9", event="g1")
    merged["groundTruthData"] = {"data": "1", "encoding": "CSV"}
    write_capture(tmp_path, [merged])
    frame = monitor.read_capture(tmp_path, capture_index_names=["endpointOutput"])
    assert frame.to_dict("records") == [{"_c0": "0.9", "groundTruth": "1"}]


def test_bad_capture_files_name_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "capture"
    folder.mkdir()
    (folder / "bad.jsonl").write_text('{"captureData": {}}\n{"no": "capture"}\n')
    with pytest.raises(MLAccelInputError, match=r"bad\.jsonl line 2 has no captureData"):
        monitor.read_capture(folder)
    (folder / "bad.jsonl").write_text("not json\n")
    with pytest.raises(MLAccelInputError, match="line 1 is not a JSON object"):
        monitor.read_capture(folder)
    with pytest.raises(MLAccelInputError, match="ISO 8601"):
        monitor.read_capture(folder, start_time="yesterday")


def test_batch_transform_output(tmp_path: Path) -> None:
    (tmp_path / "part-1.csv.out").write_text("5.1,red,0.9\n4.2,blue,0.1\n")
    (tmp_path / "part-2.jsonl.out").write_text('{"x": 1.5, "score": 0.3}\n[2.5, "red", 0.4]\n')
    frame = monitor.read_transform_output(tmp_path, feature_names=["x", "colour", "score"])
    frame = frame.astype(object).where(frame.notna(), None)
    assert frame.to_dict("records") == [
        {"x": "5.1", "colour": "red", "score": "0.9"},
        {"x": "4.2", "colour": "blue", "score": "0.1"},
        {"x": "1.5", "colour": None, "score": "0.3"},
        {"x": "2.5", "colour": "red", "score": "0.4"},
    ]
