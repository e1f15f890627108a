"""SageMaker Pipelines on the twin: the SDK's local executor, with the twin's jobs for containers.

``LocalPipelineSession`` runs a pipeline's steps in the calling process with
``sagemaker.local.pipeline.LocalPipelineExecutor``; each step calls the session's
``sagemaker_client``, which normally starts Docker containers. :func:`pipeline_session` gives a
``LocalPipelineSession`` whose client instead sends each job to the twin's SageMaker API — where
the twin runs it (processing, training, transform) — and waits for it, so every job of a pipeline
run is a real, described, logged job on the twin. No Docker is involved.

The executor of 2.257.7 has no register-model step; :func:`install` adds one (it creates the
model package on the twin) and the matching ``ListPipelineExecutionSteps`` metadata. The seams
are checked by :func:`check_seams` and pinned in :data:`mlaccel_twin.seams.PINNED_VERSIONS`.
"""

from __future__ import annotations

import time
from typing import Any

from mlaccel.errors import PipelineStepFailed
from mlaccel_twin.seams import fail_if_broken, missing_attributes

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
_installed = False


def _run_job(client: Any, kind: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Start a job on the twin, wait for its end, and return its description."""
    create, describe, name_key, status_key = JOBS[kind]
    getattr(client, create)(**{name_key: name, **request})
    while True:
        described: dict[str, Any] = getattr(client, describe)(**{name_key: name})
        status = described[status_key]
        if status in TERMINAL:
            break
        time.sleep(0.2)
    described.pop("ResponseMetadata", None)
    if status != "Completed":
        raise PipelineStepFailed(
            f"{kind} job {name} {status}: {described.get('FailureReason', '')}"
        )
    return described


def _client_class() -> type:
    from sagemaker.local.local_session import LocalSagemakerClient

    class TwinLocalSagemakerClient(LocalSagemakerClient):
        """The local executor's client: pipelines stay local, jobs run on the twin."""

        def __init__(self, sagemaker_session: Any, twin_client: Any) -> None:
            super().__init__(sagemaker_session)
            self.twin = twin_client

        def create_training_job(self, TrainingJobName: str, **request: Any) -> None:
            self._done = _run_job(self.twin, "training", TrainingJobName, request)

        def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_training_job(TrainingJobName=TrainingJobName))

        def create_processing_job(self, ProcessingJobName: str, **request: Any) -> None:
            _run_job(self.twin, "processing", ProcessingJobName, request)

        def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_processing_job(ProcessingJobName=ProcessingJobName))

        def create_transform_job(self, TransformJobName: str, **request: Any) -> None:
            _run_job(self.twin, "transform", TransformJobName, request)

        def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
            return dict(self.twin.describe_transform_job(TransformJobName=TransformJobName))

        def create_model(self, ModelName: str, **request: Any) -> None:
            request.pop("Tags", None)
            self.twin.create_model(ModelName=ModelName, **request)

        def describe_model(self, ModelName: str) -> dict[str, Any]:
            return dict(self.twin.describe_model(ModelName=ModelName))

        def create_model_package(self, **request: Any) -> dict[str, Any]:
            arn = self.twin.create_model_package(**request)["ModelPackageArn"]
            described = dict(self.twin.describe_model_package(ModelPackageName=arn))
            described.pop("ResponseMetadata", None)
            return described

    return TwinLocalSagemakerClient


def pipeline_session(connection: Any) -> Any:
    """A ``LocalPipelineSession`` whose jobs run on the twin behind ``connection``.

    ``connection`` is the kit's connection to this twin (its ``boto3_session``, ``bucket``,
    ``endpoint_url`` and ``client()`` are used); the twin does not import the kit's type.
    """
    from sagemaker.workflow.pipeline_context import LocalPipelineSession

    install()
    client_class = _client_class()
    twin_client = connection.client("sagemaker")

    class TwinPipelineSession(LocalPipelineSession):
        def _initialize(
            self, boto_session: Any, sagemaker_client: Any, *args: Any, **kw: Any
        ) -> None:
            super()._initialize(boto_session, sagemaker_client, *args, **kw)
            self.sagemaker_client = client_class(self, twin_client)

    session = TwinPipelineSession(
        boto_session=connection.boto3_session,
        default_bucket=connection.bucket,
        s3_endpoint_url=connection.endpoint_url,
    )
    session.config = {"local": {"local_code": False}}
    return session


def install() -> None:
    """Teach the SDK's local executor the register-model step (once per process)."""
    global _installed
    if _installed:
        return
    check_seams()
    from sagemaker.local import entities, pipeline
    from sagemaker.workflow.steps import StepTypeEnum

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

    original_get = pipeline._StepExecutorFactory.get

    def get(self: Any, step: Any) -> Any:
        if step.step_type == StepTypeEnum.REGISTER_MODEL:
            return RegisterModelStepExecutor(self.pipeline_executor, step)
        return original_get(self, step)

    pipeline._StepExecutorFactory.get = get  # type: ignore[method-assign]
    original_metadata = entities._LocalPipelineExecutionStep._construct_metadata

    def construct_metadata(self: Any) -> Any:
        if self.type == StepTypeEnum.REGISTER_MODEL and self.properties:
            return {"RegisterModel": {"Arn": self.properties["ModelPackageArn"]}}
        return original_metadata(self)

    entities._LocalPipelineExecutionStep._construct_metadata = construct_metadata  # type: ignore[method-assign]
    original_initialize = entities._LocalPipelineExecution._initialize_step_execution

    def initialize_step_execution(self: Any, steps: Any) -> None:
        # The SDK refuses step types outside a fixed list; register steps are handled above.
        def registers(step: Any) -> bool:
            return getattr(step, "step_type", None) == StepTypeEnum.REGISTER_MODEL

        for step in filter(registers, steps):
            self.step_execution[step.name] = entities._LocalPipelineExecutionStep(
                step.name, step.step_type, step.description, step.display_name
            )
        original_initialize(self, [step for step in steps if not registers(step)])

    entities._LocalPipelineExecution._initialize_step_execution = initialize_step_execution  # type: ignore[method-assign]
    _installed = True


def check_seams() -> None:
    """Fail loudly when the SDK's local executor no longer has what this module extends."""
    from sagemaker.local import entities, pipeline

    needed = [
        (pipeline, "_StepExecutor"),
        (pipeline, "_StepExecutorFactory"),
        (pipeline, "LocalPipelineExecutor"),
        (entities, "_LocalPipelineExecutionStep"),
        (entities, "_LocalPipelineExecution"),
    ]
    problems = missing_attributes(needed)
    if not problems:
        needed_step = [(entities._LocalPipelineExecutionStep, "_construct_metadata")]
        problems = missing_attributes(needed_step)
    fail_if_broken("local_pipelines", problems, library="sagemaker")
