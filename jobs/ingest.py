"""The event handling path, SQS aside: messages -> items -> each source's route -> one graph write.

    ingest = EventIngest(writer, handlers)  # the sources' event handlers: their routes decide who takes what
    handled = ingest.prepare(messages)     # parse; route each item; the sources' AWS follow-ups
    ingest.commit(handled)                 # one GraphWriter.write for all of them; in-commit work; hooks

`prepare` runs per receive batch (in parallel threads); `commit` may take several prepared batches
at once. A Neo4j outage surfaces as `Neo4jOutage` so the caller can hold the messages and retry;
any other failure is pinned on the messages it concerns (outcome FAILED: not deleted, redelivered
after the visibility timeout, dead-lettered after maxReceiveCount).
"""
from __future__ import annotations

import gc
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import ManagedTransaction

from collector.aws import describe_error as describe
from collector.events import CloudEvent, GitPushEvent, Ignored, MalformedMessage, S3ObjectEvent, parse_body
from graphstore.connection import Neo4jOutage, is_outage
from graphstore.model import Graph, WriteStats, merge_into
from graphstore.writer import GraphWriter
from jobs.sources.base import Effect, EventHandler, Pending, Route

log = logging.getLogger("lineage.events")

OK, FAILED, POISON = "ok", "failed", "poison"
__all__ = [
    "FAILED",
    "OK",
    "POISON",
    "CommitReport",
    "EventIngest",
    "Handled",
    "Message",
    "Neo4jOutage",
    "describe",
    "item_kind",
    "tune_gc",
]


def tune_gc() -> None:
    """Garbage-collector settings for a process that handles events: each message allocates many
    short-lived dicts and tuples, and at the default thresholds the collector keeps rescanning what
    lives on (the driver, caches, the group being written) -- about a tenth of the handling time in
    bench/ingest.py. Objects loaded so far are frozen out of collections; young ones are collected
    in larger batches. Reference cycles are rare in this data, so memory stays bounded."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def item_kind(item: Any) -> str:
    """The routing key of a parsed item (see jobs.sources.base)."""
    if isinstance(item, CloudEvent):
        return f"{item.source}:{item.detail_type}"
    if isinstance(item, S3ObjectEvent):
        return "aws.s3:object"
    if isinstance(item, GitPushEvent):
        return "git:push"
    return type(item).__name__


@dataclass
class Message:
    queue_url: str
    message_id: str
    body: str
    receipt_handle: str = ""
    receive_count: int = 1
    attributes: dict[str, Any] = field(default_factory=dict)  # SQS message attributes, kept when dead-lettering


@dataclass
class Handled:
    message: Message
    outcome: str = OK
    error: str | None = None
    graph: Graph = field(default_factory=Graph)
    kinds: Counter[str] = field(default_factory=Counter)
    effects: list[tuple[EventHandler, Effect]] = field(default_factory=list)

    def fail(self, outcome: str, error: str) -> None:
        self.outcome, self.error = outcome, error

    def data(self, kind: type) -> list[Any]:
        """The effects' data of one type (e.g. the S3ObjectEvents this message carried)."""
        return [e.data for _, e in self.effects if isinstance(e.data, kind)]


@dataclass
class CommitReport:
    messages: int = 0
    events: int = 0
    failed: int = 0
    writes: WriteStats = field(default_factory=WriteStats)
    counts: Counter[str] = field(default_factory=Counter)  # what the handlers' `committed` steps counted
    seconds: float = 0.0


