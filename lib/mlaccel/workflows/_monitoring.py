"""The monitoring workflow, wired from named stages; meant to run on a schedule.

consolidate the data captured since the last run (Lambda; nothing new → end cleanly) → in
parallel, data drift against the training pipeline's data-quality baseline (always) and model
drift against its model-quality baseline (only when ground truth matched captured records) →
evaluate the violations, store them as rows for SQL and notify (Lambda) → commit the run's
watermark to SSM.
"""

from __future__ import annotations

import json
from typing import Any

from mlaccel.workflows._jobs import (
    BOUND_BELOW_URI,
    analyzer_step,
    model_quality_env,
    multiclass_count,
)
from mlaccel.workflows._settings import WorkflowSettings
from mlaccel.workflows._states import (
    bind,
    catch,
    failure_path,
    lambda_task,
    load_sdk,
    put_parameter,
    start_states,
)

JOBS = {"data_quality": "dq-check", "model_quality": "mq-check"}


def monitoring_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The monitoring pipeline as a ``stepfunctions`` Workflow (see the module docstring).

    Parameters
    ----------
    settings
        What the workflow is built from (:func:`mlaccel.workflows.workflow_settings`); it
        checks ``settings.endpoint_name`` against the training workflow's baselines.
    client
        A Step Functions client for the Workflow; :func:`mlaccel.workflows.create_or_update`
        sets the connection's.

    Returns
    -------
    stepfunctions.workflow.Workflow
        The workflow, not yet created in the account.

    Examples
    --------
    >>> monitoring = monitoring_workflow(settings)  # doctest: +SKIP
    """
    load_sdk()
    from stepfunctions.steps import Chain, Succeed
    from stepfunctions.workflow import Workflow

    runs = settings.uri("monitoring", "runs")
    folders = {
        "output": f"{runs}/{{}}/",
        "data_quality_uri": f"{runs}/{{}}/data-quality/",
        "model_quality_uri": f"{runs}/{{}}/model-quality/",
    }
    watermark = f"{settings.parameter_path}/monitoring-watermark"
    failed = failure_path(settings, "monitoring")
    checked = Chain(
        [
            _drift_checks_stage(settings, failed),
            _evaluate_stage(settings, failed),
            _commit_stage(watermark, failed),
            Succeed("Done"),
        ]
    )
    definition = Chain(
        [
            start_states({}, JOBS, folders),
            _consolidate_stage(settings, watermark, failed),
            _anything_new_stage(checked),
        ]
    )
    return Workflow(
        settings.monitoring_name,
        definition=definition,
        role=settings.workflow_role_arn,
        client=client,
    )


def _capture_format(sides: list[str]) -> str:
    """The analyzer's ``dataset_format`` for endpoint capture files, reading ``sides``."""
    return json.dumps({"sagemakerCaptureJson": {"captureIndexNames": sides}})


def _consolidate_stage(settings: WorkflowSettings, watermark: str, failed: Any) -> Any:
    """Gather the records captured since the watermark, merged with their ground truth
    (Lambda)."""
    consolidate = lambda_task(
        "Consolidate captured data",
        "consolidate_capture",
        {
            "CaptureUri": settings.capture_uri,
            "GroundTruthUri": settings.ground_truth_uri,
            "OutputUri.$": "$.names.output",
            "WatermarkParameter": watermark,
            # a multiclass model's merged answers get the predicted class Model Monitor reads
            **({"Classes": classes} if (classes := multiclass_count(settings.product)) else {}),
        },
        "$.capture",
    )
    catch(failed, consolidate)
    return consolidate


def _anything_new_stage(checked: Any) -> Any:
    """End cleanly when nothing was captured since the last run, else go on to ``checked``."""
    from stepfunctions.steps import Choice, ChoiceRule, Succeed

    anything = Choice("Anything new?")
    anything.add_choice(
        ChoiceRule.NumericEquals("$.capture.Payload.records", 0), Succeed("Nothing new")
    )
    anything.default_choice(checked)
    return anything


def _drift_checks_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Data drift always, model drift when ground truth matched captured records, in
    parallel."""
    from stepfunctions.steps import Choice, ChoiceRule, Parallel, Pass

    with_truth = Choice("Ground truth?")
    with_truth.add_choice(
        ChoiceRule.BooleanEquals("$.capture.Payload.has_ground_truth", True),
        _model_drift_state(settings),
    )
    with_truth.default_choice(Pass("No ground truth yet"))
    checks = Parallel("Drift checks", result_path=None)
    checks.add_branch(_data_drift_state(settings))
    checks.add_branch(with_truth)
    catch(failed, checks)
    return checks


def _data_drift_state(settings: WorkflowSettings) -> Any:
    """The captured requests against the data-quality baseline."""
    baseline = ("baselines", "data-quality")
    step = analyzer_step(
        "Data drift",
        settings,
        BOUND_BELOW_URI,
        BOUND_BELOW_URI,
        {"dataset_format": _capture_format(["endpointInput"])},
        "$.data_quality",
        baseline_files={
            "baseline_statistics": settings.uri(*baseline, "statistics.json"),
            "baseline_constraints": settings.uri(*baseline, "constraints.json"),
        },
    )
    return bind(
        step,
        ProcessingJobName="$.names.data_quality",
        ProcessingInputs__0__S3Input__S3Uri="$.capture.Payload.capture_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.data_quality_uri",
    )


def _model_drift_state(settings: WorkflowSettings) -> Any:
    """The captured answers, merged with their ground truth, against the model-quality
    baseline."""
    classes = multiclass_count(settings.product)
    env = model_quality_env(
        settings.product,
        dataset_format=_capture_format(["endpointOutput"]),
        ground_truth="groundTruth",
        # a multiclass answer is each class's probability, then the predicted class
        prediction=f"_c{classes}" if classes else "_c0",
    )
    step = analyzer_step(
        "Model drift",
        settings,
        BOUND_BELOW_URI,
        BOUND_BELOW_URI,
        env,
        "$.model_quality",
        baseline_files={
            "baseline_constraints": settings.uri("baselines", "model-quality", "constraints.json")
        },
    )
    return bind(
        step,
        ProcessingJobName="$.names.model_quality",
        ProcessingInputs__0__S3Input__S3Uri="$.capture.Payload.merged_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.model_quality_uri",
    )


def _evaluate_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Read the checks' violations, store them as rows for SQL and notify (Lambda)."""
    evaluate = lambda_task(
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
    catch(failed, evaluate)
    return evaluate


def _commit_stage(watermark: str, failed: Any) -> Any:
    """Move the watermark past the records this run checked, so each is checked once."""
    commit = put_parameter(
        "Commit watermark", watermark, {"Value.$": "$.capture.Payload.watermark"}
    )
    catch(failed, commit)
    return commit
