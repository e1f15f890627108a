"""Event-driven starts: EventBridge rules that start a workflow when data lands in S3.

S3 sends "Object Created" events to EventBridge once the bucket has EventBridge notifications
on; a rule matches the bucket and key prefix and starts the state machine with an input made
from the event. On the twin the event is really delivered and the execution really starts.
Rules carry the kit's tags (``mlaccel.cleanup``), so ``mlaccel cleanup`` finds them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from mlaccel._s3 import parse_path
from mlaccel.cleanup import RUN_ID_TAG, kit_tags, made_by_kit, tag_dict, tag_list
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import NotificationConfigurationTypeDef

    from mlaccel._connect import Connection

TARGET_ID = "state-machine"


def enable_bucket_events(bucket: str, *, connection: Connection) -> None:
    """Turn on the bucket's EventBridge notifications, keeping its other notifications."""
    s3 = connection.client("s3")
    described = s3.get_bucket_notification_configuration(Bucket=bucket)
    if "EventBridgeConfiguration" in described:
        return
    current = cast(
        "NotificationConfigurationTypeDef",
        {k: v for k, v in described.items() if k != "ResponseMetadata"},
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={**current, "EventBridgeConfiguration": {}}
    )


def object_created_pattern(bucket: str, prefix: str) -> dict[str, Any]:
    """The event pattern of objects created in ``s3://bucket/prefix...``.

    Examples
    --------
    >>> object_created_pattern("bucket", "data/")["detail"]["object"]
    {'key': [{'prefix': 'data/'}]}
    """
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


# The input a started execution receives: where the new object is.
OBJECT_INPUT = {
    "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
    "InputTemplate": '{"trigger_uri": "s3://<bucket>/<key>"}',
}


def start_on_upload(
    rule_name: str,
    uri_prefix: str,
    state_machine_arn: str,
    *,
    connection: Connection,
    input_template: str | None = None,
    role_arn: str | None = None,
) -> str:
    """Create or update a rule starting ``state_machine_arn`` for each object under a prefix.

    Parameters
    ----------
    rule_name
        The rule's name.
    uri_prefix
        The folder to watch, ``s3://bucket/prefix/`` (``s3://bucket/`` watches the bucket).
    state_machine_arn
        The state machine each new object starts.
    connection
        Where the rule and the bucket live; the bucket's EventBridge notifications are turned
        on.
    input_template
        An EventBridge input template over ``<bucket>`` and ``<key>``; the default gives the
        execution ``{"trigger_uri": "s3://<bucket>/<key>"}``.
    role_arn
        The role EventBridge assumes to start executions (the connection's by default).

    Returns
    -------
    str
        The rule's ARN.

    Examples
    --------
    >>> start_on_upload("mlaccel-train-on-data", "s3://bucket/pipelines/used_cars/training-data/",
    ...                 machine_arn, connection=conn)  # doctest: +SKIP
    """
    bucket, prefix = parse_path(uri_prefix, name="uri_prefix")
    if ":states:" not in state_machine_arn:
        raise MLAccelInputError(
            f"state_machine_arn={state_machine_arn!r} is not a state machine ARN; pass the ARN "
            "mlaccel.workflows.create_or_update returns"
        )
    enable_bucket_events(bucket, connection=connection)
    client = connection.client("events")
    rule_arn = put_kit_rule(
        client,
        Name=rule_name,
        EventPattern=json.dumps(object_created_pattern(bucket, prefix)),
        State="ENABLED",
        Description=f"start {state_machine_arn.rsplit(':', 1)[-1]} when data lands in {uri_prefix}",
    )
    transformer = dict(OBJECT_INPUT)
    if input_template is not None:
        transformer["InputTemplate"] = input_template
    client.put_targets(
        Rule=rule_name,
        Targets=[
            {
                "Id": TARGET_ID,
                "Arn": state_machine_arn,
                "RoleArn": role_arn or connection.role_arn,
                "InputTransformer": transformer,
            }
        ],
    )
    return rule_arn


def put_kit_rule(client: Any, **rule: str) -> str:
    """Create or update an EventBridge rule (``PutRule``'s arguments) tagged as the kit's.

    ``PutRule`` tags a rule only when it creates it: a rule the kit created earlier gets the
    current run id through ``TagResource``; a rule someone else created is left untagged.

    Returns
    -------
    str
        The rule's ARN.
    """
    tags = kit_tags()
    arn = str(client.put_rule(**rule, Tags=tag_list(tags))["RuleArn"])
    current = tag_dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags", []))
    if made_by_kit(current) and current.get(RUN_ID_TAG) != tags[RUN_ID_TAG]:
        client.tag_resource(ResourceARN=arn, Tags=tag_list(tags))
    return arn


def describe_rule(rule_name: str, *, connection: Connection) -> dict[str, Any]:
    """The rule's name, state, event pattern and target ARNs, for display.

    Examples
    --------
    >>> describe_rule("mlaccel-train-on-data", connection=conn)["targets"]  # doctest: +SKIP
    ['arn:aws:states:us-east-1:000000000000:stateMachine:mlaccel-used-cars-training']
    """
    client = connection.client("events")
    rule = client.describe_rule(Name=rule_name)
    targets = client.list_targets_by_rule(Rule=rule_name)["Targets"]
    return {
        "name": rule["Name"],
        "state": rule["State"],
        "pattern": json.loads(rule["EventPattern"]),
        "targets": [t["Arn"] for t in targets],
    }
