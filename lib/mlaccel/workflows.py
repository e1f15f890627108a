"""Step Functions workflows for the model lifecycle, built with the ``stepfunctions`` SDK.

Two builders return :class:`stepfunctions.workflow.Workflow` objects a notebook renders,
creates or updates, and executes — on the local twin or on a real account, unchanged:

:func:`training_workflow`
    preprocess → train → save model → query training results (Lambda) → metric threshold
    (Choice) → below it: compare with the best registered model (Lambda), notify (SNS), Fail →
    above it: data-quality and model-quality baselines in parallel → endpoint configuration with
    data capture → does the endpoint exist? (Lambda) → create or update it → wait until it is
    in service → export the model, endpoint and endpoint-configuration names to SSM → notify.
:func:`scoring_workflow`
    preprocess the batch with the fitted transform → latest approved (else latest registered)
    model (Lambda) → batch transform with input filter, join with the input and output filter,
    so every score comes back next to its record id → notify.

Every run reads its settings from the execution input merged over the defaults baked in at
build time (``{"metric_threshold": 900}`` overrides one), and names its jobs after the
execution, so a rerun never collides with an earlier one. Any failed task is caught, notified
and ends the run in a Fail state.

:func:`export` writes each definition as JSON and as a CloudFormation template (account, bucket,
role and image URIs as parameters) for a CI/CD pipeline to deploy without the notebook.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel import datasets, features, training
from mlaccel._paths import seedcode_dir
from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

HANDLERS = "handlers"
FUNCTIONS = {
    "training_results": "mlaccel-training-results",
    "compare_with_best": "mlaccel-compare-with-best",
    "endpoint_status": "mlaccel-endpoint-status",
    "latest_model": "mlaccel-latest-model",
    "consolidate_capture": "mlaccel-consolidate-capture",
    "evaluate_violations": "mlaccel-evaluate-violations",
}
CATCH_ALL = ["States.ALL"]
MODEL_MONITOR_ENV = {"publish_cloudwatch_metrics": "Disabled"}
CONTAINER = "/opt/ml/processing"
AWS_ENDPOINT_WAIT_SECONDS = 30


def _sdk() -> None:
    """Import the SageMaker SDK quietly (see mlaccel._sagemaker) and quiet the stepfunctions
    SDK's own INFO handler, before any builder imports their classes."""
    from mlaccel._sagemaker import _import_sagemaker

    _import_sagemaker()
    logging.getLogger("stepfunctions").setLevel(logging.WARNING)
    from stepfunctions.steps import integration_resources

    # The SDK builds two boto3 sessions and re-reads botocore's endpoint data (about 0.2 s)
    # for every task's resource ARN; the partition does not change within a process.
    lookup = integration_resources.get_aws_partition
    if not hasattr(lookup, "cache_info"):
        integration_resources.get_aws_partition = functools.lru_cache(maxsize=1)(lookup)


def _dashed(name: str) -> str:
    return name.replace("_", "-")


@dataclass(frozen=True)
class WorkflowSettings:
    """Everything a workflow definition is built from; see :func:`workflow_settings`."""

    product: str
    region: str
    bucket: str
    role_arn: str  # the SageMaker execution role jobs run as
    workflow_role_arn: str  # the role Step Functions runs as
    topic_arn: str
    prefix: str
    endpoint_name: str
    metric_threshold: float
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    processing_instance_type: str = "ml.m5.large"
    training_instance_type: str = "ml.m5.large"
    transform_instance_type: str = "ml.m5.large"
    endpoint_instance_type: str = "ml.m5.large"
    capture_percentage: int = 100
    endpoint_wait_seconds: int = 30
    parameter_path: str = ""

    @property
    def objective(self) -> training.Objective:
        return training.objective_for(self.product)

    def uri(self, *parts: str) -> str:
        return "/".join([f"s3://{self.bucket}/{self.prefix}", *parts])

    @property
    def training_data_uri(self) -> str:
        """The training pipeline reads this prefix; new data landing here starts it."""
        return self.uri("training-data")

    @property
    def scoring_batches_uri(self) -> str:
        """New scoring batches land here; each one starts the scoring pipeline."""
        return self.uri("scoring-batches")

    @property
    def training_name(self) -> str:
        return f"mlaccel-{_dashed(self.product)}-training"

    @property
    def scoring_name(self) -> str:
        return f"mlaccel-{_dashed(self.product)}-batch-scoring"

    @property
    def monitoring_name(self) -> str:
        return f"mlaccel-{_dashed(self.product)}-monitoring"

    @property
    def capture_uri(self) -> str:
        """Where the pipeline endpoint's capture files land (one folder per endpoint)."""
        return self.uri("capture", self.endpoint_name) + "/"

    @property
    def ground_truth_uri(self) -> str:
        """Where labels for captured requests arrive (Model Monitor's ground-truth layout)."""
        return self.uri("ground-truth", self.endpoint_name) + "/"

    @property
    def results_uri(self) -> str:
        """The monitoring results table's folder: one JSON line per violation."""
        return self.uri("monitoring", "results") + "/"

    @property
    def group(self) -> str:
        from mlaccel import registry

        return registry.group_name(self.product)

    def images(self) -> dict[str, str]:
        """Container images by role, for this region."""
        return dict(_images(self.region))


@functools.lru_cache(maxsize=8)
def _images(region: str) -> tuple[tuple[str, str], ...]:
    from sagemaker import image_uris

    return tuple(
        {
            "XgboostImage": str(image_uris.retrieve("xgboost", region, training.XGBOOST_VERSION)),
            "SklearnImage": str(image_uris.retrieve("sklearn", region, features.SKLEARN_VERSION)),
            "ModelMonitorImage": str(image_uris.retrieve("model-monitor", region)),
        }.items()
    )


