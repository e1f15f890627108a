"""The training flow as a SageMaker Pipeline: process → train → evaluate → condition → register.

:func:`build_pipeline` returns a ``sagemaker.workflow.pipeline.Pipeline`` with parameters
(instance types, input data, metric threshold, approval status), a processing step running
``seedcode/processing/preprocess.py``, a training step with the built-in XGBoost algorithm, an
evaluation step writing ``evaluation.json`` (read back through a property file), a condition on
the test metric, and either a register-model step (with the evaluation as model metrics) or a
fail step. The same object is upserted and started on a real account or on the twin: either
runs the definition JSON it received, each step a real job.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel import config, features, products, registry, training
from mlaccel._paths import seedcode_dir
from mlaccel.errors import MLAccelError
from mlaccel.workflows._export import with_tokens
from mlaccel.workflows._settings import images, metric_threshold_for

if TYPE_CHECKING:
    from mlaccel._connect import Connection

PROCESSING = "/opt/ml/processing"
SPLITS = ("train", "validation", "test", "parquet", "preprocessor")
CFN_PARAMETERS = {
    "Bucket": "S3 bucket the pipeline reads and writes",
    "SageMakerRoleArn": "Role the pipeline and its jobs assume",
    "XgboostImage": "Built-in XGBoost image URI of the region (sagemaker.image_uris)",
    "SklearnImage": "SKLearn processing image URI of the region",
    "ModelMonitorImage": "Model Monitor analyzer image URI of the region",
}


def pipeline_session(*, connection: Connection) -> Any:
    """A session that builds pipeline steps instead of running jobs, on ``connection``'s backend."""
    return connection.pipeline_session()


@dataclass(frozen=True)
class MetricRule:
    """Which evaluation metric decides, where it is in evaluation.json, and which way is good."""

    name: str
    json_path: str
    direction: str  # "Minimize" | "Maximize"


def stage_script(script: str, pipeline: str, *, connection: Connection) -> str:
    """Upload a seedcode script to ``s3://<bucket>/<pipeline>/code/<content hash>/<name>``.

    The SDK would upload it itself under a hash of the file *and its absolute path*, so the
    same code would give a different definition in every checkout; keyed by content, the
    definition only changes when the code does.

    Returns
    -------
    str
        The script's URI.
    """
    body = (seedcode_dir() / script).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:16]
    key = f"{pipeline}/code/{digest}/{Path(script).name}"
    connection.client("s3").put_object(Bucket=connection.bucket, Key=key, Body=body)
    return connection.s3_uri(key)


def metric_rule(product: products.DataProduct) -> MetricRule:
    """Test RMSE or test log loss (at most the threshold), or test AUC (at least it).

    Examples
    --------
    >>> metric_rule(products.DataProduct("p", "y", "binary", "id", ("x",), classes=("a", "b"))).name
    'auc'
    """
    if product.problem_type == "regression":
        return MetricRule("rmse", "regression_metrics.rmse.value", "Minimize")
    if product.problem_type == "binary":
        return MetricRule("auc", "binary_classification_metrics.auc.value", "Maximize")
    return MetricRule("log_loss", "multiclass_classification_metrics.log_loss.value", "Minimize")


def pipeline_name(product_name: str) -> str:
    """The product's pipeline name.

    Examples
    --------
    >>> pipeline_name("used_cars")
    'mlaccel-used-cars-build'
    """
    return f"mlaccel-{product_name.replace('_', '-')}-build"


@dataclass(frozen=True)
class _Build:
    """What every step of one pipeline is built from."""

    product: products.DataProduct
    connection: Connection
    session: Any  # a pipeline session: steps, not jobs
    seed: int = 0

    @property
    def name(self) -> str:
        return pipeline_name(self.product.name)

    @property
    def xgboost_image(self) -> str:
        return images(self.connection.region)["XgboostImage"]

    def uri(self, *parts: str) -> str:
        """Where the pipeline's own outputs go."""
        return self.connection.s3_uri("pipelines", self.product.name, "sagemaker-pipeline", *parts)


@dataclass(frozen=True)
class _Parameters:
    """The pipeline's parameters: a start may override each one."""

    processing_instance: Any
    training_instance: Any
    input_data: Any
    threshold: Any
    approval: Any

    def listed(self) -> list[Any]:
        return [
            self.processing_instance,
            self.training_instance,
            self.input_data,
            self.threshold,
            self.approval,
        ]


