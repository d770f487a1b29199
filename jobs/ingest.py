"""The event handling path, SQS aside: messages -> events -> enrichment -> one graph write -> hooks.

    ingest = EventIngest(writer, sync=..., aws=..., s3_hooks=[...], git_handler=...)
    handled = ingest.prepare(messages)   # parse; first-sight pipelines; terminal-execution enrichment
    ingest.commit(handled)               # one GraphWriter.write for all of them, object statistics, hooks

`prepare` runs per receive batch (in parallel threads); `commit` may take several prepared
batches at once. A Neo4j outage surfaces as `Neo4jOutage` so the caller can hold the messages
and retry; any other failure is pinned on the messages it concerns (outcome FAILED: not deleted,
redelivered after the visibility timeout, dead-lettered after maxReceiveCount).
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from botocore.exceptions import BotoCoreError, ClientError
from neo4j.exceptions import (
    ConnectionPoolError, DatabaseUnavailable, IncompleteCommit, ServiceUnavailable, SessionExpired, TransientError,
)

from collector.events import CloudEvent, GitPushEvent, GitPushHandler, Ignored, MalformedMessage, S3ObjectEvent
from collector.events import parse_body
from collector.events.s3 import objects_graph
from collector.events.sagemaker import SageMakerEffect, is_known, kind_of, sagemaker_effect
from collector.events.model import S3ObjectHook
from graphstore.model import Graph, Node, Rel, _merge_node
from collector.sagemaker.definition import DefinitionError
from collector.sagemaker.transform import arn_parts
from graphstore.state import TERMINAL_EXECUTION
from graphstore.model import WriteStats
from graphstore.writer import GraphWriter
from jobs.object_stats import ObjectStatsStore

log = logging.getLogger("lineage.events")

OK, FAILED, POISON = "ok", "failed", "poison"
PIPELINE_RETRY_SECONDS = 300.0  # a pipeline that could not be fetched is tried again after this
DOMAINS_TTL_SECONDS = 600.0

_OUTAGE = (ServiceUnavailable, SessionExpired, TransientError, DatabaseUnavailable, ConnectionPoolError,
           IncompleteCommit, ConnectionError, TimeoutError)


def tune_gc() -> None:
    """Garbage-collector settings for a process that handles events: each message allocates many
    short-lived dicts and tuples, and at the default thresholds the collector keeps rescanning what
    lives on (the driver, caches, the group being written) -- about a tenth of the handling time in
    bench/ingest.py. Objects loaded so far are frozen out of collections; young ones are collected
    in larger batches. Reference cycles are rare in this data, so memory stays bounded."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


class Neo4jOutage(Exception):
    """Neo4j cannot be reached (or keeps failing transiently): hold the messages and retry later."""


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, (Neo4jOutage, *_OUTAGE))


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


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
    s3_events: list[S3ObjectEvent] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    effects: list[SageMakerEffect] = field(default_factory=list)

    def fail(self, outcome: str, error: str) -> None:
        self.outcome, self.error = outcome, error


@dataclass
class CommitReport:
    messages: int = 0
    events: int = 0
    failed: int = 0
    writes: WriteStats = field(default_factory=WriteStats)
    datasets: int = 0
    seconds: float = 0.0


