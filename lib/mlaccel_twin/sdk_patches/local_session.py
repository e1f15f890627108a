"""The SageMaker SDK's local pipeline session, with the twin's jobs for containers.

``LocalPipelineSession`` runs a pipeline's steps in the calling process with
``sagemaker.local.pipeline.LocalPipelineExecutor``; each step calls the session's
``sagemaker_client``, which normally starts Docker containers. The session of
:func:`session_class` gives the executor a client that sends each job to the twin's SageMaker
API instead and waits for it (:func:`run_job`); :func:`register_step_executor_class` is the
register-model step the executor lacks.

The SDK loads slowly (and warns on import unless the kit's connection configured it first), so
the classes that subclass it are made on first use (:func:`session_class`,
:func:`register_step_executor_class`), not when this module is imported. Written for the
SageMaker SDK 2.257.7 (``mlaccel_twin.seams.PINNED_VERSIONS``);
``mlaccel_twin.sdk_patches.local_pipelines.check_seams`` checks what they subclass.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from mlaccel.errors import PipelineStepFailed

# The twin's job kinds: (create, describe, name key, status key)
JOBS = {
    "training": ("create_training_job", "describe_training_job", "TrainingJobName",
                 "TrainingJobStatus"),
    "processing": ("create_processing_job", "describe_processing_job", "ProcessingJobName",
                   "ProcessingJobStatus"),
    "transform": ("create_transform_job", "describe_transform_job", "TransformJobName",
                  "TransformJobStatus"),
}  # fmt: skip
TERMINAL = {"Completed", "Failed", "Stopped"}
POLL_SECONDS = 0.2


def run_job(client: Any, kind: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Start a job on the twin, wait for its end, and return its description.

    Raises
    ------
    PipelineStepFailed
        The job ended ``Failed`` or ``Stopped``; the message carries its ``FailureReason``.
    """
    create, describe, name_key, status_key = JOBS[kind]
    getattr(client, create)(**{name_key: name, **request})
    while True:
        described: dict[str, Any] = getattr(client, describe)(**{name_key: name})
        status = described[status_key]
        if status in TERMINAL:
            break
        time.sleep(POLL_SECONDS)
    described.pop("ResponseMetadata", None)
    if status != "Completed":
        raise PipelineStepFailed(
            f"{kind} job {name} {status}: {described.get('FailureReason', '')}"
        )
    return described


@functools.cache
def session_class() -> type:
    """``LocalPipelineSession`` whose executor's client runs jobs on the twin.

    Build it as ``session_class()(twin_client, **session)``: ``twin_client`` is a boto3
    SageMaker client of the twin, ``session`` the arguments of ``LocalPipelineSession``.
    """
    from sagemaker.workflow.pipeline_context import LocalPipelineSession

    client_class = _client_class()

    class TwinPipelineSession(LocalPipelineSession):
        def __init__(self, twin_client: Any, **session: Any) -> None:
            self._twin_client = twin_client  # before the SDK's __init__, which calls _initialize
            super().__init__(**session)

        def _initialize(
            self, boto_session: Any, sagemaker_client: Any, *args: Any, **kw: Any
        ) -> None:
            super()._initialize(boto_session, sagemaker_client, *args, **kw)
            self.sagemaker_client = client_class(self, self._twin_client)

    return TwinPipelineSession


@functools.cache
def register_step_executor_class() -> type:
    """The local executor's register-model step: it creates the model package on the twin."""
    from sagemaker.local import pipeline

    class RegisterModelStepExecutor(pipeline._StepExecutor):
        def execute(self) -> Any:
            executor = self.pipline_executor  # sic: the SDK's attribute name
            request = executor.evaluate_step_arguments(self.step)
            try:
                return executor.local_sagemaker_client.create_model_package(**request)
            except Exception as error:  # the executor records it as the step's failure
                executor.execution.update_step_failure(
                    self.step.name, f"{type(error).__name__}: {error}"
                )
                return None

    return RegisterModelStepExecutor


def ensure_package_group(sagemaker_client: Any, group: str | None) -> None:
    """Create the model package group a register-model step names, when it does not exist yet,
    as SageMaker Pipelines' RegisterModel step does."""
    if not group or group.startswith("arn:"):
        return
    from botocore.exceptions import ClientError

    try:
        sagemaker_client.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError:
        sagemaker_client.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription="created by the pipeline's register-model step",
        )


@functools.cache
def _client_class() -> type:
    """The local executor's client: pipelines stay local, jobs run on the twin."""
    from sagemaker.local.local_session import LocalSagemakerClient

    class TwinLocalSagemakerClient(LocalSagemakerClient):
        def __init__(self, sagemaker_session: Any, twin_client: Any) -> None:
            super().__init__(sagemaker_session)
            self.twin = twin_client

        def create_training_job(self, TrainingJobName: str, **request: Any) -> None:
            self._done = run_job(self.twin, "training", TrainingJobName, request)

        def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_training_job(TrainingJobName=TrainingJobName))

        def create_processing_job(self, ProcessingJobName: str, **request: Any) -> None:
            run_job(self.twin, "processing", ProcessingJobName, request)

        def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_processing_job(ProcessingJobName=ProcessingJobName))

        def create_transform_job(self, TransformJobName: str, **request: Any) -> None:
            run_job(self.twin, "transform", TransformJobName, request)

        def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_transform_job(TransformJobName=TransformJobName))

        def create_model(self, ModelName: str, **request: Any) -> None:
            request.pop("Tags", None)
            self.twin.create_model(ModelName=ModelName, **request)

        def describe_model(self, ModelName: str) -> dict[str, Any]:
            return dict(self.twin.describe_model(ModelName=ModelName))

        def create_model_package(self, **request: Any) -> dict[str, Any]:
            ensure_package_group(self.twin, request.get("ModelPackageGroupName"))
            arn = self.twin.create_model_package(**request)["ModelPackageArn"]
            described = dict(self.twin.describe_model_package(ModelPackageName=arn))
            described.pop("ResponseMetadata", None)
            return described

    return TwinLocalSagemakerClient
