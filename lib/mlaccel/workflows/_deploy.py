"""What the workflows need in the account besides their state machines: the seedcode they
run, their Lambda functions, and the schedules and rules that start them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlaccel import events
from mlaccel._paths import seedcode_dir
from mlaccel._s3 import parse_path
from mlaccel.cleanup import current_run_id
from mlaccel.errors import MLAccelInputError
from mlaccel.workflows._settings import FUNCTIONS, HANDLERS, WorkflowSettings, code_uri

if TYPE_CHECKING:
    from mlaccel._connect import Connection

SCRIPTS = ("processing/preprocess.py", "evaluation/evaluate.py")


def stage_code(settings: WorkflowSettings, *, connection: Connection) -> list[str]:
    """Upload the seedcode scripts the workflows run to S3 (see :func:`code_uri`).

    Returns
    -------
    list of str
        The scripts' URIs.
    """
    uris = []
    for script in SCRIPTS:
        uri = code_uri(settings, script)
        bucket, key = parse_path(uri, name="code_uri")
        body = (seedcode_dir() / script).read_bytes()
        connection.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        uris.append(uri)
    return uris


def deploy_functions(*, connection: Connection) -> dict[str, str]:
    """Create or update the workflows' Lambda functions (``seedcode/lambdas/workflow``).

    Returns
    -------
    dict of str to str
        The functions' ARNs by handler (the keys of ``FUNCTIONS``).
    """
    from mlaccel import lambdas

    folder = seedcode_dir() / "lambdas" / "workflow"
    return {
        handler: lambdas.deploy_function(
            name, folder, f"{HANDLERS}.{handler}", connection=connection, timeout=300
        )
        for handler, name in FUNCTIONS.items()
    }


def schedule(
    rule_name: str,
    state_machine_arn: str,
    expression: str,
    *,
    connection: Connection,
    role_arn: str | None = None,
) -> str:
    """Create or update a scheduled EventBridge rule starting the workflow.

    The twin keeps the rule but does not fire schedules: start the execution yourself there.

    Parameters
    ----------
    rule_name
        The rule's name.
    state_machine_arn
        The state machine it starts.
    expression
        EventBridge's ``rate(1 hour)`` or ``cron(0 6 * * ? *)``.
    connection
        Where the rule lives.
    role_arn
        The role EventBridge assumes to start executions (the connection's by default).

    Returns
    -------
    str
        The rule's ARN.
    """
    if not (expression.startswith("rate(") or expression.startswith("cron(")):
        raise MLAccelInputError(
            f"expression={expression!r} is not an EventBridge schedule; write one such as "
            "'rate(1 hour)' or 'cron(0 6 * * ? *)'"
        )
    client = connection.client("events")
    arn = events.put_kit_rule(
        client,
        Name=rule_name,
        ScheduleExpression=expression,
        State="ENABLED",
        Description=f"start {state_machine_arn.rsplit(':', 1)[-1]} {expression}",
    )
    target = {
        "Id": events.TARGET_ID,
        "Arn": state_machine_arn,
        "RoleArn": role_arn or connection.role_arn,
    }
    client.put_targets(Rule=rule_name, Targets=[target])
    return str(arn)


def start_on_new_data(
    settings: WorkflowSettings,
    training_arn: str,
    scoring_arn: str,
    *,
    connection: Connection,
    role_arn: str | None = None,
) -> dict[str, str]:
    """EventBridge rules: new training data starts training, a new batch starts scoring.

    The scoring run scores exactly the object that landed. The executions the rules start carry
    the current run id in their input (``run_id``), so what they create is tagged with the run
    that set the rules up.

    Parameters
    ----------
    settings
        The workflows' settings (which prefixes to watch).
    training_arn, scoring_arn
        The state machines to start.
    connection
        Where the rules and the bucket live.
    role_arn
        The role EventBridge assumes to start executions (the connection's by default).

    Returns
    -------
    dict of str to str
        The rules' ARNs, by workflow (``training``, ``scoring``).
    """
    run_id = current_run_id()  # a checked run id is safe inside a JSON string
    return {
        "training": events.start_on_upload(
            f"{settings.training_name}-on-new-data",
            settings.training_data_uri + "/",
            training_arn,
            connection=connection,
            input_template=f'{{"trigger_uri": "s3://<bucket>/<key>", "run_id": "{run_id}"}}',
            role_arn=role_arn,
        ),
        "scoring": events.start_on_upload(
            f"{settings.scoring_name}-on-new-batch",
            settings.scoring_batches_uri + "/",
            scoring_arn,
            connection=connection,
            input_template=f'{{"batch_uri": "s3://<bucket>/<key>", "run_id": "{run_id}"}}',
            role_arn=role_arn,
        ),
    }
