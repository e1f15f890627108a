"""The pipelines of notebook 04: definitions (golden files, botocore validation) and real runs.

The golden files are the exported definitions committed in ``seedcode/workflows``: a change to a
builder shows here as a readable diff, to be reviewed and re-exported on purpose (see
``regenerate`` below).
"""

from __future__ import annotations

import base64
import difflib
import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import mlaccel
from mlaccel import (
    config,
    data,
    demo,
    events,
    inference,
    notify,
    pipelines,
    registry,
    workflows,
)
from mlaccel.errors import MLAccelInputError
from tests.support import REPO, demo_contract, import_script

CARS = demo_contract("used_cars")
CREDIT = demo_contract("credit_risk")

GOLDEN = REPO / "seedcode" / "workflows"
PRODUCTS = ("used_cars", "credit_risk")
BUILDERS = (workflows.training_workflow, workflows.scoring_workflow, workflows.monitoring_workflow)
HANDLERS = REPO / "seedcode" / "lambdas" / "workflow" / "handlers.py"


def _handlers() -> ModuleType:
    return import_script(HANDLERS, "workflow_handlers")


@pytest.fixture(scope="module")
def topic(conn: mlaccel.Connection) -> str:
    # a topic of its own: the notebooks' topic has other subscribers in the shared twin
    return notify.ensure_topic("mlaccel-test-pipelines", email="team@example.com", connection=conn)


def regenerate(conn: mlaccel.Connection, topic: str, folder: Path) -> list[Path]:
    """Export every definition as the notebook does (``python -m pytest ... --regenerate`` is
    not needed: copy the files this writes over seedcode/workflows after review)."""
    written = []
    for product in (CARS, CREDIT):
        settings = workflows.workflow_settings(product, connection=conn, topic_arn=topic)
        for build in BUILDERS:
            written += workflows.export(build, settings, folder)
        pipeline = pipelines.build_pipeline(product, connection=conn)
        written += pipelines.export(pipeline, connection=conn, folder=folder)
    return written


def test_definitions_match_the_reviewed_golden_files(
    conn: mlaccel.Connection, topic: str, tmp_path: Path
) -> None:
    written = regenerate(conn, topic, tmp_path)
    assert len(written) == 16
    diffs = []
    for path in written:
        golden = GOLDEN / path.name
        expected = golden.read_text().splitlines() if golden.exists() else []
        actual = path.read_text().splitlines()
        if expected != actual:
            diff = difflib.unified_diff(expected, actual, str(golden), "generated", lineterm="")
            diffs.append("\n".join(list(diff)[:60]))
    assert not diffs, "definitions changed; review, then copy them over:\n" + "\n\n".join(diffs)
    committed = {p.name for p in GOLDEN.iterdir()}
    assert committed == {p.name for p in written}, "seedcode/workflows holds stale files"


def test_exports_carry_no_account_bucket_or_region(conn: mlaccel.Connection) -> None:
    for path in GOLDEN.iterdir():
        text = path.read_text()
        for value in (conn.bucket, conn.region, "123456789012", ".dkr.ecr."):
            assert value not in text, f"{path.name} contains {value!r}"


@pytest.mark.parametrize("product", PRODUCTS)
def test_every_task_request_passes_botocore_validation(
    conn: mlaccel.Connection, topic: str, product: str
) -> None:
    settings = workflows.workflow_settings(demo_contract(product), connection=conn, topic_arn=topic)
    for build in BUILDERS:
        definition = build(settings).definition.to_dict()
        assert workflows.validate_definition(definition) == []
        tasks = workflows._task_requests(definition["States"])
        assert len(tasks) >= (15 if build is workflows.training_workflow else 5)


def test_validation_names_the_state_and_the_bad_member() -> None:
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": {"TrainingJobName.$": "$.name", "RoleArn": "r", "Bogus": 1},
                "End": True,
            }
        },
    }
    problems = workflows.validate_definition(definition)
    assert len(problems) == 1
    assert problems[0].startswith("Train (sagemaker:createTrainingJob)")
    assert "Bogus" in problems[0] and "AlgorithmSpecification" in problems[0]


