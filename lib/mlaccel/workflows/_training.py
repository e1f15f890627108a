"""The training workflow, wired from named stages.

preprocess → train and save the model → query training results (Lambda) → metric threshold
(Choice) → below it: compare with the best registered model (Lambda), notify (SNS), Fail →
above it: data-quality and model-quality baselines in parallel → endpoint configuration with
data capture → does the endpoint exist? (Lambda) → create or update it → wait until it is in
service → export the model, endpoint and endpoint-configuration names to SSM → notify.

The model, the endpoint configuration and a new endpoint carry the kit's tags, with the run id
of the execution input (``run_id``; the execution's name when the input has none), so
``mlaccel cleanup --run-id`` finds what a run made.
"""

from __future__ import annotations

import json
from typing import Any

from mlaccel import features, products
from mlaccel.workflows._jobs import (
    BOUND_BELOW,
    analyzer_step,
    keyed_transform_step,
    model_quality_env,
    multiclass_count,
    script_step,
)
from mlaccel.workflows._settings import WorkflowSettings
from mlaccel.workflows._states import (
    bind,
    catch,
    failure_path,
    lambda_task,
    load_sdk,
    notify,
    notify_success,
    put_parameter,
    run_tags,
    start_states,
)

# Job name stems by ``$.names`` key: each run's jobs are ``mlaccel-<stem>-<execution name>``.
JOBS = {
    "preprocessing": "prep",
    "training": "train",
    "model": "model",
    "data_quality": "dq",
    "scoring": "mq-score",
    "model_quality": "mq",
    "endpoint_config": "epc",
}
SPLITS = ("train", "validation", "test", "parquet", "preprocessor", "baseline")


def training_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The training pipeline as a ``stepfunctions`` Workflow (see the module docstring).

    Parameters
    ----------
    settings
        What the workflow is built from (:func:`mlaccel.workflows.workflow_settings`).
    client
        A Step Functions client for the Workflow; :func:`mlaccel.workflows.create_or_update`
        sets the connection's.

    Returns
    -------
    stepfunctions.workflow.Workflow
        The workflow, not yet created in the account.

    Examples
    --------
    >>> training = training_workflow(settings)  # doctest: +SKIP
    >>> training.definition.to_dict()["StartAt"]  # doctest: +SKIP
    'Read defaults'
    """
    load_sdk()
    from stepfunctions.steps import Chain
    from stepfunctions.workflow import Workflow

    product = settings.product
    failed = failure_path(settings, "training pipeline")
    endpoint = _endpoint_stage(settings, failed, in_service=_export_stage(settings, failed))
    baselines = _baselines_stage(settings, product, failed)
    baselines.next(endpoint)
    definition = Chain(
        [
            start_states(
                {"metric_threshold": settings.metric_threshold},
                JOBS,
                read_defaults={"run_id": "$$.Execution.Name"},
            ),
            _preprocess_stage(settings, product, failed),
            _train_stage(settings, failed),
            _results_stage(settings, failed),
            _threshold_stage(settings, failed, passed=baselines),
        ]
    )
    return Workflow(
        settings.training_name,
        definition=definition,
        role=settings.workflow_role_arn,
        client=client,
    )


def _preprocess_stage(
    settings: WorkflowSettings, product: products.DataProduct, failed: Any
) -> Any:
    """Split the training data and fit the feature transform (seedcode preprocess.py)."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    table = ProcessingInput(
        source=settings.training_data_uri,
        destination=features.CONTAINER_INPUT,
        input_name="table",
    )
    splits = [
        ProcessingOutput(
            source=f"{features.CONTAINER_OUTPUT}/{part}",
            destination=settings.uri("features", part),
            output_name=part,
        )
        for part in SPLITS
    ]
    arguments = features.preprocess_arguments(
        product, 0.7, 0.15, settings.seed, max_invalid_fraction=settings.max_invalid_fraction
    )
    prep = script_step(
        "Preprocess",
        settings,
        "processing/preprocess.py",
        [table],
        splits,
        arguments,
        "$.preprocessing",
    )
    bind(prep, ProcessingJobName="$.names.preprocessing")
    catch(failed, prep)
    return prep


def _train_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Train the built-in XGBoost on the train and validation splits, then save the model."""
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from stepfunctions.steps import Chain, ModelStep, TrainingStep

    estimator = Estimator(
        image_uri=settings.images()["XgboostImage"],
        role=settings.role_arn,
        instance_count=1,
        instance_type=settings.training_instance_type,
        output_path=settings.uri("models"),
        hyperparameters={k: str(v) for k, v in settings.hyperparameters.items()},
    )
    channels = {
        part: TrainingInput(settings.uri("features", part), content_type="text/csv")
        for part in ("train", "validation")
    }
    train = TrainingStep(
        "Train", estimator=estimator, job_name=BOUND_BELOW, data=channels, result_path="$.training"
    )
    bind(train, TrainingJobName="$.names.training")
    model = ModelStep(
        "Save model", model=train.get_expected_model(), model_name=BOUND_BELOW, result_path=None
    )
    bind(
        model,
        ModelName="$.names.model",
        PrimaryContainer__ModelDataUrl="$.training.ModelArtifacts.S3ModelArtifacts",
    )
    model.parameters["Tags"] = run_tags(settings.endpoint_name)
    catch(failed, train, model)
    return Chain([train, model])


def _results_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Read the objective's final metric of the training job (Lambda)."""
    results = lambda_task(
        "Query training results",
        "training_results",
        {
            "TrainingJobName.$": "$.training.TrainingJobName",
            "MetricName": settings.objective.metric,
        },
        "$.results",
    )
    catch(failed, results)
    return results


def _threshold_stage(settings: WorkflowSettings, failed: Any, *, passed: Any) -> Any:
    """Go on to ``passed`` when the metric meets the run's threshold, else below it."""
    from stepfunctions.steps import Choice, ChoiceRule

    meets = (
        ChoiceRule.NumericLessThanEqualsPath
        if settings.objective.direction == "Minimize"
        else ChoiceRule.NumericGreaterThanEqualsPath
    )
    threshold = Choice("Metric threshold")
    threshold.add_choice(meets("$.results.Payload.metric", "$.args.metric_threshold"), passed)
    threshold.default_choice(_below_threshold_stage(settings, failed))
    return threshold


