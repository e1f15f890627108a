"""Kernel-side seam: SageMaker Pipelines on the SDK's local executor, jobs on the twin.

Unlike the other seams, this one changes the SageMaker SDK in the kernel, not moto's server.
:func:`pipeline_session` gives a ``LocalPipelineSession`` whose steps run in the calling process
while each job (processing, training, transform) runs on the twin
(:func:`~mlaccel_twin.sdk_patches.local_session.session_class`), so every job of a
pipeline run is a real, described, logged job on the twin. No Docker is involved.

The local executor of the SDK has no register-model step; :func:`install` adds one (it creates
the model package on the twin) and the matching ``ListPipelineExecutionSteps`` metadata.

Written for the SageMaker SDK 2.257.7 (``mlaccel_twin.seams.PINNED_VERSIONS``);
:func:`check_seams` fails loudly when the SDK's local executor no longer has what it extends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlaccel_twin._seam import fail_if_broken, import_problems, missing_attributes, replace

SDK_MODULES = (
    "sagemaker.local.entities",
    "sagemaker.local.local_session",
    "sagemaker.local.pipeline",
    "sagemaker.workflow.pipeline_context",
)


def pipeline_session(connection: Any) -> Any:
    """A ``LocalPipelineSession`` whose jobs run on the twin behind ``connection``.

    ``connection`` is the kit's connection to this twin (its ``boto3_session``, ``bucket``,
    ``endpoint_url`` and ``client()`` are used); the twin does not import the kit's type.
    """
    install()
    from mlaccel_twin.sdk_patches.local_session import session_class

    session = session_class()(
        connection.client("sagemaker"),
        boto_session=connection.boto3_session,
        default_bucket=connection.bucket,
        s3_endpoint_url=connection.endpoint_url,
    )
    session.config = {"local": {"local_code": False}}
    return session


def install() -> None:
    """Teach the SDK's local executor the register-model step (once per process)."""
    from sagemaker.local import entities, pipeline

    check_seams()
    replace(pipeline._StepExecutorFactory, "get", _executor_for_register_steps)
    replace(entities._LocalPipelineExecutionStep, "_construct_metadata", _register_metadata)
    replace(
        entities._LocalPipelineExecution,
        "_initialize_step_execution",
        _initialize_register_steps,
    )


def check_seams() -> None:
    """Fail loudly when the SDK's local executor no longer has what this module extends."""
    fail_if_broken("local_pipelines", import_problems(*SDK_MODULES), library="sagemaker")
    from sagemaker.local import entities, local_session, pipeline
    from sagemaker.workflow import pipeline_context

    needed: list[tuple[Any, str]] = [
        (local_session, "LocalSagemakerClient"),
        (pipeline_context, "LocalPipelineSession"),
        (pipeline, "_StepExecutor"),
        (pipeline, "_StepExecutorFactory"),
        (entities, "_LocalPipelineExecutionStep"),
        (entities, "_LocalPipelineExecution"),
    ]
    problems = missing_attributes(needed)
    if not problems:  # the classes are there: now what is subclassed or hooked of them
        hooked: list[tuple[Any, str]] = [
            (pipeline_context.LocalPipelineSession, "_initialize"),
            (pipeline._StepExecutor, "execute"),
            (pipeline._StepExecutorFactory, "get"),
            (entities._LocalPipelineExecutionStep, "_construct_metadata"),
            (entities._LocalPipelineExecution, "_initialize_step_execution"),
        ]
        problems = missing_attributes(hooked)
    fail_if_broken("local_pipelines", problems, library="sagemaker")


def _is_register_step(step: Any) -> bool:
    # A pipeline's step names its type `step_type`; an execution's step (the SDK's
    # _LocalPipelineExecutionStep) names it `type`.
    from sagemaker.workflow.steps import StepTypeEnum

    kind = getattr(step, "step_type", None) or getattr(step, "type", None)
    return bool(kind == StepTypeEnum.REGISTER_MODEL)


def _executor_for_register_steps(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(self: Any, step: Any) -> Any:
        if _is_register_step(step):
            from mlaccel_twin.sdk_patches.local_session import register_step_executor_class

            return register_step_executor_class()(self.pipeline_executor, step)
        return original(self, step)

    return get


def _register_metadata(original: Callable[..., Any]) -> Callable[..., Any]:
    def construct_metadata(self: Any) -> Any:
        if _is_register_step(self) and self.properties:
            return {"RegisterModel": {"Arn": self.properties["ModelPackageArn"]}}
        return original(self)

    return construct_metadata


def _initialize_register_steps(original: Callable[..., Any]) -> Callable[..., Any]:
    def initialize_step_execution(self: Any, steps: Any) -> None:
        from sagemaker.local import entities

        # The SDK refuses step types outside a fixed list; register steps are handled above.
        for step in filter(_is_register_step, steps):
            self.step_execution[step.name] = entities._LocalPipelineExecutionStep(
                step.name, step.step_type, step.description, step.display_name
            )
        original(self, [step for step in steps if not _is_register_step(step)])

    return initialize_step_execution
