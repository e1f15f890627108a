"""SageMaker jobs really run on the twin: built-in XGBoost, script mode, processing, tuning."""

from __future__ import annotations

import io
import tarfile
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

import mlaccel
from mlaccel_twin.sagemaker_jobs import seam as jobs
from mlaccel_twin.sagemaker_jobs import tuning


@pytest.fixture(scope="module")
def channels(conn: mlaccel.Connection) -> dict[str, str]:
    rng = np.random.default_rng(0)
    s3 = conn.client("s3")
    uris = {}
    for name, n in (("train", 300), ("validation", 100)):
        x = rng.normal(size=(n, 3))
        y = 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(0, 0.1, n)
        body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in np.column_stack([y, x]))
        s3.put_object(Bucket=conn.bucket, Key=f"jobs-test/{name}/{name}.csv", Body=body + "\n")
        uris[name] = conn.s3_uri("jobs-test", name)
    return uris


def _inputs(channels: dict[str, str]) -> dict:
    from sagemaker.inputs import TrainingInput

    return {k: TrainingInput(v, content_type="text/csv") for k, v in channels.items()}


def _builtin(conn: mlaccel.Connection, **hyper: object):  # type: ignore[no-untyped-def]
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator

    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=conn.s3_uri("jobs-test", "models"),
        sagemaker_session=conn.sagemaker_session,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=30, **hyper)
    return estimator


def _load_model(conn: mlaccel.Connection, uri: str) -> xgb.Booster:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        raw = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


@pytest.mark.slow
def test_builtin_xgboost_fit_produces_a_model_that_predicts(
    conn: mlaccel.Connection, channels: dict[str, str]
) -> None:
    estimator = _builtin(conn)
    estimator.fit(_inputs(channels), logs=True)
    booster = _load_model(conn, estimator.model_data)
    pred = booster.predict(xgb.DMatrix(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])))
    assert pred[0] > pred[1]
    job = conn.client("sagemaker").describe_training_job(
        TrainingJobName=estimator.latest_training_job.name
    )
    assert job["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert 0 < metrics["validation:rmse"] < 2
    logs = conn.client("logs")
    streams = logs.describe_log_streams(
        logGroupName=jobs.TRAINING_LOGS, logStreamNamePrefix=job["TrainingJobName"]
    )["logStreams"]
    events = logs.get_log_events(
        logGroupName=jobs.TRAINING_LOGS, logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert any("#011validation-rmse:" in e["message"] for e in events)


def test_script_mode_runs_the_entry_point(
    conn: mlaccel.Connection, channels: dict[str, str], tmp_path: Path
) -> None:
    from sagemaker.xgboost.estimator import XGBoost

    (tmp_path / "train.py").write_text(
        textwrap.dedent("""
        import argparse, os
        import numpy as np, xgboost as xgb
        p = argparse.ArgumentParser()
        p.add_argument("--num_round", type=int)
        args = p.parse_args()
        data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"),
                          delimiter=",")
        booster = xgb.train({}, xgb.DMatrix(data[:, 1:], data[:, 0]), args.num_round)
        print(f"final validation:rmse=0.25")
        booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model.json"))
    """)
    )
    estimator = XGBoost(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="1.7-1",
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        hyperparameters={"num_round": 5},
        sagemaker_session=conn.sagemaker_session,
        output_path=conn.s3_uri("jobs-test", "script"),
        metric_definitions=[
            {"Name": "validation:rmse", "Regex": r"final validation:rmse=([0-9.]+)"}
        ],
    )
    estimator.fit({"train": channels["train"]}, logs=False)
    job = conn.client("sagemaker").describe_training_job(
        TrainingJobName=estimator.latest_training_job.name
    )
    assert job["FinalMetricDataList"][0]["Value"] == 0.25
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:rmse"
    assert estimator.model_data.endswith("/output/model.tar.gz")


def test_failing_script_ends_failed_with_its_error(
    conn: mlaccel.Connection, channels: dict[str, str], tmp_path: Path
) -> None:
    from sagemaker.exceptions import UnexpectedStatusException
    from sagemaker.sklearn.estimator import SKLearn

    (tmp_path / "boom.py").write_text("raise ValueError('the label column is empty')\n")
    estimator = SKLearn(
        entry_point="boom.py",
        source_dir=str(tmp_path),
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=conn.sagemaker_session,
        output_path=conn.s3_uri("jobs-test", "x"),
    )
    with pytest.raises(UnexpectedStatusException, match="the label column is empty"):
        estimator.fit({"train": channels["train"]}, logs=False)


def test_processing_job_writes_its_outputs(conn: mlaccel.Connection, tmp_path: Path) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    script = tmp_path / "count.py"
    script.write_text(
        textwrap.dedent("""
        import os, pathlib
        base = pathlib.Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")) / "processing"
        rows = sum(1 for f in (base / "input").glob("*.csv") for _ in open(f))
        (base / "output" / "count.txt").write_text(str(rows))
    """)
    )
    conn.client("s3").put_object(Bucket=conn.bucket, Key="proc-test/in/a.csv", Body="1\n2\n3\n")
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=conn.sagemaker_session,
    )
    out = conn.s3_uri("proc-test", "out", uuid.uuid4().hex[:6])
    processor.run(
        code=str(script),
        inputs=[
            ProcessingInput(
                source=conn.s3_uri("proc-test", "in"), destination="/opt/ml/processing/input"
            )
        ],
        outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=out)],
        logs=False,
    )
    bucket, key = out.removeprefix("s3://").split("/", 1)
    body = conn.client("s3").get_object(Bucket=bucket, Key=f"{key}/count.txt")["Body"].read()
    assert body == b"3"


