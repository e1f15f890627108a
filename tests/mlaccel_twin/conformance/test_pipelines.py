"""SageMaker Pipelines run inside the twin, written as the SDK's examples write them: a plain
``PipelineSession``, parameters, a processing step with a property file, a training step, a
condition on the evaluation, a register-model step and a fail step. The twin receives only the
definition JSON, as SageMaker does, and runs every step as a real job."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlaccel
from tests.mlaccel_twin.conformance.aws import handler_zip

PREPARE = """
import json, os
import pandas as pd

rows = pd.read_csv("/opt/ml/processing/input/rows.csv")
os.makedirs("/opt/ml/processing/train", exist_ok=True)
rows[["y", "a", "b"]].to_csv("/opt/ml/processing/train/train.csv", header=False, index=False)
os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
report = {"regression_metrics": {"mse": {"value": float(rows["y"].var())}}}
with open("/opt/ml/processing/evaluation/evaluation.json", "w") as f:
    json.dump(report, f)
"""


def pipeline_session(conn: mlaccel.Connection) -> Any:
    """A plain ``PipelineSession``, as the SDK's examples make one; only its clients point at
    the twin."""
    from sagemaker.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=conn.boto3_session,
        sagemaker_client=conn.client("sagemaker"),
        default_bucket=conn.bucket,
    )


def _pipeline(conn: mlaccel.Connection, tmp_path: Path, name: str, group: str) -> Any:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

    session = pipeline_session(conn)
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    rows["y"] = 2 * rows["a"] + 0.1 * rng.normal(size=80)
    data = f"s3://{conn.bucket}/{name}/rows.csv"
    key = data.removeprefix(f"s3://{conn.bucket}/")
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=rows.to_csv(index=False))
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE)

    threshold = ParameterFloat(name="MseThreshold", default_value=10.0)
    instance_type = ParameterString(name="InstanceType", default_value="ml.m5.large")
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_type=instance_type,
        instance_count=1,
        sagemaker_session=session,
    )
    report = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    prepare = ProcessingStep(
        name="Prepare",
        step_args=processor.run(
            code=str(script),
            inputs=[ProcessingInput(source=data, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name="train", source="/opt/ml/processing/train"),
                ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation"),
            ],
        ),
        property_files=[report],
        cache_config=CacheConfig(enable_caching=True, expire_after="PT1H"),
    )
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        role=conn.role_arn,
        instance_count=1,
        instance_type=instance_type,
        output_path=f"s3://{conn.bucket}/{name}/models",
        hyperparameters={"num_round": "5", "objective": "reg:squarederror"},
        sagemaker_session=session,
    )
    train_data = prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    train = TrainingStep(
        name="Train",
        step_args=estimator.fit({"train": TrainingInput(train_data, content_type="text/csv")}),
    )
    model = Model(
        image_uri=estimator.image_uri,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=conn.role_arn,
        sagemaker_session=session,
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=group,
        ),
    )
    mse = JsonGet(
        step_name="Prepare", property_file=report, json_path="regression_metrics.mse.value"
    )
    check = ConditionStep(
        name="CheckMse",
        conditions=[ConditionLessThanOrEqualTo(left=mse, right=threshold)],
        if_steps=[register],
        else_steps=[
            FailStep(name="TooHigh", error_message=Join(on=" ", values=["mse above", threshold]))
        ],
    )
    return Pipeline(
        name=name,
        parameters=[threshold, instance_type],
        steps=[prepare, train, check],
        sagemaker_session=session,
    )


def _steps(execution: Any) -> dict[str, dict[str, Any]]:
    return {step["StepName"]: step for step in execution.list_steps()}


@pytest.mark.slow
def test_a_pipeline_started_from_a_plain_session_runs_its_steps_in_the_twin(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    name = f"server-{uuid.uuid4().hex[:8]}"
    group = f"{name}-models"
    pipeline = _pipeline(conn, tmp_path, name, group)
    pipeline.upsert(role_arn=conn.role_arn)
    sm = conn.client("sagemaker")

    execution = pipeline.start()
    execution.wait(delay=1, max_attempts=300)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    steps = _steps(execution)
    assert {n: s["StepStatus"] for n, s in steps.items()} == dict.fromkeys(
        ["Prepare", "Train", "CheckMse", "Register-RegisterModel"], "Succeeded"
    )
    assert steps["CheckMse"]["Metadata"]["Condition"]["Outcome"] == "true"
    training = sm.describe_training_job(
        TrainingJobName=steps["Train"]["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[-1]
    )
    assert training["TrainingJobStatus"] == "Completed"
    packages = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(packages) == 1, "the group was created by the register step"

    # the condition now sends the run to the fail step; the processing step comes from cache
    failed = pipeline.start(parameters={"MseThreshold": 0.01})
    with pytest.raises(Exception, match="Failed"):
        failed.wait(delay=1, max_attempts=300)
    described = failed.describe()
    assert described["PipelineExecutionStatus"] == "Failed"
    assert "mse above 0.01" in described["FailureReason"]
    steps = _steps(failed)
    assert steps["TooHigh"]["StepStatus"] == "Failed"
    assert steps["CheckMse"]["Metadata"]["Condition"]["Outcome"] == "false"
    assert steps["Prepare"]["CacheHitResult"]["SourcePipelineExecutionArn"] == execution.arn
    assert len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == 1


def _rows(conn: mlaccel.Connection, key: str, shift: float = 0.0, n: int = 300) -> str:
    """A header-less CSV (target first, as the built-in XGBoost reads it) at ``key``."""
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"a": rng.normal(size=n) + shift, "b": rng.normal(size=n)})
    rows.insert(0, "y", 3 * rows["a"] - rows["b"] + 0.1 * rng.normal(size=n))
    body = rows.to_csv(index=False, header=False)
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body)
    return f"s3://{conn.bucket}/{key}"


@pytest.mark.slow
def test_a_tuning_step_lists_its_trials_best_first_for_the_top_model(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import TuningStep

    session = pipeline_session(conn)
    name = f"tune-{uuid.uuid4().hex[:8]}"
    data = _rows(conn, f"{name}/train.csv")
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{conn.bucket}/{name}/models",
        hyperparameters={"num_round": "10", "objective": "reg:squarederror"},
        sagemaker_session=session,
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.05, 0.5),
            "max_depth": IntegerParameter(1, 4),
        },
        max_jobs=4,
        max_parallel_jobs=2,
    )
    channels = {
        part: TrainingInput(data, content_type="text/csv") for part in ("train", "validation")
    }
    tune = TuningStep(name="Tune", step_args=tuner.fit(channels))
    best = Model(
        image_uri=estimator.image_uri,
        model_data=tune.get_top_model_s3_uri(
            top_k=0, s3_bucket=conn.bucket, prefix=f"{name}/models"
        ),
        role=conn.role_arn,
        sagemaker_session=session,
    )
    create = ModelStep(name="BestModel", step_args=best.create(instance_type="ml.m5.large"))
    pipeline = Pipeline(name=name, steps=[tune, create], sagemaker_session=session)
    pipeline.upsert(role_arn=conn.role_arn)

    execution = pipeline.start()
    execution.wait(delay=1, max_attempts=300)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    steps = _steps(execution)
    sm = conn.client("sagemaker")
    tuning_job = steps["Tune"]["Metadata"]["TuningJob"]["Arn"].rsplit("/", 1)[-1]
    assert len(tuning_job) <= 32
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_job
    )["TrainingJobSummaries"]
    assert len(trials) == 4
    best_trial = min(
        trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    )
    model_name = steps["BestModel-CreateModel"]["Metadata"]["Model"]["Arn"].rsplit("/", 1)[-1]
    model_data = sm.describe_model(ModelName=model_name)["PrimaryContainer"]["ModelDataUrl"]
    assert model_data == (
        f"s3://{conn.bucket}/{name}/models/{best_trial['TrainingJobName']}/output/model.tar.gz"
    )
    assert conn.client("s3").head_object(
        Bucket=conn.bucket, Key=model_data.removeprefix(f"s3://{conn.bucket}/")
    )


@pytest.mark.slow
def test_a_quality_check_step_registers_a_baseline_then_fails_on_drift(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    session = pipeline_session(conn)
    name = f"check-{uuid.uuid4().hex[:8]}"
    group = f"{name}-models"
    reference = _rows(conn, f"{name}/reference/rows.csv")
    shifted = _rows(conn, f"{name}/shifted/rows.csv", shift=4.0)
    dataset = ParameterString(name="Dataset", default_value=reference)
    skip_check = ParameterBoolean(name="SkipCheck", default_value=True)
    register_new = ParameterBoolean(name="RegisterNewBaseline", default_value=True)
    check = QualityCheckStep(
        name="DataQuality",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=dataset,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=f"s3://{conn.bucket}/{name}/data-quality",
        ),
        check_job_config=CheckJobConfig(
            role=conn.role_arn,
            instance_count=1,
            instance_type="ml.m5.large",
            sagemaker_session=session,
        ),
        skip_check=skip_check,
        register_new_baseline=register_new,
        model_package_group_name=group,
    )
    baselines = DriftCheckBaselines(
        model_data_statistics=MetricsSource(
            s3_uri=check.properties.BaselineUsedForDriftCheckStatistics,
            content_type="application/json",
        ),
        model_data_constraints=MetricsSource(
            s3_uri=check.properties.BaselineUsedForDriftCheckConstraints,
            content_type="application/json",
        ),
    )
    model = Model(
        image_uri=image_uri(conn),
        model_data=f"s3://{conn.bucket}/{name}/model.tar.gz",
        role=conn.role_arn,
        sagemaker_session=session,
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=group,
            approval_status="Approved",
            drift_check_baselines=baselines,
        ),
    )
    pipeline = Pipeline(
        name=name,
        parameters=[dataset, skip_check, register_new],
        steps=[check, register],
        sagemaker_session=session,
    )
    pipeline.upsert(role_arn=conn.role_arn)

    # first run: nothing to compare with yet, so the baseline is calculated and registered
    first = pipeline.start()
    first.wait(delay=1, max_attempts=300)
    assert first.describe()["PipelineExecutionStatus"] == "Succeeded"
    metadata = _steps(first)["DataQuality"]["Metadata"]["QualityCheck"]
    assert metadata["CheckType"] == "DATA_QUALITY"
    assert metadata["SkipCheck"] is True
    registered = metadata["BaselineUsedForDriftCheckConstraints"]
    assert registered == metadata["CalculatedBaselineConstraints"]
    assert registered.endswith("/constraints.json")

    # the same data against the registered baseline: no violation
    same = pipeline.start(parameters={"SkipCheck": False, "RegisterNewBaseline": False})
    same.wait(delay=1, max_attempts=300)
    assert same.describe()["PipelineExecutionStatus"] == "Succeeded"
    metadata = _steps(same)["DataQuality"]["Metadata"]["QualityCheck"]
    assert metadata["BaselineUsedForDriftCheckConstraints"] == registered
    assert metadata["ViolationReport"].endswith("constraint_violations.json")

    # shifted data: the step fails, naming the drifted column and the report
    drifted = pipeline.start(
        parameters={"Dataset": shifted, "SkipCheck": False, "RegisterNewBaseline": False}
    )
    with pytest.raises(Exception, match="Failed"):
        drifted.wait(delay=1, max_attempts=300)
    reason = drifted.describe()["FailureReason"]
    assert "DATA_QUALITY check found" in reason
    assert "(baseline_drift_check)" in reason
    assert "constraint_violations.json" in reason
    assert _steps(drifted)["DataQuality"]["StepStatus"] == "Failed"


def image_uri(conn: mlaccel.Connection) -> str:
    from sagemaker import image_uris

    return str(image_uris.retrieve("xgboost", conn.region, "1.7-1"))


def test_a_register_model_step_creates_its_package_group_when_missing(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker import image_uris
    from sagemaker.model import Model
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline

    pipeline_session = conn.pipeline_session()
    group = f"fidelity-{uuid.uuid4().hex[:8]}"
    model = Model(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        model_data=f"s3://{conn.bucket}/fidelity/model.tar.gz",
        role=conn.role_arn,
        sagemaker_session=pipeline_session,
    )
    register_args = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name=group,
        approval_status="PendingManualApproval",
        customer_metadata_properties={"source": "fidelity"},
    )
    pipeline = Pipeline(
        name=f"fidelity-{uuid.uuid4().hex[:8]}",
        steps=[ModelStep(name="RegisterModel", step_args=register_args)],
        sagemaker_session=pipeline_session,
    )
    pipeline.upsert(role_arn=conn.role_arn)
    execution = pipeline.start()
    execution.wait(delay=1)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    sm = conn.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(packages) == 1
    assert packages[0]["ModelApprovalStatus"] == "PendingManualApproval"
    assert sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupName"]


COUNT_ROWS = """
import boto3, os

