"""Schema versioning: an observation plus what the graph holds -> graph data. Pure.

A new SchemaVersion only when the fingerprint changes; it links to the version it replaces
(PREVIOUS) and carries the diff and a drift flag. `(Dataset)-[:HAS_SCHEMA {current: true}]->`
is the current schema. A version's key is `<dataset>@<fingerprint>`; a later return to an
older schema is a new version keyed `<dataset>@<fingerprint>#<n>` so history never loops.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from collector.s3.extract import Observation
from collector.s3.schema import Column, columns_from_json, columns_json, diff
from collector.s3uri import split
from graphstore.model import Graph


@dataclass
class StoredSchema:
    """What the graph holds about a dataset's schema (graphstore.s3_state reads it)."""

    dataset: str
    current_id: str | None = None
    current_fingerprint: str | None = None
    current_version: int = 0
    current_columns: list[Column] = field(default_factory=list)
    current_observed_at: datetime | None = None
    version_ids: set[str] = field(default_factory=set)
    newest_object: str | None = None
    newest_object_etag: str | None = None
    newest_object_time: datetime | None = None
    format: str | None = None
    # {id, fingerprint, version, columns, observed_at, object, first_seen_object}, by version
    versions: list[dict[str, Any]] = field(default_factory=list)


def stored_schema(row: Mapping[str, Any]) -> StoredSchema:
    """A graphstore.s3_state `schemas` row as a StoredSchema."""
    versions = list(row.get("versions") or [])
    stored = StoredSchema(row["uri"], newest_object=row.get("newest"), newest_object_etag=row.get("etag"),
                          newest_object_time=row.get("time"), version_ids={v["id"] for v in versions},
                          format=row.get("format"), versions=sorted(versions, key=lambda v: v.get("version") or 0))
    current = next((v for v in versions if v["id"] == row.get("current")), None)
    if current is None and versions:  # no pointer (older writer): the highest version
        current = max(versions, key=lambda v: v.get("version") or 0)
    if current:
        stored.current_id = current["id"]
        stored.current_fingerprint = current["fingerprint"]
        stored.current_columns = columns_from_json(current["columns"])
        stored.current_observed_at = current.get("observed_at")
    stored.current_version = max((v.get("version") or 0 for v in versions), default=0)
    return stored


@dataclass
class Planned:
    graph: Graph
    outcome: str  # new_version | unchanged | stale | unreadable | no_schema
    version_id: str | None = None
    drift: bool = False


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def plan_observation(dataset: str, obs: Observation, stored: StoredSchema | None, now: datetime) -> Planned:
    stored = stored or StoredSchema(dataset)
    obj = obs.object
    observed_at = _utc(obj.modified) or now
    graph = Graph()
    ref = graph.node("Dataset", dataset, {"bucket": split(dataset)[0], "format": obs.format, "scanned_at": now},
                     state={
                         "newest_object": obj.uri, "newest_object_time": observed_at,
                         "newest_object_etag": obj.etag, "newest_object_size": obj.size,
                         "schema_status": obs.status, "schema_error": obs.reason or "",
                         "row_count": obs.row_count,
                     }, state_time=observed_at)
    graph.rel("IN_BUCKET", ref, graph.node("Bucket", split(dataset)[0]))
    if obs.status != "ok" or obs.columns is None:
        return Planned(graph, obs.status)
    current_at = _utc(stored.current_observed_at)
    fp = obs.fingerprint
    assert fp is not None
    if stored.current_fingerprint == fp:
        graph.node("SchemaVersion", stored.current_id or f"{dataset}@{fp}",
                   {"last_observed_at": observed_at, "last_object": obj.uri})
        return Planned(graph, "unchanged", stored.current_id)
    if current_at is not None and observed_at < current_at:
        return Planned(graph, "stale")  # an older object than the one behind the current schema
    version = stored.current_version + 1
    version_id = f"{dataset}@{fp}"
    if version_id in stored.version_ids:
        version_id = f"{dataset}@{fp}#{version}"
    changes = diff(stored.current_columns, obs.columns) if stored.current_id else None
    props = {
        "dataset": dataset, "fingerprint": fp, "version": version, "format": obs.format,
        "columns": columns_json(obs.columns), "column_names": [c.name for c in obs.columns],
        "column_count": len(obs.columns), "observed_at": observed_at, "object": obj.uri,
        "object_etag": obj.etag, "row_count": obs.row_count, "row_groups": obs.row_groups,
        "sampled_rows": obs.sampled_rows, "created_by": obs.details.get("created_by"),
        "last_observed_at": observed_at, "last_object": obj.uri, "previous": stored.current_id,
        "drift": bool(changes and changes.drift), "drift_kinds": changes.drift_kinds if changes else [],
    }
    if changes:
        props.update(added=changes.added, removed=changes.removed, type_changed=json.dumps(changes.type_changed),
                     nullability_changed=json.dumps(changes.nullability_changed), reordered=changes.reordered,
                     change_summary=changes.summary())
    new = graph.node("SchemaVersion", version_id, props)
    graph.node("Dataset", dataset, state={"schema_id": version_id, "schema_fingerprint": fp,
                                          "schema_version": version}, state_time=observed_at)
    graph.rel("HAS_SCHEMA", ref, new, {"current": True, "since": observed_at})
    if stored.current_id:
        old = graph.node("SchemaVersion", stored.current_id)
        graph.rel("HAS_SCHEMA", ref, old, {"current": False, "until": observed_at})
        graph.rel("PREVIOUS", new, old)
    return Planned(graph, "new_version", version_id, bool(changes and changes.drift))