def workflow_settings(
    product_name: str,
    *,
    connection: Connection,
    topic_arn: str,
    metric_threshold: float | None = None,
    **overrides: Any,
) -> WorkflowSettings:
    """Settings for ``product_name`` on ``connection``, with defaults that suit the product.

    ``metric_threshold`` is the objective's bar (RMSE at most, or AUC at least); ``overrides``
    set any other :class:`WorkflowSettings` field.
    """
    product = datasets.get_data_product(product_name)
    objective = training.objective_for(product.name)
    if metric_threshold is None:
        metric_threshold = 3000.0 if objective.direction == "Minimize" else 0.7
    if isinstance(metric_threshold, bool) or not isinstance(metric_threshold, int | float):
        raise MLAccelInputError(f"metric_threshold={metric_threshold!r} must be a number")
    if not str(topic_arn).startswith("arn:"):
        raise MLAccelInputError(f"topic_arn={topic_arn!r} must be an SNS topic ARN")
    settings = WorkflowSettings(
        product=product.name,
        region=connection.region,
        bucket=connection.bucket,
        role_arn=connection.role_arn,
        workflow_role_arn=connection.role_arn,
        topic_arn=topic_arn,
        prefix=f"pipelines/{product.name}",
        endpoint_name=f"mlaccel-{_dashed(product.name)}-pipeline",
        metric_threshold=float(metric_threshold),
        hyperparameters={**training.default_hyperparameters(product.name), "num_round": 100},
        endpoint_wait_seconds=1 if connection.is_local else AWS_ENDPOINT_WAIT_SECONDS,
        parameter_path=f"/mlaccel/{_dashed(product.name)}",
    )
    unknown = set(overrides) - set(WorkflowSettings.__dataclass_fields__)
    if unknown:
        raise MLAccelInputError(
            f"unknown workflow settings {sorted(unknown)}; valid ones are "
            f"{sorted(WorkflowSettings.__dataclass_fields__)}"
        )
    return replace(settings, **overrides)


# ----------------------------------------------------------------------------------- helpers


def bind(step: Any, **paths: str) -> Any:
    """Make parameters of ``step`` read from the state: ``bind(s, TrainingJobName="$.x")``.

    Nested members are written with ``__`` (list items by index): ``PrimaryContainer__Image``,
    ``ProductionVariants__0__ModelName``.
    """
    for dotted, path in paths.items():
        *parents, key = dotted.split("__")
        target = step.parameters
        for parent in parents:
            target = target[int(parent)] if parent.isdigit() else target[parent]
        target.pop(key, None)
        target[f"{key}.$"] = path
    return step


def _catch(step: Any, handler: Any) -> Any:
    from stepfunctions.steps import Catch

    step.add_catch(Catch(error_equals=CATCH_ALL, next_step=handler, result_path="$.error"))
    return step


def _lambda(state: str, function: str, payload: dict[str, Any], result_path: str) -> Any:
    from stepfunctions.steps import LambdaStep

    return LambdaStep(
        state,
        parameters={"FunctionName": FUNCTIONS[function], "Payload": payload},
        result_path=result_path,
    )


def _notify(state: str, settings: WorkflowSettings, subject: str, message: str) -> Any:
    """An SNS publish whose message is a ``States.Format`` template over the state."""
    from stepfunctions.steps import SnsPublishStep

    return SnsPublishStep(
        state,
        parameters={"TopicArn": settings.topic_arn, "Subject": subject, "Message.$": message},
        result_path=None,
    )


def _start(settings: WorkflowSettings, defaults: dict[str, Any], names: dict[str, str]) -> Any:
    """Two Pass states: defaults, then the execution input merged over them, and run names."""
    from stepfunctions.steps import Chain, Pass

    # Job names come from the execution name, so every run's jobs are new and traceable.
    named = {
        f"{k}.$": f"States.Format('mlaccel-{v}-{{}}', $$.Execution.Name)" for k, v in names.items()
    }
    return Chain(
        [
            Pass("Read defaults", result=defaults, result_path="$.defaults"),
            Pass(
                "Merge execution input",
                parameters={
                    "args.$": "States.JsonMerge($.defaults, $$.Execution.Input, false)",
                    "names": named,
                },
            ),
        ]
    )


def _failure_path(settings: WorkflowSettings, what: str) -> Any:
    from stepfunctions.steps import Chain, Fail

    notify = _notify(
        "Notify failure",
        settings,
        f"mlaccel: {what} failed",
        f"States.Format('{what} run {{}} failed: {{}}', $$.Execution.Name, $.error.Cause)",
    )
    return Chain(
        [notify, Fail("Run failed", error="PipelineFailed", cause=f"a {what} step failed")]
    )


def _processor(settings: WorkflowSettings, image: str, env: Mapping[str, str] | None = None) -> Any:
    from sagemaker.processing import Processor

    return Processor(
        role=settings.role_arn,
        image_uri=image,
        instance_count=1,
        instance_type=settings.processing_instance_type,
        env=dict(env or {}),
    )


def code_uri(settings: WorkflowSettings, script: str) -> str:
    """Where :func:`stage_code` puts a seedcode script (``processing/preprocess.py``)."""
    return settings.uri("code", script)


def stage_code(settings: WorkflowSettings, *, connection: Connection) -> list[str]:
    """Upload the seedcode scripts the workflows run to S3; return their URIs."""
    uris = []
    for script in ("processing/preprocess.py", "evaluation/evaluate.py"):
        uri = code_uri(settings, script)
        key = uri.removeprefix(f"s3://{settings.bucket}/")
        body = (seedcode_dir() / script).read_bytes()
        connection.client("s3").put_object(Bucket=settings.bucket, Key=key, Body=body)
        uris.append(uri)
    return uris


def _script_step(
    state: str,
    settings: WorkflowSettings,
    script: str,
    inputs: list[Any],
    outputs: list[Any],
    arguments: list[str],
    result_path: str,
) -> Any:
    from sagemaker.processing import ProcessingInput
    from stepfunctions.steps import ProcessingStep

    code = ProcessingInput(
        source=code_uri(settings, script), destination=f"{CONTAINER}/input/code", input_name="code"
    )
    return ProcessingStep(
        state,
        processor=_processor(settings, settings.images()["SklearnImage"]),
        job_name="bound-below",
        inputs=[*inputs, code],
        outputs=outputs,
        container_entrypoint=["python3", f"{CONTAINER}/input/code/{Path(script).name}"],
        container_arguments=arguments,
        result_path=result_path,
    )


