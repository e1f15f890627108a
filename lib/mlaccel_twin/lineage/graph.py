"""The lineage graph of one account and region, as SageMaker ML Lineage Tracking keeps it.

Artifacts (a data set, a model, an image: ``CreateArtifact``), contexts (an endpoint, a
deployment: ``CreateContext``) and actions (a deployment, an approval: ``CreateAction``) are
vertices; associations (``AddAssociation``: ``ContributedTo``, ``AssociatedWith``,
``DerivedFrom``, ``Produced``, ``SameAs``) are directed edges from a source to a destination,
between these and trial components. ``QueryLineage`` walks the edges from its start vertices
towards their ascendants (sources), descendants (destinations) or both, up to ``MaxDepth``,
and answers the vertices that pass its filters (with the edges walked, when asked).

Everything here is plain data and raises :class:`LineageError` with the code and message
SageMaker answers; :mod:`mlaccel_twin.lineage.seam` serves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ASSOCIATION_TYPES = ("ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs")
KINDS = {"artifact": "Artifact", "context": "Context", "action": "Action"}
DIRECTIONS = ("Both", "Ascendants", "Descendants")


class LineageError(Exception):
    """A request SageMaker refuses: ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Entity:
    """An artifact, context or action."""

    kind: str  # "artifact" | "context" | "action"
    arn: str
    name: str | None
    type: str | None
    source: dict[str, Any]
    created: datetime
    modified: datetime
    properties: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    status: str | None = None  # actions only
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def lineage_type(self) -> str:
        return KINDS[self.kind]

    def described(self) -> dict[str, Any]:
        """DescribeArtifact / DescribeContext / DescribeAction's answer."""
        label = self.lineage_type
        answer: dict[str, Any] = {
            f"{label}Arn": self.arn,
            f"{label}Name": self.name,
            f"{label}Type": self.type,
            "Source": self.source,
            "Properties": self.properties,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
        }
        if self.description is not None:
            answer["Description"] = self.description
        if self.status is not None:
            answer["Status"] = self.status
        if self.metadata:
            answer["MetadataProperties"] = self.metadata
        return {k: v for k, v in answer.items() if v is not None}

    def summary(self) -> dict[str, Any]:
        """An entry of ListArtifacts / ListContexts / ListActions."""
        label = self.lineage_type
        answer = {
            f"{label}Arn": self.arn,
            f"{label}Name": self.name,
            f"{label}Type": self.type,
            "Source": self.source,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "Status": self.status,
        }
        return {k: v for k, v in answer.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Entity:
        times = {k: _as_time(saved[k]) for k in ("created", "modified")}
        return cls(**{**saved, **times})


@dataclass(frozen=True)
class Association:
    source: str
    destination: str
    type: str | None
    created: datetime

    def edge(self) -> dict[str, Any]:
        answer = {"SourceArn": self.source, "DestinationArn": self.destination}
        if self.type:
            answer["AssociationType"] = self.type
        return answer

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class LineageGraph:
    """One account and region's lineage entities and associations.

    ``external`` describes vertices kept elsewhere (trial components): their lineage type,
    type and creation time by ARN, ``None`` when no such resource exists.

    Examples
    --------
    >>> graph = LineageGraph("123456789012", "us-east-1")
    >>> data = graph.create("artifact", {"Source": {"SourceUri": "s3://b/data.csv"},
    ...                                  "ArtifactType": "DataSet"})
    >>> model = graph.create("artifact", {"Source": {"SourceUri": "s3://b/model.tar.gz"},
    ...                                   "ArtifactType": "Model"})
    >>> endpoint = graph.create("context", {"ContextName": "ep", "ContextType": "Endpoint",
    ...                                     "Source": {"SourceUri": "arn:endpoint/ep"}})
    >>> graph.associate(data, model, "ContributedTo")
    >>> graph.associate(model, endpoint, "ContributedTo")
    >>> found = graph.query({"StartArns": [endpoint], "Direction": "Ascendants",
    ...                      "Filters": {"Types": ["DataSet"]}})
    >>> [v["Arn"] == data for v in found["Vertices"]]
    [True]
    """

    def __init__(
        self,
        account: str,
        region: str,
        external: Callable[[str], dict[str, Any] | None] = lambda arn: None,
    ) -> None:
        self.account, self.region, self.external = account, region, external
        self.entities: dict[str, Entity] = {}
        self.associations: dict[tuple[str, str], Association] = {}
        # trial components SageMaker makes for its jobs, by ARN: Type, Name, SourceArn, times
        self.job_components: dict[str, dict[str, Any]] = {}

    # -- artifacts, contexts, actions ----------------------------------------------------

    def create(self, kind: str, params: dict[str, Any]) -> str:
        """Create an artifact, context or action from its Create request; return its ARN."""
        label = KINDS[kind]
        name = params.get(f"{label}Name")
        source = dict(params.get("Source") or {})
        if kind != "artifact" and not name:
            raise LineageError("ValidationException", f"{label}Name is required")
        if not source.get("SourceUri"):
            raise LineageError("ValidationException", "Source.SourceUri is required")
        if kind == "action" and not params.get("ActionType"):
            raise LineageError("ValidationException", "ActionType is required")
        if kind == "context" and not params.get("ContextType"):
            raise LineageError("ValidationException", "ContextType is required")
        now = datetime.now(UTC)
        arn = self._arn(kind, name, source, now)
        if arn in self.entities:
            raise LineageError(
                "ValidationException", f"{label} {name or arn} already exists: {arn}"
            )
        self.entities[arn] = Entity(
            kind=kind,
            arn=arn,
            name=name,
            type=params.get(f"{label}Type"),
            source=source,
            created=now,
            modified=now,
            properties=dict(params.get("Properties") or {}),
            description=params.get("Description"),
            status=params.get("Status") or ("Unknown" if kind == "action" else None),
            metadata=dict(params.get("MetadataProperties") or {}),
        )
        return arn

    def _arn(self, kind: str, name: str | None, source: dict[str, Any], now: datetime) -> str:
        prefix = f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/"
        if kind != "artifact":
            return prefix + str(name).lower()
        seed = f"{source.get('SourceUri')}|{name}|{now.isoformat()}|{len(self.entities)}"
        return prefix + hashlib.sha256(seed.encode()).hexdigest()[:32]

    def find(self, kind: str, key: str) -> Entity:
        """An entity by ARN (artifacts) or by name or ARN (contexts, actions)."""
        label = KINDS[kind]
        arn = key if key.startswith("arn:") else self._arn(kind, key, {}, datetime.now(UTC))
        entity = self.entities.get(arn)
        if entity is None or entity.kind != kind:
            raise LineageError("ResourceNotFound", f"{label} {key} does not exist")
        return entity

    def listed(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """List* summaries, filtered by source URI, type and creation time, sorted."""
        label = KINDS[kind]
        found = [
            e
            for e in self.entities.values()
            if e.kind == kind
            and _matches(e.source.get("SourceUri"), params.get("SourceUri"))
            and _matches(e.type, params.get(f"{label}Type"))
            and _in_window(e.created, params.get("CreatedAfter"), params.get("CreatedBefore"))
        ]
        by_name = params.get("SortBy") == "Name"
        found.sort(
            key=lambda e: (e.name or "") if by_name else e.created,
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return [e.summary() for e in found]

    def update(self, kind: str, key: str, params: dict[str, Any]) -> str:
        entity = self.find(kind, key)
        for removed in params.get("PropertiesToRemove") or []:
            entity.properties.pop(removed, None)
        entity.properties.update(params.get("Properties") or {})
        if kind == "artifact" and params.get("ArtifactName"):
            entity.name = params["ArtifactName"]
        for key_name, attribute in (("Description", "description"), ("Status", "status")):
            if params.get(key_name) is not None:
                setattr(entity, attribute, params[key_name])
        entity.modified = datetime.now(UTC)
        return entity.arn

    def delete(self, kind: str, key: str) -> str:
        """Delete an entity and every association it is an end of; return its ARN."""
        arn = self.find(kind, key).arn
        del self.entities[arn]
        for pair in [p for p in self.associations if arn in p]:
            del self.associations[pair]
        return arn

    def by_source(self, source_uri: str) -> str:
        """DeleteArtifact by ``Source``: the artifact with that source URI."""
        for entity in self.entities.values():
            if entity.kind == "artifact" and entity.source.get("SourceUri") == source_uri:
                return entity.arn
        raise LineageError("ResourceNotFound", f"Artifact with source {source_uri} does not exist")

    def artifact_for(self, source_uri: str, artifact_type: str) -> str:
        """The artifact of ``source_uri`` and type, made when missing, as SageMaker's own
        lineage tracking reuses one artifact per source (so a model produced by a training
        job is the model its endpoint deploys)."""
        for entity in self.entities.values():
            if (
                entity.kind == "artifact"
                and entity.type == artifact_type
                and entity.source.get("SourceUri") == source_uri
            ):
                return entity.arn
        return self.create(
            "artifact", {"Source": {"SourceUri": source_uri}, "ArtifactType": artifact_type}
        )

    def context_for(self, name: str, source_uri: str, context_type: str) -> str:
        """The context of that name, made when missing."""
        try:
            return self.find("context", name).arn
        except LineageError:
            return self.create(
                "context",
                {
                    "ContextName": name,
                    "ContextType": context_type,
                    "Source": {"SourceUri": source_uri, "SourceType": "ARN"},
                },
            )

    def action_for(self, name: str, source_uri: str, action_type: str) -> str:
        """The action of that name, made when missing."""
        try:
            return self.find("action", name).arn
        except LineageError:
            return self.create(
                "action",
                {
                    "ActionName": name,
                    "ActionType": action_type,
                    "Status": "Completed",
                    "Source": {"SourceUri": source_uri, "SourceType": "ARN"},
                },
            )

    def link(self, source: str, destination: str, kind: str) -> None:
        """Associate once: a second link of the same pair changes nothing."""
        if (source, destination) not in self.associations:
            self.associate(source, destination, kind)

    # -- associations ----------------------------------------------------------------------

    def associate(self, source: str, destination: str, kind: str | None) -> None:
        if kind is not None and kind not in ASSOCIATION_TYPES:
            raise LineageError(
                "ValidationException",
                f"AssociationType {kind!r} is not one of {', '.join(ASSOCIATION_TYPES)}",
            )
        for arn in (source, destination):
            self.vertex(arn)  # both ends must exist
        if (source, destination) in self.associations:
            raise LineageError(
                "ValidationException", f"association {source} -> {destination} already exists"
            )
        self.associations[(source, destination)] = Association(
            source, destination, kind, datetime.now(UTC)
        )

    def dissociate(self, source: str, destination: str) -> None:
        if self.associations.pop((source, destination), None) is None:
            raise LineageError(
                "ResourceNotFound", f"association {source} -> {destination} does not exist"
            )

    def listed_associations(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for association in self.associations.values():
            source, destination = (
                self.vertex(association.source),
                self.vertex(association.destination),
            )
            row = {
                "SourceArn": association.source,
                "DestinationArn": association.destination,
                "SourceType": source["Type"],
                "DestinationType": destination["Type"],
                "AssociationType": association.type,
                "SourceName": source.get("Name"),
                "DestinationName": destination.get("Name"),
                "CreationTime": association.created,
            }
            wanted = {
                key: params.get(key)
                for key in (
                    "SourceArn",
                    "DestinationArn",
                    "SourceType",
                    "DestinationType",
                    "AssociationType",
                )
            }
            if all(_matches(row[k], v) for k, v in wanted.items()) and _in_window(
                association.created, params.get("CreatedAfter"), params.get("CreatedBefore")
            ):
                rows.append({k: v for k, v in row.items() if v is not None})
        rows.sort(
            key=lambda r: r["CreationTime"],
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return rows

    # -- QueryLineage ------------------------------------------------------------------------

    def vertex(self, arn: str) -> dict[str, Any]:
        """``Arn``, ``Type``, ``LineageType`` (plus ``Name`` and times) of a vertex."""
        entity = self.entities.get(arn)
        if entity is not None:
            return {
                "Arn": arn,
                "Type": entity.type,
                "LineageType": entity.lineage_type,
                "Name": entity.name,
                "Created": entity.created,
                "Modified": entity.modified,
                "Properties": entity.properties,
            }
        component = self.job_components.get(arn)
        if component is not None:
            return {"Arn": arn, "LineageType": "TrialComponent", **component}
        other = self.external(arn)
        if other is None:
            raise LineageError("ResourceNotFound", f"{arn} does not exist")
        return {"Arn": arn, **other}

    def query(self, params: dict[str, Any]) -> dict[str, Any]:
        """QueryLineage's answer: vertices reached from ``StartArns`` that pass ``Filters``."""
        direction = params.get("Direction", "Both")
        if direction not in DIRECTIONS:
            raise LineageError(
                "ValidationException", f"Direction {direction!r} is not one of {DIRECTIONS}"
            )
        starts = list(params.get("StartArns") or [])
        if not starts:
            raise LineageError("ValidationException", "StartArns needs at least one ARN")
        depth = int(params.get("MaxDepth", 10))
        reached, edges = self._walk(starts, direction, depth)
        filters = params.get("Filters") or {}
        vertices = [
            {k: v[k] for k in ("Arn", "Type", "LineageType") if v.get(k) is not None}
            for v in (self.vertex(arn) for arn in reached)
            if _passes(v, filters)
        ]
        answer: dict[str, Any] = {"Vertices": vertices}
        answer["Edges"] = [e.edge() for e in edges] if params.get("IncludeEdges") else []
        return answer

    def _walk(
        self, starts: Iterable[str], direction: str, depth: int
    ) -> tuple[list[str], list[Association]]:
        for arn in starts:
            self.vertex(arn)
        seen = list(dict.fromkeys(starts))
        edges: list[Association] = []
        frontier = list(seen)
        for _ in range(depth):
            following = []
            for association in self.associations.values():
                ends = []
                if direction in ("Both", "Descendants") and association.source in frontier:
                    ends.append(association.destination)
                if direction in ("Both", "Ascendants") and association.destination in frontier:
                    ends.append(association.source)
                if ends and association not in edges:
                    edges.append(association)
                following += [arn for arn in ends if arn not in seen and arn not in following]
            if not following:
                break
            seen += following
            frontier = following
        return seen, edges

    # -- saved state -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "entities": [e.to_json() for e in self.entities.values()],
            "associations": [a.to_json() for a in self.associations.values()],
            "job_components": self.job_components,
        }

    def load(self, saved: dict[str, Any]) -> None:
        for item in saved.get("entities", []):
            entity = Entity.from_json(item)
            self.entities[entity.arn] = entity
        for item in saved.get("associations", []):
            association = Association(
                item["source"], item["destination"], item.get("type"), _as_time(item["created"])
            )
            self.associations[(association.source, association.destination)] = association
        for arn, component in saved.get("job_components", {}).items():
            times = {k: _as_time(component[k]) for k in ("Created", "Modified") if k in component}
            self.job_components[arn] = {**component, **times}


def _matches(value: Any, wanted: Any) -> bool:
    return wanted in (None, "") or value == wanted


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value))


def _in_window(when: datetime, after: Any, before: Any) -> bool:
    return (after is None or when > _as_time(after)) and (before is None or when < _as_time(before))


def _passes(vertex: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a vertex passes QueryLineage's ``Filters``."""
    if filters.get("Types") and vertex.get("Type") not in filters["Types"]:
        return False
    if filters.get("LineageTypes") and vertex.get("LineageType") not in filters["LineageTypes"]:
        return False
    created, modified = vertex.get("Created"), vertex.get("Modified") or vertex.get("Created")
    if created is not None and not _in_window(
        created, filters.get("CreatedAfter"), filters.get("CreatedBefore")
    ):
        return False
    if modified is not None and not _in_window(
        modified, filters.get("ModifiedAfter"), filters.get("ModifiedBefore")
    ):
        return False
    properties = vertex.get("Properties") or {}
    return all(properties.get(k) == v for k, v in (filters.get("Properties") or {}).items())
