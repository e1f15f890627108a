"""Seam: SageMaker ML Lineage Tracking, which moto lacks.

Adds CreateArtifact, DescribeArtifact, ListArtifacts, UpdateArtifact, DeleteArtifact, the same
for contexts and actions, AddAssociation, DeleteAssociation, ListAssociations and QueryLineage
to moto's SageMaker responses, over one :class:`~mlaccel_twin.lineage.graph.LineageGraph` per
account and region. Trial components (moto's) may be ends of associations. Jobs and endpoints
record their own lineage (:mod:`mlaccel_twin.lineage.automatic`); a job's trial component
names its job (DescribeTrialComponent's ``Source``, ListTrialComponents by ``SourceArn``). The
graphs (:mod:`mlaccel_twin.lineage.store`) are saved with the twin's state (:func:`snapshot`,
:func:`restore`).

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's SageMaker responses no longer have what this seam uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace
from mlaccel_twin.lineage.graph import KINDS, LineageError, LineageGraph
from mlaccel_twin.lineage.store import LOCK, graph_for, snapshot

__all__ = ["check_seams", "install", "restore", "snapshot"]

PAGE_SIZE = 100


def check_seams() -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    needed = [
        (SageMakerResponse, "sagemaker_backend"),
        (SageMakerResponse, "describe_trial_component"),
        (SageMakerResponse, "list_trial_components"),
        (SageMakerModelBackend, "create_trial_component"),
    ]
    fail_if_broken("lineage", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    """Add the lineage actions to moto's SageMaker responses."""
    from moto.sagemaker.responses import SageMakerResponse

    check_seams()
    for name, action in _actions().items():
        add(SageMakerResponse, name, action)
    replace(SageMakerResponse, "describe_trial_component", _with_job_source)
    replace(SageMakerResponse, "list_trial_components", _by_job_source)


def _with_job_source(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto keeps no Source; a job's trial component names its job, as SageMaker's do.
    def describe_trial_component(self: Any) -> Any:
        from mlaccel_twin.lineage.automatic import component_source

        result = original(self)
        arn = result.result.get("TrialComponentArn", "")
        with LOCK:
            source = component_source(graph_for(self.sagemaker_backend), arn)
        return type(result)({**result.result, "Source": source}) if source else result

    return describe_trial_component


def _by_job_source(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto ignores SourceArn; it finds the trial component SageMaker made for a job.
    def list_trial_components(self: Any) -> Any:
        from moto.core.responses import ActionResult

        source = dict(json.loads(self.body or "{}")).get("SourceArn")
        if not source:
            return original(self)
        with LOCK:
            graph = graph_for(self.sagemaker_backend)
            found = [
                {
                    "TrialComponentName": c["Name"],
                    "TrialComponentArn": arn,
                    "DisplayName": c["Name"],
                    "TrialComponentSource": {
                        "SourceArn": c["SourceArn"],
                        "SourceType": c["SourceType"],
                    },
                    "CreationTime": c["Created"],
                    "LastModifiedTime": c["Modified"],
                }
                for arn, c in graph.job_components.items()
                if c["SourceArn"] == source
            ]
        return ActionResult({"TrialComponentSummaries": found})

    return list_trial_components


def restore(saved: list[dict[str, Any]]) -> None:
    """Load graphs saved by :func:`snapshot` into the running twin."""
    from moto.sagemaker.models import sagemaker_backends

    from mlaccel_twin.lineage.automatic import ensure_component

    for item in saved:
        backend = sagemaker_backends[item["account"]][item["region"]]
        graph = graph_for(backend)
        graph.load(item)
        for component in graph.job_components.values():
            ensure_component(backend, component["Name"])


def _served(work: Callable[[LineageGraph, dict[str, Any]], dict[str, Any]]) -> Any:
    """A response method running ``work`` on the caller's graph, errors as SageMaker's."""

    def action(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.sagemaker.exceptions import ResourceNotFound, ValidationError

        params = dict(json.loads(self.body or "{}"))
        try:
            with LOCK:
                return ActionResult(work(graph_for(self.sagemaker_backend), params))
        except LineageError as error:
            if error.code == "ResourceNotFound":
                raise ResourceNotFound(str(error)) from None
            raise ValidationError(str(error)) from None

    return action


def _page(rows: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    """One page of a List* answer: ``MaxResults`` rows from ``NextToken`` (an offset)."""
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or PAGE_SIZE)
    answer: dict[str, Any] = {key: rows[start : start + size]}
    if start + size < len(rows):
        answer["NextToken"] = str(start + size)
    return answer


def _entity_actions(kind: str) -> dict[str, Callable[[Any], Any]]:
    label = KINDS[kind]
    lookup = f"{label}Arn" if kind == "artifact" else f"{label}Name"

    def create(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
        return {f"{label}Arn": graph.create(kind, params)}

    def describe(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
        return graph.find(kind, params[lookup]).described()

    def listed(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
        return _page(graph.listed(kind, params), params, f"{label}Summaries")

    def update(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
        return {f"{label}Arn": graph.update(kind, params[lookup], params)}

    def delete(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
        key = params.get(lookup) or graph.by_source(
            str((params.get("Source") or {}).get("SourceUri", ""))
        )
        return {f"{label}Arn": graph.delete(kind, key)}

    plural = {"artifact": "artifacts", "context": "contexts", "action": "actions"}[kind]
    return {
        f"create_{kind}": _served(create),
        f"describe_{kind}": _served(describe),
        f"list_{plural}": _served(listed),
        f"update_{kind}": _served(update),
        f"delete_{kind}": _served(delete),
    }


def _add_association(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
    graph.associate(params["SourceArn"], params["DestinationArn"], params.get("AssociationType"))
    return {"SourceArn": params["SourceArn"], "DestinationArn": params["DestinationArn"]}


def _delete_association(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
    graph.dissociate(params["SourceArn"], params["DestinationArn"])
    return {"SourceArn": params["SourceArn"], "DestinationArn": params["DestinationArn"]}


def _list_associations(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
    return _page(graph.listed_associations(params), params, "AssociationSummaries")


def _query_lineage(graph: LineageGraph, params: dict[str, Any]) -> dict[str, Any]:
    return graph.query(params)


def _actions() -> dict[str, Callable[[Any], Any]]:
    actions: dict[str, Callable[[Any], Any]] = {}
    for kind in KINDS:
        actions.update(_entity_actions(kind))
    actions.update(
        add_association=_served(_add_association),
        delete_association=_served(_delete_association),
        list_associations=_served(_list_associations),
        query_lineage=_served(_query_lineage),
    )
    return actions