def _analyzer_step(
    state: str,
    settings: WorkflowSettings,
    dataset: str,
    output: str,
    env: dict[str, str],
    result_path: str,
    baseline_files: dict[str, str] | None = None,
) -> Any:
    """A Model Monitor analyzer job (the twin runs mlaccel's drift engine in its place).

    ``baseline_files`` maps environment variables (``baseline_constraints``...) to the S3 URIs
    of baseline files, given to the job as inputs.
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from stepfunctions.steps import ProcessingStep

    source = f"{CONTAINER}/input/baseline_dataset_input"
    analyzer_env = {
        **MODEL_MONITOR_ENV,
        "dataset_source": source,
        "output_path": f"{CONTAINER}/output",
        **env,
    }
    extra = []
    for variable, uri in (baseline_files or {}).items():
        folder = f"{CONTAINER}/input/{variable}"
        extra.append(ProcessingInput(source=uri, destination=folder, input_name=variable))
        analyzer_env[variable] = f"{folder}/{uri.rsplit('/', 1)[-1]}"
    return ProcessingStep(
        state,
        processor=_processor(settings, settings.images()["ModelMonitorImage"], analyzer_env),
        job_name="bound-below",
        inputs=[
            ProcessingInput(source=dataset, destination=source, input_name="baseline"),
            *extra,
        ],
        outputs=[
            ProcessingOutput(
                source=f"{CONTAINER}/output", destination=output, output_name="monitoring_output"
            )
        ],
        result_path=result_path,
    )


def _keyed_transform_step(
    state: str, settings: WorkflowSettings, *, data: str, output: str, result_path: str
) -> Any:
    """A batch transform of CSV rows whose first field is a key (a label or a record id):
    the model sees the other fields, and each output line is ``key, prediction``."""
    from sagemaker.transformer import Transformer
    from stepfunctions.steps import TransformStep

    transformer = Transformer(
        model_name="bound-below",
        instance_count=1,
        instance_type=settings.transform_instance_type,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=output,
    )
    return TransformStep(
        state,
        transformer=transformer,
        job_name="bound-below",
        model_name="bound-below",
        data=data,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",  # the model sees the features, not the key
        join_source="Input",  # each output line is the input line plus its prediction
        output_filter="$[0,-1]",  # keep the key and the prediction
        result_path=result_path,
    )


# ------------------------------------------------------------------------- training pipeline


def training_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The training pipeline as a ``stepfunctions`` Workflow (see the module docstring)."""
    _sdk()
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model_monitor.data_capture_config import DataCaptureConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from stepfunctions.steps import (
        Chain,
        Choice,
        ChoiceRule,
        EndpointConfigStep,
        EndpointStep,
        Fail,
        ModelStep,
        Parallel,
        Succeed,
        Task,
        TrainingStep,
        Wait,
    )
    from stepfunctions.workflow import Workflow

    product = datasets.get_data_product(settings.product)
    objective = settings.objective
    images = settings.images()
    start = _start(
        settings,
        {"metric_threshold": settings.metric_threshold},
        {
            "preprocessing": "prep",
            "training": "train",
            "model": "model",
            "data_quality": "dq",
            "scoring": "mq-score",
            "model_quality": "mq",
            "endpoint_config": "epc",
        },
    )
    failed = _failure_path(settings, "training pipeline")

    prep = bind(
        _script_step(
            "Preprocess",
            settings,
            "processing/preprocess.py",
            [
                ProcessingInput(
                    source=settings.training_data_uri,
                    destination=features.CONTAINER_INPUT,
                    input_name="table",
                )
            ],
            [
                ProcessingOutput(
                    source=f"{features.CONTAINER_OUTPUT}/{part}",
                    destination=settings.uri("features", part),
                    output_name=part,
                )
                for part in ("train", "validation", "test", "parquet", "preprocessor", "baseline")
            ],
            features.preprocess_arguments(product, 0.7, 0.15, 0),
            "$.preprocessing",
        ),
        ProcessingJobName="$.names.preprocessing",
    )

    estimator = Estimator(
        image_uri=images["XgboostImage"],
        role=settings.role_arn,
        instance_count=1,
        instance_type=settings.training_instance_type,
        output_path=settings.uri("models"),
        hyperparameters={k: str(v) for k, v in settings.hyperparameters.items()},
    )
    train = bind(
        TrainingStep(
            "Train",
            estimator=estimator,
            job_name="bound-below",
            data={
                "train": TrainingInput(settings.uri("features", "train"), content_type="text/csv"),
                "validation": TrainingInput(
                    settings.uri("features", "validation"), content_type="text/csv"
                ),
            },
            result_path="$.training",
        ),
        TrainingJobName="$.names.training",
    )
    model = bind(
        ModelStep(
            "Save model",
            model=train.get_expected_model(),
            model_name="bound-below",
            result_path=None,
        ),
        ModelName="$.names.model",
        PrimaryContainer__ModelDataUrl="$.training.ModelArtifacts.S3ModelArtifacts",
    )
    results = _lambda(
        "Query training results",
        "training_results",
        {"TrainingJobName.$": "$.training.TrainingJobName", "MetricName": objective.metric},
        "$.results",
    )

    compare = _lambda(
        "Compare with previous best",
        "compare_with_best",
        {
            "ModelPackageGroupName": settings.group,
            "MetricName": objective.metric,
            "Direction": objective.direction,
            "Candidate.$": "$.results.Payload.metric",
            "Threshold.$": "$.args.metric_threshold",
        },
        "$.comparison",
    )
    below = Chain(
        [
            compare,
            _notify(
                "Notify below threshold",
                settings,
                f"mlaccel: {settings.training_name} model below threshold",
                "States.Format('Training run {} stopped: the model does not meet the threshold. "
                "{}', $$.Execution.Name, $.comparison.Payload.summary)",
            ),
            Fail(
                "Below threshold",
                error="MetricBelowThreshold",
                cause=f"{objective.metric} did not meet metric_threshold",
            ),
        ]
    )

    data_quality = bind(
        _analyzer_step(
            "Data-quality baseline",
            settings,
            settings.uri("features", "baseline"),
            settings.uri("baselines", "data-quality"),
            {"dataset_format": json.dumps({"csv": {"header": True}})},
            "$.data_quality",
        ),
        ProcessingJobName="$.names.data_quality",
    )
    score_validation = bind(
        _keyed_transform_step(
            "Score validation split",
            settings,
            data=settings.uri("features", "validation"),
            output=settings.uri("baselines", "validation-scored"),
            result_path="$.scoring",
        ),  # rows of label, prediction
        TransformJobName="$.names.scoring",
        ModelName="$.names.model",
    )
    model_quality = bind(
        _analyzer_step(
            "Model-quality baseline",
            settings,
            settings.uri("baselines", "validation-scored"),
            settings.uri("baselines", "model-quality"),
            {
                "analysis_type": "MODEL_QUALITY",
                "dataset_format": json.dumps({"csv": {"header": False}}),
                "problem_type": (
                    "Regression" if product.problem_type == "regression" else "BinaryClassification"
                ),
                # rows of the scored split: label, prediction
                "ground_truth_attribute": "_c0",
                **_prediction_attributes(product, "_c1"),
            },
            "$.model_quality",
        ),
        ProcessingJobName="$.names.model_quality",
    )
    baselines = Parallel("Baselines", result_path=None)
    baselines.add_branch(data_quality)
    baselines.add_branch(Chain([score_validation, model_quality]))

    capture = DataCaptureConfig(
        enable_capture=True,
        sampling_percentage=settings.capture_percentage,
        destination_s3_uri=settings.uri("capture"),
        csv_content_types=["text/csv"],
    )
    endpoint_config = bind(
        EndpointConfigStep(
            "Endpoint configuration",
            endpoint_config_name="bound-below",
            model_name="bound-below",
            initial_instance_count=1,
            instance_type=settings.endpoint_instance_type,
            data_capture_config=capture,
            result_path=None,
        ),
        EndpointConfigName="$.names.endpoint_config",
        ProductionVariants__0__ModelName="$.names.model",
    )
    exists = _lambda(
        "Endpoint exists?",
        "endpoint_status",
        {"EndpointName": settings.endpoint_name},
        "$.endpoint",
    )
    create = bind(
        EndpointStep(
            "Create endpoint",
            endpoint_name=settings.endpoint_name,
            endpoint_config_name="bound-below",
            result_path=None,
        ),
        EndpointConfigName="$.names.endpoint_config",
    )
    update = bind(
        EndpointStep(
            "Update endpoint",
            endpoint_name=settings.endpoint_name,
            endpoint_config_name="bound-below",
            update=True,
            result_path=None,
        ),
        EndpointConfigName="$.names.endpoint_config",
    )
    wait = Wait("Wait for endpoint", seconds=settings.endpoint_wait_seconds)
    status = _lambda(
        "Endpoint status", "endpoint_status", {"EndpointName": settings.endpoint_name}, "$.endpoint"
    )
    export_names = Parallel("Export to SSM", result_path=None)
    for label, key, path in (
        ("model name", "model-name", "$.names.model"),
        ("endpoint name", "endpoint-name", None),
        ("endpoint configuration", "endpoint-config-name", "$.names.endpoint_config"),
    ):
        value = {"Value.$": path} if path else {"Value": settings.endpoint_name}
        export_names.add_branch(
            Task(
                f"Export {label}",
                resource="arn:aws:states:::aws-sdk:ssm:putParameter",
                parameters={
                    "Name": f"{settings.parameter_path}/{key}",
                    "Type": "String",
                    "Overwrite": True,
                    **value,
                },
                result_path=None,
            )
        )
    succeeded = Chain(
        [
            _notify(
                "Notify success",
                settings,
                f"mlaccel: {settings.training_name} succeeded",
                "States.Format('Training run {} deployed model {} to endpoint "
                f"{settings.endpoint_name} ({objective.metric} = {{}}).', "
                "$$.Execution.Name, $.names.model, $.results.Payload.metric)",
            ),
            Succeed("Done"),
        ]
    )
    ready = Choice("Endpoint in service?")
    ready.add_choice(
        ChoiceRule.StringEquals("$.endpoint.Payload.status", "InService"), export_names
    )
    ready.add_choice(ChoiceRule.StringEquals("$.endpoint.Payload.status", "Failed"), failed)
    ready.default_choice(wait)
    export_names.next(succeeded)
    create_or_update = Choice("Create or update?")
    create_or_update.add_choice(ChoiceRule.BooleanEquals("$.endpoint.Payload.exists", True), update)
    create_or_update.default_choice(create)
    create.next(wait)
    update.next(wait)
    wait.next(status)
    status.next(ready)

    threshold = Choice("Metric threshold")
    meets = (
        ChoiceRule.NumericLessThanEqualsPath
        if objective.direction == "Minimize"
        else ChoiceRule.NumericGreaterThanEqualsPath
    )
    threshold.add_choice(meets("$.results.Payload.metric", "$.args.metric_threshold"), baselines)
    threshold.default_choice(below)
    baselines.next(endpoint_config)
    endpoint_config.next(exists)
    exists.next(create_or_update)

    # Tasks inside Parallel branches are caught by their Parallel state: a catch in a branch
    # could only lead to states of that branch.
    for task in (prep, train, model, results, compare, baselines, endpoint_config, exists,
                 create, update, status, export_names):  # fmt: skip
        _catch(task, failed)
    definition = Chain([start, prep, train, model, results, threshold])
    return Workflow(
        settings.training_name,
        definition=definition,
        role=settings.workflow_role_arn,
        client=client,
    )


