"""S3 object events: parsing both delivery formats, the Dataset they touch, and object statistics.

Two formats reach us: S3 event notifications (`Records[]`, keys URL-encoded) and EventBridge
`Object Created` / `Object Deleted` events (keys as they are). Object statistics (count estimate,
last change) are a pure function of the events seen, so replays and reordering do not change them;
see `apply_object_events`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from collector.events.model import Ignored, MalformedMessage, S3ObjectEvent
from collector.events.names import key_problem
from collector.events.schema import EventBridgeObjectDetail, NotificationRecord, validated
from collector.s3uri import dataset_uri, is_marker, object_key_from_event
from graphstore.model import Graph

_CREATED_PREFIXES = ("ObjectCreated:",)
_DELETED_PREFIXES = ("ObjectRemoved:", "LifecycleExpiration:Delete")
EVENTBRIDGE_ACTIONS = {"Object Created": "created", "Object Deleted": "deleted"}


def _action(event_name: str) -> str | None:
    name = event_name.removeprefix("s3:")
    if name.startswith(_CREATED_PREFIXES):
        return "created"
    if name.startswith(_DELETED_PREFIXES):
        return "deleted"
    return None


def from_notification_record(record: Mapping[str, Any]) -> S3ObjectEvent | Ignored:
    """One `Records[]` entry of an S3 event notification (an object change validated whole, then read)."""
    name = record.get("eventName")
    if not isinstance(name, str):
        raise MalformedMessage(f"S3 record: eventName: not text, got {type(name).__name__}")
    action = _action(name)
    if action is None:
        return Ignored(f"s3:{name.removeprefix('s3:')[:100] or 'unknown'}")
    what = f"S3 record {name[:100]}"
    valid = validated(NotificationRecord, record, what)
    obj = valid.s3.object
    key = object_key_from_event(obj.key)
    problem = key_problem(key)
    if problem:
        raise MalformedMessage(f"{what}: s3.object.key: {problem}")
    return S3ObjectEvent(bucket=valid.s3.bucket.name, key=key, action=action, time=valid.eventTime, size=obj.size,
                         etag=obj.eTag or None, version_id=obj.versionId or None, sequencer=obj.sequencer,
                         region=valid.awsRegion)


def from_eventbridge(detail_type: str, detail: Mapping[str, Any], time: datetime | None,
                     region: str | None, account: str | None = None) -> S3ObjectEvent | Ignored:
    """An EventBridge event with source aws.s3 (its keys are not URL-encoded)."""
    action = EVENTBRIDGE_ACTIONS.get(detail_type)
    if action is None:
        return Ignored(f"aws.s3:{detail_type}")
    what = f"S3 {detail_type} event"
    valid = validated(EventBridgeObjectDetail, detail, f"{what} detail")
    if time is None:
        raise MalformedMessage(f"{what} without a time")
    obj = valid.object
    return S3ObjectEvent(bucket=valid.bucket.name, key=obj.key, action=action, time=time, size=obj.size,
                         etag=obj.etag or obj.eTag or None, version_id=obj.version_id or None, sequencer=obj.sequencer,
                         region=region, account=account)


def dataset_of(event: S3ObjectEvent) -> str:
    return dataset_uri(event.uri, is_prefix=False)


def counts_as_data(event: S3ObjectEvent) -> bool:
    """Commit markers, checksums and folder placeholders touch their dataset but are not data objects."""
    return bool(event.key) and not event.key.endswith("/") and not is_marker(event.key)


def objects_graph(events: Iterable[S3ObjectEvent]) -> Graph:
    """The Dataset (and Bucket) each object belongs to. Statistics are written apart (see below)."""
    graph = Graph()
    for event in events:
        dataset = graph.node("Dataset", dataset_of(event), {"bucket": event.bucket})
        graph.rel("IN_BUCKET", dataset, graph.node("Bucket", event.bucket))
    return graph


# --- object statistics ------------------------------------------------------------------
#
# Per dataset we keep a bounded window of the object keys seen most recently: for each key the
# first and the last event (by S3's per-key sequencer). A key contributes +1 when its last event
# is a creation and -1 when its first event is a deletion (the object existed before we watched).
# So the count is a function of the *set* of events: duplicates change nothing, order does not
# matter, and an overwrite (a second creation) does not count twice. When the window is full the
# key whose last event is oldest leaves it, its contribution folded into `count_base`; only a
# replay of an event for a key that has left the window (more than WINDOW newer keys later) can
# still count twice: that is the estimate's error bound.

WINDOW = 256
_SEQ_WIDTH = 24


def _key_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _position(event: S3ObjectEvent) -> str:
    """Per-key order: S3's sequencer (hex; compared left-padded), else the event time; then the action."""
    sequencer = (event.sequencer or format(int(event.time.timestamp() * 1_000_000), "x")).lower()
    return sequencer.rjust(_SEQ_WIDTH, "0")[-_SEQ_WIDTH:] + ("c" if event.action == "created" else "d")