def _below_threshold_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Compare with the best registered model (Lambda), say so (SNS), and fail the run."""
    from stepfunctions.steps import Chain, Fail

    objective = settings.objective
    compare = lambda_task(
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
    catch(failed, compare)
    told = notify(
        "Notify below threshold",
        settings,
        f"mlaccel: {settings.training_name} model below threshold",
        "States.Format('Training run {} stopped: the model does not meet the threshold. "
        "{}', $$.Execution.Name, $.comparison.Payload.summary)",
    )
    stop = Fail(
        "Below threshold",
        error="MetricBelowThreshold",
        cause=f"{objective.metric} did not meet metric_threshold",
    )
    return Chain([compare, told, stop])


def _baselines_stage(settings: WorkflowSettings, product: products.DataProduct, failed: Any) -> Any:
    """The data-quality and the model-quality baselines, in parallel."""
    from stepfunctions.steps import Parallel

    baselines = Parallel("Baselines", result_path=None)
    baselines.add_branch(_data_quality_baseline(settings))
    baselines.add_branch(_model_quality_baseline(settings, product))
    catch(failed, baselines)
    return baselines


def _data_quality_baseline(settings: WorkflowSettings) -> Any:
    """Statistics and constraints of the features (the baseline split, with its header)."""
    step = analyzer_step(
        "Data-quality baseline",
        settings,
        settings.uri("features", "baseline"),
        settings.uri("baselines", "data-quality"),
        {"dataset_format": json.dumps({"csv": {"header": True}})},
        "$.data_quality",
    )
    return bind(step, ProcessingJobName="$.names.data_quality")


def _model_quality_baseline(settings: WorkflowSettings, product: products.DataProduct) -> Any:
    """Score the validation split (rows of label, prediction), then baseline the model's
    quality on it."""
    from stepfunctions.steps import Chain

    scored = settings.uri("baselines", "validation-scored")
    score = keyed_transform_step(
        "Score validation split",
        settings,
        data=settings.uri("features", "validation"),
        output=scored,
        result_path="$.scoring",
    )
    bind(score, TransformJobName="$.names.scoring", ModelName="$.names.model")
    classes = multiclass_count(product)
    steps = [score]
    prediction = "_c1"  # each row is the label, then the model's answer
    if classes:  # the label, each class's probability, then the predicted class
        labelled = settings.uri("baselines", "validation-labelled")
        steps.append(
            lambda_task(
                "Add predicted class",
                "add_predicted_class",
                {
                    "ScoredUri": scored,
                    "OutputUri": labelled,
                    "FirstProbability": 1,
                    "Classes": classes,
                },
                "$.labelled",
            )
        )
        scored, prediction = labelled, f"_c{classes + 1}"
    env = model_quality_env(
        product,
        dataset_format=json.dumps({"csv": {"header": False}}),
        ground_truth="_c0",
        prediction=prediction,
    )
    quality = analyzer_step(
        "Model-quality baseline",
        settings,
        scored,
        settings.uri("baselines", "model-quality"),
        env,
        "$.model_quality",
    )
    bind(quality, ProcessingJobName="$.names.model_quality")
    return Chain([*steps, quality])


def _endpoint_stage(settings: WorkflowSettings, failed: Any, *, in_service: Any) -> Any:
    """Configure the endpoint with data capture, create or update it, and wait until it is in
    service (then go on to ``in_service``) or failed."""
    from stepfunctions.steps import Chain, Choice, ChoiceRule, Wait

    configure = _endpoint_config_state(settings)
    exists = lambda_task(
        "Endpoint exists?",
        "endpoint_status",
        {"EndpointName": settings.endpoint_name},
        "$.endpoint",
    )
    create = _endpoint_state("Create endpoint", settings, update=False)
    update = _endpoint_state("Update endpoint", settings, update=True)
    wait = Wait("Wait for endpoint", seconds=settings.endpoint_wait_seconds)
    status = lambda_task(
        "Endpoint status", "endpoint_status", {"EndpointName": settings.endpoint_name}, "$.endpoint"
    )
    create_or_update = Choice("Create or update?")
    create_or_update.add_choice(ChoiceRule.BooleanEquals("$.endpoint.Payload.exists", True), update)
    create_or_update.default_choice(create)
    ready = Choice("Endpoint in service?")
    ready.add_choice(ChoiceRule.StringEquals("$.endpoint.Payload.status", "InService"), in_service)
    ready.add_choice(ChoiceRule.StringEquals("$.endpoint.Payload.status", "Failed"), failed)
    ready.default_choice(wait)
    create.next(wait)
    update.next(wait)
    wait.next(status)
    status.next(ready)
    catch(failed, configure, exists, create, update, status)
    return Chain([configure, exists, create_or_update])


def _endpoint_config_state(settings: WorkflowSettings) -> Any:
    """An endpoint configuration serving the run's model, capturing every request."""
    from sagemaker.model_monitor.data_capture_config import DataCaptureConfig
    from stepfunctions.steps import EndpointConfigStep

    capture = DataCaptureConfig(
        enable_capture=True,
        sampling_percentage=settings.capture_percentage,
        destination_s3_uri=settings.uri("capture"),
        csv_content_types=["text/csv"],
    )
    step = EndpointConfigStep(
        "Endpoint configuration",
        endpoint_config_name=BOUND_BELOW,
        model_name=BOUND_BELOW,
        initial_instance_count=1,
        instance_type=settings.endpoint_instance_type,
        data_capture_config=capture,
        result_path=None,
    )
    step.parameters["Tags"] = run_tags(settings.endpoint_name)
    return bind(
        step,
        EndpointConfigName="$.names.endpoint_config",
        ProductionVariants__0__ModelName="$.names.model",
    )


def _endpoint_state(state: str, settings: WorkflowSettings, *, update: bool) -> Any:
    """Create (or update) the pipeline's endpoint with the run's endpoint configuration; a
    created endpoint is tagged with the run (an update keeps the endpoint's tags)."""
    from stepfunctions.steps import EndpointStep

    step = EndpointStep(
        state,
        endpoint_name=settings.endpoint_name,
        endpoint_config_name=BOUND_BELOW,
        update=update,
        result_path=None,
    )
    if not update:  # UpdateEndpoint takes no tags
        step.parameters["Tags"] = run_tags(settings.endpoint_name)
    return bind(step, EndpointConfigName="$.names.endpoint_config")


def _export_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Export the model, endpoint and endpoint-configuration names to SSM for other stacks,
    then notify success."""
    from stepfunctions.steps import Parallel

    exported = Parallel("Export to SSM", result_path=None)
    for label, key, value in (
        ("model name", "model-name", {"Value.$": "$.names.model"}),
        ("endpoint name", "endpoint-name", {"Value": settings.endpoint_name}),
        ("endpoint configuration", "endpoint-config-name", {"Value.$": "$.names.endpoint_config"}),
    ):
        name = f"{settings.parameter_path}/{key}"
        exported.add_branch(put_parameter(f"Export {label}", name, value))
    catch(failed, exported)
    exported.next(
        notify_success(
            settings,
            f"mlaccel: {settings.training_name} succeeded",
            "States.Format('Training run {} deployed model {} to endpoint "
            f"{settings.endpoint_name} ({settings.objective.metric} = {{}}).', "
            "$$.Execution.Name, $.names.model, $.results.Payload.metric)",
        )
    )
    return exported