def build_pipeline(
    product: products.DataProduct,
    *,
    connection: Connection,
    session: Any = None,
    input_uri: str | None = None,
    metric_threshold: float | None = None,
    hyperparameters: dict[str, Any] | None = None,
    seed: int = 0,
) -> Any:
    """The SageMaker Pipeline for ``product`` (see the module docstring).

    Parameters
    ----------
    product
        The data product's contract (:func:`mlaccel.data.load_product`).
    connection
        Where the pipeline runs; its model package group is created when missing.
    session
        A pipeline session (:func:`pipeline_session` by default).
    input_uri
        The raw data prefix, the ``InputData`` default (the Step Functions training data
        prefix by default).
    metric_threshold
        The default of the ``MetricThreshold`` parameter (a default suits each product).
    hyperparameters
        XGBoost hyperparameters over the product's defaults.
    seed
        The seed of the split and of XGBoost, written into the definition: every execution of
        the pipeline on the same data trains the same model.

    Returns
    -------
    sagemaker.workflow.pipeline.Pipeline
        The pipeline, not yet upserted.

    Examples
    --------
    >>> pipeline = build_pipeline(data.load_product("used_cars", connection=conn),
    ...                           connection=conn)  # doctest: +SKIP
    >>> pipeline.upsert(role_arn=conn.role_arn); pipeline.start()  # doctest: +SKIP
    """
    _load_sdk()
    from sagemaker.workflow.functions import JsonGet
    from sagemaker.workflow.pipeline import Pipeline

    rule = metric_rule(product)
    threshold = metric_threshold_for(product, metric_threshold)
    build = _Build(
        product,
        connection,
        session or pipeline_session(connection=connection),
        training.check_seed(seed),
    )
    parameters = _parameters(build, input_uri, threshold)
    prep = _processing_step(build, parameters)
    train = _training_step(build, parameters, prep, hyperparameters or {})
    evaluate, report = _evaluation_step(build, parameters, prep, train)
    metric: Any = JsonGet(step_name=evaluate.name, property_file=report, json_path=rule.json_path)
    check = _condition_step(
        rule,
        metric,
        parameters.threshold,
        passed=_register_step(build, parameters, train),
        failed=_fail_step(rule, metric, parameters.threshold),
    )
    registry.ensure_group(registry.group_name(product.name), connection=connection)
    return Pipeline(
        name=build.name,
        parameters=parameters.listed(),
        steps=[prep, train, evaluate, check],
        sagemaker_session=build.session,
    )


def _load_sdk() -> None:
    from mlaccel._sagemaker import _import_sagemaker

    _import_sagemaker()
    # Expected here: a pipeline session builds steps instead of starting jobs.
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")


def _parameters(build: _Build, input_uri: str | None, threshold: float) -> _Parameters:
    """Instance types (the kit's default), input data, metric threshold, approval status."""
    from sagemaker.workflow.parameters import ParameterFloat, ParameterString

    instance_type = config.default_instance_type()
    training_data = build.connection.s3_uri("pipelines", build.product.name, "training-data")
    return _Parameters(
        processing_instance=ParameterString("ProcessingInstanceType", default_value=instance_type),
        training_instance=ParameterString("TrainingInstanceType", default_value=instance_type),
        input_data=ParameterString("InputData", default_value=input_uri or training_data),
        threshold=ParameterFloat("MetricThreshold", default_value=threshold),
        approval=ParameterString("ModelApprovalStatus", default_value="PendingManualApproval"),
    )


