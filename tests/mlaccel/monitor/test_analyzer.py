"""``python -m mlaccel.monitor.analyzer``: the Model Monitor analyzer container contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlaccel import monitor
from mlaccel.monitor import analyzer
from tests.support import capture_record, write_capture

REPO = Path(__file__).resolve().parents[3]


def run_analyzer(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The analyzer as the twin runs it: a subprocess with the contract's environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # prepended: the test run's network guard stays on the path of the analyzer's process
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "lib"), base.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mlaccel.monitor.analyzer"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_baselining_then_monitoring_job_with_csv(tmp_path: Path) -> None:
    example = monitor.make_drift_example(4_000, seed=61)
    (tmp_path / "train").mkdir()
    (tmp_path / "new").mkdir()
    example.baseline.to_pandas().to_csv(tmp_path / "train" / "train.csv", index=False)
    # Captured batch-transform input has no header: columns are matched by position.
    example.current.to_pandas().to_csv(tmp_path / "new" / "part.csv", index=False, header=False)
    baselining = run_analyzer(
        {
            "dataset_source": str(tmp_path / "train"),
            "output_path": str(tmp_path / "baseline"),
            "dataset_format": json.dumps(
                {"csv": {"header": True, "output_columns_position": "START"}}
            ),
            "publish_cloudwatch_metrics": "Disabled",
        }
    )
    assert baselining.returncode == 0, baselining.stderr
    assert sorted(p.name for p in (tmp_path / "baseline").iterdir()) == [
        "constraints.json",
        "statistics.json",
    ]
    monitoring = run_analyzer(
        {
            "dataset_source": str(tmp_path / "new"),
            "output_path": str(tmp_path / "results"),
            "dataset_format": json.dumps({"csv": {"header": False}}),
            "baseline_statistics": str(tmp_path / "baseline" / "statistics.json"),
            "baseline_constraints": str(tmp_path / "baseline" / "constraints.json"),
            "sagemaker_endpoint_name": "my-endpoint",
        }
    )
    assert monitoring.returncode == 0, monitoring.stderr
    violations = _read(tmp_path / "results" / "constraint_violations.json")["violations"]
    assert {v["feature_name"] for v in violations} == set(example.shifted)
    statistics = _read(tmp_path / "results" / "statistics.json")
    assert statistics["dataset"]["item_count"] == 4_000


def test_monitoring_job_on_endpoint_capture(tmp_path: Path) -> None:
    rng = np.random.default_rng(62)
    train = pd.DataFrame(
        {"age": rng.integers(18, 70, 2_000), "income": rng.normal(50, 10, 2_000), "score": 0.5}
    )
    monitor.write_baseline(monitor.compute_baseline(train), tmp_path / "baseline")
    records = [
        capture_record(
            f"{rng.integers(18, 70)},{rng.normal(80, 10):.3f}",
            "0.5",
            event=str(i),
            time=f"2024-05-01T10:{i % 60:02d}:00Z",
        )
        for i in range(600)
    ]
    write_capture(tmp_path / "capture", records)
    (tmp_path / "pre.py").write_text(
        "def preprocess_handler(inference_record, logger):\n"
        "    age, income = inference_record.endpoint_input.data.split(',')\n"
        "    score = inference_record.endpoint_output.data\n"
        "    return {'age': age, 'income': income, 'score': score}\n"
    )
    (tmp_path / "post.py").write_text(
        "from pathlib import Path\n"
        f"def postprocess_handler():\n    Path({str(tmp_path / 'post-ran')!r}).write_text('yes')\n"
    )
    env = {
        "dataset_source": str(tmp_path / "capture"),
        "output_path": str(tmp_path / "results"),
        "dataset_format": json.dumps(
            {"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}
        ),
        "baseline_statistics": str(tmp_path / "baseline" / "statistics.json"),
        "baseline_constraints": str(tmp_path / "baseline" / "constraints.json"),
        "start_time": "2024-05-01T10:00:00Z",
        "end_time": "2024-05-01T10:30:00Z",
    }
    assert analyzer.main(environ=env) == 0
    statistics = _read(tmp_path / "results" / "statistics.json")
    assert statistics["dataset"]["item_count"] == 300  # the half inside the window
    violations = _read(tmp_path / "results" / "constraint_violations.json")["violations"]
    assert {v["feature_name"] for v in violations} == {"income"}

    with_scripts = {
        **env,
        "record_preprocessor_script": str(tmp_path / "pre.py"),
        "post_analytics_processor_script": str(tmp_path / "post.py"),
        "output_path": str(tmp_path / "results-2"),
    }
    assert analyzer.main(environ=with_scripts) == 0
    violations = _read(tmp_path / "results-2" / "constraint_violations.json")["violations"]
    assert {v["feature_name"] for v in violations} == {"income"}
    assert (tmp_path / "post-ran").read_text() == "yes"


def test_model_quality_baselining_and_monitoring(tmp_path: Path) -> None:
    rng = np.random.default_rng(63)
    truth = rng.integers(0, 2, 1_000)
    prob = np.clip(truth * 0.7 + rng.normal(0.15, 0.15, 1_000), 0, 1)
    pd.DataFrame(
        {"label": truth, "prediction": (prob >= 0.5).astype(int), "probability": prob}
    ).to_csv(tmp_path / "validation.csv", index=False)
    common = {
        "analysis_type": "MODEL_QUALITY",
        "problem_type": "BinaryClassification",
        "dataset_format": json.dumps({"csv": {"header": True}}),
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
        "probability_attribute": "probability",
        "probability_threshold_attribute": "0.5",
    }
    baselining = run_analyzer(
        {
            **common,
            "dataset_source": str(tmp_path / "validation.csv"),
            "output_path": str(tmp_path / "mq"),
        }
    )
    assert baselining.returncode == 0, baselining.stderr
    constraints = _read(tmp_path / "mq" / "constraints.json")
    assert "binary_classification_constraints" in constraints
    metrics = _read(tmp_path / "mq" / "statistics.json")["binary_classification_metrics"]
    assert metrics["accuracy"]["value"] > 0.85

    worse = np.where(rng.random(1_000) < 0.35, 1 - truth, truth)
    merged = [capture_record("x", str(w), event=str(i)) for i, w in enumerate(worse)]
    for record, label in zip(merged, truth, strict=True):
        record["groundTruthData"] = {"data": str(label), "encoding": "CSV"}
    write_capture(tmp_path / "merged", merged)
    monitoring = {
        "analysis_type": "MODEL_QUALITY",
        "problem_type": "BinaryClassification",
        "dataset_format": json.dumps({"sagemakerCaptureJson": {}}),
        "dataset_source": str(tmp_path / "merged"),
        "output_path": str(tmp_path / "mq-results"),
        "inference_attribute": "0",
        "ground_truth_attribute": "0",
        "baseline_constraints": str(tmp_path / "mq" / "constraints.json"),
    }
    assert analyzer.main(environ=monitoring) == 0
    violations = _read(tmp_path / "mq-results" / "constraint_violations.json")["violations"]
    assert "accuracy" in {v["metric_name"] for v in violations}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "dataset_source"),
        ({"dataset_source": "{src}"}, "output_path"),
        ({"dataset_source": "{src}/nope", "output_path": "{out}"}, "does not exist"),
        ({"dataset_source": "{src}", "output_path": "{out}", "dataset_format": "{{csv"}, "JSON"),
        (
            {"dataset_source": "{src}", "output_path": "{out}", "analysis_type": "MODEL_BIAS"},
            "analysis_type",
        ),
        (
            {
                "dataset_source": "{src}",
                "output_path": "{out}",
                "baseline_constraints": "{src}/d.csv",
            },
            "not valid JSON",
        ),
        (
            {"dataset_source": "{src}", "output_path": "{out}", "analysis_type": "MODEL_QUALITY"},
            "problem_type",
        ),
    ],
)
def test_bad_input_exits_with_a_message_not_a_traceback(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "d.csv").write_text("a,b\n1,2\n")
    filled = {k: v.format(src=tmp_path / "src", out=tmp_path / "out") for k, v in env.items()}
    finished = run_analyzer(filled)
    assert finished.returncode == 1
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr
