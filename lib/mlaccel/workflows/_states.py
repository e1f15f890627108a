"""States every workflow shares: the start, Lambda and SNS tasks, SSM writes, failure wiring.

The ``stepfunctions`` SDK is imported inside each builder, after :func:`load_sdk`, so that
importing :mod:`mlaccel.workflows` stays cheap.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from mlaccel.cleanup import CREATED_BY, CREATED_BY_TAG, ENDPOINT_TAG, RUN_ID_TAG
from mlaccel.workflows._settings import FUNCTIONS, WorkflowSettings

CATCH_ALL = ["States.ALL"]


def load_sdk() -> None:
    """Import the SageMaker SDK quietly (see :mod:`mlaccel._sagemaker`) and quiet the
    ``stepfunctions`` SDK's own INFO handler, before any builder imports their classes."""
    from mlaccel._sagemaker import _import_sagemaker

    _import_sagemaker()
    logging.getLogger("stepfunctions").setLevel(logging.WARNING)
    from stepfunctions.steps import integration_resources

    # The SDK builds two boto3 sessions and re-reads botocore's endpoint data (about 0.2 s)
    # for every task's resource ARN; the partition does not change within a process.
    lookup = integration_resources.get_aws_partition
    if not hasattr(lookup, "cache_info"):
        integration_resources.get_aws_partition = functools.lru_cache(maxsize=1)(lookup)


def bind(step: Any, **paths: str) -> Any:
    """Make parameters of ``step`` read from the state: ``bind(s, TrainingJobName="$.x")``.

    Nested members are written with ``__`` (list items by index): ``PrimaryContainer__Image``,
    ``ProductionVariants__0__ModelName``.

    Parameters
    ----------
    step
        A ``stepfunctions`` task state with ``parameters``.
    **paths
        JSONPath in the state input, by (nested) parameter name.

    Returns
    -------
    Any
        ``step``, changed in place.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> step = SimpleNamespace(parameters={"Model": {"Name": "placeholder"}})
    >>> bind(step, Model__Name="$.names.model").parameters
    {'Model': {'Name.$': '$.names.model'}}
    """
    for dotted, path in paths.items():
        *parents, key = dotted.split("__")
        target = step.parameters
        for parent in parents:
            target = target[int(parent)] if parent.isdigit() else target[parent]
        target.pop(key, None)
        target[f"{key}.$"] = path
    return step


def catch(failed: Any, *steps: Any) -> None:
    """Send any error of each of ``steps`` to ``failed``, the error under ``$.error``.

    Tasks inside Parallel branches are caught by their Parallel state: a catch in a branch
    could only lead to states of that branch.
    """
    from stepfunctions.steps import Catch

    for step in steps:
        step.add_catch(Catch(error_equals=CATCH_ALL, next_step=failed, result_path="$.error"))


def lambda_task(state: str, function: str, payload: dict[str, Any], result_path: str) -> Any:
    """Invoke the kit's Lambda ``function`` (a key of ``FUNCTIONS``) with ``payload``."""
    from stepfunctions.steps import LambdaStep

    return LambdaStep(
        state,
        parameters={"FunctionName": FUNCTIONS[function], "Payload": payload},
        result_path=result_path,
    )


def notify(state: str, settings: WorkflowSettings, subject: str, message: str) -> Any:
    """An SNS publish whose message is a ``States.Format`` template over the state."""
    from stepfunctions.steps import SnsPublishStep

    return SnsPublishStep(
        state,
        parameters={"TopicArn": settings.topic_arn, "Subject": subject, "Message.$": message},
        result_path=None,
    )


def notify_success(settings: WorkflowSettings, subject: str, message: str) -> Any:
    """Notify success, then end the run."""
    from stepfunctions.steps import Chain, Succeed

    return Chain([notify("Notify success", settings, subject, message), Succeed("Done")])


def put_parameter(state: str, name: str, value: Mapping[str, str]) -> Any:
    """Write an SSM String parameter; ``value`` is ``{"Value": ...}`` or ``{"Value.$": ...}``."""
    from stepfunctions.steps import Task

    return Task(
        state,
        resource="arn:aws:states:::aws-sdk:ssm:putParameter",
        parameters={"Name": name, "Type": "String", "Overwrite": True, **value},
        result_path=None,
    )


def start_states(
    defaults: dict[str, Any],
    jobs: Mapping[str, str],
    folders: Mapping[str, str] | None = None,
    *,
    read_defaults: Mapping[str, str] | None = None,
) -> Any:
    """Two Pass states: defaults, then the execution input merged over them, and run names.

    Parameters
    ----------
    defaults
        Settings an execution input may override (``{"metric_threshold": 900}``).
    jobs
        Job name stems by key: ``$.names.<key>`` is ``mlaccel-<stem>-<execution name>``.
    folders
        S3 URI templates by key, ``{}`` standing for the execution name.
    read_defaults
        Defaults read from the execution when it starts, as paths by key
        (``{"run_id": "$$.Execution.Name"}``); an execution input may override them too.
    """
    from stepfunctions.steps import Chain, Pass

    # Job names and folders come from the execution name, so every run's jobs and outputs are
    # new and traceable.
    named = {
        f"{k}.$": f"States.Format('mlaccel-{v}-{{}}', $$.Execution.Name)" for k, v in jobs.items()
    }
    for key, template in (folders or {}).items():
        named[f"{key}.$"] = f"States.Format('{template}', $$.Execution.Name)"
    if read_defaults:
        read = {f"{key}.$": path for key, path in read_defaults.items()}
        start = Pass("Read defaults", parameters={**defaults, **read}, result_path="$.defaults")
    else:
        start = Pass("Read defaults", result=defaults, result_path="$.defaults")
    return Chain(
        [
            start,
            Pass(
                "Merge execution input",
                parameters={
                    "args.$": "States.JsonMerge($.defaults, $$.Execution.Input, false)",
                    "names": named,
                },
            ),
        ]
    )


def failure_path(settings: WorkflowSettings, what: str) -> Any:
    """Where every caught error goes: notify the failure, then fail the run."""
    from stepfunctions.steps import Chain, Fail

    notified = notify(
        "Notify failure",
        settings,
        f"mlaccel: {what} failed",
        f"States.Format('{what} run {{}} failed: {{}}', $$.Execution.Name, $.error.Cause)",
    )
    return Chain(
        [notified, Fail("Run failed", error="PipelineFailed", cause=f"a {what} step failed")]
    )


def run_tags(endpoint_name: str) -> list[dict[str, str]]:
    """The ``Tags`` of a SageMaker resource a workflow creates for ``endpoint_name``: the kit's
    tags, the run id read from the execution's arguments (``$.args.run_id``)."""
    return [
        {"Key": CREATED_BY_TAG, "Value": CREATED_BY},
        {"Key": RUN_ID_TAG, "Value.$": "$.args.run_id"},
        {"Key": ENDPOINT_TAG, "Value": endpoint_name},
    ]
