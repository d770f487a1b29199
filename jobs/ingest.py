"""The event handling path, SQS aside: messages -> items -> each source's route -> one graph write.

    ingest = EventIngest(writer, handlers)  # the sources' event handlers: their routes decide who takes what
    handled = ingest.prepare(messages)     # parse; route each item; the sources' AWS follow-ups
    ingest.commit(handled)                 # one GraphWriter.write for all of them; in-commit work; hooks

`prepare` runs per receive batch (in parallel threads); `commit` may take several prepared batches
at once. Before routing, each message is held to the edge's rules (collector.events.bounds): whatever
goes wrong parsing or validating it, or a time later than its receive time plus the allowed skew,
makes it POISON (dead-lettered at once with the reason), alone; an item outside the configured
accounts and regions is counted and skipped, or dead-lettered, as `EventBounds.out_of_scope` says.
A Neo4j outage surfaces as `Neo4jOutage` so the caller can hold the messages and retry; any other
failure is pinned on the messages it concerns (outcome FAILED: not deleted, redelivered after the
visibility timeout, dead-lettered after maxReceiveCount).
"""
from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from neo4j import ManagedTransaction

from collector.aws import describe_error as describe
from collector.events import CloudEvent, GitPushEvent, Ignored, MalformedMessage, S3ObjectEvent, parse_body
from collector.events.bounds import DEAD_LETTER, EventBounds, out_of_scope, too_late
from graphstore.connection import Neo4jOutage, is_write_outage
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
    "EventBounds",
    "EventIngest",
    "Handled",
    "Message",
    "Neo4jOutage",
    "describe",
    "item_kind",
    "log_fields",
    "sqs_sent_at",
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
    sent_at: datetime | None = None  # SQS's SentTimestamp (AWS-stamped): the receive time events are bounded by

    @cached_property
    def event_id(self) -> str | None:
        """The EventBridge `id` the body names, if any (for log lines; read when first asked)."""
        return event_id_of(self.body)


_EVENT_ID = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII: what EventBridge's UUIDs and PutEvents ids are


def event_id_of(body: str) -> str | None:
    """The `id` of an EventBridge event body, bare or in an SNS notification; None when the body is not JSON,
    is another kind of message, or its id is not short visible ASCII. Never raises: a log line's field only."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
            doc = json.loads(doc["Message"])
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(doc, dict) or "detail-type" not in doc:
        return None
    value = doc.get("id")
    return value if isinstance(value, str) and _EVENT_ID.fullmatch(value) else None


def log_fields(message: Message) -> dict[str, Any]:
    """The fields of a log line about one message: its SQS message id and, when its body names one, its event id.
    Never the body."""
    fields: dict[str, Any] = {"message_id": message.message_id}
    if message.event_id is not None:
        fields["event_id"] = message.event_id
    return fields


def sqs_sent_at(raw: Mapping[str, Any]) -> datetime | None:
    """The SentTimestamp system attribute of a received SQS message (epoch milliseconds), if it was asked for."""
    value = (raw.get("Attributes") or {}).get("SentTimestamp")
    try:
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc) if value is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@dataclass
class Handled:
    message: Message
    outcome: str = OK
    error: str | None = None
    graph: Graph = field(default_factory=Graph)
    kinds: Counter[str] = field(default_factory=Counter)
    effects: list[tuple[EventHandler, Effect]] = field(default_factory=list)
    rejected: str | None = None  # POISON: the rejection's kind (rejected:malformed, out-of-scope:account...)

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
    def __init__(self, writer: GraphWriter, handlers: Sequence[EventHandler] = (),
                 bounds: EventBounds | None = None) -> None:
        self.writer = writer
        self.handlers = list(handlers)
        self.bounds = bounds or EventBounds()
        self._edge: Counter[str] = Counter()  # rejected and out-of-scope messages, by kind
        self._edge_lock = threading.Lock()
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
        with self._edge_lock:
            total.update(self._edge)
        return total

    def stop(self, timeout: float) -> dict[str, int]:
        """After the last commit: each handler finishes or hands back its after-commit work, sharing `timeout`."""
        deadline = time.monotonic() + timeout
        counts: dict[str, int] = {}
        for source in self.handlers:
            try:
                done = source.stop(max(0.0, deadline - time.monotonic())) or {}
            except Exception:  # one handler's stop must not keep the others from theirs
                log.exception("stopping the %s event handler failed", source.name)
                continue
            counts.update({f"{source.name}_{name}": value for name, value in done.items()})
        return counts

    # --- prepare: parse, route, the sources' follow-ups ----------------------------------------

    def prepare(self, messages: Iterable[Message]) -> list[Handled]:
        now = datetime.now(timezone.utc)
        handled = [self._parse(m, now) for m in messages]
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

    def _parse(self, message: Message, now: datetime) -> Handled:
        """Parse, validate, bound and route one message: nothing it holds can fail another message."""
        h = Handled(message)
        try:
            items = parse_body(message.body)
        except MalformedMessage as exc:
            return self._reject(h, "rejected:malformed", str(exc))
        except Exception as exc:  # whatever one hostile body makes a parser do, it is that body's fault alone
            log.exception("message %s: parsing raised", message.message_id, extra={"fields": log_fields(message)})
            return self._reject(h, "rejected:malformed", f"cannot be parsed: {describe(exc)}")
        late = too_late(items, message.sent_at or now, self.bounds.max_clock_skew)
        if late:
            return self._reject(h, "rejected:future-time", late)
        for item in items:
            scope = out_of_scope(item, self.bounds)
            if scope is not None:
                kind, why = scope
                if self.bounds.out_of_scope == DEAD_LETTER:
                    return self._reject(h, kind, f"out of scope: {why}")
                log.info("message %s: %s skipped, out of scope: %s", message.message_id, item_kind(item), why,
                         extra={"fields": log_fields(message)})
                h.kinds[kind] += 1
                self._count(kind)
                continue
            try:
                self._take(h, item)
            except MalformedMessage as exc:
                return self._reject(h, "rejected:malformed", str(exc))
            except Exception as exc:  # routes are pure: the same event fails the same way every time
                log.exception("message %s: cannot handle %s", message.message_id, type(item).__name__,
                              extra={"fields": log_fields(message)})
                return self._reject(h, "rejected:malformed", f"cannot be handled: {describe(exc)}")
        return h

    def _reject(self, h: Handled, kind: str, reason: str) -> Handled:
        """POISON: dead-lettered at once with the reason (jobs.consumer), counted by kind."""
        h.fail(POISON, reason)
        h.rejected = kind
        self._count(kind)
        return h

    def _count(self, kind: str) -> None:
        with self._edge_lock:
            self._edge[kind] += 1

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
            if is_write_outage(exc):
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
                if is_write_outage(exc):
                    raise Neo4jOutage(describe(exc)) from exc
                log.error("message %s: graph write failed: %s", h.message.message_id, describe(exc),
                          extra={"fields": log_fields(h.message)})
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
            if is_write_outage(exc):
                raise Neo4jOutage(describe(exc)) from exc
            raise


def _all_of(work: dict[EventHandler, Callable[[ManagedTransaction], Any]]
            ) -> Callable[[ManagedTransaction], dict[str, Any]]:
    def run(tx: ManagedTransaction) -> dict[str, Any]:
        return {source.name: fn(tx) for source, fn in work.items()}

    return run