def _prediction_attributes(product: datasets.DataProduct, column: str) -> dict[str, str]:
    """Where the model-quality analyzer finds the model's answer: a value for regression, a
    probability (cut at 0.5) for binary classification."""
    if product.problem_type == "regression":
        return {"inference_attribute": column}
    return {"probability_attribute": column, "probability_threshold_attribute": "0.5"}


# -------------------------------------------------------------------------- scoring pipeline


def scoring_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The batch scoring pipeline as a ``stepfunctions`` Workflow (see the module docstring)."""
    _sdk()
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from stepfunctions.steps import Chain, Succeed
    from stepfunctions.workflow import Workflow

    start = _start(
        settings,
        {"batch_uri": settings.scoring_batches_uri},
        {"preprocessing": "score-prep", "transform": "score", "prepared": "", "output": ""},
    )
    # Folders per run, from the execution name, under the pipeline's prefix.
    names = start.steps[1].parameters["names"]
    names["prepared.$"] = (
        f"States.Format('{settings.uri('scoring', 'prepared')}/{{}}/', $$.Execution.Name)"
    )
    names["output.$"] = (
        f"States.Format('{settings.uri('scoring', 'scores')}/{{}}', $$.Execution.Name)"
    )
    failed = _failure_path(settings, "batch scoring")
    prep = bind(
        _script_step(
            "Preprocess batch",
            settings,
            "processing/preprocess.py",
            [
                ProcessingInput(
                    source=settings.scoring_batches_uri,
                    destination=features.CONTAINER_INPUT,
                    input_name="batch",
                ),
                ProcessingInput(
                    source=settings.uri("features", "preprocessor"),
                    destination=f"{CONTAINER}/input/preprocessor",
                    input_name="preprocessor",
                ),
            ],
            [
                ProcessingOutput(
                    source=f"{features.CONTAINER_OUTPUT}/scoring",
                    destination=settings.uri("scoring", "prepared"),
                    output_name="scoring",
                )
            ],
            ["--mode", "transform"],
            "$.preprocessing",
        ),
        ProcessingJobName="$.names.preprocessing",
        ProcessingInputs__0__S3Input__S3Uri="$.args.batch_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.prepared",
    )
    latest = _lambda(
        "Latest model",
        "latest_model",
        {"ModelPackageGroupName": settings.group, "ExecutionRoleArn": settings.role_arn},
        "$.model",
    )
    score = bind(
        _keyed_transform_step(
            "Score batch",
            settings,
            data="s3://bound-below",
            output="s3://bound-below",
            result_path="$.transform",
        ),  # rows of record id, score
        TransformJobName="$.names.transform",
        ModelName="$.model.Payload.ModelName",
        TransformInput__DataSource__S3DataSource__S3Uri="$.names.prepared",
        TransformOutput__S3OutputPath="$.names.output",
    )
    done = Chain(
        [
            _notify(
                "Notify success",
                settings,
                f"mlaccel: {settings.scoring_name} succeeded",
                "States.Format('Scoring run {} scored {} with model {}; scores in {}', "
                "$$.Execution.Name, $.args.batch_uri, $.model.Payload.ModelName, $.names.output)",
            ),
            Succeed("Done"),
        ]
    )
    for task in (prep, latest, score):
        _catch(task, failed)
    return Workflow(
        settings.scoring_name,
        definition=Chain([start, prep, latest, score, done]),
        role=settings.workflow_role_arn,
        client=client,
    )


# ------------------------------------------------------------------------ monitoring pipeline


def _capture_format(sides: list[str]) -> str:
    return json.dumps({"sagemakerCaptureJson": {"captureIndexNames": sides}})


def monitoring_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The monitoring pipeline as a ``stepfunctions`` Workflow, meant to run on a schedule.

    consolidate the data captured since the last run (Lambda; nothing new → end cleanly) → in
    parallel, data drift against the training pipeline's data-quality baseline (always) and
    model drift against its model-quality baseline (only when ground truth matched captured
    records) → evaluate the violations, store them as rows for SQL and notify (Lambda) →
    commit the run's watermark to SSM.
    """
    _sdk()
    from stepfunctions.steps import Chain, Choice, ChoiceRule, Parallel, Pass, Succeed, Task
    from stepfunctions.workflow import Workflow

    product = datasets.get_data_product(settings.product)
    start = _start(settings, {}, {"data_quality": "dq-check", "model_quality": "mq-check"})
    names = start.steps[1].parameters["names"]
    for key, folder in (("output", ""), ("data_quality_uri", "data-quality/"),
                        ("model_quality_uri", "model-quality/")):  # fmt: skip
        runs = settings.uri("monitoring", "runs")
        names[f"{key}.$"] = f"States.Format('{runs}/{{}}/{folder}', $$.Execution.Name)"
    failed = _failure_path(settings, "monitoring")
    watermark = f"{settings.parameter_path}/monitoring-watermark"
    consolidate = _lambda(
        "Consolidate captured data",
        "consolidate_capture",
        {
            "CaptureUri": settings.capture_uri,
            "GroundTruthUri": settings.ground_truth_uri,
            "OutputUri.$": "$.names.output",
            "WatermarkParameter": watermark,
        },
        "$.capture",
    )
    data_drift = bind(
        _analyzer_step(
            "Data drift",
            settings,
            "s3://bound-below",
            "s3://bound-below",
            {"dataset_format": _capture_format(["endpointInput"])},
            "$.data_quality",
            baseline_files={
                "baseline_statistics": settings.uri("baselines", "data-quality", "statistics.json"),
                "baseline_constraints": settings.uri(
                    "baselines", "data-quality", "constraints.json"
                ),
            },
        ),
        ProcessingJobName="$.names.data_quality",
        ProcessingInputs__0__S3Input__S3Uri="$.capture.Payload.capture_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.data_quality_uri",
    )
    model_drift = bind(
        _analyzer_step(
            "Model drift",
            settings,
            "s3://bound-below",
            "s3://bound-below",
            {
                "analysis_type": "MODEL_QUALITY",
                "dataset_format": _capture_format(["endpointOutput"]),
                "problem_type": (
                    "Regression" if product.problem_type == "regression" else "BinaryClassification"
                ),
                "ground_truth_attribute": "groundTruth",
                **_prediction_attributes(product, "_c0"),
            },
            "$.model_quality",
            baseline_files={
                "baseline_constraints": settings.uri(
                    "baselines", "model-quality", "constraints.json"
                ),
            },
        ),
        ProcessingJobName="$.names.model_quality",
        ProcessingInputs__0__S3Input__S3Uri="$.capture.Payload.merged_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.model_quality_uri",
    )
    with_truth = Choice("Ground truth?")
    with_truth.add_choice(
        ChoiceRule.BooleanEquals("$.capture.Payload.has_ground_truth", True), model_drift
    )
    with_truth.default_choice(Pass("No ground truth yet"))
    checks = Parallel("Drift checks", result_path=None)
    checks.add_branch(data_drift)
    checks.add_branch(with_truth)
    evaluate = _lambda(
        "Evaluate violations",
        "evaluate_violations",
        {
            "EndpointName": settings.endpoint_name,
            "RunName.$": "$$.Execution.Name",
            "Records.$": "$.capture.Payload.records",
            "DataQualityUri.$": "$.names.data_quality_uri",
            "ModelQualityUri.$": "$.names.model_quality_uri",
            "ResultsUri": settings.results_uri,
            "TopicArn": settings.topic_arn,
        },
        "$.evaluation",
    )
    commit = Task(
        "Commit watermark",
        resource="arn:aws:states:::aws-sdk:ssm:putParameter",
        parameters={
            "Name": watermark,
            "Type": "String",
            "Overwrite": True,
            "Value.$": "$.capture.Payload.watermark",
        },
        result_path=None,
    )
    anything = Choice("Anything new?")
    anything.add_choice(
        ChoiceRule.NumericEquals("$.capture.Payload.records", 0), Succeed("Nothing new")
    )
    anything.default_choice(Chain([checks, evaluate, commit, Succeed("Done")]))
    for task in (consolidate, checks, evaluate, commit):
        _catch(task, failed)
    return Workflow(
        settings.monitoring_name,
        definition=Chain([start, consolidate, anything]),
        role=settings.workflow_role_arn,
        client=client,
    )


