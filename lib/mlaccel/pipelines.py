"""The training flow as a SageMaker Pipeline: process → train → evaluate → condition → register.

:func:`build_pipeline` returns a ``sagemaker.workflow.pipeline.Pipeline`` with parameters
(instance types, input data, metric threshold, approval status), a processing step running
``seedcode/processing/preprocess.py``, a training step with the built-in XGBoost algorithm, an
evaluation step writing ``evaluation.json`` (read back through a property file), a condition on
the test metric, and either a register-model step (with the evaluation as model metrics) or a
fail step. The same object is upserted and started on a real account or on the twin, where
:func:`pipeline_session` runs it with the SDK's local executor and the twin's jobs (no Docker).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel import datasets, features, registry, training
from mlaccel._paths import seedcode_dir
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

PROCESSING = "/opt/ml/processing"


def pipeline_session(connection: Connection) -> Any:
    """A session that builds pipeline steps instead of running jobs, on ``connection``'s backend."""
    return connection.pipeline_session()


@dataclass(frozen=True)
class MetricRule:
    """Which evaluation metric decides, where it is in evaluation.json, and which way is good."""

    name: str
    json_path: str
    direction: str  # "Minimize" | "Maximize"


def stage_script(script: str, pipeline: str, connection: Connection) -> str:
    """Upload a seedcode script to ``s3://<bucket>/<pipeline>/code/<content hash>/<name>``.

    The SDK would upload it itself under a hash of the file *and its absolute path*, so the
    same code would give a different definition in every checkout; keyed by content, the
    definition only changes when the code does.
    """
    body = (seedcode_dir() / script).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:16]
    key = f"{pipeline}/code/{digest}/{Path(script).name}"
    connection.client("s3").put_object(Bucket=connection.bucket, Key=key, Body=body)
    return f"s3://{connection.bucket}/{key}"


def metric_rule(product_name: str) -> MetricRule:
    """Test RMSE (at most the threshold) or test AUC (at least the threshold)."""
    product = datasets.get_data_product(product_name)
    if product.problem_type == "regression":
        return MetricRule("rmse", "regression_metrics.rmse.value", "Minimize")
    return MetricRule("auc", "binary_classification_metrics.auc.value", "Maximize")


def pipeline_name(product_name: str) -> str:
    return f"mlaccel-{datasets.get_data_product(product_name).name.replace('_', '-')}-build"