@pytest.mark.slow
def test_tuner_runs_jobs_and_picks_the_best(
    conn: mlaccel.Connection, channels: dict[str, str]
) -> None:
    from sagemaker.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.tuner import HyperparameterTuner

    tuner = HyperparameterTuner(
        _builtin(conn),
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.05, 0.5),
            "max_depth": IntegerParameter(2, 5),
        },
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(_inputs(channels), include_cls_metadata=False)
    tuner.wait()
    table = tuner.analytics().dataframe()
    assert len(table) == 4 and set(table["TrainingJobStatus"]) == {"Completed"}
    assert (
        tuner.best_training_job()
        == table.sort_values("FinalObjectiveValue").iloc[0]["TrainingJobName"]
    )


def test_unknown_image_fails_with_how_to_map_it(
    conn: mlaccel.Connection, channels: dict[str, str]
) -> None:
    from sagemaker.estimator import Estimator
    from sagemaker.exceptions import UnexpectedStatusException

    estimator = Estimator(
        image_uri="registry.example.com/team/custom-trainer:3",
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=conn.sagemaker_session,
        output_path=conn.s3_uri("jobs-test", "x"),
    )
    with pytest.raises(UnexpectedStatusException, match="register_runtime"):
        estimator.fit({"train": channels["train"]}, logs=False)


def test_hyperparameter_sampling_is_deterministic() -> None:
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.01", "MaxValue": "1", "ScalingType": "Logarithmic"}
        ],
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "4"}],
    }
    first = tuning.sample_hyperparameters(ranges, 5, seed="job")
    assert first == tuning.sample_hyperparameters(ranges, 5, seed="job")
    assert all(0.01 <= float(s["eta"]) <= 1 and 2 <= int(s["depth"]) <= 4 for s in first)


def test_a_tuning_jobs_random_seed_fixes_its_search() -> None:
    """The same RandomSeed samples the same trials whatever the (timestamped) job name; without
    one, each job samples its own."""

    def request(name: str, **config: object) -> dict[str, object]:
        ranges = {"IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "999"}]}
        return {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": ranges,
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "m"},
                **config,
            },
            "TrainingJobDefinition": {"StaticHyperParameters": {}},
        }

    seeded = [tuning.TuningPlan.from_request(request(n, RandomSeed=7)).samples for n in "ab"]
    assert seeded[0] == seeded[1]
    unseeded = [tuning.TuningPlan.from_request(request(n)).samples for n in "ab"]
    assert unseeded[0] != unseeded[1]


def test_seam_matches_the_pinned_moto() -> None:
    jobs.check_seams()
