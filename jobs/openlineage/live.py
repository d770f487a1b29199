"""Live OpenLineage emission from the SQS consumer (LINEAGE_OPENLINEAGE_URL).

The consumer calls `committed(handled)` after each graph write committed; that only notes which
executions the write touched (a bounded, de-duplicated queue) and returns: emission never blocks nor
fails a graph write. One background thread re-derives those executions' events from the graph (the
export's own reads and transform), leaves out events it already sent unchanged, and sends the rest
through the official client's HTTP transport.

An event that cannot be sent is held in the outbox in Neo4j (graphstore.openlineage_outbox) with its
attempts and last error, and so is every later one while the outbox is not empty, so that events go
out in order; the outbox is retried with exponential backoff and drained oldest first. Bounds: the
queue (LINEAGE_OPENLINEAGE_QUEUE_SIZE executions) and the outbox (LINEAGE_OPENLINEAGE_OUTBOX_MAX
events; past it the oldest are deleted); whatever a bound turns away is counted (`dropped_*`) and
logged, never lost silently. Delivery is at least once: after a restart, or with several consumers
draining one outbox, an event may be sent twice (run ids are stable, so a consumer sees the same run).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from collector.aws import describe_error
from collector.openlineage.events import Event, Naming, event_id, execution_events, to_json
from graphstore.connection import is_outage
from graphstore.openlineage_outbox import Held, OpenLineageOutbox
from graphstore.openlineage_reads import OpenLineageReads

log = logging.getLogger("lineage.openlineage")

EXECUTIONS_PER_READ = 50
# Counters in the consumer's stats (health endpoint): executions queued, events sent (at once or later), send attempts
# that failed, events held (outbox), held events sent later, and what each bound turned away.
COUNTERS = ("queued", "sent", "failed_attempts", "held", "retried_ok", "dropped_queue_full", "dropped_outbox_full",
            "dropped_at_shutdown")
OUTBOX_PAGE = 100


def touched_executions(graph: Any) -> tuple[set[str], set[str]]:
    """(execution ARNs, job ARNs) a written graph touched: its PipelineExecution and StepRun nodes
    (a step run's key is its execution's ARN + '/' + step name), and its Job nodes."""
    executions: set[str] = set()
    jobs: set[str] = set()
    for node in graph.nodes.values():
        if node.label == "PipelineExecution":
            executions.add(node.key)
        elif node.label == "StepRun":
            executions.add(node.props.get("execution_arn") or node.key.rsplit("/", 1)[0])
        elif node.label == "Job":
            jobs.add(node.key)
    return executions, jobs


class LiveEmitter:
    name = "openlineage"

    def __init__(self, reads: OpenLineageReads, outbox: OpenLineageOutbox, client: Any, naming: Naming, *,
                 url: str = "", queue_size: int = 10_000, outbox_max: int = 10_000, retry_initial: float = 1.0,
                 retry_max: float = 60.0, sent_memory: int = 100_000, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.reads = reads
        self.outbox = outbox
        self.client = client  # an openlineage.client.OpenLineageClient (its HTTP transport)
        self.naming = naming
        self.url = url
        self.queue_size = queue_size
        self.outbox_max = outbox_max
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.sent_memory = sent_memory
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: OrderedDict[str, None] = OrderedDict()  # execution ARNs to derive events of
        self._jobs: set[str] = set()  # job ARNs whose executions are to be found
        self._sent: OrderedDict[str, None] = OrderedDict()  # ids of events sent (bounded memory)
        self._memory: deque[Held] = deque()  # held while Neo4j cannot take them into the outbox
        self._outbox_count = 0
        self._next_retry = 0.0
        self._delay = retry_initial
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: tuple[datetime, str] | None = None
        self.last_sent: datetime | None = None

    # --- the consumer's side: never blocks, never raises --------------------------------------

    def committed(self, handled: Sequence[Any]) -> None:
        """After a graph write committed: note the executions its messages touched."""
        executions: set[str] = set()
        jobs: set[str] = set()
        for h in handled:
            found, ran = touched_executions(h.graph)
            executions |= found
            jobs |= ran
        if not executions and not jobs:
            return
        with self._wake:
            for arn in sorted(executions):
                if arn in self._pending:
                    continue
                if len(self._pending) >= self.queue_size:
                    self.counters["dropped_queue_full"] += 1
                    continue
                self._pending[arn] = None
                self.counters["queued"] += 1
            room = max(0, self.queue_size - len(self._jobs))
            self._jobs |= set(sorted(jobs)[:room])
            self.counters["dropped_queue_full"] += max(0, len(jobs) - room)
            self._wake.notify()
        if self.counters["dropped_queue_full"] and self.counters["dropped_queue_full"] % 100 == 1:
            log.warning("OpenLineage emission queue full (%d executions): %d dropped so far; "
                        "`lineage-collector openlineage export --since` re-sends them",
                        self.queue_size, self.counters["dropped_queue_full"])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            pending, memory = len(self._pending) + len(self._jobs), len(self._memory)
        return {"url": self.url, "pending_executions": pending, "outbox": self._outbox_count,
                "held_in_memory": memory, **{k: self.counters[k] for k in COUNTERS},
                "last_sent": self.last_sent.isoformat(timespec="seconds") if self.last_sent else None,
                "last_error": ({"time": self.last_error[0].isoformat(timespec="seconds"),
                                "message": self.last_error[1]} if self.last_error else None)}

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LiveEmitter:
        try:
            self._outbox_count = self.outbox.count()
        except Exception as exc:  # Neo4j down at start: the loop finds out later
            log.warning("cannot count the OpenLineage outbox: %s", describe_error(exc))
        self._thread = threading.Thread(target=self._loop, name="openlineage-emitter", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Send or hold what is pending within `timeout`; what is left is counted as dropped."""
        self._stopping.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(max(0.1, timeout))
        with self._lock:
            left = len(self._pending) + len(self._memory)
        if left:
            self.counters["dropped_at_shutdown"] += left
            log.warning("OpenLineage emission stopped with %d executions/events not sent nor held", left)
        try:
            self.client.close(timeout=1)
        except Exception:  # closing a session: nothing to lose
            log.debug("closing the OpenLineage client failed", exc_info=True)

    def idle(self) -> bool:
        """Nothing pending, nothing held (tests and shutdown use it)."""
        with self._lock:
            return not self._pending and not self._jobs and not self._memory and self._outbox_count == 0

    # --- the background thread ----------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._wake:
                if not self._pending and not self._jobs and not self._stopping.is_set():
                    self._wake.wait(timeout=self._wait_seconds())
                stopping = self._stopping.is_set()
            try:
                self._step()
            except Exception as exc:  # the emitter never dies; what it held stays held
                self._error(f"OpenLineage emission: {describe_error(exc)}")
                if is_outage(exc):  # Neo4j away: what is pending stays pending
                    log.warning("OpenLineage emission waits for Neo4j: %s", describe_error(exc))
                else:
                    log.exception("OpenLineage emission step failed")
                self._backoff()
                if stopping:
                    return
                self._stopping.wait(min(self._delay, 1.0))
            if stopping:
                with self._lock:
                    done = not self._pending and not self._jobs
                if done:
                    return

    def _wait_seconds(self) -> float:
        if self._outbox_count or self._memory:
            return max(0.05, min(1.0, self._next_retry - self.clock()))
        return 1.0

    def _step(self) -> None:
        if (self._outbox_count or self._memory) and self.clock() >= self._next_retry:
            self._drain()
        with self._lock:
            jobs, self._jobs = self._jobs, set()
        if jobs:
            try:
                arns = self.reads.executions_of_jobs(jobs)
            except Exception:
                with self._lock:
                    self._jobs |= jobs
                raise
            with self._lock:
                for arn in arns:
                    self._pending.setdefault(arn, None)
        with self._lock:
            batch = list(self._pending)[:EXECUTIONS_PER_READ]
        if not batch:
            return
        rows = self.reads.executions(batch)  # an outage raises: the batch stays pending
        with self._lock:
            for arn in batch:
                self._pending.pop(arn, None)
        events = [e for row in rows for e in execution_events(row, self.naming)]
        self._send_or_hold(events)

    def _send_or_hold(self, events: Sequence[Event]) -> None:
        fresh = [(event_id(e), e) for e in events]
        fresh = [(i, e) for i, e in fresh if i not in self._sent]
        for n, (eid, event) in enumerate(fresh):
            if self._outbox_count or self._memory:  # keep the order: behind what is held
                self._hold([self._held(i, e) for i, e in fresh[n:]])
                return
            try:
                self.client.emit(event)
            except Exception as exc:
                message = describe_error(exc)
                self.counters["failed_attempts"] += 1
                self._error(f"sending to {self.url} failed: {message}")
                log.warning("OpenLineage event not sent (%s); held in the outbox with %d later ones",
                            message, len(fresh) - n - 1)
                self._backoff()
                self._hold([self._held(eid, event, attempts=1, error=message)]
                           + [self._held(i, e) for i, e in fresh[n + 1:]])
                return
            self._mark_sent(eid)

    def _held(self, eid: str, event: Event, attempts: int = 0, error: str | None = None) -> Held:
        return Held(eid, to_json(event), run_id=getattr(getattr(event, "run", None), "runId", None),
                    event_type=getattr(getattr(event, "eventType", None), "value", "JOB"), attempts=attempts,
                    error=error)

    def _hold(self, items: list[Held]) -> None:
        with self._lock:
            memory = bool(self._memory)
        if memory:  # behind what is already waiting in memory
            self._keep_in_memory(items)
            return
        try:
            dropped = self.outbox.add(items, self.outbox_max)
        except Exception as exc:
            log.warning("cannot hold %d OpenLineage events in the outbox (%s); keeping them in memory",
                        len(items), describe_error(exc))
            self._keep_in_memory(items)
            return
        self.counters["held"] += len(items)
        self._count_dropped_from_outbox(dropped)
        try:  # counted, not added up: an event held again (same id) is one outbox entry
            self._outbox_count = self.outbox.count()
        except Exception as exc:
            log.warning("cannot count the OpenLineage outbox: %s", describe_error(exc))

    def _keep_in_memory(self, items: list[Held]) -> None:
        with self._lock:
            self._memory.extend(items)
            over = len(self._memory) - self.outbox_max
            for _ in range(max(0, over)):
                self._memory.popleft()
        self.counters["held"] += len(items)
        self._count_dropped_from_outbox(max(0, over))

    def _count_dropped_from_outbox(self, dropped: int) -> None:
        if dropped:
            self.counters["dropped_outbox_full"] += dropped
            log.warning("OpenLineage outbox full (%d events): the %d oldest were dropped",
                        self.outbox_max, dropped)

    def _drain(self) -> None:
        """Memory into the outbox, then the outbox out, oldest first, until one fails."""
        with self._lock:
            memory = list(self._memory)
        if memory:
            try:
                dropped = self.outbox.add(memory, self.outbox_max)
            except Exception as exc:
                self._error(f"OpenLineage outbox: {describe_error(exc)}")
                self._backoff()
                return
            with self._lock:
                for _ in memory:
                    self._memory.popleft()
            self._count_dropped_from_outbox(dropped)
        while True:
            head = self.outbox.head(OUTBOX_PAGE)
            if not head:
                self._outbox_count = 0
                self._delay = self.retry_initial
                log.info("OpenLineage outbox drained", extra={"fields": {"retried_ok": self.counters["retried_ok"]}})
                return
            sent: list[str] = []
            failed = False
            for item in head:
                try:
                    # The event as it was held (JSON): the client's transport sends it as it is.
                    self.client.transport.emit(json.loads(item.event))
                except Exception as exc:
                    message = describe_error(exc)
                    self.counters["failed_attempts"] += 1
                    self._error(f"sending to {self.url} failed: {message}")
                    self.outbox.failed(item.id, message)
                    self._backoff()
                    failed = True
                    break
                sent.append(item.id)
                self._mark_sent(item.id)
                self.counters["retried_ok"] += 1
            self.outbox.sent(sent)  # if this fails, they are sent again later: at least once
            self._outbox_count = self.outbox.count()
            if failed:
                return

    def _mark_sent(self, eid: str) -> None:
        self.counters["sent"] += 1
        self.last_sent = datetime.now(timezone.utc)
        self._sent[eid] = None
        while len(self._sent) > self.sent_memory:
            self._sent.popitem(last=False)

    def _backoff(self) -> None:
        self._next_retry = self.clock() + self._delay
        self._delay = min(self.retry_max, self._delay * 2)

    def _error(self, message: str) -> None:
        self.last_error = (datetime.now(timezone.utc), message)


def live_emitter(app: Any) -> LiveEmitter:
    """The live emitter of an App whose settings name LINEAGE_OPENLINEAGE_URL."""
    from jobs.openlineage.export import client, http_transport, naming

    settings = app.settings
    # One attempt per send: the emitter's own backoff and outbox retry, so a send never holds the thread.
    transport = http_transport(settings.openlineage_url, settings, retry={"total": 0, "raise_on_status": True})
    return LiveEmitter(OpenLineageReads(app.driver, settings.neo4j_database),
                       OpenLineageOutbox(app.driver, settings.neo4j_database), client(transport), naming(settings),
                       url=settings.openlineage_url, queue_size=settings.openlineage_queue_size,
                       outbox_max=settings.openlineage_outbox_max)