class EventIngest:
    def __init__(self, writer: GraphWriter, handlers: Sequence[EventHandler] = ()) -> None:
        self.writer = writer
        self.handlers = list(handlers)
        self.routes: dict[str, tuple[EventHandler, Route]] = {}
        for source in self.handlers:
            for kind, route in source.event_routes().items():
                if kind in self.routes:
                    raise ValueError(f"event kind {kind!r} is routed by both {self.routes[kind][0].name} "
                                     f"and {source.name}")
                self.routes[kind] = (source, route)

    @property
    def counters(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for source in self.handlers:
            total.update(getattr(source, "counters", {}))
        return total

    # --- prepare: parse, route, the sources' follow-ups ----------------------------------------

    def prepare(self, messages: Iterable[Message]) -> list[Handled]:
        handled = [self._parse(m) for m in messages]
        for source, pending in self._pending(handled).items():
            source.prepare(pending)
        return handled

    def _pending(self, handled: Iterable[Handled]) -> dict[EventHandler, list[Pending]]:
        by_source: dict[EventHandler, list[Pending]] = defaultdict(list)
        for h in handled:
            if h.outcome == OK:
                for source, effect in h.effects:
                    by_source[source].append((h, effect))
        return by_source

    def _parse(self, message: Message) -> Handled:
        h = Handled(message)
        try:
            items = parse_body(message.body)
        except MalformedMessage as exc:
            h.fail(POISON, str(exc))
            return h
        for item in items:
            try:
                self._take(h, item)
            except MalformedMessage as exc:
                h.fail(POISON, str(exc))
                return h
            except Exception as exc:  # a bug or a surprise in one event must not stop the others
                log.exception("message %s: cannot handle %s", message.message_id, type(item).__name__)
                h.fail(FAILED, describe(exc))
                return h
        return h

    def _take(self, h: Handled, item: Any) -> None:
        if isinstance(item, Ignored):
            h.kinds[f"ignored:{item.kind}"] += 1
            return
        kind = item_kind(item)
        routed = self.routes.get(kind)
        if routed is None:
            h.kinds["git:no-handler" if kind == "git:push" else f"unknown:{kind}"] += 1
            return
        source, route = routed
        effect = route(item)
        h.kinds[effect.kind] += 1
        h.effects.append((source, effect))
        if effect.graph.nodes or effect.graph.rels:
            if h.graph.nodes:
                merge_into(h.graph, effect.graph)
            else:
                h.graph = effect.graph

    # --- commit: one graph write, in-commit work, hooks ----------------------------------------

    def commit(self, handled: Sequence[Handled]) -> CommitReport:
        """Write what the OK messages carry; raises Neo4jOutage (nothing is then known to be written)."""
        started = time.perf_counter()
        ok = [h for h in handled if h.outcome == OK]
        report = CommitReport(messages=len(ok), events=sum(sum(h.kinds.values()) for h in ok))
        merged = Graph()
        for h in ok:
            merge_into(merged, h.graph)
        pending = self._pending(ok)
        planned = {source: source.in_commit(items) for source, items in pending.items()}
        work = {source: fn for source, fn in planned.items() if fn is not None}
        try:
            report.writes = self.writer.write(merged, source="event", finish=_all_of(work) if work else None)
            results = report.writes.finish_result or {}
        except Exception as exc:
            if is_outage(exc):
                raise Neo4jOutage(describe(exc)) from exc
            log.warning("graph write of %d messages failed (%s); writing them one by one", len(ok), describe(exc))
            report.writes = self._write_one_by_one(ok)
            pending = self._pending(ok)
            results = self._in_commit_apart(pending)
        for source, items in pending.items():
            report.counts.update(source.committed(items, results.get(source.name)) or {})
        report.failed = sum(1 for h in ok if h.outcome != OK)
        report.seconds = time.perf_counter() - started
        return report

    def handle(self, messages: Iterable[Message]) -> list[Handled]:
        """prepare + commit in one call (benchmarks, tests, one-shot tools)."""
        handled = self.prepare(messages)
        self.commit(handled)
        return handled

    def _write_one_by_one(self, handled: list[Handled]) -> WriteStats:
        stats = WriteStats()
        for h in handled:
            try:
                stats.add(self.writer.write(h.graph, source="event"))
            except Exception as exc:
                if is_outage(exc):
                    raise Neo4jOutage(describe(exc)) from exc
                log.error("message %s: graph write failed: %s", h.message.message_id, describe(exc))
                h.fail(FAILED, f"graph write: {describe(exc)}")
        return stats

    def _in_commit_apart(self, pending: dict[EventHandler, list[Pending]]) -> dict[str, Any]:
        """In-commit work of the messages whose graph was written one by one, in a transaction of its own."""
        planned = {source: source.in_commit(items) for source, items in pending.items()}
        work = {source: fn for source, fn in planned.items() if fn is not None}
        if not work:
            return {}
        try:
            with self.writer.driver.session(database=self.writer.database) as session:
                return dict(session.execute_write(_all_of(work)))
        except Exception as exc:
            if is_outage(exc):
                raise Neo4jOutage(describe(exc)) from exc
            raise


def _all_of(work: dict[EventHandler, Callable[[ManagedTransaction], Any]]
            ) -> Callable[[ManagedTransaction], dict[str, Any]]:
    def run(tx: ManagedTransaction) -> dict[str, Any]:
        return {source.name: fn(tx) for source, fn in work.items()}

    return run