def _processing_step(build: _Build, parameters: _Parameters) -> Any:
    """Split the input data and fit the feature transform (seedcode preprocess.py)."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.steps import ProcessingStep

    processor = SKLearnProcessor(
        framework_version=features.SKLEARN_VERSION,
        role=build.connection.role_arn,
        instance_type=parameters.processing_instance,
        instance_count=1,
        base_job_name="mlaccel-pipeline-prep",
        sagemaker_session=build.session,
    )
    outputs = [
        ProcessingOutput(
            output_name=part,
            source=f"{features.CONTAINER_OUTPUT}/{part}",
            destination=build.uri("features", part),
        )
        for part in SPLITS
    ]
    code = stage_script("processing/preprocess.py", build.name, connection=build.connection)
    data = ProcessingInput(source=parameters.input_data, destination=features.CONTAINER_INPUT)
    arguments = features.preprocess_arguments(build.product, 0.7, 0.15, build.seed)
    return ProcessingStep(
        "Preprocess",
        step_args=processor.run(code=code, inputs=[data], outputs=outputs, arguments=arguments),
    )


def _split(prep: Any, part: str) -> Any:
    """Where the processing step wrote a split, known when the pipeline runs."""
    return prep.properties.ProcessingOutputConfig.Outputs[part].S3Output.S3Uri


def _training_step(
    build: _Build, parameters: _Parameters, prep: Any, hyperparameters: dict[str, Any]
) -> Any:
    """Train the built-in XGBoost on the train and validation splits."""
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.workflow.steps import TrainingStep

    estimator = Estimator(
        image_uri=build.xgboost_image,
        role=build.connection.role_arn,
        instance_count=1,
        instance_type=parameters.training_instance,
        output_path=build.uri("models"),
        base_job_name="mlaccel-pipeline-train",
        sagemaker_session=build.session,
    )
    estimator.set_hyperparameters(
        **{
            **training.default_hyperparameters(build.product),
            "seed": build.seed,
            **hyperparameters,
        }
    )
    channels = {
        part: TrainingInput(_split(prep, part), content_type="text/csv")
        for part in ("train", "validation")
    }
    return TrainingStep("Train", step_args=estimator.fit(channels))


def _evaluation_step(
    build: _Build, parameters: _Parameters, prep: Any, train: Any
) -> tuple[Any, Any]:
    """Score the test split with the trained model (seedcode evaluate.py); return the step
    and the property file its ``evaluation.json`` is read back through."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluator = ScriptProcessor(
        image_uri=build.xgboost_image,  # has xgboost, pandas and numpy, as evaluate.py needs
        command=["python3"],
        role=build.connection.role_arn,
        instance_type=parameters.processing_instance,
        instance_count=1,
        base_job_name="mlaccel-pipeline-eval",
        sagemaker_session=build.session,
    )
    inputs = [
        ProcessingInput(
            source=train.properties.ModelArtifacts.S3ModelArtifacts,
            destination=f"{PROCESSING}/model",
        ),
        ProcessingInput(source=_split(prep, "test"), destination=f"{PROCESSING}/test"),
    ]
    evaluation = ProcessingOutput(
        output_name="evaluation",
        source=f"{PROCESSING}/evaluation",
        destination=build.uri("evaluation"),
    )
    step_args = evaluator.run(
        code=stage_script("evaluation/evaluate.py", build.name, connection=build.connection),
        inputs=inputs,
        outputs=[evaluation],
        arguments=training.evaluation_arguments(build.product),
    )
    return ProcessingStep("Evaluate", step_args=step_args, property_files=[report]), report


def _register_step(build: _Build, parameters: _Parameters, train: Any) -> Any:
    """Register the trained model in the product's group, its evaluation as model metrics."""
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.model_step import ModelStep

    model = Model(
        image_uri=build.xgboost_image,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=build.connection.role_arn,
        sagemaker_session=build.session,
    )
    statistics = MetricsSource(
        s3_uri=Join(on="/", values=[build.uri("evaluation"), "evaluation.json"]),
        content_type="application/json",
    )
    instance_type = config.default_instance_type()
    step_args = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=[instance_type],
        transform_instances=[instance_type],
        model_package_group_name=registry.group_name(build.product.name),
        approval_status=parameters.approval,
        model_metrics=ModelMetrics(model_statistics=statistics),
        description=f"XGBoost built by pipeline {build.name}",
    )
    return ModelStep("Register", step_args=step_args)


def _fail_step(rule: MetricRule, metric: Any, threshold: Any) -> Any:
    """End the execution failed, saying which metric missed which threshold."""
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join

    return FailStep(
        "MetricBelowThreshold",
        error_message=Join(
            on=" ", values=[f"test {rule.name}", metric, "does not meet MetricThreshold", threshold]
        ),
    )


