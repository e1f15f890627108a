"""Which registered model to serve: the versions of a model package group and what each serves."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlaccel._aws import check_connection, is_missing
from mlaccel._connect import Connection
from mlaccel.errors import MLAccelInputError, ModelPackageNotFound

log = logging.getLogger(__name__)

_APPROVED = "Approved"


@dataclass(frozen=True)
class ModelPackageInfo:
    """One registered model version, and what it serves.

    Attributes
    ----------
    arn
        ``ModelPackageArn``; pass it to :func:`deploy_model` as ``model_package``.
    group
        The model package group.
    version
        ``ModelPackageVersion`` in the group.
    approval_status
        ``Approved``, ``PendingManualApproval`` or ``Rejected``.
    image_uri, model_data_url, environment
        The package's first inference container.
    selection
        Why this version was chosen (``latest approved`` or ``latest registered...``).
    """

    arn: str
    group: str
    version: int | None
    approval_status: str
    image_uri: str
    model_data_url: str
    environment: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None
    selection: str = "latest approved"

    @property
    def approved(self) -> bool:
        return self.approval_status == _APPROVED


def latest_model_package(
    group: str, *, approved_only: bool = True, connection: Connection
) -> ModelPackageInfo:
    """The model package to serve from ``group``: the latest approved version.

    When no version is approved yet (the approval step has not happened), the latest
    registered version is returned instead, with a warning and ``selection`` saying so.

    Parameters
    ----------
    group
        Model package group name, e.g. ``"mlaccel-used-cars"``.
    approved_only
        Prefer approved versions (falling back as above); False takes the latest version
        whatever its status.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    ModelPackageInfo

    Raises
    ------
    ModelPackageNotFound
        The group does not exist or holds no model package.

    Examples
    --------
    >>> package = latest_model_package("mlaccel-used-cars", connection=conn)  # doctest: +SKIP
    >>> package.version, package.approval_status  # doctest: +SKIP
    (3, 'Approved')
    """
    if not isinstance(group, str) or not group.strip():
        raise MLAccelInputError(
            f"group={group!r} must name a model package group, e.g. 'mlaccel-used-cars'"
        )
    conn = check_connection(connection)
    client = conn.client("sagemaker")
    summaries = _list_model_packages(client, group)
    if not summaries:
        raise ModelPackageNotFound(
            f"model package group {group!r} holds no model package; register one first "
            "(notebooks/03_train_model.ipynb)"
        )
    chosen, selection = _choose(group, summaries, approved_only)
    return describe_model_package(
        str(chosen["ModelPackageArn"]), selection=selection, connection=conn
    )


def describe_model_package(
    arn: str, *, selection: str = "given", connection: Connection
) -> ModelPackageInfo:
    """What the model package ``arn`` serves (image, artifact, environment, approval).

    Examples
    --------
    >>> describe_model_package(package_arn, connection=conn).model_data_url  # doctest: +SKIP
    's3://mlaccel-local/models/used-cars/model.tar.gz'
    """
    conn = check_connection(connection)
    try:
        described = conn.client("sagemaker").describe_model_package(ModelPackageName=arn)
    except Exception as exc:
        if is_missing(exc):
            raise ModelPackageNotFound(
                f"model package {arn!r} does not exist; list the versions of its group with "
                "latest_model_package(group, approved_only=False)"
            ) from exc
        raise
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    if not containers:
        raise MLAccelInputError(
            f"model package {arn} has no InferenceSpecification.Containers; register it with "
            "the image and model artifact to serve"
        )
    container = containers[0]
    return ModelPackageInfo(
        arn=str(described["ModelPackageArn"]),
        group=str(described.get("ModelPackageGroupName", "")),
        version=described.get("ModelPackageVersion"),
        approval_status=str(described.get("ModelApprovalStatus", "")),
        image_uri=str(container.get("Image", "")),
        model_data_url=str(container.get("ModelDataUrl", "")),
        environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
        created=described.get("CreationTime"),
        selection=selection,
    )


def _list_model_packages(client: Any, group: str) -> list[dict[str, Any]]:
    # An empty listing cannot tell a missing group from an empty one: ask for the group first.
    try:
        client.describe_model_package_group(ModelPackageGroupName=group)
    except Exception as exc:
        if is_missing(exc):
            raise ModelPackageNotFound(
                f"model package group {group!r} does not exist; train and register a model "
                "first (notebooks/03_train_model.ipynb registers one per data product)"
            ) from exc
        raise
    pages = client.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
    return [summary for page in pages for summary in page.get("ModelPackageSummaryList", [])]


def _choose(
    group: str, summaries: list[dict[str, Any]], approved_only: bool
) -> tuple[dict[str, Any], str]:
    """The summary to serve and why it was chosen."""
    if not approved_only:
        return _newest(summaries), "latest registered"
    approved = [s for s in summaries if s.get("ModelApprovalStatus") == _APPROVED]
    if approved:
        return _newest(approved), "latest approved"
    chosen = _newest(summaries)
    log.warning(
        "model package group %s has no approved version; using the latest registered "
        "version %s (%s). Approve a version (update_model_package ModelApprovalStatus="
        "'Approved') to serve only approved models.",
        group,
        chosen.get("ModelPackageVersion"),
        chosen.get("ModelApprovalStatus"),
    )
    return chosen, "latest registered (no version is approved)"


def _newest(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    def order(summary: dict[str, Any]) -> tuple[int, float]:
        created = summary.get("CreationTime")
        stamp = created.timestamp() if isinstance(created, datetime) else 0.0
        return int(summary.get("ModelPackageVersion") or 0), stamp

    return max(summaries, key=order)
