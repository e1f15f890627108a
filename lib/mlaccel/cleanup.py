"""Leave nothing billable behind: the kit's tags, and removing what a run created.

Every billable resource the kit creates (SageMaker models, endpoint configurations, endpoints,
autoscaling targets, EventBridge rules, Lambda functions) carries two tags:

- ``mlaccel:created-by = mlaccel``: the kit made it, so the kit may remove it;
- ``mlaccel:run-id = <run id>``: the run that made it (:func:`current_run_id`).

Models and endpoint configurations made for an endpoint also carry ``mlaccel:endpoint = <name>``,
so deleting the endpoint finds them. :func:`find_resources` lists the kit's resources (of one run
or all), :func:`remove_resources` removes them in dependency order (scaling targets → monitoring
schedules → endpoints → endpoint configurations → models → rules → functions), waiting for
endpoints to go, and skipping what is already gone. Nothing without the kit's tag is touched.

The same calls run on the twin and on an account; ``mlaccel cleanup`` is their command line, and
the notebook suite runner calls them when a notebook fails.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlaccel import config
from mlaccel._aws import check_connection, delete_quietly, describe_endpoint, is_missing
from mlaccel._connect import Connection
from mlaccel.errors import MLAccelError, MLAccelInputError

log = logging.getLogger(__name__)

CREATED_BY_TAG = "mlaccel:created-by"
CREATED_BY = "mlaccel"
RUN_ID_TAG = "mlaccel:run-id"
#: On models and endpoint configurations the kit made for an endpoint: the endpoint's name.
ENDPOINT_TAG = "mlaccel:endpoint"
#: Where a run id comes from (the suite runner sets it for its kernels).
RUN_ID_VARIABLE = "MLACCEL_RUN_ID"

#: The kinds of resource the kit removes, in the order they must go: what uses another first.
REMOVAL_ORDER = (
    "scalable-target",
    "monitoring-schedule",
    "endpoint",
    "endpoint-config",
    "model",
    "rule",
    "function",
)
# Resource Groups Tagging API types, by the kind this module calls them.
TAGGED_TYPES = {
    "model": "sagemaker:model",
    "endpoint-config": "sagemaker:endpoint-config",
    "endpoint": "sagemaker:endpoint",
    "monitoring-schedule": "sagemaker:monitoring-schedule",
    "rule": "events:rule",
    "function": "lambda:function",
}
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# How long to wait for an endpoint to finish a change or its deletion (AWS takes minutes).
ENDPOINT_TIMEOUT_SECONDS = 1800.0

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/=+@-]{0,127}$")
_SETTLING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


# --------------------------------------------------------------------------- run ids and tags


def new_run_id() -> str:
    """A fresh run id: ``run-<UTC date>-<time>-<6 hex>``.

    Examples
    --------
    >>> new_run_id().startswith("run-")
    True
    """
    return f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@functools.cache
def _process_run_id() -> str:
    return new_run_id()


def current_run_id() -> str:
    """The run this process works for: ``MLACCEL_RUN_ID``, else an id of its own.

    The suite runner sets ``MLACCEL_RUN_ID`` for its kernels, so everything a suite run creates
    shares one id; a notebook run alone tags with an id made once per process.

    Examples
    --------
    >>> current_run_id() == current_run_id()
    True
    """
    value = config.setting("RUN_ID")
    return _process_run_id() if value is None else check_run_id(value, RUN_ID_VARIABLE)


def check_run_id(value: Any, what: str = "run_id") -> str:
    """``value`` when it can serve as a tag value and a JSON string, else an error naming ``what``.

    Examples
    --------
    >>> check_run_id("ci-1234")
    'ci-1234'
    """
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise MLAccelInputError(
            f"{what}={value!r} is not a run id: use 1-128 letters, digits and . _ : / = + @ -, "
            "starting with a letter or digit (e.g. 'ci-1234')"
        )
    return value


def kit_tags(*, run_id: str | None = None, endpoint: str | None = None) -> dict[str, str]:
    """The tags of a resource the kit creates: its maker, its run and, if any, its endpoint.

    Examples
    --------
    >>> kit_tags(run_id="ci-1", endpoint="used-cars")  # doctest: +NORMALIZE_WHITESPACE
    {'mlaccel:created-by': 'mlaccel', 'mlaccel:run-id': 'ci-1',
     'mlaccel:endpoint': 'used-cars'}
    """
    tags = {CREATED_BY_TAG: CREATED_BY, RUN_ID_TAG: check_run_id(run_id or current_run_id())}
    if endpoint:
        tags[ENDPOINT_TAG] = endpoint
    return tags


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as SageMaker and EventBridge take them: ``[{"Key": ..., "Value": ...}]``.

    Examples
    --------
    >>> tag_list({"team": "ml"})
    [{'Key': 'team', 'Value': 'ml'}]
    """
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``[{"Key": ..., "Value": ...}]`` as a dict (the inverse of :func:`tag_list`)."""
    return {str(t["Key"]): str(t["Value"]) for t in tags}


def made_by_kit(tags: Mapping[str, str], run_id: str | None = None) -> bool:
    """True when ``tags`` say the kit made the resource (in run ``run_id``, when given).

    Examples
    --------
    >>> made_by_kit(kit_tags(run_id="a")), made_by_kit(kit_tags(run_id="a"), "b"), made_by_kit({})
    (True, False, False)
    """
    if tags.get(CREATED_BY_TAG) != CREATED_BY:
        return False
    return run_id is None or tags.get(RUN_ID_TAG) == run_id


# --------------------------------------------------------------------------- finding


@dataclass(frozen=True)
class KitResource:
    """A resource the kit made: its kind (see ``REMOVAL_ORDER``), name, ARN and run."""

    kind: str
    name: str
    arn: str = ""
    run_id: str = ""
    endpoint: str = ""

    @property
    def label(self) -> str:
        """``kind:name``, as the kit reports what it removed."""
        return f"{self.kind}:{self.name}"


def kind_and_name(arn: str) -> tuple[str, str] | None:
    """The kind (see ``REMOVAL_ORDER``) and name of a resource ARN; None for other resources.

    Examples
    --------
    >>> kind_and_name("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/used-cars-1")
    ('endpoint-config', 'used-cars-1')
    >>> kind_and_name("arn:aws:lambda:us-east-1:123456789012:function:router")
    ('function', 'router')
    >>> kind_and_name("arn:aws:events:us-east-1:123456789012:rule/train-on-data")
    ('rule', 'train-on-data')
    """
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service, resource = parts[2], parts[5]
    separator = ":" if service == "lambda" else "/"
    kind, _, name = resource.partition(separator)
    name = name.split(":")[0] if service == "lambda" else name.rsplit("/", 1)[-1]
    if kind not in TAGGED_TYPES or not name:
        return None
    return kind, name


def tagged_resources(
    *,
    connection: Connection,
    run_id: str | None = None,
    endpoint: str | None = None,
    kinds: Sequence[str] = tuple(TAGGED_TYPES),
) -> list[KitResource]:
    """The kit's tagged resources (of run ``run_id``, made for ``endpoint``), from the Resource
    Groups Tagging API: one call for every service.

    Parameters
    ----------
    connection
        The account (:func:`mlaccel.connect`).
    run_id
        Only this run's resources; all the kit's when None.
    endpoint
        Only the models and endpoint configurations made for this endpoint.
    kinds
        Which kinds to look for (keys of ``TAGGED_TYPES``).
    """
    conn = check_connection(connection)
    filters = [{"Key": CREATED_BY_TAG, "Values": [CREATED_BY]}]
    if run_id is not None:
        filters.append({"Key": RUN_ID_TAG, "Values": [check_run_id(run_id)]})
    if endpoint is not None:
        filters.append({"Key": ENDPOINT_TAG, "Values": [endpoint]})
    unknown = sorted(set(kinds) - set(TAGGED_TYPES))
    if unknown:
        raise MLAccelInputError(f"kinds={unknown} are not taggable kinds; use {list(TAGGED_TYPES)}")
    pages = (
        conn.client("resourcegroupstaggingapi")
        .get_paginator("get_resources")
        .paginate(TagFilters=filters, ResourceTypeFilters=[TAGGED_TYPES[k] for k in kinds])
    )
    found = []
    for page in pages:
        for item in page.get("ResourceTagMappingList", []):
            parsed = kind_and_name(item["ResourceARN"])
            if parsed is None or parsed[0] not in kinds:
                continue
            tags = tag_dict(item.get("Tags", []))
            found.append(_resource(parsed, item["ResourceARN"], tags))
    return found


def find_resources(*, connection: Connection, run_id: str | None = None) -> list[KitResource]:
    """The kit's resources in the account (of one run when ``run_id`` is given), in removal order.

    Besides what carries the run's tags: an endpoint the kit created earlier and the run updated
    to one of its endpoint configurations, and the autoscaling targets of the endpoints found
    (scaling policies are not taggable; they go with their target).

    Examples
    --------
    >>> [r.label for r in find_resources(connection=conn, run_id="ci-1")]  # doctest: +SKIP
    ['endpoint:used-cars-xgboost', 'endpoint-config:used-cars-xgboost-2024...', 'model:...']
    """
    conn = check_connection(connection)
    found = tagged_resources(connection=conn, run_id=run_id)
    found += _endpoints_updated_by(conn, found)
    endpoints = {r.name: r.run_id for r in found if r.kind == "endpoint"}
    found += _scalable_targets(conn, run_id, endpoints)
    return in_removal_order(found)


def in_removal_order(resources: Iterable[KitResource]) -> list[KitResource]:
    """``resources`` without duplicates, in the order they can be removed.

    Examples
    --------
    >>> model, endpoint = KitResource("model", "m"), KitResource("endpoint", "e")
    >>> [r.kind for r in in_removal_order([model, endpoint, model])]
    ['endpoint', 'model']
    """
    unique = {(r.kind, r.name): r for r in resources}
    return sorted(unique.values(), key=lambda r: (REMOVAL_ORDER.index(r.kind), r.name))


def _resource(parsed: tuple[str, str], arn: str, tags: Mapping[str, str]) -> KitResource:
    kind, name = parsed
    run_id = tags.get(RUN_ID_TAG, "")
    return KitResource(kind, name, arn, run_id, tags.get(ENDPOINT_TAG, ""))


def _endpoints_updated_by(conn: Connection, found: list[KitResource]) -> list[KitResource]:
    """Kit endpoints not tagged with the run that serve one of its endpoint configurations."""
    configs = {r.name for r in found if r.kind == "endpoint-config"}
    known = {r.name for r in found if r.kind == "endpoint"}
    candidates = {r.endpoint for r in found if r.kind == "endpoint-config" and r.endpoint}
    client = conn.client("sagemaker")
    updated = []
    for name in sorted(candidates - known):
        described = describe_endpoint(client, name)
        if described is not None and described["EndpointStatus"] in _SETTLING:
            described = wait_for_endpoint(conn, name, until="settled")
        if described is None or described.get("EndpointConfigName") not in configs:
            continue
        tags = tag_dict(client.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", []))
        if made_by_kit(tags):  # an endpoint someone else created is theirs to delete
            updated.append(
                KitResource("endpoint", name, described["EndpointArn"], tags[RUN_ID_TAG])
            )
    return updated


def _scalable_targets(
    conn: Connection, run_id: str | None, endpoints: Mapping[str, str]
) -> list[KitResource]:
    """Scalable targets of ``endpoints`` (run ids by endpoint name), and those tagged by the kit
    (in run ``run_id``)."""
    scaling = conn.client("application-autoscaling")
    pages = scaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="sagemaker"
    )
    found = []
    for page in pages:
        for target in page.get("ScalableTargets", []):
            resource_id = target["ResourceId"]
            arn = target.get("ScalableTargetARN", "")
            endpoint = endpoint_of_target(resource_id)
            if endpoint in endpoints:
                run = endpoints[endpoint]
                found.append(KitResource("scalable-target", resource_id, arn, run, endpoint))
            elif arn:
                tags = scaling.list_tags_for_resource(ResourceARN=arn).get("Tags", {})
                if made_by_kit(tags, run_id):
                    run = tags[RUN_ID_TAG]
                    found.append(KitResource("scalable-target", resource_id, arn, run, endpoint))
    return found


def endpoint_of_target(resource_id: str) -> str:
    """The endpoint of a SageMaker scalable target's resource id (empty for other targets).

    Examples
    --------
    >>> endpoint_of_target("endpoint/used-cars/variant/AllTraffic")
    'used-cars'
    """
    parts = resource_id.split("/")
    return parts[1] if len(parts) == 4 and parts[0] == "endpoint" else ""


# --------------------------------------------------------------------------- removing


def remove_resources(
    resources: Iterable[KitResource],
    *,
    connection: Connection,
    timeout_seconds: float = ENDPOINT_TIMEOUT_SECONDS,
) -> list[str]:
    """Remove ``resources`` in dependency order; what was removed, as ``kind:name``.

    Idempotent: what is already gone is skipped. Endpoints are deleted once no change is under
    way on them, and their deletion is waited for before their configurations go.

    Raises
    ------
    MLAccelError
        An endpoint is still there after ``timeout_seconds``.
    """
    conn = check_connection(connection)
    ordered = in_removal_order(resources)
    removed = []
    for kind in REMOVAL_ORDER:
        group = [r for r in ordered if r.kind == kind]
        for resource in group:
            if _REMOVERS[kind](conn, resource.name, timeout_seconds):
                removed.append(resource.label)
                log.info("removed %s", resource.label)
        if kind == "endpoint":
            for resource in group:
                wait_for_endpoint(conn, resource.name, until="gone", timeout=timeout_seconds)
    return removed


def clean_up(
    *, connection: Connection, run_id: str | None = None, dry_run: bool = False
) -> list[KitResource]:
    """Find the kit's resources (of one run) and remove them unless ``dry_run``.

    Returns
    -------
    list of KitResource
        What was found (and, without ``dry_run``, removed or already gone).

    Examples
    --------
    >>> [r.label for r in clean_up(connection=conn, run_id="ci-1")]  # doctest: +SKIP
    ['scalable-target:endpoint/used-cars-xgboost/variant/AllTraffic', 'endpoint:...', ...]
    """
    found = find_resources(connection=connection, run_id=run_id)
    if not dry_run:
        remove_resources(found, connection=connection)
    return found


def remove_scalable_target(scaling: Any, resource_id: str) -> bool:
    """Delete a SageMaker variant's scaling policies, then its scalable target.

    Returns
    -------
    bool
        False when there was no such target.
    """
    policies = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    ).get("ScalingPolicies", [])
    for policy in policies:
        delete_quietly(
            scaling.delete_scaling_policy,
            PolicyName=policy["PolicyName"],
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=SCALABLE_DIMENSION,
        )
    return delete_quietly(
        scaling.deregister_scalable_target,
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
    )


def wait_for_endpoint(
    conn: Connection, name: str, *, until: str, timeout: float = ENDPOINT_TIMEOUT_SECONDS
) -> dict[str, Any] | None:
    """Wait until endpoint ``name`` is ``settled`` (no change under way) or ``gone``.

    Returns
    -------
    dict or None
        ``DescribeEndpoint``'s answer, None once the endpoint is gone.
    """
    if until not in ("settled", "gone"):
        raise MLAccelInputError(f"until={until!r} must be 'settled' or 'gone'")
    client = conn.client("sagemaker")
    deadline = time.monotonic() + timeout
    while True:
        described = describe_endpoint(client, name)
        if described is None:
            return None
        if until == "settled" and described["EndpointStatus"] not in _SETTLING:
            return described
        if time.monotonic() > deadline:
            raise MLAccelError(
                f"endpoint {name!r} is still {described['EndpointStatus']} after {timeout:.0f} s; "
                "check it in the console, then run `mlaccel cleanup` again"
            )
        time.sleep(conn.wait.endpoint_poll_seconds)


def _remove_scalable_target(conn: Connection, resource_id: str, _timeout: float) -> bool:
    return remove_scalable_target(conn.client("application-autoscaling"), resource_id)


def _remove_monitoring_schedule(conn: Connection, name: str, _timeout: float) -> bool:
    client = conn.client("sagemaker")
    return delete_quietly(client.delete_monitoring_schedule, MonitoringScheduleName=name)


def _remove_endpoint(conn: Connection, name: str, timeout: float) -> bool:
    # SageMaker refuses to delete an endpoint while it is being created or updated.
    if wait_for_endpoint(conn, name, until="settled", timeout=timeout) is None:
        return False
    return delete_quietly(conn.client("sagemaker").delete_endpoint, EndpointName=name)


def _remove_endpoint_config(conn: Connection, name: str, _timeout: float) -> bool:
    client = conn.client("sagemaker")
    return delete_quietly(client.delete_endpoint_config, EndpointConfigName=name)


def _remove_model(conn: Connection, name: str, _timeout: float) -> bool:
    return delete_quietly(conn.client("sagemaker").delete_model, ModelName=name)


def _remove_rule(conn: Connection, name: str, _timeout: float) -> bool:
    client = conn.client("events")
    try:
        targets = client.list_targets_by_rule(Rule=name).get("Targets", [])
    except Exception as exc:
        if is_missing(exc):
            return False
        raise
    if targets:  # EventBridge deletes no rule that still has targets
        client.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    return delete_quietly(client.delete_rule, Name=name)


def _remove_function(conn: Connection, name: str, _timeout: float) -> bool:
    return delete_quietly(conn.client("lambda").delete_function, FunctionName=name)


_REMOVERS = {
    "scalable-target": _remove_scalable_target,
    "monitoring-schedule": _remove_monitoring_schedule,
    "endpoint": _remove_endpoint,
    "endpoint-config": _remove_endpoint_config,
    "model": _remove_model,
    "rule": _remove_rule,
    "function": _remove_function,
}