def _condition_step(
    rule: MetricRule, metric: Any, threshold: Any, *, passed: Any, failed: Any
) -> Any:
    """Go on to ``passed`` when the test metric meets the threshold, else to ``failed``."""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )

    meets = (
        ConditionLessThanOrEqualTo(left=metric, right=threshold)
        if rule.direction == "Minimize"
        else ConditionGreaterThanOrEqualTo(left=metric, right=threshold)
    )
    return ConditionStep("CheckMetric", conditions=[meets], if_steps=[passed], else_steps=[failed])


def wait_for_execution(
    execution: Any, *, connection: Connection, timeout_seconds: float = 3600
) -> str:
    """Wait until a SageMaker Pipelines execution ends; return its final status.

    The execution runs remotely (on AWS or in the twin) and is polled at the connection's
    pace, showing its status on one line.
    """
    from mlaccel.progress import progress_line

    deadline = time.monotonic() + timeout_seconds
    name = str(getattr(execution, "arn", "") or "").rsplit("/", 1)[-1] or "pipeline"
    with progress_line(f"pipeline execution {name}") as line:
        while True:
            status = str(execution.describe()["PipelineExecutionStatus"])
            if status not in ("Executing", "Stopping"):
                line.finish(status)
                return status
            line.update(status)
            if time.monotonic() > deadline:
                raise MLAccelError(
                    f"pipeline execution {getattr(execution, 'arn', '')} is still {status} "
                    f"after {timeout_seconds:.0f} s; pass a larger timeout_seconds or stop it"
                )
            time.sleep(connection.wait.poll_seconds)


def step_table(execution: Any) -> Any:
    """An execution's steps as a table: name, status, seconds, failure reason, what it made."""
    import pandas as pd

    # Listed newest first; the table reads in the order the steps ran.
    steps = sorted(execution.list_steps(), key=lambda s: _seconds(s.get("StartTime") or 0))
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
    """The pipeline definition as JSON with bucket, role and images as ``${Parameter}`` tokens.

    Parameters
    ----------
    pipeline
        A pipeline of :func:`build_pipeline`.
    connection
        The connection it was built on: its role, bucket and region's images become tokens.

    Returns
    -------
    str
        Indented JSON, ending with a newline.
    """
    tokens = {
        connection.role_arn: "${SageMakerRoleArn}",
        f"s3://{connection.bucket}/": "s3://${Bucket}/",
        **{image: f"${{{name}}}" for name, image in images(connection.region).items()},
    }
    return with_tokens(json.dumps(json.loads(pipeline.definition()), indent=2), tokens) + "\n"


def cloudformation_template(pipeline: Any, body: str) -> str:
    """A CloudFormation template (YAML) creating the pipeline with the definition ``body``.

    Stack parameters are the ``${Parameter}`` tokens ``body`` uses (``CFN_PARAMETERS``).
    """
    import yaml

    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"mlaccel SageMaker Pipeline {pipeline.name} (generated; do not edit)",
        "Parameters": {
            name: {"Type": "String", "Description": text}
            for name, text in CFN_PARAMETERS.items()
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
    return str(yaml.safe_dump(template, sort_keys=False, width=100))


def export(pipeline: Any, *, connection: Connection, folder: str | Path) -> list[Path]:
    """Write ``<name>.pipeline.json`` and a CloudFormation template ``<name>.cfn.yaml``.

    The template creates the pipeline (``AWS::SageMaker::Pipeline``) with its definition, the
    bucket, role and image URIs being stack parameters; upload the code the definition names
    (``s3://<bucket>/<pipeline>/code/...``) with the definition, as ``upsert`` does.

    Parameters
    ----------
    pipeline
        A pipeline of :func:`build_pipeline`.
    connection
        The connection it was built on.
    folder
        Where to write; created when missing.

    Returns
    -------
    list of Path
        The definition and the template.

    Examples
    --------
    >>> export(pipeline, connection=conn, folder="seedcode/workflows")  # doctest: +SKIP
    """
    body = portable_definition(pipeline, connection=connection)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    definition_file = out / f"{pipeline.name}.pipeline.json"
    definition_file.write_text(body)
    template_file = out / f"{pipeline.name}.cfn.yaml"
    template_file.write_text(cloudformation_template(pipeline, body))
    return [definition_file, template_file]
