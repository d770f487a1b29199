"""A schema history (collector.s3.history) plus what the graph holds -> graph data. Pure.

History fills in what came before the first schema the collector stored, never what came after:
versions first seen before the earliest stored version are added in front of it (renumbering the
stored ones after them); the current schema, and everything observed by events and scans, stays
as it is. With nothing stored, the history is the whole chain and its last version is current.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from collector.s3.history import History, HistoryVersion
from collector.s3.schema import Column, columns_from_json, columns_json, diff
from collector.s3.versioning import StoredSchema
from collector.s3uri import split
from graphstore.model import Graph


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def plan_history(history: History, stored: StoredSchema | None, now: datetime) -> tuple[Graph, list[str]]:
    """The graph to write and the ids of the versions it adds."""
    dataset = history.dataset
    stored = stored or StoredSchema(dataset)
    graph = Graph()
    ref = graph.node("Dataset", dataset, {"bucket": split(dataset)[0], "history_scanned_at": now,
                                          "history_partitions": history.partitions,
                                          "history_partitions_read": len(history.read)})
    graph.rel("IN_BUCKET", ref, graph.node("Bucket", split(dataset)[0]))
    kept = [v for v in stored.versions if v.get("observed_at") is not None]
    if stored.versions and not kept:
        return graph, []  # stored versions without times: nothing to order the history against
    # The earliest stored version is the chain's first (versions number the order they were seen in),
    # not the one with the earliest time: times tie within a second and a later write may move one.
    first_stored = kept[0] if kept else None
    entries = _before(history, first_stored) if first_stored else list(history.versions)
    joins = bool(entries and first_stored and entries[-1].fingerprint == first_stored["fingerprint"])
    if joins:  # the earliest stored schema was already there earlier: it gets the earlier first sighting
        assert first_stored is not None
        _first_seen(graph, ref, first_stored["id"], entries.pop(), previous=None)
    if not entries:
        return graph, []
    used = set(stored.version_ids)
    ids: list[str] = []
    previous: tuple[str, list[Column]] | None = None
    for number, entry in enumerate(entries, 1):
        version_id = f"{dataset}@{entry.fingerprint}"
        attempt = 0
        while version_id in used:
            attempt += 1
            version_id = f"{dataset}@{entry.fingerprint}#{number}" + (f"-{attempt}" if attempt > 1 else "")
        used.add(version_id)
        ids.append(version_id)
        following = entries[number].first.time if number < len(entries) else None
        current = first_stored is None and following is None
        _version(graph, ref, version_id, number, entry, previous, current=current, until=following)
        previous = (version_id, entry.observation.columns or [])
    assert previous is not None
    if first_stored is None:
        last = entries[-1]
        since = _utc(last.last.time)
        when = max(since, _utc(stored.newest_object_time)) if stored.newest_object_time else since
        graph.node("Dataset", dataset, {"format": last.observation.format},
                   state={"schema_id": ids[-1], "schema_fingerprint": last.fingerprint, "schema_version": len(ids)},
                   state_time=when)
        return graph, ids
    offset = len(entries)
    for v in stored.versions:  # the stored chain moves up behind the history
        graph.node("SchemaVersion", v["id"], {"version": (v.get("version") or 0) + offset})
    head = stored.versions[0]
    new_head = graph.node("SchemaVersion", head["id"], _diff_props(previous, columns_from_json(head.get("columns"))))
    graph.rel("PREVIOUS", new_head, graph.node("SchemaVersion", previous[0]))
    graph.rel("HAS_SCHEMA", ref, graph.node("SchemaVersion", ids[-1]),
              {"current": False, "until": _utc(first_stored["observed_at"])})
    if stored.current_id:
        graph.node("Dataset", dataset, state={"schema_version": stored.current_version + offset},
                   state_time=_utc(stored.newest_object_time or first_stored["observed_at"]))
    return graph, ids


def _before(history: History, first: dict[str, Any]) -> list[HistoryVersion]:
    """The history up to and including the entry the earliest stored version may join.

    By the object it was first seen in, if that is the first object of an entry with its schema: a
    version a history (or a join) wrote, found again whatever its times. Otherwise in the order
    partitions are in, time then path: LastModified has whole seconds, so objects put within one
    second tie, and a time alone cannot say which came first.
    """
    sighting = first.get("first_seen_object") or first.get("object")
    for i, entry in enumerate(history.versions):
        if sighting and entry.first.object.uri == sighting and entry.fingerprint == first["fingerprint"]:
            return history.versions[:i + 1]
    at, path = _utc(first["observed_at"]), _partition(history.dataset, sighting)
    if path is None:
        return [h for h in history.versions if _utc(h.first.time) <= at]
    return [h for h in history.versions if (_utc(h.first.time), h.first.path) <= (at, path)]


def _partition(dataset: str, uri: str | None) -> str | None:
    """An object's partition path relative to the dataset (as collector.s3.history names it), if below it."""
    if not uri or not uri.startswith(dataset) or not dataset.endswith("/"):
        return None
    path = uri[len(dataset):].rpartition("/")[0]
    return f"{path}/" if path else ""


def _version(graph: Graph, ref: Any, version_id: str, number: int, entry: HistoryVersion,
             previous: tuple[str, list[Column]] | None, *, current: bool, until: datetime | None) -> None:
    obs = entry.observation
    columns = obs.columns or []
    first_at = _utc(entry.first.time)
    props = {
        "dataset": ref[1], "fingerprint": entry.fingerprint, "version": number, "format": obs.format,
        "columns": columns_json(columns), "column_names": [c.name for c in columns], "column_count": len(columns),
        "object": obs.object.uri, "object_etag": obs.object.etag, "row_count": obs.row_count,
        "row_groups": obs.row_groups, "sampled_rows": obs.sampled_rows, "created_by": obs.details.get("created_by"),
        "last_observed_at": _utc(entry.last.time), "last_object": entry.last.object.uri,
        "previous": previous[0] if previous else None,
        **_diff_props(previous, columns),
    }
    node = graph.node("SchemaVersion", version_id, props)
    _first_seen(graph, ref, version_id, entry, previous=previous)
    rel: dict[str, Any] = {"current": current, "since": first_at}
    if until is not None:
        rel["until"] = _utc(until)
    graph.rel("HAS_SCHEMA", ref, node, rel)
    if previous:
        graph.rel("PREVIOUS", node, graph.node("SchemaVersion", previous[0]))


def _first_seen(graph: Graph, ref: Any, version_id: str, entry: HistoryVersion,
                previous: tuple[str, list[Column]] | None) -> None:
    first_at = _utc(entry.first.time)
    graph.node("SchemaVersion", version_id, {"first_seen_partition": entry.first.path, "first_seen_at": first_at,
                                             "first_seen_object": entry.first.object.uri, "observed_at": first_at})
    if previous is None:
        graph.rel("HAS_SCHEMA", ref, graph.node("SchemaVersion", version_id), {"since": first_at})


def _diff_props(previous: tuple[str, list[Column]] | None, columns: list[Column]) -> dict[str, Any]:
    if previous is None:
        return {"drift": False, "drift_kinds": []}
    changes = diff(previous[1], columns)
    return {"previous": previous[0], "drift": changes.drift, "drift_kinds": changes.drift_kinds,
            "added": changes.added, "removed": changes.removed, "type_changed": json.dumps(changes.type_changed),
            "nullability_changed": json.dumps(changes.nullability_changed), "reordered": changes.reordered,
            "change_summary": changes.summary()}