def lambda_handler(event, context):
    bucket, _, prefix = event["output"].removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    body = s3.get_object(Bucket=bucket, Key=listed[0]["Key"])["Body"].read().decode()
    return {"scored": len(body.splitlines()), "first_key": listed[0]["Key"]}
"""


@pytest.mark.slow
def test_transform_and_lambda_steps_score_a_batch_and_read_it_back(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.lambda_helper import Lambda
    from sagemaker.model import Model
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import TrainingStep, TransformStep

    session = pipeline_session(conn)
    name = f"batch-{uuid.uuid4().hex[:8]}"
    train_data = _rows(conn, f"{name}/train.csv")
    rng = np.random.default_rng(2)
    features = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    conn.client("s3").put_object(
        Bucket=conn.bucket,
        Key=f"{name}/batch/rows.csv",
        Body=features.to_csv(index=False, header=False),
    )
    estimator = Estimator(
        image_uri=image_uri(conn),
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{conn.bucket}/{name}/models",
        hyperparameters={"num_round": "5", "objective": "reg:squarederror"},
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="Train",
        step_args=estimator.fit({"train": TrainingInput(train_data, content_type="text/csv")}),
    )
    model = Model(
        image_uri=image_uri(conn),
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=conn.role_arn,
        sagemaker_session=session,
    )
    create = ModelStep(name="CreateModel", step_args=model.create(instance_type="ml.m5.large"))
    output = f"s3://{conn.bucket}/{name}/scores"
    transformer = Transformer(
        model_name=create.properties.ModelName,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=output,
        accept="text/csv",
        sagemaker_session=session,
    )
    score = TransformStep(
        name="Score",
        step_args=transformer.transform(
            f"s3://{conn.bucket}/{name}/batch/", content_type="text/csv", split_type="Line"
        ),
    )
    conn.client("lambda").create_function(
        FunctionName=f"{name}-count",
        Runtime="python3.11",
        Role=conn.role_arn,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip(COUNT_ROWS)},
        Timeout=30,
    )
    function_arn = conn.client("lambda").get_function(FunctionName=f"{name}-count")[
        "Configuration"
    ]["FunctionArn"]
    count = LambdaStep(
        name="CountScores",
        lambda_func=Lambda(function_arn=function_arn, session=session),
        inputs={"output": score.properties.TransformOutput.S3OutputPath},
        outputs=[
            LambdaOutput(output_name="scored", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="first_key", output_type=LambdaOutputTypeEnum.String),
        ],
    )
    pipeline = Pipeline(name=name, steps=[train, create, score, count], sagemaker_session=session)
    pipeline.upsert(role_arn=conn.role_arn)

    execution = pipeline.start()
    execution.wait(delay=1, max_attempts=300)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    steps = _steps(execution)
    assert "TransformJob" in steps["Score"]["Metadata"]
    outputs = {
        o["Name"]: o["Value"]
        for o in steps["CountScores"]["Metadata"]["Lambda"]["OutputParameters"]
    }
    assert outputs["scored"] == "40"  # one score per batch row
    assert outputs["first_key"] == f"{name}/scores/rows.csv.out"


def _scored(conn: mlaccel.Connection, key: str, noise: float) -> str:
    """Labels and a model's predictions (``noise`` away from them), as a header CSV."""
    rng = np.random.default_rng(3)
    label = rng.normal(size=400)
    rows = pd.DataFrame({"label": label, "prediction": label + noise * rng.normal(size=400)})
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=rows.to_csv(index=False))
    return f"s3://{conn.bucket}/{key}"


