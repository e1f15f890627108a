"""Where the twin keeps its lineage graphs: one per account and region, under one lock.

Both the lineage actions (:mod:`mlaccel_twin.lineage.seam`) and the lineage jobs and endpoints
record on their own (:mod:`mlaccel_twin.lineage.automatic`) work on these graphs.
"""

from __future__ import annotations

import threading
from typing import Any

from mlaccel_twin.lineage.graph import LineageGraph

# (account, region) -> its graph
_graphs: dict[tuple[str, str], LineageGraph] = {}
LOCK = threading.RLock()  # guards every graph


def graph_for(backend: Any) -> LineageGraph:
    """The lineage graph of a moto SageMaker backend's account and region."""
    key = (backend.account_id, backend.region_name)
    with LOCK:
        if key not in _graphs:
            _graphs[key] = LineageGraph(*key, external=lambda arn: _trial_component(backend, arn))
        return _graphs[key]


def _trial_component(backend: Any, arn: str) -> dict[str, Any] | None:
    """A trial component as a vertex (its type: the job kind it tracks, as SageMaker's are)."""
    if ":experiment-trial-component/" not in arn:
        return None
    for component in getattr(backend, "trial_components", {}).values():
        if component.arn == arn:
            sources = getattr(component, "sources", None) or []
            source_type = sources[0].get("SourceType") if sources else None
            return {
                "Type": source_type or "TrialComponent",
                "LineageType": "TrialComponent",
                "Name": component.trial_component_name,
                "Created": component.creation_time,
                "Modified": component.last_modified_time,
            }
    return None


def snapshot() -> list[dict[str, Any]]:
    """Every graph, for the twin's saved state."""
    with LOCK:
        return [
            {"account": account, "region": region, **graph.to_json()}
            for (account, region), graph in _graphs.items()
        ]