def test_training_definition_has_the_required_shape(conn: mlaccel.Connection, topic: str) -> None:
    settings = workflows.workflow_settings(CREDIT, connection=conn, topic_arn=topic)
    states = workflows.training_workflow(settings).definition.to_dict()["States"]
    order = [layer[-1] for layer in workflows.graph_layers({"StartAt": "Read defaults",
                                                           "States": states})]  # fmt: skip
    assert order[2:6] == ["Preprocess", "Train", "Save model", "Query training results"]
    threshold = states["Metric threshold"]
    assert threshold["Choices"][0]["NumericGreaterThanEqualsPath"] == "$.args.metric_threshold"
    assert threshold["Default"] == "Compare with previous best"
    branches = [list(b["States"]) for b in states["Baselines"]["Branches"]]
    assert branches == [
        ["Data-quality baseline"],
        ["Score validation split", "Model-quality baseline"],
    ]
    capture = states["Endpoint configuration"]["Parameters"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert states["Below threshold"]["Type"] == "Fail"
    assert states["Notify below threshold"]["Resource"] == "arn:aws:states:::sns:publish"
    exports = [b["States"] for b in states["Export to SSM"]["Branches"]]
    names = sorted(next(iter(s.values()))["Parameters"]["Name"] for s in exports)
    assert workflows.model_name_parameter(CREDIT.name) in names  # where notebook 06 reads it
    assert names == [f"/mlaccel/credit-risk/{n}" for n in
                     ("endpoint-config-name", "endpoint-name", "model-name")]  # fmt: skip
    caught = [name for name, s in states.items() if s.get("Catch")]
    assert "Train" in caught and "Baselines" in caught


def test_multiclass_workflows_monitor_model_quality_on_the_predicted_class(
    conn: mlaccel.Connection, topic: str
) -> None:
    """A softprob model answers only probabilities: the workflows add the predicted class after
    them and point Model Monitor's multiclass analysis at it, for the baseline and the capture."""
    grades = replace(CREDIT, name="grades", problem_type="multiclass", classes=("a", "b", "c"))
    settings = workflows.workflow_settings(grades, connection=conn, topic_arn=topic)
    states = workflows.training_workflow(settings).definition.to_dict()["States"]
    branch = states["Baselines"]["Branches"][1]["States"]
    assert list(branch) == [
        "Score validation split",
        "Add predicted class",
        "Model-quality baseline",
    ]
    payload = branch["Add predicted class"]["Parameters"]["Payload"]
    assert payload["Classes"] == 3 and payload["FirstProbability"] == 1
    env = branch["Model-quality baseline"]["Parameters"]["Environment"]
    assert env["problem_type"] == "MulticlassClassification"
    assert (env["ground_truth_attribute"], env["inference_attribute"]) == ("_c0", "_c4")
    assert (
        branch["Model-quality baseline"]["Parameters"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
        == payload["OutputUri"]
    )

    monitoring = workflows.monitoring_workflow(settings).definition.to_dict()["States"]
    assert monitoring["Consolidate captured data"]["Parameters"]["Payload"]["Classes"] == 3
    truth = monitoring["Drift checks"]["Branches"][1]["States"]
    env = truth["Model drift"]["Parameters"]["Environment"]
    assert (env["ground_truth_attribute"], env["inference_attribute"]) == ("groundTruth", "_c3")
    plain = workflows.monitoring_workflow(
        workflows.workflow_settings(CREDIT, connection=conn, topic_arn=topic)
    ).definition.to_dict()["States"]
    assert "Classes" not in plain["Consolidate captured data"]["Parameters"]["Payload"]


def test_settings_reject_bad_parameters(conn: mlaccel.Connection, topic: str) -> None:
    with pytest.raises(MLAccelInputError, match="metric_threshold"):
        workflows.workflow_settings(CARS, connection=conn, topic_arn=topic,
                                    metric_threshold="low")  # fmt: skip
    with pytest.raises(MLAccelInputError, match="topic_arn"):
        workflows.workflow_settings(CARS, connection=conn, topic_arn="alerts")
    with pytest.raises(MLAccelInputError, match="unknown workflow settings"):
        workflows.workflow_settings(CARS, connection=conn, topic_arn=topic, instance="x")
    with pytest.raises(MLAccelInputError, match="uri_prefix"):
        events.start_on_upload("r", "bucket/prefix", "arn:aws:states:x", connection=conn)
    with pytest.raises(MLAccelInputError, match="state_machine_arn"):
        events.start_on_upload("r", "s3://bucket/prefix/", "arn:aws:lambda:x", connection=conn)
    with pytest.raises(MLAccelInputError, match=r"name\.parquet"):
        workflows.land_data(demo.generate("used_cars", 5), conn.s3_uri("x.csv"), connection=conn)
    with pytest.raises(MLAccelInputError, match="rate"):
        workflows.schedule("r", "arn:aws:states:x", "hourly", connection=conn)


def test_land_data_refuses_a_frame_without_rows_naming_where_it_would_land(
    conn: mlaccel.Connection,
) -> None:
    uri = conn.s3_uri("test-batches", f"empty-{time.time_ns()}.parquet")
    header_only = demo.generate("used_cars", 5).drop(columns=["price"]).head(0)
    with pytest.raises(
        MLAccelInputError,
        match=rf"^frame has no rows, so nothing would land at {re.escape(uri)}: pass a "
        "DataFrame with at least one row",
    ):
        workflows.land_data(header_only, uri, connection=conn)
    assert not workflows.object_exists(uri, connection=conn), "refused before any upload"
    with pytest.raises(MLAccelInputError, match=r"^frame has no columns, so nothing would land"):
        workflows.land_data(pd.DataFrame(index=[0, 1]), uri, connection=conn)
    with pytest.raises(MLAccelInputError, match=r"^frame is a list; pass a pandas DataFrame"):
        workflows.land_data([], uri, connection=conn)


def test_settings_follow_the_connection_and_the_configured_instance_type(
    conn: mlaccel.Connection, topic: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = workflows.workflow_settings(CARS, connection=conn, topic_arn=topic)
    assert settings.endpoint_wait_seconds == conn.wait.workflow_endpoint_wait_seconds
    states = workflows.training_workflow(settings).definition.to_dict()["States"]
    assert states["Wait for endpoint"]["Seconds"] == conn.wait.workflow_endpoint_wait_seconds
    # exported definitions are for AWS, whatever the connection
    asl, _ = workflows.export(workflows.training_workflow, settings, tmp_path)
    exported = json.loads(asl.read_text())["States"]["Wait for endpoint"]["Seconds"]
    assert exported == config.wait_policy("aws").workflow_endpoint_wait_seconds

    monkeypatch.setenv("MLACCEL_INSTANCE_TYPE", "ml.c5.xlarge")
    settings = workflows.workflow_settings(CARS, connection=conn, topic_arn=topic)
    assert settings.training_instance_type == settings.endpoint_instance_type == "ml.c5.xlarge"
    definition = json.loads(pipelines.build_pipeline(CARS, connection=conn).definition())
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults["ProcessingInstanceType"] == defaults["TrainingInstanceType"] == "ml.c5.xlarge"


def test_every_public_name_is_exported() -> None:
    assert set(workflows.__all__) <= set(dir(workflows))
    assert workflows.training.objective_for(CARS).direction == "Minimize"


# --------------------------------------------------------------------------------- handlers


def test_handler_pure_functions() -> None:
    h = _handlers()
    assert h.final_metrics({"FinalMetricDataList": [{"MetricName": "m", "Value": 2}]}) == {"m": 2.0}
    with pytest.raises(h.BadEvent, match="reported no 'validation:auc'"):
        h.pick_metric({"validation:rmse": 1.0}, "validation:auc", "job-1")
    assert h.best_of([("a", 3.0), ("b", 1.0), ("c", 2.0)], "Minimize") == ("b", 1.0)
    assert h.best_of([("a", 0.7), ("b", 0.9)], "Maximize") == ("b", 0.9)
    assert h.best_of([], "Minimize") is None
    with pytest.raises(h.BadEvent, match="Direction"):
        h.is_better(1, 2, "Lower")
    packages = [
        {"ModelPackageArn": "g/1", "ModelPackageVersion": 1, "ModelApprovalStatus": "Approved"},
        {"ModelPackageArn": "g/2", "ModelPackageVersion": 2, "ModelApprovalStatus": "Rejected"},
        {"ModelPackageArn": "g/3", "ModelPackageVersion": 3,
         "ModelApprovalStatus": "PendingManualApproval"},
    ]  # fmt: skip
    assert h.newest_package(packages)["ModelPackageArn"] == "g/1"
    assert h.newest_package(packages[1:])["ModelPackageArn"] == "g/3"
    assert h.newest_package(packages[1:2]) is None
    arn = "arn:aws:sagemaker:r:a:model-package/mlaccel-used-cars/12"
    assert h.model_name_for(arn) == "mlaccel-used-cars-v12"
    with pytest.raises(h.BadEvent, match="EndpointName"):
        h.require({}, "EndpointName")


def test_predicted_class_is_appended_after_the_probabilities(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = _handlers()
    assert h.with_predicted_class("2,0.1,0.2,0.7", 1, 3) == "2,0.1,0.2,0.7,2"
    assert h.with_predicted_class("0.5,0.5", 0, 2) == "0.5,0.5,0"  # a tie: the lower index
    with pytest.raises(h.BadEvent, match="fewer than the 3 class probabilities"):
        h.with_predicted_class("1,0.4", 1, 3)
    with pytest.raises(h.BadEvent, match="not a number"):
        h.with_predicted_class("1,x,0.4,0.6", 1, 3)
    for bad in (1, -2, "3", True):
        with pytest.raises(h.BadEvent, match="must be the number of classes"):
            h.class_count({"Classes": bad})

    monkeypatch.setattr(h, "_client", lambda service: conn.client(service))
    s3, bucket = conn.client("s3"), conn.bucket
    s3.put_object(
        Bucket=bucket, Key="t-labels/scored/part.csv.out", Body=b"1,0.2,0.7,0.1\n0,0.9,0.05,0.05\n"
    )
    answer = h.add_predicted_class({
        "ScoredUri": f"s3://{bucket}/t-labels/scored", "OutputUri": f"s3://{bucket}/t-labels/out",
        "FirstProbability": 1, "Classes": 3,
    })  # fmt: skip
    assert (answer["files"], answer["rows"]) == (1, 2)
    body = s3.get_object(Bucket=bucket, Key="t-labels/out/part.csv.out")["Body"].read()
    assert body == b"1,0.2,0.7,0.1,1\n0,0.9,0.05,0.05,0\n"
    with pytest.raises(h.BadEvent, match="holds no file"):
        h.add_predicted_class({"ScoredUri": f"s3://{bucket}/t-labels/none",
                               "OutputUri": f"s3://{bucket}/x", "FirstProbability": 1,
                               "Classes": 3})  # fmt: skip

    # captured answers get it in the merged copy, in the record's encoding
    record = {
        "captureData": {"endpointOutput": {"data": "MC4xLDAuNiwwLjM=", "encoding": "BASE64"}},
        "eventMetadata": {"inferenceId": "7"},
    }
    out = h._endpoint_output_with_predicted_class(record, 3)["captureData"]["endpointOutput"]
    assert base64.b64decode(out["data"]) == b"0.1,0.6,0.3,1" and out["encoding"] == "BASE64"
    record["captureData"]["endpointOutput"] = {
        "data": "0.1,0.6,0.3\n0.5,0.2,0.3",
        "encoding": "CSV",
    }
    out = h._endpoint_output_with_predicted_class(record, 3)["captureData"]["endpointOutput"]
    assert out["data"] == "0.1,0.6,0.3,1\n0.5,0.2,0.3,0"


# ------------------------------------------------------------------------------ real runs


@pytest.fixture(scope="module")
def deployed(conn: mlaccel.Connection, topic: str) -> workflows.WorkflowSettings:
    settings = workflows.workflow_settings(
        CARS, connection=conn, topic_arn=topic, prefix="test-pipelines/used_cars",
        endpoint_name="test-pipeline-endpoint", parameter_path="/mlaccel/test-pipelines",
    )  # fmt: skip
    workflows.deploy_functions(connection=conn)
    workflows.stage_code(settings, connection=conn)
    workflows.land_data(
        demo.generate("used_cars", 4000, seed=2),
        f"{settings.training_data_uri}/extract.parquet",
        connection=conn,
    )
    return settings


@pytest.mark.slow
def test_training_pipeline_deploys_an_endpoint_and_fails_cleanly(
    conn: mlaccel.Connection, deployed: workflows.WorkflowSettings, topic: str
) -> None:
    training = workflows.training_workflow(deployed)
    arn = workflows.create_or_update(training, connection=conn)
    assert workflows.create_or_update(training, connection=conn) == arn, "updated, not duplicated"
    run = workflows.execute(training, connection=conn, name=workflows.run_name("t"))
    assert run.status == "SUCCEEDED", run.failure()
    states = list(run.steps()["state"])
    assert "Create endpoint" in states and "Export to SSM" in states
    ssm = conn.client("ssm").get_parameters_by_path(Path="/mlaccel/test-pipelines")
    exported = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in ssm["Parameters"]}
    assert exported["endpoint-name"] == "test-pipeline-endpoint"
    assert exported["model-name"] == run.output["names"]["model"]
    rows = inference.read_labeled_rows(
        f"{deployed.uri('features', 'parquet')}/test.parquet", n_rows=3, connection=conn
    )
    predictions = inference.predict("test-pipeline-endpoint", rows.features, connection=conn)
    assert len(predictions) == 3 and all(p > 0 for p in predictions)

    again = workflows.execute(training, connection=conn, name=workflows.run_name("t"))
    assert again.status == "SUCCEEDED" and "Update endpoint" in list(again.steps()["state"])

    sent_before = len(notify.read_outbox(connection=conn, topic=topic))
    failed = workflows.execute(
        training, connection=conn, name=workflows.run_name("t"), inputs={"metric_threshold": 1}
    )
    assert failed.status == "FAILED" and failed.error == "MetricBelowThreshold"
    mails = notify.read_outbox(connection=conn, topic=topic)[sent_before:]
    assert len(mails) == 1 and "does not meet the threshold" in mails[0]["message"]
    assert "Endpoint configuration" not in list(failed.steps()["state"])
    inference.delete_endpoint("test-pipeline-endpoint", connection=conn)


@pytest.mark.slow
def test_scoring_pipeline_joins_a_score_to_every_row_and_starts_on_upload(
    conn: mlaccel.Connection, deployed: workflows.WorkflowSettings
) -> None:
    group = deployed.group
    registry.ensure_group(group, connection=conn)
    if not conn.client("sagemaker").list_model_packages(ModelPackageGroupName=group)[
        "ModelPackageSummaryList"
    ]:
        pipeline = pipelines.build_pipeline(
            CARS, connection=conn, input_uri=deployed.training_data_uri
        )
        pipeline.upsert(role_arn=conn.role_arn)
        assert pipelines.wait_for_execution(pipeline.start(), connection=conn) == "Succeeded"
    # the fitted transform the training pipeline writes
    if not workflows.object_exists(
        f"{deployed.uri('features', 'preprocessor')}/preprocessor.json", connection=conn
    ):
        training = workflows.training_workflow(deployed)
        workflows.create_or_update(training, connection=conn)
        workflows.execute(training, connection=conn, inputs={"metric_threshold": 1})
    scoring = workflows.scoring_workflow(deployed)
    scoring_arn = workflows.create_or_update(scoring, connection=conn)
    batch = demo.generate("used_cars", 300, seed=9).drop(columns=["price"])
    # numbers as text, as CSV exports have them; 2 of 300 unusable: under the 1 % bar
    batch["mileage"] = batch["mileage"].map(lambda v: None if pd.isna(v) else f"{v:g}")
    batch.loc[:1, "mileage"] = "n/a"
    uri = workflows.land_data(batch, conn.s3_uri("test-batches", "b.parquet"), connection=conn)
    run = workflows.execute(scoring, connection=conn, inputs={"batch_uri": uri})
    assert run.status == "SUCCEEDED", run.failure()
    scores = workflows.read_scores(run.output["names"]["output"], connection=conn)
    assert sorted(scores["record_id"]) == sorted(batch["record_id"])
    assert scores["score"].notna().all()
    mail = notify.read_outbox(connection=conn, topic=deployed.topic_arn)[-1]["message"]
    assert "column mileage: 2 of 300 rows (0.7%) not numbers or dates" in mail
    worse = batch.assign(mileage="unknown")  # every value unusable: the run fails, saying why
    uri = workflows.land_data(worse, conn.s3_uri("test-batches", "w.parquet"), connection=conn)
    failed = workflows.execute(scoring, connection=conn, inputs={"batch_uri": uri})
    assert failed.status == "FAILED"
    assert "max_invalid_fraction=0.01" in str(failed.failure())

    training_arn = workflows.create_or_update(
        workflows.training_workflow(deployed), connection=conn
    )
    workflows.start_on_new_data(deployed, training_arn, scoring_arn, connection=conn)
    landed = datetime.now(UTC)
    key = f"{deployed.scoring_batches_uri}/upload-{time.time_ns()}.parquet"
    workflows.land_data(batch.tail(50), key, connection=conn)  # none of the unusable rows
    started = workflows.wait_for_started_execution(scoring_arn, landed, connection=conn)
    by_event = workflows.wait_for_execution(started, connection=conn)
    assert by_event.status == "SUCCEEDED" and by_event.output["args"]["batch_uri"] == key
    event_scores = workflows.read_scores(by_event.output["names"]["output"], connection=conn)
    assert len(event_scores) == 50


@pytest.mark.slow
@pytest.mark.parametrize(
    "body", [b"record_id,year,mileage\n", b"record_id,year\n\n \n"], ids=["header", "blank"]
)
def test_scoring_a_batch_without_rows_fails_before_any_transform_and_says_why(
    conn: mlaccel.Connection, topic: str, body: bytes
) -> None:
    settings = workflows.workflow_settings(
        CARS, connection=conn, topic_arn=topic, prefix="test-pipelines/empty-batch"
    )
    workflows.stage_code(settings, connection=conn)
    # A stand-in for the fitted transform: the run must stop before it is applied.
    bucket, key = settings.uri("features", "preprocessor").removeprefix("s3://").split("/", 1)
    conn.client("s3").put_object(
        Bucket=bucket, Key=f"{key}/preprocessor.json", Body=b'{"id_column": "record_id"}'
    )
    batch_uri = conn.s3_uri("test-batches", f"empty-{time.time_ns()}.csv")
    bucket, key = batch_uri.removeprefix("s3://").split("/", 1)
    conn.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    sent_before = len(notify.read_outbox(connection=conn, topic=topic))

    scoring = workflows.scoring_workflow(settings)
    workflows.create_or_update(scoring, connection=conn)
    run = workflows.execute(scoring, connection=conn, inputs={"batch_uri": batch_uri})

    expected = f"the scoring batch {batch_uri} has no rows"
    assert run.status == "FAILED" and expected in run.failure()
    states = list(run.steps()["state"])
    assert "Latest model" not in states and "Score batch" not in states
    execution = run.arn.rsplit(":", 1)[-1]
    transforms = conn.client("sagemaker").list_transform_jobs(NameContains=execution)
    assert not transforms["TransformJobSummaries"], "no transform job was started"
    mails = notify.read_outbox(connection=conn, topic=topic)[sent_before:]
    assert [mail["subject"] for mail in mails] == ["mlaccel: batch scoring failed"]
    assert expected in mails[0]["message"]


@pytest.mark.slow
def test_sagemaker_pipeline_registers_or_fails_on_the_twin(conn: mlaccel.Connection) -> None:
    settings_prefix = conn.s3_uri("pipelines", "credit_risk", "training-data")
    workflows.land_data(
        demo.generate("credit_risk", 3000, seed=3),
        f"{settings_prefix}/extract.parquet",
        connection=conn,
    )
    pipeline = pipelines.build_pipeline(CREDIT, connection=conn)
    pipeline.upsert(role_arn=conn.role_arn)
    pipeline.upsert(role_arn=conn.role_arn)  # a rerun updates
    group = registry.group_name("credit_risk")
    client = conn.client("sagemaker")
    before = len(client.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"])
    execution = pipeline.start()
    assert pipelines.wait_for_execution(execution, connection=conn) == "Succeeded"
    table = pipelines.step_table(execution)
    assert list(table["step"]) == ["Preprocess", "Train", "Evaluate", "CheckMetric",
                                   "Register-RegisterModel"]  # fmt: skip
    after = client.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(after) == before + 1
    package = client.describe_model_package(ModelPackageName=table["output"].iloc[-1])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(
        "evaluation.json"
    )

    strict = pipeline.start(parameters={"MetricThreshold": 0.9999})
    assert pipelines.wait_for_execution(strict, connection=conn) == "Failed"
    described = strict.describe()
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "does not meet MetricThreshold" in described["FailureReason"]


class _RemoteExecution:
    """An execution that runs remotely for two looks, then ends, as one on AWS does."""

    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/e"

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def describe(self) -> dict[str, str]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"PipelineExecutionStatus": status}


def test_wait_for_execution_polls_until_the_end_and_names_a_stuck_one(
    conn: mlaccel.Connection,
) -> None:
    running = _RemoteExecution(["Executing", "Executing", "Failed"])
    assert pipelines.wait_for_execution(running, connection=conn) == "Failed"
    stuck = _RemoteExecution(["Executing"])
    with pytest.raises(mlaccel.MLAccelError, match=r"execution/e is still Executing after 0 s"):
        pipelines.wait_for_execution(stuck, connection=conn, timeout_seconds=0)


def test_last_email_reads_the_twin_outbox(conn: mlaccel.Connection, topic: str) -> None:
    notify.publish(topic, "subject", "the last word", connection=conn)
    assert notify.last_email(topic, connection=conn) == "the last word"


def test_event_rule_input_and_pattern(conn: mlaccel.Connection) -> None:
    from mlaccel_twin.events import seam

    pattern = events.object_created_pattern("b", "p/")
    assert pattern["detail"]["object"]["key"] == [{"prefix": "p/"}]
    event = {"detail": {"bucket": {"name": "b"}, "object": {"key": "p/x.csv"}}, "time": "t"}
    target = {"Arn": "arn:aws:states:r:a:stateMachine:m", "InputTransformer": events.OBJECT_INPUT}
    assert json.loads(seam.target_input(target, event)) == {"trigger_uri": "s3://b/p/x.csv"}
    assert seam.target_input({"Arn": "x", "Input": '{"a": 1}'}, event) == '{"a": 1}'
    assert json.loads(seam.target_input({"Arn": "x", "InputPath": "$.detail.bucket"}, event)) == {
        "name": "b"
    }
    assert seam.target_service(target) == "states"


@pytest.mark.slow
def test_monitoring_pipeline_checks_new_capture_once_and_stores_rows_for_sql(
    conn: mlaccel.Connection, deployed: workflows.WorkflowSettings, topic: str
) -> None:
    settings = replace(deployed, endpoint_name="test-monitored-endpoint")
    training = workflows.training_workflow(settings)
    workflows.create_or_update(training, connection=conn)
    trained = workflows.execute(training, connection=conn, name=workflows.run_name("m"))
    assert trained.status == "SUCCEEDED", trained.failure()
    monitoring = workflows.monitoring_workflow(settings)
    arn = workflows.create_or_update(monitoring, connection=conn)
    workflows.schedule("test-monitoring-hourly", arn, "rate(1 hour)", connection=conn)
    before = len(workflows.executions(arn, connection=conn))

    idle = workflows.execute(monitoring, connection=conn)
    assert idle.status == "SUCCEEDED" and "Nothing new" in list(idle.steps()["state"])

    rows = inference.read_labeled_rows(
        f"{settings.uri('features', 'parquet')}/test.parquet", n_rows=200, connection=conn
    )
    sent = datetime.now(UTC)
    shifted = rows.features.assign(mileage=rows.features["mileage"] * 3)
    ids = [f"req-{i}" for i in range(len(shifted))]
    predictions = inference.predict_each(settings.endpoint_name, shifted, ids, connection=conn)
    inference.read_captured_requests(
        settings.endpoint_name, capture_uri=settings.uri("capture"), since=sent,
        min_records=len(ids), connection=conn,
    )  # fmt: skip
    labels = dict(zip(ids[:150], rows.labels[:150] * 2 + 5000, strict=True))
    workflows.send_ground_truth(labels, settings=settings, connection=conn)
    sent_before = len(notify.read_outbox(connection=conn, topic=topic))

    run = workflows.execute(monitoring, connection=conn)
    assert run.status == "SUCCEEDED", run.failure()
    states = list(run.steps()["state"])
    assert "Data drift" in states and "Model drift" in states
    payload = run.output["evaluation"]["Payload"]
    assert run.output["capture"]["Payload"]["records"] == len(predictions)
    assert run.output["capture"]["Payload"]["matched"] == 150
    assert payload["violations"] >= 2
    mail = notify.read_outbox(connection=conn, topic=topic)[sent_before:]
    assert len(mail) == 1 and "mileage" in mail[0]["message"]

    table = workflows.ensure_results_table(settings, connection=conn)
    database, name = table.split(".")
    found = data.query(
        f"SELECT analysis, feature_name FROM {name} WHERE run = '{run.arn.rsplit(':', 1)[-1]}'",
        database=database, connection=conn,
    )  # fmt: skip
    assert "mileage" in set(found["feature_name"])
    assert {"data_quality", "model_quality"} <= set(found["analysis"])

    again = workflows.execute(monitoring, connection=conn)
    assert "Nothing new" in list(again.steps()["state"]), "each record is checked once"
    # the hourly rule never fired on the S3 objects the runs wrote
    assert len(workflows.executions(arn, connection=conn)) == before + 3
    inference.delete_endpoint(settings.endpoint_name, connection=conn)
