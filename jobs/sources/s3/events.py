"""S3 object events: Dataset and Bucket nodes, object statistics in the graph write's transaction,
then the hooks (throttled schema reads) once the write committed."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from neo4j import ManagedTransaction

from collector.events import S3ObjectEvent, S3ObjectHook
from collector.events.s3 import objects_graph
from graphstore.model import merge_into
from graphstore.writer import GraphWriter
from jobs.sources.base import Effect, EventHandler, Pending, Route
from jobs.sources.s3.stats import ObjectStatsStore

log = logging.getLogger("lineage.s3")


class S3Events(EventHandler):
    """S3 object events: Dataset and Bucket nodes, object statistics in the graph write's transaction,
    then the hooks (schema reads) once the write committed."""

    name = "s3"

    def __init__(self, writer: GraphWriter, hooks: Sequence[S3ObjectHook] = ()) -> None:
        self.hooks = list(hooks)
        self.object_stats = ObjectStatsStore(writer.driver, writer.database)

    def event_routes(self) -> Mapping[str, Route]:
        return {"aws.s3:object": lambda event: Effect(f"aws.s3:{event.action}", data=event)}

    def prepare(self, pending: Sequence[Pending]) -> None:
        by_message: dict[int, tuple[Any, list[S3ObjectEvent]]] = {}
        for h, effect in pending:
            by_message.setdefault(id(h), (h, []))[1].append(effect.data)
        for h, events in by_message.values():
            graph = objects_graph(events)
            if h.graph.nodes:
                merge_into(h.graph, graph)
            else:
                h.graph = graph

    def in_commit(self, pending: Sequence[Pending]) -> Callable[[ManagedTransaction], Any] | None:
        return self.object_stats.update_for(effect.data for _, effect in pending)

    def committed(self, pending: Sequence[Pending], in_commit_result: Any) -> Mapping[str, int]:
        datasets = self.object_stats.committed(in_commit_result)
        carriers: dict[int, Any] = {}
        events: list[S3ObjectEvent] = []
        for h, effect in pending:
            if h.outcome == "ok":
                carriers[id(h)] = h
                events.append(effect.data)
        for hook in self.hooks if events else ():
            try:
                hook(events)
            except Exception as exc:
                log.warning("S3 object hook %s failed on %d events (%s); their messages will be redelivered",
                            getattr(hook, "__name__", hook), len(events), f"{type(exc).__name__}: {exc}")
                for h in carriers.values():
                    h.fail("failed", f"S3 object hook: {type(exc).__name__}: {exc}")
                break
        return {"datasets": datasets}

    def stop(self, timeout: float) -> Mapping[str, int]:
        counts: dict[str, int] = {}
        for hook in self.hooks:
            stop = getattr(hook, "stop", None)
            for name, value in (stop(timeout) if stop else {}).items():
                counts[name] = counts.get(name, 0) + value
        return counts
