"""Endpoint autoscaling: target tracking on invocations per instance, registered and removed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from mlaccel._aws import check_connection, describe_endpoint, error_code, error_message
from mlaccel._connect import Connection
from mlaccel.cleanup import SCALABLE_DIMENSION, kit_tags, remove_scalable_target
from mlaccel.errors import MLAccelInputError
from mlaccel.inference._names import DEFAULT_VARIANT

log = logging.getLogger(__name__)

INVOCATIONS_PER_INSTANCE = "SageMakerVariantInvocationsPerInstance"


@dataclass(frozen=True)
class AutoscalingPolicy:
    """A variant registered with Application Auto Scaling and its target-tracking policy."""

    resource_id: str
    policy_name: str
    policy_arn: str
    min_instances: int
    max_instances: int
    target_invocations_per_instance: float


def register_autoscaling(
    endpoint_name: str,
    variant_name: str = DEFAULT_VARIANT,
    *,
    min_instances: int = 1,
    max_instances: int = 2,
    target_invocations_per_instance: float = 70.0,
    scale_in_cooldown_seconds: int = 300,
    scale_out_cooldown_seconds: int = 60,
    connection: Connection,
) -> AutoscalingPolicy:
    """Scale an endpoint variant with traffic: target tracking on invocations per instance.

    Registers the variant's ``DesiredInstanceCount`` as a scalable target and puts a
    target-tracking policy on ``SageMakerVariantInvocationsPerInstance`` (requests per minute
    per instance). Calling it again updates both. The target is tagged as the kit's (with the
    run and the endpoint), so ``mlaccel cleanup`` finds it.

    Parameters
    ----------
    endpoint_name, variant_name
        The variant to scale; the endpoint must exist.
    min_instances, max_instances
        Bounds of the instance count.
    target_invocations_per_instance
        Requests per minute one instance should serve; more scales out, fewer scales in.
    scale_in_cooldown_seconds, scale_out_cooldown_seconds
        Pauses between scaling actions.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Examples
    --------
    >>> register_autoscaling(
    ...     "used-cars-xgboost", "AllTraffic", min_instances=1, max_instances=4,
    ...     target_invocations_per_instance=100, connection=conn,
    ... ).resource_id  # doctest: +SKIP
    'endpoint/used-cars-xgboost/variant/AllTraffic'
    """
    _check_bounds(min_instances, max_instances, target_invocations_per_instance)
    conn = check_connection(connection)
    _check_variant(conn, endpoint_name, variant_name)
    scaling = conn.client("application-autoscaling")
    resource_id = _resource_id(endpoint_name, variant_name)
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=min_instances,
        MaxCapacity=max_instances,
        Tags=kit_tags(endpoint=endpoint_name),
    )
    policy_name = f"{endpoint_name}-{variant_name}-invocations"
    policy = scaling.put_scaling_policy(
        PolicyName=policy_name,
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": INVOCATIONS_PER_INSTANCE},
            "ScaleInCooldown": int(scale_in_cooldown_seconds),
            "ScaleOutCooldown": int(scale_out_cooldown_seconds),
        },
    )
    return AutoscalingPolicy(
        resource_id=resource_id,
        policy_name=policy_name,
        policy_arn=str(policy.get("PolicyARN", "")),
        min_instances=min_instances,
        max_instances=max_instances,
        target_invocations_per_instance=float(target_invocations_per_instance),
    )


def deregister_autoscaling(
    conn: Connection, endpoint_name: str, variants: Sequence[str]
) -> list[str]:
    """Remove the variants' scalable targets and policies; what was removed, as ``kind:name``.

    A role without Auto Scaling rights gets a warning, not an error, so it can still delete
    the endpoint itself.
    """
    scaling = conn.client("application-autoscaling")
    removed = []
    for variant in variants:
        resource_id = _resource_id(endpoint_name, variant)
        try:
            if remove_scalable_target(scaling, resource_id):
                removed.append(f"scalable-target:{resource_id}")
        except Exception as exc:
            if "AccessDenied" not in error_code(exc):
                raise
            log.warning("cannot check autoscaling of %s: %s", resource_id, error_message(exc))
    return removed


def _resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def _check_bounds(min_instances: int, max_instances: int, target: float) -> None:
    if not isinstance(min_instances, int) or not isinstance(max_instances, int):
        raise MLAccelInputError(
            f"min_instances={min_instances!r} and max_instances={max_instances!r} must be "
            "whole numbers"
        )
    if not 1 <= min_instances <= max_instances:
        raise MLAccelInputError(
            f"min_instances={min_instances} and max_instances={max_instances} must satisfy "
            "1 <= min_instances <= max_instances"
        )
    if not target > 0:
        raise MLAccelInputError(
            f"target_invocations_per_instance={target!r} must be > 0 (requests per minute)"
        )


def _check_variant(conn: Connection, endpoint_name: str, variant_name: str) -> None:
    described = describe_endpoint(conn.client("sagemaker"), endpoint_name)
    if described is None:
        raise MLAccelInputError(
            f"endpoint {endpoint_name!r} does not exist; deploy it before registering autoscaling"
        )
    variants = [v["VariantName"] for v in described.get("ProductionVariants", [])]
    if variants and variant_name not in variants:
        raise MLAccelInputError(
            f"variant_name={variant_name!r} is not a variant of {endpoint_name!r}; "
            f"use one of {variants}"
        )