class EventIngest:
    def __init__(self, writer: GraphWriter, *, sync: Any = None, aws: Any = None,
                 s3_hooks: Sequence[S3ObjectHook] = (), git_handler: GitPushHandler | None = None,
                 enrich: bool = True) -> None:
        self.writer = writer
        self.sync = sync            # a jobs.sources.sagemaker.SageMakerSync with executions=0 (definitions only)
        self.aws = aws
        self.s3_hooks = list(s3_hooks)
        self.git_handler = git_handler
        self.enrich = enrich and sync is not None and aws is not None
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._known_pipelines: dict[str, str | None] = {}     # arn -> name, for pipelines with a definition
        self._fetching: dict[str, threading.Event] = {}
        self._retry_pipeline_at: dict[str, float] = {}
        self._domains: dict[str, tuple[float, dict[str, str]]] = {}
        self.object_stats = ObjectStatsStore(writer.driver, writer.database)

    # --- prepare: parse, git handler, first-sight pipelines, enrichment --------------------------

    def prepare(self, messages: Iterable[Message]) -> list[Handled]:
        handled = [self._parse(m) for m in messages]
        ok = [h for h in handled if h.outcome == OK]
        if self.enrich:
            self._ensure_pipelines({arn for h in ok for e in h.effects for arn in e.pipelines})
            self._enrich_terminal_executions(ok)
        for h in handled:
            h.effects.clear()
        return handled

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
            if h.outcome != OK:
                return h
        if h.s3_events:
            h.graph.update(objects_graph(h.s3_events))
        return h

    def _take(self, h: Handled, item: Any) -> None:
        if isinstance(item, CloudEvent):
            if not is_known(item):
                h.kinds[f"unknown:{kind_of(item)}"] += 1
                return
            effect = sagemaker_effect(item)
            h.kinds[effect.kind] += 1
            h.effects.append(effect)
            if len(h.graph):
                h.graph.update(effect.graph)
            else:
                h.graph = effect.graph
        elif isinstance(item, S3ObjectEvent):
            h.kinds[f"aws.s3:{item.action}"] += 1
            h.s3_events.append(item)
        elif isinstance(item, GitPushEvent):
            h.kinds[f"git:{item.provider}"] += 1
            if self.git_handler is None:
                log.info("message %s: git push to %s %s skipped: no git handler configured",
                         h.message.message_id, item.repo_url, item.ref)
                h.kinds["git:no-handler"] += 1
                return
            try:
                self.git_handler(item)
            except Exception as exc:
                log.warning("message %s: git handler failed for %s %s: %s", h.message.message_id,
                            item.repo_url, item.ref, describe(exc))
                h.fail(FAILED, f"git handler: {describe(exc)}")
        elif isinstance(item, Ignored):
            h.kinds[f"ignored:{item.kind}"] += 1

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        try:
            records, _, _ = self.writer.driver.execute_query(query, params, database_=self.writer.database,
                                                             routing_="r")
        except _OUTAGE as exc:
            raise Neo4jOutage(describe(exc)) from exc
        return [r.data() for r in records]

    def _ensure_pipelines(self, arns: set[str]) -> None:
        """A pipeline the graph has not seen yet is fetched and parsed (once, whatever the threads)."""
        with self._lock:
            unknown = sorted(a for a in arns if a not in self._known_pipelines)
        if not unknown:
            return
        rows = self._read("UNWIND $arns AS a MATCH (p:Pipeline {arn: a}) WHERE p.definition IS NOT NULL "
                          "RETURN p.arn AS arn, p.name AS name", arns=unknown)
        with self._lock:
            self._known_pipelines.update({r["arn"]: r["name"] for r in rows})
        for arn in unknown:
            if arn not in self._known_pipelines:
                self._fetch_pipeline(arn)

    def _fetch_pipeline(self, arn: str) -> None:
        with self._lock:
            if arn in self._known_pipelines or time.monotonic() < self._retry_pipeline_at.get(arn, 0.0):
                return
            running = self._fetching.get(arn)
            if running is None:
                self._fetching[arn] = threading.Event()
        if running is not None:  # another thread is fetching it: wait, so writes stay ordered
            running.wait(120)
            return
        try:
            region = arn_parts(arn)[0]
            client = self.aws.client("sagemaker", region)
            # DescribePipeline takes the name or the ARN; the ARN avoids guessing the name's case.
            self.sync.sync_pipeline(client, {"PipelineArn": arn, "PipelineName": arn}, self._domain_ids(client, region))
            name = self._read("MATCH (p:Pipeline {arn: $arn}) RETURN p.name AS name", arn=arn)
            with self._lock:
                self._known_pipelines[arn] = name[0]["name"] if name else None
                self.counters["pipelines_fetched"] += 1
            log.info("pipeline %s fetched on first sight", arn)
        except (ClientError, BotoCoreError, DefinitionError) as exc:
            log.warning("pipeline %s: cannot fetch it on first sight (%s); the next sync will", arn, describe(exc))
            with self._lock:
                self._retry_pipeline_at[arn] = time.monotonic() + PIPELINE_RETRY_SECONDS
                self.counters["pipeline_fetch_errors"] += 1
        except _OUTAGE as exc:
            raise Neo4jOutage(describe(exc)) from exc
        finally:
            with self._lock:
                self._fetching.pop(arn).set()

    def _domain_ids(self, client: Any, region: str) -> dict[str, str]:
        from collector.sagemaker import fetch

        cached = self._domains.get(region)
        if cached and time.monotonic() - cached[0] < DOMAINS_TTL_SECONDS:
            return cached[1]
        try:
            ids = {d["DomainName"]: d["DomainId"] for d in fetch.list_domains(client)}
        except (ClientError, BotoCoreError) as exc:
            log.warning("region %s: cannot list Studio domains (%s)", region, describe(exc))
            ids = {}
        self._domains[region] = (time.monotonic(), ids)
        return ids

    def _enrich_terminal_executions(self, handled: list[Handled]) -> None:
        """A terminal execution's steps and jobs, fetched once per batch, unless the graph already holds it
        terminal (the sync's incremental rule)."""
        carriers: dict[str, list[Handled]] = defaultdict(list)
        pipelines: dict[str, str] = {}
        for h in handled:
            for effect in h.effects:
                if effect.terminal_execution:
                    pipeline_arn, execution_arn = effect.terminal_execution
                    carriers[execution_arn].append(h)
                    pipelines[execution_arn] = pipeline_arn
        if not carriers:
            return
        rows = self._read(
            "UNWIND $rows AS r OPTIONAL MATCH (e:PipelineExecution {arn: r.e}) OPTIONAL MATCH (p:Pipeline {arn: r.p}) "
            "RETURN r.e AS execution, coalesce(e.status IN $terminal, false) AS done, p.name AS name",
            rows=[{"e": e, "p": p} for e, p in pipelines.items()], terminal=TERMINAL_EXECUTION)
        for row in rows:
            execution_arn = row["execution"]
            if row["done"]:
                self.counters["enrichments_skipped"] += 1
                continue
            pipeline_arn = pipelines[execution_arn]
            try:
                client = self.aws.client("sagemaker", arn_parts(pipeline_arn)[0])
                graph, jobs = self.sync.sync_execution(client, pipeline_arn, execution_arn, row["name"])
            except _OUTAGE as exc:
                raise Neo4jOutage(describe(exc)) from exc
            except (ClientError, BotoCoreError, DefinitionError) as exc:
                log.warning("execution %s: enrichment failed: %s", execution_arn, describe(exc))
                for h in carriers[execution_arn]:
                    h.fail(FAILED, f"enrichment of {execution_arn}: {describe(exc)}")
                self.counters["enrichment_errors"] += 1
                continue
            for h in carriers[execution_arn]:
                h.graph.update(graph)
            self.counters["enrichments"] += 1
            self.counters["jobs_described"] += jobs

    # --- commit: one graph write, object statistics, hooks ---------------------------------------

    def commit(self, handled: Sequence[Handled]) -> CommitReport:
        """Write what the OK messages carry; raises Neo4jOutage (nothing is then known to be written)."""
        started = time.perf_counter()
        ok = [h for h in handled if h.outcome == OK]
        report = CommitReport(messages=len(ok), events=sum(sum(h.kinds.values()) for h in ok))
        merged = Graph()
        for h in ok:
            merge_into(merged, h.graph)
        # Object statistics ride in the graph write's last transaction: one commit for both.
        stats_update = self.object_stats.update_for(e for h in ok if h.s3_events for e in h.s3_events)
        stats_written = False
        try:
            report.writes = self.writer.write(merged, source="event", finish=stats_update)
            report.datasets = self.object_stats.committed(report.writes.finish_result)
            stats_written = True
        except Exception as exc:
            if is_outage(exc):
                raise Neo4jOutage(describe(exc)) from exc
            log.warning("graph write of %d messages failed (%s); writing them one by one", len(ok), describe(exc))
            report.writes = self._write_one_by_one(ok)
        with_objects = [h for h in ok if h.outcome == OK and h.s3_events]
        if with_objects:
            if not stats_written:
                report.datasets = self._object_stats([e for h in with_objects for e in h.s3_events])
            self._run_hooks(with_objects)
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

    def _object_stats(self, events: list[S3ObjectEvent]) -> int:
        try:
            return self.object_stats.apply(events)
        except _OUTAGE as exc:
            raise Neo4jOutage(describe(exc)) from exc

    def _run_hooks(self, handled: list[Handled]) -> None:
        events = [e for h in handled for e in h.s3_events]
        for hook in self.s3_hooks:
            try:
                hook(events)
            except Exception as exc:
                log.warning("S3 object hook %s failed on %d events (%s); their messages will be redelivered",
                            getattr(hook, "__name__", hook), len(events), describe(exc))
                for h in handled:
                    h.fail(FAILED, f"S3 object hook: {describe(exc)}")
                return


def merge_into(target: Graph, source: Graph) -> None:
    """Graph.update, without cleaning again what a Graph already holds clean (the group merge is hot)."""
    for ref, node in source.nodes.items():
        old = target.nodes.get(ref)
        if old is None:
            target.nodes[ref] = Node(node.label, node.key, dict(node.props), node.extra_labels, dict(node.state),
                                     node.state_time, node.state_rank)
        else:
            _merge_node(old, node)
    for identity, rel in source.rels.items():
        existing = target.rels.get(identity)
        if existing is None:
            target.rels[identity] = Rel(rel.type, rel.start, rel.end, dict(rel.props), rel.merge_on)
        else:
            existing.props.update(rel.props)
