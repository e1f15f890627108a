"""The batch scoring workflow, wired from named stages.

preprocess the batch with the fitted transform (a batch without rows fails here, by its S3 URI,
before any model or transform job) → latest approved (else latest registered)
model (Lambda) → batch transform with input filter, join with the input and output filter, so
every score comes back next to its record id → notify.
"""

from __future__ import annotations

from typing import Any

from mlaccel import features
from mlaccel.workflows._jobs import BOUND_BELOW_URI, CONTAINER, keyed_transform_step, script_step
from mlaccel.workflows._settings import WorkflowSettings
from mlaccel.workflows._states import (
    bind,
    catch,
    failure_path,
    lambda_task,
    load_sdk,
    notify_success,
    start_states,
)

JOBS = {"preprocessing": "score-prep", "transform": "score"}


def scoring_workflow(settings: WorkflowSettings, *, client: Any = None) -> Any:
    """The batch scoring pipeline as a ``stepfunctions`` Workflow (see the module docstring).

    A run scores the batch its input names (``{"batch_uri": "s3://..."}``), by default every
    object under :attr:`WorkflowSettings.scoring_batches_uri`, into folders of its own.

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
    >>> scoring = scoring_workflow(settings)  # doctest: +SKIP
    """
    load_sdk()
    from stepfunctions.steps import Chain
    from stepfunctions.workflow import Workflow

    # Folders per run, from the execution name, under the pipeline's prefix.
    folders = {
        "prepared": f"{settings.uri('scoring', 'prepared')}/{{}}/",
        "output": f"{settings.uri('scoring', 'scores')}/{{}}",
        "quality": f"{settings.uri('scoring', 'quality')}/{{}}/",
    }
    failed = failure_path(settings, "batch scoring")
    definition = Chain(
        [
            start_states({"batch_uri": settings.scoring_batches_uri}, JOBS, folders),
            _prepare_batch_stage(settings, failed),
            _latest_model_stage(settings, failed),
            _score_stage(settings, failed),
            _quality_stage(failed),
            notify_success(
                settings,
                f"mlaccel: {settings.scoring_name} succeeded",
                "States.Format('Scoring run {} scored {} with model {}; scores in {}. {}', "
                "$$.Execution.Name, $.args.batch_uri, $.model.Payload.ModelName, $.names.output, "
                "$.quality.Payload.summary)",
            ),
        ]
    )
    return Workflow(
        settings.scoring_name,
        definition=definition,
        role=settings.workflow_role_arn,
        client=client,
    )


def _prepare_batch_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Apply the transform the training pipeline fitted to the run's batch (seedcode
    preprocess.py in ``transform`` mode): rows of record id, then the features."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    inputs = [
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
    ]
    prepared = ProcessingOutput(
        source=f"{features.CONTAINER_OUTPUT}/scoring",
        destination=settings.uri("scoring", "prepared"),
        output_name="scoring",
    )
    quality = ProcessingOutput(
        source=f"{features.CONTAINER_OUTPUT}/quality",
        destination=settings.uri("scoring", "quality"),
        output_name="quality",
    )
    arguments = [
        "--mode",
        "transform",
        "--max-invalid-fraction",
        str(settings.max_invalid_fraction),
    ]
    prep = script_step(
        "Preprocess batch",
        settings,
        "processing/preprocess.py",
        inputs,
        [prepared, quality],
        arguments,
        "$.preprocessing",
    )
    bind(
        prep,
        ProcessingJobName="$.names.preprocessing",
        ProcessingInputs__0__S3Input__S3Uri="$.args.batch_uri",
        ProcessingOutputConfig__Outputs__0__S3Output__S3Uri="$.names.prepared",
        ProcessingOutputConfig__Outputs__1__S3Output__S3Uri="$.names.quality",
        AppSpecification__ContainerArguments=with_batch_uri(arguments),
    )
    catch(failed, prep)
    return prep


def with_batch_uri(arguments: list[str]) -> str:
    """The script's ``arguments`` and ``--input-uri <the run's batch>``, as an intrinsic
    function: an empty batch then fails the job, first of all, with a message naming it.

    Examples
    --------
    >>> with_batch_uri(["--mode", "transform"])
    "States.Array('--mode', 'transform', '--input-uri', $.args.batch_uri)"
    """
    fixed = ", ".join(f"'{argument}'" for argument in [*arguments, "--input-uri"])
    return f"States.Array({fixed}, $.args.batch_uri)"


def _quality_stage(failed: Any) -> Any:
    """How many values of the batch were unusable or unseen, per column, for the notification
    (Lambda reading the preprocessing job's quality.json)."""
    report = lambda_task(
        "Data quality",
        "quality_report",
        {"QualityUri.$": "States.Format('{}quality.json', $.names.quality)"},
        "$.quality",
    )
    catch(failed, report)
    return report


def _latest_model_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """The latest approved (else latest registered) model of the product, as a SageMaker model
    (Lambda)."""
    latest = lambda_task(
        "Latest model",
        "latest_model",
        {"ModelPackageGroupName": settings.group, "ExecutionRoleArn": settings.role_arn},
        "$.model",
    )
    catch(failed, latest)
    return latest


def _score_stage(settings: WorkflowSettings, failed: Any) -> Any:
    """Batch-transform the prepared batch: rows of record id, score."""
    score = keyed_transform_step(
        "Score batch",
        settings,
        data=BOUND_BELOW_URI,
        output=BOUND_BELOW_URI,
        result_path="$.transform",
    )
    bind(
        score,
        TransformJobName="$.names.transform",
        ModelName="$.model.Payload.ModelName",
        TransformInput__DataSource__S3DataSource__S3Uri="$.names.prepared",
        TransformOutput__S3OutputPath="$.names.output",
    )
    catch(failed, score)
    return score