def schedule(
    rule_name: str,
    state_machine_arn: str,
    expression: str,
    *,
    connection: Connection,
    role_arn: str | None = None,
) -> str:
    """Create or update a scheduled EventBridge rule starting the workflow; return its ARN.

    ``expression`` is EventBridge's ``rate(1 hour)`` or ``cron(0 6 * * ? *)``. (The twin keeps
    the rule but does not fire schedules: start the execution yourself there.)
    """
    if not (expression.startswith("rate(") or expression.startswith("cron(")):
        raise MLAccelInputError(
            f"expression={expression!r} must be an EventBridge schedule such as 'rate(1 hour)'"
        )
    client = connection.client("events")
    arn = client.put_rule(
        Name=rule_name,
        ScheduleExpression=expression,
        State="ENABLED",
        Description=f"start {state_machine_arn.rsplit(':', 1)[-1]} {expression}",
    )["RuleArn"]
    client.put_targets(
        Rule=rule_name,
        Targets=[
            {"Id": "state-machine", "Arn": state_machine_arn,
             "RoleArn": role_arn or connection.role_arn}
        ],
    )  # fmt: skip
    return str(arn)


RESULT_COLUMNS = [
    ("checked_at", "string"),
    ("run", "string"),
    ("endpoint", "string"),
    ("analysis", "string"),
    ("feature_name", "string"),
    ("constraint_check_type", "string"),
    ("description", "string"),
]


