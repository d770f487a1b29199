"""The process's metrics: Prometheus (scraped at /metrics on the health port, jobs/health.py) and, when
LINEAGE_METRICS_EMF is set, CloudWatch Embedded Metric Format lines on stdout (docs/metrics.md).

    metrics = Metrics()                     # one per App: a CollectorRegistry of its own, never the global one
    aws.add_call_listener(metrics.aws_call)  # every AWS call, by service, operation and error code
    ObservedWriter(driver, ..., metrics=metrics)  # every graph write and its latency
    Consumer(..., metrics=metrics)           # events by kind and outcome, messages, queue lag
    Worker(..., metrics=metrics)             # scheduled jobs: runs, durations, last success
    metrics.watch_lease(lease)               # whether this worker holds the lease, read at scrape time

Every label takes its values from a bounded set: queues and jobs from the configuration, sources of writes
and AWS operations from the code, event kinds and AWS error codes from what arrives, so those two (and, as a
guard, the others) keep the first values seen up to a limit and count any further one as `other`.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from neo4j import ManagedTransaction
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from graphstore.model import Graph, WriteStats
from graphstore.writer import GraphWriter
from jobs.consumer_stats import MAX_EVENT_KINDS

if TYPE_CHECKING:  # at run time only where used: the App imports this module, and not the event path
    from jobs.ingest import CommitReport, Handled, Message

log = logging.getLogger("lineage.metrics")

# No `<name>_created` series beside each counter and histogram: the process's start time is no news, and they
# would double what a scrape stores. A switch of prometheus-client's, for the whole process, before any metric.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

OTHER = "other"
MAX_ERROR_CODES = 30      # distinct AWS error codes kept as label values; later ones count as `other`
MAX_QUEUES = 50           # queues are configured: the cap is only a guard
MAX_JOBS = 50
MAX_SOURCES = 20
MAX_OPERATIONS = 300      # service.operation pairs: the code calls a fixed few dozen

# Graph writes take milliseconds (one event) to minutes (a first sync of a large account).
WRITE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# From SentTimestamp to the commit that wrote the message: seconds normally, hours after an outage.
DELAY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0)
JOB_BUCKETS = (0.1, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)


class BoundedValues:
    """Label values of one kind: the first `limit` distinct ones seen (cut to `length` characters) are kept,
    any later one is `other`, so a label never holds more than limit + 1 values."""

    def __init__(self, limit: int, length: int = 120) -> None:
        self.limit, self.length = limit, length
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        value = value[:self.length]
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


def queue_name(url: str) -> str:
    """The queue's name, the last part of its URL (the URL itself holds the account id)."""
    return url.rstrip("/").rsplit("/", 1)[-1] or url