def build_pipeline(
    product_name: str,
    *,
    connection: Connection,
    session: Any = None,
    input_uri: str | None = None,
    metric_threshold: float | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> Any:
    """The SageMaker Pipeline for ``product_name`` (see the module docstring).

    ``input_uri`` is the raw data prefix (the Step Functions training data prefix by default);
    ``metric_threshold`` the default of the ``MetricThreshold`` parameter.

    Examples
    --------
    >>> pipeline = build_pipeline("used_cars", connection=conn)  # doctest: +SKIP
    >>> pipeline.upsert(role_arn=conn.role_arn); pipeline.start()  # doctest: +SKIP
    """
    from mlaccel._sagemaker import _import_sagemaker

    _import_sagemaker()
    # Expected here: a pipeline session builds steps instead of starting jobs.
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    product = datasets.get_data_product(product_name)
    rule = metric_rule(product.name)
    if metric_threshold is None:
        metric_threshold = 3000.0 if rule.direction == "Minimize" else 0.7
    if isinstance(metric_threshold, bool) or not isinstance(metric_threshold, int | float):
        raise MLAccelInputError(f"metric_threshold={metric_threshold!r} must be a number")
    session = session or pipeline_session(connection)
    prefix = f"pipelines/{product.name}/sagemaker-pipeline"

    processing_instance = ParameterString("ProcessingInstanceType", default_value="ml.m5.large")
    training_instance = ParameterString("TrainingInstanceType", default_value="ml.m5.large")
    input_data = ParameterString(
        "InputData",
        default_value=input_uri or connection.s3_uri("pipelines", product.name, "training-data"),
    )
    threshold = ParameterFloat("MetricThreshold", default_value=float(metric_threshold))
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")

    processor = SKLearnProcessor(
        framework_version=features.SKLEARN_VERSION,
        role=connection.role_arn,
        instance_type=processing_instance,
        instance_count=1,
        base_job_name="mlaccel-pipeline-prep",
        sagemaker_session=session,
    )
    parts = ("train", "validation", "test", "parquet", "preprocessor")
    prep = ProcessingStep(
        "Preprocess",
        step_args=processor.run(
            code=stage_script("processing/preprocess.py", pipeline_name(product.name), connection),
            inputs=[ProcessingInput(source=input_data, destination=features.CONTAINER_INPUT)],
            outputs=[
                ProcessingOutput(
                    output_name=part,
                    source=f"{features.CONTAINER_OUTPUT}/{part}",
                    destination=connection.s3_uri(prefix, "features", part),
                )
                for part in parts
            ],
            arguments=features.preprocess_arguments(product, 0.7, 0.15, 0),
        ),
    )

    def split(part: str) -> Any:
        return prep.properties.ProcessingOutputConfig.Outputs[part].S3Output.S3Uri

    xgboost_image = image_uris.retrieve("xgboost", connection.region, training.XGBOOST_VERSION)
    estimator = Estimator(
        image_uri=xgboost_image,
        role=connection.role_arn,
        instance_count=1,
        instance_type=training_instance,
        output_path=connection.s3_uri(prefix, "models"),
        base_job_name="mlaccel-pipeline-train",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        **{**training.default_hyperparameters(product.name), **(hyperparameters or {})}
    )
    train = TrainingStep(
        "Train",
        step_args=estimator.fit(
            {
                "train": TrainingInput(split("train"), content_type="text/csv"),
                "validation": TrainingInput(split("validation"), content_type="text/csv"),
            }
        ),
    )

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluator = ScriptProcessor(
        image_uri=xgboost_image,  # has xgboost, pandas and numpy, as evaluate.py needs
        command=["python3"],
        role=connection.role_arn,
        instance_type=processing_instance,
        instance_count=1,
        base_job_name="mlaccel-pipeline-eval",
        sagemaker_session=session,
    )
    evaluation_uri = connection.s3_uri(prefix, "evaluation")
    evaluate = ProcessingStep(
        "Evaluate",
        step_args=evaluator.run(
            code=stage_script("evaluation/evaluate.py", pipeline_name(product.name), connection),
            inputs=[
                ProcessingInput(
                    source=train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination=f"{PROCESSING}/model",
                ),
                ProcessingInput(source=split("test"), destination=f"{PROCESSING}/test"),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source=f"{PROCESSING}/evaluation",
                    destination=evaluation_uri,
                )
            ],
            arguments=["--problem-type", product.problem_type],
        ),
        property_files=[report],
    )
    metric: Any = JsonGet(step_name=evaluate.name, property_file=report, json_path=rule.json_path)

    model = Model(
        image_uri=xgboost_image,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=connection.role_arn,
        sagemaker_session=session,
    )
    register = ModelStep(
        "Register",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=registry.group_name(product.name),
            approval_status=approval,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri=Join(on="/", values=[evaluation_uri, "evaluation.json"]),
                    content_type="application/json",
                )
            ),
            description=f"XGBoost built by pipeline {pipeline_name(product.name)}",
        ),
    )
    fail = FailStep(
        "MetricBelowThreshold",
        error_message=Join(
            on=" ", values=[f"test {rule.name}", metric, "does not meet MetricThreshold", threshold]
        ),
    )
    meets = (
        ConditionLessThanOrEqualTo(left=metric, right=threshold)
        if rule.direction == "Minimize"
        else ConditionGreaterThanOrEqualTo(left=metric, right=threshold)
    )
    check = ConditionStep("CheckMetric", conditions=[meets], if_steps=[register], else_steps=[fail])
    registry.ensure_group(registry.group_name(product.name), connection=connection)
    return Pipeline(
        name=pipeline_name(product.name),
        parameters=[processing_instance, training_instance, input_data, threshold, approval],
        steps=[prep, train, evaluate, check],
        sagemaker_session=session,
    )