def ensure_results_table(
    settings: WorkflowSettings,
    *,
    connection: Connection,
    database: str = "mlaccel_monitoring",
) -> str:
    """Register the monitoring results (JSON Lines) as a Glue table; return ``db.table``."""
    glue = connection.client("glue")
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(
            DatabaseInput={"Name": database, "Description": "mlaccel monitoring results"}
        )
    table = f"{settings.product}_violations"
    table_input = {
        "Name": table,
        "Description": f"Model Monitor violations of {settings.endpoint_name}, one per row",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in RESULT_COLUMNS],
            "Location": settings.results_uri,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    }
    try:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=table_input)
    return f"{database}.{table}"


def send_ground_truth(
    labels: Mapping[str, Any], *, settings: WorkflowSettings, connection: Connection
) -> str:
    """Upload labels for captured requests (by inference id) in Model Monitor's layout."""
    if not labels:
        raise MLAccelInputError("labels is empty: pass {inference_id: true label}")
    now = time.gmtime()
    key_uri = settings.ground_truth_uri + time.strftime("%Y/%m/%d/%H/", now)
    key_uri += f"labels-{time.strftime('%H%M%S', now)}-{int(time.time() * 1000) % 1000:03d}.jsonl"
    lines = [
        json.dumps(
            {
                "groundTruthData": {"data": str(label), "encoding": "CSV"},
                "eventMetadata": {"eventId": str(inference_id)},
                "eventVersion": "0",
            }
        )
        for inference_id, label in labels.items()
    ]
    bucket, key = key_uri[5:].split("/", 1)
    connection.client("s3").put_object(Bucket=bucket, Key=key, Body="\n".join(lines) + "\n")
    return key_uri


# ------------------------------------------------------------------------ deploy and execute


def deploy_functions(*, connection: Connection) -> dict[str, str]:
    """Create or update the workflows' Lambda functions; return their ARNs by handler."""
    from mlaccel import lambdas

    folder = seedcode_dir() / "lambdas" / "workflow"
    return {
        handler: lambdas.deploy_function(
            name, folder, f"{HANDLERS}.{handler}", connection=connection, timeout=300
        )
        for handler, name in FUNCTIONS.items()
    }


def create_or_update(workflow: Any, *, connection: Connection) -> str:
    """Create the state machine, or update it in place when one has the name; return its ARN."""
    sfn = connection.client("stepfunctions")
    workflow.client = sfn
    existing = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"] == workflow.name
    ]
    if not existing:
        return str(workflow.create())
    workflow.state_machine_arn = existing[0]
    sfn.update_state_machine(
        stateMachineArn=existing[0],
        definition=workflow.definition.to_json(pretty=True),
        roleArn=workflow.role,
    )
    return str(existing[0])


def run_name(kind: str) -> str:
    """A unique, readable execution name such as ``train-20261130-184501-123``."""
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{kind}-{stamp}-{int(now * 1000) % 1000:03d}"


@dataclass(frozen=True)
class RunResult:
    """How an execution ended, its output and its step-by-step history."""

    arn: str
    status: str
    output: dict[str, Any] | None
    error: str
    cause: str
    events: list[dict[str, Any]]

    def steps(self) -> Any:
        """The history as a table: one row per state entered, with its outcome."""
        return history_table(self.events)

    def failure(self) -> str:
        """What went wrong first: the failed task's error and cause (a caught failure ends in
        a Fail state whose own cause is generic), or the execution's."""
        for event in self.events:
            if event["type"] in ("TaskFailed", "LambdaFunctionFailed"):
                details = next(v for k, v in event.items() if k.endswith("EventDetails"))
                return f"{details.get('error', '')}: {details.get('cause', '')}"[:2000]
        return f"{self.error}: {self.cause}" if self.error else ""


def execute(
    workflow: Any,
    *,
    connection: Connection,
    inputs: Mapping[str, Any] | None = None,
    name: str | None = None,
    timeout_seconds: float = 1800,
) -> RunResult:
    """Start an execution and wait for its end; return its status, output and history."""
    sfn = connection.client("stepfunctions")
    arn = workflow.state_machine_arn or create_or_update(workflow, connection=connection)
    started = sfn.start_execution(
        stateMachineArn=arn, name=name or run_name("run"), input=json.dumps(dict(inputs or {}))
    )
    return wait_for_execution(
        started["executionArn"], connection=connection, timeout=timeout_seconds
    )


def wait_for_execution(
    execution_arn: str, *, connection: Connection, timeout: float = 1800
) -> RunResult:
    """Poll an execution until it ends."""
    sfn = connection.client("stepfunctions")
    poll = 0.2 if connection.is_local else 5.0
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise MLAccelError(f"execution {execution_arn} still running after {timeout:.0f} s")
        time.sleep(poll)
    events = [
        event
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for event in page["events"]
    ]
    output = described.get("output")
    return RunResult(
        arn=execution_arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error", ""),
        cause=described.get("cause", ""),
        events=events,
    )


def executions(state_machine_arn: str, *, connection: Connection) -> list[dict[str, Any]]:
    """The state machine's executions, newest first."""
    sfn = connection.client("stepfunctions")
    found = [
        execution
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
        for execution in page["executions"]
    ]
    return sorted(found, key=lambda e: e["startDate"], reverse=True)