@pytest.mark.slow
def test_a_model_quality_check_step_checks_against_a_supplied_baseline(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.quality_check_step import ModelQualityCheckConfig, QualityCheckStep

    session = pipeline_session(conn)
    name = f"mq-{uuid.uuid4().hex[:8]}"
    good = _scored(conn, f"{name}/good/scores.csv", noise=0.1)
    poor = _scored(conn, f"{name}/poor/scores.csv", noise=2.0)
    scores = ParameterString(name="Scores", default_value=good)
    statistics = ParameterString(name="BaselineStatistics", default_value="")
    constraints = ParameterString(name="BaselineConstraints", default_value="")

    def pipeline(skip_check: bool) -> Any:
        check = QualityCheckStep(
            name="ModelQuality",
            quality_check_config=ModelQualityCheckConfig(
                baseline_dataset=scores,
                dataset_format=DatasetFormat.csv(header=True),
                output_s3_uri=f"s3://{conn.bucket}/{name}/model-quality",
                problem_type="Regression",
                inference_attribute="prediction",
                ground_truth_attribute="label",
            ),
            check_job_config=CheckJobConfig(
                role=conn.role_arn,
                instance_count=1,
                instance_type="ml.m5.large",
                sagemaker_session=session,
            ),
            skip_check=skip_check,
            register_new_baseline=skip_check,
            supplied_baseline_statistics=None if skip_check else statistics,
            supplied_baseline_constraints=None if skip_check else constraints,
        )
        built = Pipeline(
            name=f"{name}-{'baseline' if skip_check else 'check'}",
            parameters=[scores, statistics, constraints],
            steps=[check],
            sagemaker_session=session,
        )
        built.upsert(role_arn=conn.role_arn)
        return built

    baseline = pipeline(skip_check=True).start()
    baseline.wait(delay=1, max_attempts=300)
    assert baseline.describe()["PipelineExecutionStatus"] == "Succeeded"
    calculated = _steps(baseline)["ModelQuality"]["Metadata"]["QualityCheck"]
    assert calculated["CheckType"] == "MODEL_QUALITY"
    key = calculated["CalculatedBaselineConstraints"].removeprefix(f"s3://{conn.bucket}/")
    written = conn.client("s3").get_object(Bucket=conn.bucket, Key=key)["Body"].read()
    assert "regression_constraints" in written.decode()

    checking = pipeline(skip_check=False)
    supplied = {
        "BaselineStatistics": calculated["CalculatedBaselineStatistics"],
        "BaselineConstraints": calculated["CalculatedBaselineConstraints"],
    }
    same = checking.start(parameters=supplied)
    same.wait(delay=1, max_attempts=300)
    assert same.describe()["PipelineExecutionStatus"] == "Succeeded"

    worse = checking.start(parameters={**supplied, "Scores": poor})
    with pytest.raises(Exception, match="Failed"):
        worse.wait(delay=1, max_attempts=300)
    reason = worse.describe()["FailureReason"]
    assert "MODEL_QUALITY check found" in reason
    assert "LessThanThreshold" in reason or "GreaterThanThreshold" in reason