class EmfWriter:
    """CloudWatch Embedded Metric Format: one JSON object a line, whose `_aws.CloudWatchMetrics` directive tells
    CloudWatch Logs which members are metrics (with their units) and which are dimensions. Lines go to stdout
    (the worker's logs go to stderr), where the container's log driver sends them to CloudWatch Logs."""

    def __init__(self, namespace: str, write: Callable[[str], None] | None = None) -> None:
        self.namespace = namespace
        self._write = write
        self._lock = threading.Lock()

    def record(self, dimensions: Mapping[str, str], values: Mapping[str, tuple[float, str]],
               when: datetime | None = None, properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The EMF object: `values` maps a metric's name to (value, CloudWatch unit)."""
        stamp = (when or datetime.now(timezone.utc)).timestamp()
        record: dict[str, Any] = {"_aws": {"Timestamp": int(stamp * 1000), "CloudWatchMetrics": [{
            "Namespace": self.namespace, "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()]}]}}
        record.update(properties or {})
        record.update(dimensions)
        record.update({name: value for name, (value, _) in values.items()})
        return record

    def emit(self, dimensions: Mapping[str, str], values: Mapping[str, tuple[float, str]],
             properties: Mapping[str, Any] | None = None) -> None:
        line = json.dumps(self.record(dimensions, values, properties=properties), separators=(",", ":"))
        try:
            with self._lock:
                if self._write is not None:
                    self._write(line)
                else:  # looked up at each line: whatever stdout is now
                    sys.stdout.write(line + "\n")
                    sys.stdout.flush()
        except (OSError, ValueError):  # stdout closed or full: metrics are never worth a failure
            pass


class Lease(Protocol):
    name: str

    @property
    def held(self) -> bool: ...


class Metrics:
    """Every metric of one process, on `registry` (a new CollectorRegistry unless given); thread-safe."""

    def __init__(self, registry: CollectorRegistry | None = None, emf: EmfWriter | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.emf = emf
        self._kinds = BoundedValues(MAX_EVENT_KINDS)
        self._codes = BoundedValues(MAX_ERROR_CODES, 64)
        self._queues = BoundedValues(MAX_QUEUES, 80)
        self._jobs = BoundedValues(MAX_JOBS, 80)
        self._sources = BoundedValues(MAX_SOURCES, 40)
        self._operations = BoundedValues(MAX_OPERATIONS, 100)
        r = self.registry
        self.events = Counter(
            "lineage_events", "Events by queue, kind and outcome: consumed (committed), failed (their message left "
            "to reappear) or poison (messages rejected at the edge, by rejection kind; one per message)",
            ("queue", "kind", "outcome"), registry=r)
        self.messages = Counter(
            "lineage_sqs_messages", "SQS messages by queue and what happened to them (the consumer's counters: "
            "received, deleted, failed, poison, dead_lettered, released, handed_back, extended, late_extensions, "
            "lapsed_extensions)", ("queue", "outcome"), registry=r)
        self.queue_age = Gauge(
            "lineage_queue_oldest_message_age_seconds", "Age (from SQS's SentTimestamp) of the oldest message in "
            "the latest receive from the queue; 0 after a receive that found the queue empty", ("queue",),
            registry=r)
        self.commit_delay = Histogram(
            "lineage_message_commit_delay_seconds", "From a message's SentTimestamp to the commit of its graph "
            "write", ("queue",), buckets=DELAY_BUCKETS, registry=r)
        self.writes = Counter(
            "lineage_graph_writes", "Graph writes (GraphWriter.write calls that reached Neo4j) by source (event, "
            "sync, rescan, history, git...) and outcome (committed or failed)", ("source", "outcome"), registry=r)
        self.write_seconds = Histogram(
            "lineage_graph_write_seconds", "Latency of committed graph writes, all their transactions",
            ("source",), buckets=WRITE_BUCKETS, registry=r)
        self.aws_calls = Counter(
            "lineage_aws_calls", "AWS API calls (after botocore's retries) by service, operation and error code "
            "(empty: success)", ("service", "operation", "error_code"), registry=r)
        self.job_runs = Counter(
            "lineage_scheduled_job_runs", "Scheduled job runs by job and outcome: ok, failed (raised) or skipped "
            "(another worker holds the lease)", ("job", "outcome"), registry=r)
        self.job_seconds = Histogram(
            "lineage_scheduled_job_duration_seconds", "Duration of the scheduled jobs' runs (ok and failed)",
            ("job",), buckets=JOB_BUCKETS, registry=r)
        self.job_success = Gauge(
            "lineage_scheduled_job_last_success_timestamp_seconds", "When the job's latest successful run ended "
            "(Unix time)", ("job",), registry=r)
        self.sync_errors = Counter(
            "lineage_sync_errors", "Errors a reconciliation reported and went on past (a pipeline that could not "
            "be read...), by job", ("job",), registry=r)
        self.lease_held = Gauge(
            "lineage_lease_held", "1 while this worker believes it holds the lease, else 0", ("lease",), registry=r)
        self.in_flight_messages = Gauge(
            "lineage_consumer_in_flight_messages", "Messages received and not yet deleted or released", registry=r)
        self.in_flight_bytes = Gauge(
            "lineage_consumer_in_flight_bytes", "Bytes of the bodies of the messages in flight", registry=r)
        self.neo4j_up = Gauge(
            "lineage_neo4j_up", "1 when the health probe's latest check reached Neo4j, else 0", registry=r)

    # --- AWS and Neo4j --------------------------------------------------------------------------

    def aws_call(self, service: str, operation: str, error_code: str | None) -> None:
        """A collector.aws.CallListener."""
        pair = self._operations(f"{service}.{operation}")
        service, operation = pair.split(".", 1) if pair != OTHER else (OTHER, OTHER)
        self.aws_calls.labels(service, operation, self._codes(error_code) if error_code else "").inc()

    def graph_write(self, source: str | None, seconds: float, committed: bool) -> None:
        label = self._sources(source or "none")
        self.writes.labels(label, "committed" if committed else "failed").inc()
        if committed:
            self.write_seconds.labels(label).observe(seconds)

    def watch_neo4j(self, probe: Any) -> None:
        """The health probe's latest answer (jobs.health.Neo4jProbe), read at scrape time."""
        self.neo4j_up.set_function(lambda: 1.0 if probe.reachable else 0.0)

    def watch_lease(self, lease: Lease) -> None:
        self.lease_held.labels(lease.name).set_function(lambda: 1.0 if lease.held else 0.0)

    # --- the consumer ---------------------------------------------------------------------------

    def watch_consumer(self, consumer: Any) -> None:
        """The consumer's in-flight messages and bytes (jobs.inflight.InFlight), read at scrape time."""
        self.in_flight_messages.set_function(lambda: float(len(consumer.inflight)))
        self.in_flight_bytes.set_function(lambda: float(consumer.inflight.bytes))

    def stats_added(self, url: str, counts: Mapping[str, int]) -> None:
        """A ConsumerStats listener: its counters, per queue."""
        queue = self._queues(queue_name(url))
        for outcome, n in counts.items():
            if n:
                self.messages.labels(queue, outcome).inc(n)

    def received(self, url: str, messages: Sequence[Message], now: datetime | None = None) -> None:
        """A receive from `url` returned these messages (none: the queue answered empty)."""
        now = now or datetime.now(timezone.utc)
        ages = [(now - m.sent_at).total_seconds() for m in messages if m.sent_at is not None]
        if ages or not messages:
            self.queue_age.labels(self._queues(queue_name(url))).set(max([0.0, *ages]))

    def count_events(self, url: str, outcome: str, kinds: Mapping[str, int]) -> None:
        queue = self._queues(queue_name(url))
        for kind, n in kinds.items():
            if n:
                self.events.labels(queue, self._kinds(kind), outcome).inc(n)

    def failed(self, url: str, handled: Iterable[Handled]) -> None:
        """Messages left to reappear: their events by kind (`unparsed` when they failed before parsing)."""
        for h in handled:
            self.count_events(url, "failed", h.kinds or {"unparsed": 1})

    def poison(self, url: str, handled: Iterable[Handled]) -> None:
        for h in handled:
            self.count_events(url, "poison", {h.rejected or "rejected:malformed": 1})

    def rejected(self, poison: int, dead_lettered: int, failed: int) -> None:
        """A receive batch held poison or failed messages: its EMF line (commits have their own)."""
        if self.emf is not None:
            self.emf.emit({"Component": "consumer"}, {
                "PoisonMessages": (poison, "Count"), "DeadLetteredMessages": (dead_lettered, "Count"),
                "FailedMessages": (failed, "Count")})

    def committed(self, report: CommitReport, group: Sequence[Handled], now: datetime | None = None) -> None:
        """After a commit: the events consumed, each message's delay since it was sent, the commit's EMF line."""
        from jobs.ingest import FAILED, OK

        now = now or datetime.now(timezone.utc)
        oldest = 0.0
        for h in group:
            if h.outcome != OK:
                continue
            self.count_events(h.message.queue_url, "consumed", h.kinds)
            if h.message.sent_at is not None:
                delay = max(0.0, (now - h.message.sent_at).total_seconds())
                oldest = max(oldest, delay)
                self.commit_delay.labels(self._queues(queue_name(h.message.queue_url))).observe(delay)
        if self.emf is not None and report.messages:
            self.emf.emit({"Component": "consumer"}, {
                "Messages": (report.messages, "Count"), "Events": (report.events, "Count"),
                "FailedMessages": (sum(1 for h in group if h.outcome == FAILED), "Count"),
                "CommitSeconds": (round(report.seconds, 6), "Seconds"),
                "NodesWritten": (report.writes.nodes, "Count"),
                "RelationshipsWritten": (report.writes.relationships, "Count"),
                "Transactions": (report.writes.transactions, "Count"),
                "OldestMessageAgeSeconds": (round(oldest, 3), "Seconds")})

    # --- scheduled jobs -------------------------------------------------------------------------

    def job_skipped(self, job: str) -> None:
        self.job_runs.labels(self._jobs(job), "skipped").inc()

    def job_finished(self, job: str, seconds: float, ok: bool, result: object = None) -> None:
        """A scheduled job's run ended (`ok`: it did not raise). A result with `as_dict()` (a SyncReport) adds its
        numbers: errors, pipelines, nodes and relationships written, AWS calls."""
        label = self._jobs(job)
        self.job_runs.labels(label, "ok" if ok else "failed").inc()
        self.job_seconds.labels(label).observe(seconds)
        if ok:
            self.job_success.labels(label).set(time.time())
        summary = _summary(result)
        errors = summary.pop("Errors", 0)
        if errors:
            self.sync_errors.labels(label).inc(errors)
        if self.emf is not None:
            values: dict[str, tuple[float, str]] = {
                "DurationSeconds": (round(seconds, 3), "Seconds"), "Succeeded": (1 if ok else 0, "Count"),
                "Failed": (0 if ok else 1, "Count")}
            if result is not None and summary:
                values["Errors"] = (errors, "Count")
                values.update({name: (value, "Count") for name, value in summary.items()})
            self.emf.emit({"Component": "scheduler", "Job": label}, values)


_SUMMARY = {"pipelines": "Pipelines", "pipelines_failed": "PipelinesFailed", "nodes_written": "NodesWritten",
            "relationships_written": "RelationshipsWritten", "aws_calls_total": "AwsCalls"}


def _summary(result: object) -> dict[str, int]:
    as_dict = getattr(result, "as_dict", None)
    if not callable(as_dict):
        return {}
    try:
        data = as_dict()
    except Exception:  # a report that cannot tell: the run's own numbers are enough
        return {}
    if not isinstance(data, dict):
        return {}
    summary = {name: int(data[key]) for key, name in _SUMMARY.items()
               if isinstance(data.get(key), int) and not isinstance(data.get(key), bool)}
    if isinstance(data.get("errors"), list):
        summary["Errors"] = len(data["errors"])
    return summary


class ObservedWriter(GraphWriter):
    """GraphWriter whose every write that reached Neo4j is counted and timed (failed ones too); empty writes,
    which send nothing, are not counted."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    def write(self, graph: Graph, source: str | None = None, now: datetime | None = None, *,
              finish: Callable[[ManagedTransaction], Any] | None = None) -> WriteStats:
        started = time.perf_counter()
        try:
            stats = super().write(graph, source, now, finish=finish)
        except BaseException:
            self._observe(source, time.perf_counter() - started, False)
            raise
        if stats.transactions:
            self._observe(source, stats.seconds, True)
        return stats

    def _observe(self, source: str | None, seconds: float, committed: bool) -> None:
        try:
            self.metrics.graph_write(source, seconds, committed)
        except Exception:  # a metric never fails a write
            log.exception("graph write metrics failed")