def history_table(events: list[dict[str, Any]]) -> Any:
    """One row per state: name, type, outcome and seconds from the execution's start."""
    import pandas as pd

    start = events[0]["timestamp"] if events else None
    rows: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            row = {"state": name, "type": kind.removesuffix("StateEntered"), "outcome": "entered"}
            row["started_s"] = (event["timestamp"] - start).total_seconds() if start else 0.0
            open_states[name] = row
            rows.append(row)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_states:
                row = open_states.pop(name)
                row["outcome"] = "succeeded" if row["outcome"] == "entered" else row["outcome"]
                row["seconds"] = round(
                    (event["timestamp"] - start).total_seconds() - row["started_s"], 2
                )
        elif kind.endswith("Failed") and open_states:
            last = list(open_states.values())[-1]
            details: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            last["outcome"] = f"failed: {details.get('error', '')}".strip()
    table = pd.DataFrame(rows, columns=["state", "type", "outcome", "started_s", "seconds"])
    table["started_s"] = table["started_s"].round(2)
    return table


def land_data(frame: Any, uri: str, *, connection: Connection) -> str:
    """Write a DataFrame as one Parquet object at ``s3://.../name.parquet``; return the URI."""
    import io

    import pandas as pd

    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise MLAccelInputError("frame must be a non-empty pandas DataFrame")
    if not uri.startswith("s3://") or not uri.endswith(".parquet"):
        raise MLAccelInputError(f"uri={uri!r} must look like s3://bucket/prefix/name.parquet")
    bucket, key = uri[5:].split("/", 1)
    body = io.BytesIO()
    frame.to_parquet(body, index=False)
    connection.client("s3").put_object(Bucket=bucket, Key=key, Body=body.getvalue())
    return uri


def object_exists(uri: str, *, connection: Connection) -> bool:
    """True when ``s3://bucket/key`` exists."""
    bucket, key = uri[5:].split("/", 1)
    listed = connection.client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def read_scores(uri: str, *, connection: Connection, id_name: str = "record_id") -> Any:
    """The scoring pipeline's output under ``uri``: one row per record, its id and score."""
    import io

    import pandas as pd

    bucket, prefix = uri[5:].split("/", 1)
    s3 = connection.client("s3")
    frames = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".out"):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                frames.append(pd.read_csv(io.BytesIO(body), header=None, names=[id_name, "score"]))
    if not frames:
        raise MLAccelError(f"no scores (*.out) under {uri}: did the scoring run succeed?")
    return pd.concat(frames, ignore_index=True)


def read_prepared(uri: str, *, connection: Connection) -> Any:
    """The scoring pipeline's preprocessed batch under ``uri``: record id, then the features."""
    import io

    import pandas as pd

    bucket, prefix = uri[5:].split("/", 1)
    s3 = connection.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    frames = [
        pd.read_csv(
            io.BytesIO(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()),
            header=None,
            dtype={0: str},
        )
        for o in listed
        if o["Key"].endswith(".csv")
    ]
    if not frames:
        raise MLAccelError(f"no prepared CSV under {uri}: did the scoring run succeed?")
    return pd.concat(frames, ignore_index=True)


def start_on_new_data(
    settings: WorkflowSettings,
    training_arn: str,
    scoring_arn: str,
    *,
    connection: Connection,
    role_arn: str | None = None,
) -> dict[str, str]:
    """EventBridge rules: new training data starts training, a new batch starts scoring.

    Returns the rules' ARNs by workflow. The scoring run scores exactly the object that landed.
    """
    from mlaccel import events

    return {
        "training": events.start_on_upload(
            f"{settings.training_name}-on-new-data",
            settings.training_data_uri + "/",
            training_arn,
            connection=connection,
            role_arn=role_arn,
        ),
        "scoring": events.start_on_upload(
            f"{settings.scoring_name}-on-new-batch",
            settings.scoring_batches_uri + "/",
            scoring_arn,
            connection=connection,
            input_template='{"batch_uri": "s3://<bucket>/<key>"}',
            role_arn=role_arn,
        ),
    }


