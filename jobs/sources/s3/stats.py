"""Dataset object statistics kept in Neo4j (count estimate, last change; see collector.events.s3).

They are a read-modify-write, which the batched MERGE path cannot express. The Dataset nodes
exist (the graph write made them); each update locks them, and a write applies only on top of
what it was computed from. Statistics this process wrote last are kept in memory, stamped with a
fingerprint also stored on the node (`object_stats_hash`), so the common case is one statement:
"apply if the node still holds this fingerprint". Anything else (first sight, another consumer
process wrote since) falls back to reading under the lock. Whoever else changes these properties
must remove `object_stats_hash`.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from neo4j import Driver, ManagedTransaction

from collector.events.model import S3ObjectEvent
from collector.events.s3 import ObjectStats, apply_object_events, dataset_of
from graphstore import object_stats

MAX_CACHED_ENTRIES = 200_000  # window entries kept in memory, all datasets together (~30 MB)

def fingerprint(stats: ObjectStats) -> str:
    text = "\n".join([str(stats.object_count_base), *stats.object_window, repr(stats.last_modified),
                      json.dumps([stats.last_object_key, stats.last_object_size, stats.last_object_action])])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _props(stats: ObjectStats) -> dict[str, Any]:
    return {**stats.as_props(), "object_stats_hash": fingerprint(stats)}


def _stored(row: dict[str, Any]) -> ObjectStats:
    return ObjectStats(
        object_count=row.get("object_count") or 0, object_count_base=row.get("object_count_base") or 0,
        object_window=tuple(row.get("object_window") or ()),
        last_modified=row.get("last_modified"),
        last_object_key=row.get("last_object_key"), last_object_size=row.get("last_object_size"),
        last_object_action=row.get("last_object_action"))


class ObjectStatsStore:
    def __init__(self, driver: Driver, database: str | None = None, max_cached_entries: int = MAX_CACHED_ENTRIES):
        self.driver, self.database, self.max_cached_entries = driver, database, max_cached_entries
        self._cache: OrderedDict[str, tuple[ObjectStats, str]] = OrderedDict()  # uri -> (stats, fingerprint)
        self._cached_entries = 0
        self._lock = threading.Lock()

    def apply(self, events: Iterable[S3ObjectEvent]) -> int:
        """Fold these events into their datasets' statistics, in one transaction; returns datasets touched."""
        update = self.update_for(events)
        if update is None:
            return 0
        written = object_stats.in_write_transaction(self.driver, self.database, update)
        return self.committed(written)

    def update_for(self, events: Iterable[S3ObjectEvent]) -> Callable[[ManagedTransaction], Any] | None:
        """A transaction function folding these events in (None when there are none); pass what it
        returned, once its transaction committed, to `committed`. Lets the graph write's own
        transaction carry the statistics (GraphWriter.write(..., finish=...))."""
        by_dataset: dict[str, list[S3ObjectEvent]] = defaultdict(list)
        for event in events:
            by_dataset[dataset_of(event)].append(event)
        if not by_dataset:
            return None
        with self._lock:
            cached = {uri: self._cache[uri] for uri in by_dataset if uri in self._cache}
        return lambda tx: self._update(tx, dict(by_dataset), cached)

    def committed(self, written: dict[str, tuple[ObjectStats, str]] | None) -> int:
        """Remember what committed (only that), so the next update is one conditional statement."""
        with self._lock:
            for uri, (stats, stamp) in (written or {}).items():
                self._remember(uri, stats, stamp)
        return len(written or {})

    def _update(self, tx: ManagedTransaction, by_dataset: dict[str, list[S3ObjectEvent]],
                cached: dict[str, tuple[ObjectStats, str]]) -> dict[str, tuple[ObjectStats, str]]:
        written: dict[str, tuple[ObjectStats, str]] = {}
        rows, candidates = [], {}
        for uri in sorted(cached):  # a fixed lock order
            before, stamp = cached[uri]
            after = apply_object_events(before, by_dataset[uri])
            if after == before:
                written[uri] = (before, stamp)  # a replay: nothing to write
                continue
            props = _props(after)
            candidates[uri] = (after, props["object_stats_hash"])
            rows.append({"uri": uri, "expected": stamp, "props": props})
        if rows:
            for uri in object_stats.apply_if_unchanged(tx, rows):
                written[uri] = candidates[uri]
        misses = sorted(uri for uri in by_dataset if uri not in written)
        if misses:
            stored = {uri: _stored(row) for uri, row in object_stats.read_locked(tx, misses).items()}
            rows = []
            for uri in misses:
                if uri not in stored:
                    continue  # no such Dataset node (cannot happen after the graph write): nothing to count on
                after = apply_object_events(stored[uri], by_dataset[uri])
                props = _props(after)
                rows.append({"uri": uri, "props": props if after != stored[uri] else {}})
                written[uri] = (after, props["object_stats_hash"])  # unchanged and unstamped: the next update reads
            object_stats.write_unlock(tx, rows)
        return written

    def _remember(self, uri: str, stats: ObjectStats, stamp: str) -> None:
        old = self._cache.pop(uri, None)
        if old is not None:
            self._cached_entries -= len(old[0].object_window) + 1
        self._cache[uri] = (stats, stamp)
        self._cached_entries += len(stats.object_window) + 1
        while self._cached_entries > self.max_cached_entries and self._cache:
            _, (evicted, _) = self._cache.popitem(last=False)
            self._cached_entries -= len(evicted.object_window) + 1