def step_table(execution: Any) -> Any:
    """An execution's steps as a table: name, status, seconds, failure reason, what it made."""
    import pandas as pd

    listed = execution.list_steps()
    # A real execution lists newest first; the local one answers with the raw response.
    steps = listed["PipelineExecutionSteps"] if isinstance(listed, dict) else listed
    steps = sorted(steps, key=lambda s: _seconds(s.get("StartTime") or 0))
    rows = []
    for step in steps:
        start, end = step.get("StartTime"), step.get("EndTime")
        seconds = None
        if start is not None and end is not None:
            seconds = round(_seconds(end) - _seconds(start), 2)
        metadata = step.get("Metadata") or {}
        made: dict[str, Any] = next(iter(metadata.values()), {}) if metadata else {}
        rows.append(
            {
                "step": step["StepName"],
                "status": step["StepStatus"],
                "seconds": seconds,
                "output": made.get("Arn") or made.get("Outcome") or made.get("ErrorMessage", ""),
                "failure": step.get("FailureReason", ""),
            }
        )
    return pd.DataFrame(rows, columns=["step", "status", "seconds", "output", "failure"])


def _seconds(value: Any) -> float:
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)


def portable_definition(pipeline: Any, *, connection: Connection) -> str:
    """The pipeline definition as JSON with bucket, role and images as ``${Parameter}`` tokens."""
    from mlaccel.workflows import _images

    text = json.dumps(json.loads(pipeline.definition()), indent=2)
    tokens = {
        connection.role_arn: "${SageMakerRoleArn}",
        f"s3://{connection.bucket}/": "s3://${Bucket}/",
        **{image: f"${{{name}}}" for name, image in _images(connection.region)},
    }
    for value, token in tokens.items():
        text = text.replace(value, token)
    return text + "\n"


def export(pipeline: Any, *, connection: Connection, folder: str | Path) -> list[Path]:
    """Write ``<name>.pipeline.json`` and a CloudFormation template ``<name>.cfn.yaml``.

    The template creates the pipeline (``AWS::SageMaker::Pipeline``) with its definition, the
    bucket, role and image URIs being stack parameters; upload the code the definition names
    (``s3://<bucket>/<pipeline>/code/...``) with the definition, as ``upsert`` does.
    """
    import yaml

    body = portable_definition(pipeline, connection=connection)
    described = {
        "Bucket": "S3 bucket the pipeline reads and writes",
        "SageMakerRoleArn": "Role the pipeline and its jobs assume",
        "XgboostImage": "Built-in XGBoost image URI of the region (sagemaker.image_uris)",
        "SklearnImage": "SKLearn processing image URI of the region",
        "ModelMonitorImage": "Model Monitor analyzer image URI of the region",
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"mlaccel SageMaker Pipeline {pipeline.name} (generated; do not edit)",
        "Parameters": {
            name: {"Type": "String", "Description": text}
            for name, text in described.items()
            if f"${{{name}}}" in body
        },
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": pipeline.name,
                    "RoleArn": {"Ref": "SageMakerRoleArn"},
                    "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Sub": body}},
                },
            }
        },
        "Outputs": {"PipelineName": {"Value": {"Ref": "Pipeline"}}},
    }
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    definition_file = out / f"{pipeline.name}.pipeline.json"
    definition_file.write_text(body)
    template_file = out / f"{pipeline.name}.cfn.yaml"
    template_file.write_text(yaml.safe_dump(template, sort_keys=False, width=100))
    return [definition_file, template_file]