def wait_for_started_execution(
    state_machine_arn: str,
    after: Any,
    *,
    connection: Connection,
    timeout: float = 60,
) -> str:
    """The ARN of the first execution started after ``after`` (a datetime), once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [
            e
            for e in executions(state_machine_arn, connection=connection)
            if e["startDate"] >= after
        ]
        if started:
            return str(started[-1]["executionArn"])
        time.sleep(0.2 if connection.is_local else 5)
    raise MLAccelError(
        f"no execution of {state_machine_arn} started within {timeout:.0f} s; check the rule's "
        "event pattern and that the bucket sends events to EventBridge"
    )


# ------------------------------------------------------------------------------------- graph


def _edges(states: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    edges = []
    for name, state in states.items():
        if "Next" in state:
            edges.append((name, state["Next"], ""))
        for choice in state.get("Choices", []):
            edges.append((name, choice["Next"], "choice"))
        if "Default" in state:
            edges.append((name, state["Default"], "default"))
        for catch in state.get("Catch", []):
            edges.append((name, catch["Next"], "catch"))
    return edges


def graph_layers(definition: Mapping[str, Any]) -> list[list[str]]:
    """States grouped by their distance from StartAt along Next and Choice edges."""
    states = definition["States"]
    forward = {
        n: [b for a, b, kind in _edges(states) if a == n and kind != "catch"] for n in states
    }
    depth = {definition["StartAt"]: 0}
    frontier = [definition["StartAt"]]
    while frontier:
        following = []
        for name in frontier:
            for nxt in forward[name]:
                if nxt not in depth:
                    depth[nxt] = depth[name] + 1
                    following.append(nxt)
        frontier = following
    for name in states:  # reachable only through Catch
        depth.setdefault(name, max(depth.values()) + 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for name in states:
        layers[depth[name]].append(name)
    return layers


STATE_COLOURS = {
    "Task": "#dbe9f6",
    "Choice": "#fdf0c2",
    "Parallel": "#e4d9f3",
    "Pass": "#eeeeee",
    "Wait": "#eeeeee",
    "Succeed": "#cfeccf",
    "Fail": "#f6cfcf",
}


def plot_graph(definition: Mapping[str, Any], *, title: str = "") -> Any:
    """The workflow as a figure: states top to bottom, parallel branches inset, catches dashed."""
    import matplotlib.pyplot as plt

    states = dict(definition["States"])
    layers = graph_layers(definition)
    width = max(len(layer) for layer in layers)
    fig, ax = plt.subplots(figsize=(min(16, 3.2 * width + 1), 0.75 * len(layers) + 1))
    where: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        for col, name in enumerate(layer):
            where[name] = ((col + 0.5) * width / len(layer), -row)
    for source, target, kind in _edges(states):
        (x0, y0), (x1, y1) = where[source], where[target]
        ax.annotate(
            "",
            xy=(x1, y1 + 0.18),
            xytext=(x0, y0 - 0.18),
            arrowprops={
                "arrowstyle": "->",
                "color": "#c0392b" if kind == "catch" else "#555555",
                "linestyle": "--" if kind == "catch" else "-",
                "alpha": 0.35 if kind == "catch" else 0.9,
            },
        )
    for name, (x, y) in where.items():
        state = states[name]
        label = name
        if state["Type"] == "Parallel":
            inner = [" → ".join(branch["States"]) for branch in state["Branches"]]
            label += "\n" + "\n".join(f"‖ {text}" for text in inner)
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": STATE_COLOURS.get(state["Type"], "#ffffff")},
        )
    ax.set_xlim(0, width)
    ax.set_ylim(-len(layers) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title or "workflow")
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------------------- export

CFN_PARAMETERS = {
    "Bucket": "S3 bucket the workflow reads and writes",
    "SageMakerRoleArn": "Execution role SageMaker jobs and models assume",
    "StepFunctionsRoleArn": "Role the state machine runs as",
    "TopicArn": "SNS topic for success and failure notifications",
    "XgboostImage": "Built-in XGBoost image URI of the region (sagemaker.image_uris)",
    "SklearnImage": "SKLearn processing image URI of the region",
    "ModelMonitorImage": "Model Monitor analyzer image URI of the region",
}


def portable_definition(definition: Mapping[str, Any], settings: WorkflowSettings) -> str:
    """The definition as JSON with account-specific values as ``${Parameter}`` tokens."""
    text = json.dumps(definition, indent=2, sort_keys=False)
    tokens = {
        settings.role_arn: "${SageMakerRoleArn}",
        settings.topic_arn: "${TopicArn}",
        **{image: f"${{{name}}}" for name, image in settings.images().items()},
        f"s3://{settings.bucket}/": "s3://${Bucket}/",
    }
    for value, token in tokens.items():
        text = text.replace(value, token)
    return text + "\n"


def cloudformation_template(workflow: Any, settings: WorkflowSettings) -> str:
    """A CloudFormation template (YAML) deploying the state machine with its parameters."""
    import yaml

    definition = json.loads(portable_definition(workflow.definition.to_dict(), settings))
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"mlaccel Step Functions workflow {workflow.name} (generated; do not edit)",
        "Parameters": {
            name: {"Type": "String", "Description": text} for name, text in CFN_PARAMETERS.items()
        },
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": workflow.name,
                    "RoleArn": {"Ref": "StepFunctionsRoleArn"},
                    "Definition": definition,
                    "DefinitionSubstitutions": {
                        name: {"Ref": name}
                        for name in CFN_PARAMETERS
                        if name != "StepFunctionsRoleArn"
                    },
                },
            }
        },
        "Outputs": {"StateMachineArn": {"Value": {"Ref": "StateMachine"}}},
    }
    return str(yaml.safe_dump(template, sort_keys=False, width=100))


def export(builder: Any, settings: WorkflowSettings, folder: str | Path) -> list[Path]:
    """Write ``<name>.asl.json`` and ``<name>.cfn.yaml`` into ``folder``; return the paths.

    ``builder`` is :func:`training_workflow` or :func:`scoring_workflow`. The exported files
    are for AWS, so they wait for endpoints at AWS's pace whatever ``settings`` says.

    Examples
    --------
    >>> export(training_workflow, settings, "seedcode/workflows")  # doctest: +SKIP
    """
    settings = replace(settings, endpoint_wait_seconds=AWS_ENDPOINT_WAIT_SECONDS)
    workflow = builder(settings)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    asl = out / f"{workflow.name}.asl.json"
    asl.write_text(portable_definition(workflow.definition.to_dict(), settings))
    cfn = out / f"{workflow.name}.cfn.yaml"
    cfn.write_text(cloudformation_template(workflow, settings))
    return [asl, cfn]


# ---------------------------------------------------------------------------------- validation


def _dummy(shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {name: _dummy(member) for name, member in shape.members.items()
                if name in shape.required_members}  # fmt: skip
    if kind == "list":
        return [_dummy(shape.member)]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 0
    if kind == "blob":
        return b"x"
    enum = shape.enum
    return enum[0] if enum else "x" * max(1, int(shape.metadata.get("min", 1)))


def _resolved(params: Any, shape: Any) -> Any:
    """Parameters with every ``Key.$`` path replaced by a value of the member's type."""
    if isinstance(params, dict) and shape is not None and shape.type_name == "structure":
        out: dict[str, Any] = {}
        for key, value in params.items():
            name = key.removesuffix(".$")
            member = shape.members.get(name)
            out[name] = (
                _dummy(member) if key.endswith(".$") and member else _resolved(value, member)
            )
        return out
    if isinstance(params, list) and shape is not None and shape.type_name == "list":
        return [_resolved(v, shape.member) for v in params]
    return params


SERVICE_ACTIONS = {
    "sagemaker": "sagemaker",
    "lambda": "lambda",
    "sns": "sns",
    "aws-sdk:ssm": "ssm",
}


def _task_requests(states: Mapping[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for name, state in states.items():
        if state.get("Type") == "Task":
            resource = state["Resource"].removeprefix("arn:aws:states:::").removesuffix(".sync")
            service, _, action = resource.rpartition(":")
            found.append((name, service, action, state.get("Parameters", {})))
        for branch in state.get("Branches", []):
            found += _task_requests(branch["States"])
    return found


def validate_definition(definition: Mapping[str, Any]) -> list[str]:
    """Problems botocore's own validation finds in each task's request; empty when none.

    Each Task's ``Parameters`` are checked against the real service model of its API call
    (``sagemaker:createTrainingJob`` → SageMaker ``CreateTrainingJob``), with values read from
    the state (``Key.$``) replaced by a value of the right type.
    """
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    session = botocore.session.get_session()
    problems = []
    for state, service, action, params in _task_requests(definition["States"]):
        model = session.get_service_model(SERVICE_ACTIONS.get(service, service))
        operation = (
            "Invoke"
            if (service, action) == ("lambda", "invoke")
            else action[0].upper() + action[1:]
        )
        shape = model.operation_model(operation).input_shape
        request = _resolved(params, shape)
        if service == "lambda":
            request["Payload"] = json.dumps(request.get("Payload", {}))
        try:
            validate_parameters(request, shape)
        except ParamValidationError as error:
            problems.append(f"{state} ({service}:{action}): {error}")
    return problems