@dataclass
class _Entry:
    millis: int   # time of the key's last event: what the window evicts by
    first: str
    last: str

    def contribution(self) -> int:
        return (self.last[-1] == "c") - (self.first[-1] == "d")


def _parse_entry(text: str) -> tuple[str, _Entry] | None:
    parts = text.split("|")
    if len(parts) != 4:
        return None
    try:
        return parts[1], _Entry(int(parts[0]), parts[2], parts[3])
    except ValueError:
        return None


@dataclass(frozen=True)
class ObjectStats:
    """What a Dataset node stores about its objects (properties of the same names)."""

    object_count: int = 0
    object_count_base: int = 0
    object_window: tuple[str, ...] = field(default_factory=tuple)
    last_modified: datetime | None = None
    last_object_key: str | None = None
    last_object_size: int | None = None
    last_object_action: str | None = None

    def as_props(self) -> dict[str, Any]:
        return {"object_count": self.object_count, "object_count_base": self.object_count_base,
                "object_window": list(self.object_window), "last_modified": self.last_modified,
                "last_object_key": self.last_object_key, "last_object_size": self.last_object_size,
                "last_object_action": self.last_object_action}


def apply_object_events(stats: ObjectStats, events: Iterable[S3ObjectEvent], window: int = WINDOW) -> ObjectStats:
    """New statistics for one dataset after these events (any order, duplicates allowed)."""
    entries = dict(filter(None, map(_parse_entry, stats.object_window)))
    base = stats.object_count_base
    latest = _latest_of_stored(stats, entries)
    changed = False
    for event in events:
        if not counts_as_data(event):
            continue
        kh, pos = _key_hash(event.key), _position(event)
        entry = entries.get(kh)
        millis = int(event.time.timestamp() * 1000)
        if entry is None:
            entries[kh] = _Entry(millis, pos, pos)
        else:
            if pos < entry.first:
                entry.first = pos
            if pos > entry.last:
                entry.last, entry.millis = pos, millis
        candidate = (event.time, event.key, pos)
        if latest is None or candidate > latest[0]:
            latest = (candidate, event)
        changed = True
    if not changed:
        return stats
    while len(entries) > window:
        kh = min(entries, key=lambda k: (entries[k].millis, k))
        base += entries.pop(kh).contribution()
    ordered = sorted(entries.items(), key=lambda item: (item[1].millis, item[0]))
    total = base + sum(e.contribution() for _, e in ordered)
    result = replace(stats, object_count=max(0, total), object_count_base=base,
                     object_window=tuple(f"{e.millis:013d}|{kh}|{e.first}|{e.last}" for kh, e in ordered))
    if latest is not None and latest[1] is not None:
        event = latest[1]
        result = replace(result, last_modified=event.time, last_object_key=event.key,
                         last_object_size=event.size if event.action == "created" else None,
                         last_object_action=event.action)
    return result


def _latest_of_stored(stats: ObjectStats, entries: dict[str, _Entry]
                      ) -> tuple[tuple[datetime, str, str], S3ObjectEvent | None] | None:
    """The stored latest object as ((time, key, position), no event); None when none is stored."""
    if stats.last_modified is None or stats.last_object_key is None:
        return None
    entry = entries.get(_key_hash(stats.last_object_key))
    return (stats.last_modified, stats.last_object_key, entry.last if entry else ""), None
