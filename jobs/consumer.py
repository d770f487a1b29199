"""The SQS consumer: at-least-once ingestion, nothing deleted before its graph write committed.

Threads: `threads` receivers long-poll the queues and prepare each receive batch (parse, enrich);
one committer merges whatever batches are ready (up to `commit_messages` messages) into one graph
write and then deletes those messages with DeleteMessageBatch; a heartbeat (jobs/visibility.py)
extends the visibility of messages still being worked on. What is held is bounded by count and
bytes (jobs/inflight.py): slow or hung writes stop the receivers, and a message that waits a whole
visibility window for its commit to start is handed back to the queue. Messages whose handling
fails are left to reappear after the visibility timeout (the queue's redrive policy dead-letters
them after maxReceiveCount); messages that cannot be parsed are dead-lettered at once or deleted,
as configured. While Neo4j is unreachable the receivers pause and the held messages are retried with backoff, their visibility
extended, so an outage neither loses messages nor burns their receive counts.
"""
from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from config import SettingsError
from jobs.consumer_stats import ConsumerStats
from jobs.inflight import InFlight
from jobs.ingest import (
    FAILED,
    OK,
    POISON,
    CommitReport,
    EventIngest,
    Handled,
    Message,
    Neo4jOutage,
    describe,
    log_fields,
    sqs_sent_at,
)
from jobs.metrics import Metrics
from jobs.visibility import Heartbeat

log = logging.getLogger("lineage.consumer")

MAX_BACKOFF_SECONDS = 30.0
COMMIT_LINGER_SECONDS = 0.05  # a commit waits this long for more ready batches: fewer, larger writes under load
ERROR_ATTRIBUTE = "lineage-collector-error"
SOURCE_ATTRIBUTE = "lineage-collector-source-queue"  # where `dlq replay` sends the message back


@dataclass
class ConsumerConfig:
    queue_urls: list[str]
    wait_seconds: int = 10
    batch_size: int = 10
    visibility_timeout: int = 60
    threads: int = 2
    commit_messages: int = 500
    max_inflight_messages: int = 600       # received and not yet deleted: receiving pauses at this many
    max_inflight_bytes: int = 32 << 20     # ... or at this many bytes of bodies (one receive batch may overshoot)
    poison_policy: str = "dead-letter"     # or "delete"
    dead_letter_queue_url: str | None = None
    until_empty: bool = False
    max_messages: int | None = None
    shutdown_seconds: float = 18.0         # ECS allows 30 s between SIGTERM and SIGKILL

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ConsumerConfig:
        config = cls(queue_urls=list(settings.queue_urls), wait_seconds=settings.queue_wait_seconds,
                     batch_size=settings.queue_batch_size, visibility_timeout=settings.queue_visibility_timeout,
                     threads=settings.consumer_threads, commit_messages=settings.consumer_commit_messages,
                     max_inflight_messages=settings.consumer_max_inflight_messages,
                     max_inflight_bytes=settings.consumer_max_inflight_bytes,
                     poison_policy=settings.poison_messages, dead_letter_queue_url=settings.dead_letter_queue_url)
        for name, value in overrides.items():
            if value is not None:
                setattr(config, name, value)
        return config


def queue_region(url: str) -> str | None:
    """https://sqs.eu-west-1.amazonaws.com/123456789012/name -> eu-west-1 (None for local stand-ins)."""
    host = urlparse(url).hostname or ""
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else None


def _chunks(items: Sequence[Any], size: int = 10) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _message(url: str, m: dict[str, Any]) -> Message:
    return Message(queue_url=url, message_id=m["MessageId"], body=m.get("Body") or "",
                   receipt_handle=m["ReceiptHandle"],
                   receive_count=int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1)),
                   attributes=m.get("MessageAttributes") or {}, sent_at=sqs_sent_at(m))


class CommitListener(Protocol):
    """Told of every committed group after its graph write (e.g. the live OpenLineage emission); must
    neither block nor raise. `snapshot` goes into the consumer's stats under `name`."""

    name: str

    def start(self) -> Any: ...

    def committed(self, handled: Sequence[Handled]) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


class Consumer:
    def __init__(self, aws: Any, ingest: EventIngest, config: ConsumerConfig,
                 stats: ConsumerStats | None = None, listeners: Sequence[CommitListener] = (),
                 metrics: Metrics | None = None) -> None:
        if not config.queue_urls:
            raise SettingsError("invalid setting LINEAGE_QUEUE_URLS: no queue configured "
                                "(set LINEAGE_QUEUE_URLS or pass --queue-url)")
        self.aws = aws
        self.ingest = ingest
        self.config = config
        self.stats = stats or ConsumerStats(config.queue_urls)
        self.metrics = metrics if metrics is not None else Metrics()
        self.stats.listener = self.metrics.stats_added
        self.listeners = list(listeners)
        for listener in self.listeners:
            self.stats.extras[listener.name] = listener.snapshot
        self._dead_letter: dict[str, str] = {}
        self._lock = threading.Lock()
        self.inflight = InFlight(config.max_inflight_messages, config.max_inflight_bytes)
        self.stats.extras["in_flight"] = self._inflight_snapshot
        self.metrics.watch_consumer(self)
        self._gate = threading.Event()        # set while Neo4j takes writes; receivers wait on it
        self._gate.set()
        self.heartbeat = Heartbeat(self.sqs, self.inflight, config.visibility_timeout, self.stats,
                                   store_up=self._gate.is_set)
        self._ready: queue.Queue[list[Handled]] = queue.Queue(
            maxsize=max(4, 2 * config.commit_messages // max(1, config.batch_size)))
        self._halt = threading.Event()        # no more receiving
        self._receivers_done = threading.Event()
        self._abandon = threading.Event()     # shutdown deadline: stop retrying, release what is held
        self._finished = threading.Event()
        self._commits_done = threading.Event()
        self._deletes: queue.Queue[tuple[str, list[Handled]]] = queue.Queue()
        self._received_total = 0
        self._empty_queues: set[str] = set()
        self._committing = 0

    def _inflight_snapshot(self) -> dict[str, int]:
        return {"messages": len(self.inflight), "bytes": self.inflight.bytes,
                "peak_messages": self.inflight.peak_messages, "peak_bytes": self.inflight.peak_bytes,
                "max_messages": self.config.max_inflight_messages, "max_bytes": self.config.max_inflight_bytes}

    def sqs(self, url: str) -> Any:
        return self.aws.client("sqs", queue_region(url))

    # --- start-up checks ------------------------------------------------------------------------

    def check_queues(self) -> None:
        """Fail at start, with one line, when a queue is unreachable or dead-lettering has nowhere to go."""
        for url in self.config.queue_urls:
            try:
                attributes = self.sqs(url).get_queue_attributes(
                    QueueUrl=url, AttributeNames=["RedrivePolicy", "VisibilityTimeout"])["Attributes"]
            except (ClientError, BotoCoreError) as exc:
                raise SettingsError(f"invalid setting LINEAGE_QUEUE_URLS: {url}: {describe(exc)}") from None
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
            if not redrive:
                log.warning("queue %s has no redrive policy: a message that keeps failing is retried until it "
                            "expires (see docs/events.md for the expected set-up)", url)
            if self.config.poison_policy != "dead-letter":
                continue
            target = self.config.dead_letter_queue_url or self._queue_url_of(url, redrive.get("deadLetterTargetArn"))
            if not target:
                raise SettingsError(
                    f"invalid setting LINEAGE_DEAD_LETTER_QUEUE_URL: {url} has no redrive policy to dead-letter "
                    "unparseable messages to; set LINEAGE_DEAD_LETTER_QUEUE_URL, give the queue a redrive policy, "
                    "or set LINEAGE_POISON_MESSAGES=delete")
            self._dead_letter[url] = target

    def _queue_url_of(self, source_url: str, arn: str | None) -> str | None:
        if not arn:
            return None
        parts = arn.split(":")
        try:
            queue_url: str = self.sqs(source_url).get_queue_url(
                QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            return queue_url
        except (ClientError, BotoCoreError, IndexError) as exc:
            raise SettingsError(f"invalid setting LINEAGE_QUEUE_URLS: dead-letter queue {arn} of {source_url}: "
                                f"{describe(exc) if not isinstance(exc, IndexError) else 'not a queue ARN'}") from None

    # --- the loop -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> ConsumerStats:
        """Consume until `stop` is set (or the queues are drained / max messages reached, if asked)."""
        if not self._dead_letter and self.config.poison_policy == "dead-letter":
            self.check_queues()
        self.stats.running = True
        for listener in self.listeners:
            listener.start()
        receivers = [threading.Thread(target=self._receive_loop, args=(i,), name=f"sqs-receiver-{i}", daemon=True)
                     for i in range(self.config.threads)]
        committer = threading.Thread(target=self._commit_loop, name="sqs-committer", daemon=True)
        deleter = threading.Thread(target=self._delete_loop, name="sqs-deleter", daemon=True)
        heartbeat = threading.Thread(target=self.heartbeat.run, args=(self._finished,), name="sqs-heartbeat",
                                     daemon=True)
        for thread in (*receivers, committer, deleter, heartbeat):
            thread.start()
        log.info("consuming", extra={"fields": {"queues": self.config.queue_urls, "threads": self.config.threads,
                                                "wait_seconds": self.config.wait_seconds}})
        while not (stop.is_set() or self._halt.is_set()):
            stop.wait(0.2)
        self._halt.set()
        deadline = time.monotonic() + self.config.shutdown_seconds
        for thread in receivers:  # each finishes its current long poll and hands over what it got
            thread.join(max(0.0, deadline - 3 - time.monotonic()))
        self._receivers_done.set()
        committer.join(max(0.0, deadline - 1.5 - time.monotonic()))
        if committer.is_alive() or any(t.is_alive() for t in receivers):
            self._abandon.set()
            committer.join(0.5)
        self._commits_done.set()
        deleter.join(max(0.5, deadline - 0.5 - time.monotonic()))
        released = self.heartbeat.release_all()
        after_commit = self.ingest.stop(max(1.0, deadline - 1.0 - time.monotonic()))
        for listener in self.listeners:  # after the last commit; within what is left of the deadline
            listener.stop(max(0.5, deadline - time.monotonic()))
        self._finished.set()
        heartbeat.join(2)
        self.stats.running = False
        log.info("consumer stopped", extra={"fields": {
            "received": self.stats.total("received"), "deleted": self.stats.total("deleted"),
            "failed": self.stats.total("failed"), "poison": self.stats.total("poison"), "released": released, **after_commit}})
        return self.stats

    def _pause(self, seconds: float) -> bool:
        """Sleep unless shutting down; True if the pause ran its course."""
        return not self._abandon.wait(seconds) and not self._halt.is_set()

    def _receive_loop(self, index: int) -> None:
        urls = itertools.cycle(self.config.queue_urls[index % len(self.config.queue_urls):]
                               + self.config.queue_urls[:index % len(self.config.queue_urls)])
        backoff = 1.0
        while not self._halt.is_set():
            if not self._gate.wait(0.5):
                continue
            room = self.inflight.reserve(self.config.batch_size, 0.5)  # none: writes are behind, receive no more
            if not room:
                continue
            wanted = self._claim(room)
            self.inflight.unreserve(room - wanted)
            if not wanted:
                self._maybe_done()
                self._halt.wait(0.2)
                continue
            url = next(urls)
            requested_at = time.monotonic()  # SQS starts the visibility timeout no earlier than this
            try:
                response = self.sqs(url).receive_message(
                    QueueUrl=url, MaxNumberOfMessages=wanted, WaitTimeSeconds=self.config.wait_seconds,
                    VisibilityTimeout=self.config.visibility_timeout, MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
            except (ClientError, BotoCoreError) as exc:
                self._unclaim(wanted)
                self.inflight.unreserve(wanted)
                message = f"receive from {url} failed: {describe(exc)}"
                log.warning("%s; retrying in %.0f s", message, backoff)
                self.stats.error(message)
                if not self._pause(backoff):
                    break
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 1.0
            self.stats.received()
            raw = response.get("Messages") or []
            self._unclaim(wanted - len(raw))
            try:
                messages = [_message(url, m) for m in raw]
            except Exception as exc:  # not SQS's documented shape; it comes back after the visibility timeout
                self.inflight.unreserve(wanted)
                log.exception("receive batch on %s is malformed", url)
                self.stats.error(f"receive batch on {url}: {describe(exc)}")
                continue
            self.metrics.received(url, messages)
            self.inflight.add(messages, requested_at, self.config.visibility_timeout, reserved=wanted)
            if not raw:
                with self._lock:
                    self._empty_queues.add(url)
                self._maybe_done()
                continue
            with self._lock:
                self._empty_queues.clear()
            self.stats.add(url, received=len(raw))
            try:
                self._take(url, messages)
            except Exception as exc:  # the loop never dies; the batch comes back after the visibility timeout
                log.exception("receive batch on %s could not be handled", url)
                self.stats.error(f"receive batch on {url}: {describe(exc)}")
                self.inflight.remove(messages)

    def _claim(self, wanted: int) -> int:
        with self._lock:
            if self.config.max_messages is None:
                return wanted
            wanted = max(0, min(wanted, self.config.max_messages - self._received_total))
            self._received_total += wanted
            return wanted

    def _unclaim(self, count: int) -> None:
        if self.config.max_messages is not None and count > 0:
            with self._lock:
                self._received_total -= count

    def _maybe_done(self) -> None:
        """--until-empty: every queue answered one long poll empty and nothing is held; --max-messages: all done."""
        with self._lock:
            idle = not len(self.inflight) and self._ready.empty() and not self._committing and self._deletes.empty()
            drained = self.config.until_empty and self._empty_queues >= set(self.config.queue_urls)
            limit = self.config.max_messages is not None and self._received_total >= self.config.max_messages
        if idle and (drained or limit):
            self._halt.set()

    def _take(self, url: str, messages: list[Message]) -> None:
        try:
            handled = self._prepare(messages)
        except Exception as exc:  # a bug must not kill the receiver nor hold the messages forever
            log.exception("receive batch of %d messages on %s could not be prepared", len(messages), url)
            handled = [Handled(m) for m in messages]
            for h in handled:
                h.fail(FAILED, describe(exc))
        if handled is None:  # shutting down during a Neo4j outage: the messages are released at exit
            return
        poison = [h for h in handled if h.outcome == POISON]
        failed = [h for h in handled if h.outcome == FAILED]
        dead_lettered = self._dispose_poison(url, poison) if poison else 0
        if failed:
            self._let_reappear(url, failed)
        if poison or failed:
            self.metrics.rejected(len(poison), dead_lettered, len(failed))
        ok = [h for h in handled if h.outcome == OK]
        self.inflight.wait(ok)
        while ok and not self._abandon.is_set():
            try:
                self._ready.put(ok, timeout=0.5)  # bounded: a slow committer slows the receivers down
                return
            except queue.Full:
                continue

    def _prepare(self, messages: list[Message]) -> list[Handled] | None:
        backoff = 1.0
        while True:
            try:
                return self.ingest.prepare(messages)
            except Neo4jOutage as exc:
                self._gate.clear()
                self.stats.error(f"Neo4j unavailable: {exc}", neo4j_down=True)
                log.warning("Neo4j unavailable while preparing %d messages (%s); retrying in %.0f s",
                            len(messages), exc, backoff)
                if self._abandon.wait(backoff):
                    return None
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _let_reappear(self, url: str, failed: list[Handled]) -> None:
        for h in failed:
            log.warning("message %s on %s failed (receive %d): %s; it reappears after the visibility timeout",
                        h.message.message_id, url, h.message.receive_count, h.error,
                        extra={"fields": log_fields(h.message)})
        self.metrics.failed(url, failed)
        self._forget(url, failed)
        self.stats.add(url, failed=len(failed))
        self.stats.error(f"message {failed[-1].message.message_id}: {failed[-1].error}")

    def _forget(self, url: str, handled: Iterable[Handled]) -> None:
        self.inflight.remove(h.message for h in handled)

    # --- poison messages ------------------------------------------------------------------------

    def _dispose_poison(self, url: str, poison: list[Handled]) -> int:
        """Dead-letter (or delete) unparseable messages; returns how many were dead-lettered."""
        self.stats.add(url, poison=len(poison))
        self.metrics.poison(url, poison)
        dead_lettered = 0
        to_delete: list[Handled] = []
        for h in poison:
            target = self._dead_letter.get(url) if self.config.poison_policy == "dead-letter" else None
            log.error("message %s on %s cannot be parsed: %s; %s", h.message.message_id, url, h.error,
                      f"dead-lettered to {target}" if target else "deleted", extra={"fields": log_fields(h.message)})
            if target is None:
                to_delete.append(h)
                continue
            ours = {ERROR_ATTRIBUTE: f"{(h.error or 'unparseable')[:900]}; message {h.message.message_id}",
                    SOURCE_ATTRIBUTE: url}
            attributes = {k: v for k, v in h.message.attributes.items() if k not in ours}  # a replayed one's old values
            for name, value in ours.items():
                if len(attributes) < 10:  # SQS allows 10 message attributes
                    attributes[name] = {"DataType": "String", "StringValue": value}
            try:
                # one by one: a batch of large bodies could exceed SendMessageBatch's total size
                self.sqs(target).send_message(QueueUrl=target, MessageBody=h.message.body or " ",
                                              MessageAttributes=attributes)
                to_delete.append(h)
                self.stats.add(url, dead_lettered=1)
                dead_lettered += 1
            except (ClientError, BotoCoreError) as exc:
                log.error("message %s: cannot dead-letter it (%s); the redrive policy will", h.message.message_id,
                          describe(exc), extra={"fields": log_fields(h.message)})
                self._forget(url, [h])
        self._delete(url, to_delete)
        return dead_lettered

    # --- commit and delete ----------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while not self._abandon.is_set():  # abandoned: what is still held is released at exit
            try:
                first = self._ready.get(timeout=0.2)
            except queue.Empty:
                if self._receivers_done.is_set() or self._abandon.is_set():
                    return
                self._maybe_done()
                continue
            group = self.inflight.start(first)  # without those handed back while they waited
            if not group:
                continue
            linger_until = time.monotonic() + (0 if self._halt.is_set() else COMMIT_LINGER_SECONDS)
            while len(group) < self.config.commit_messages:
                try:
                    group.extend(self.inflight.start(self._ready.get(timeout=max(0.0, linger_until - time.monotonic()))))
                except queue.Empty:
                    break
            with self._lock:
                self._committing += 1
            try:
                self._commit(group)
            finally:
                with self._lock:
                    self._committing -= 1
            self._maybe_done()

    def _commit(self, group: list[Handled]) -> None:
        backoff = 1.0
        while True:
            try:
                report = self.ingest.commit(group)
                break
            except Neo4jOutage as exc:
                self._gate.clear()
                self.stats.error(f"Neo4j unavailable: {exc}", neo4j_down=True)
                log.warning("Neo4j unavailable (%s); holding %d messages, retrying in %.0f s", exc, len(group), backoff)
                if self._abandon.wait(backoff):
                    return  # released at exit, redelivered later; a write that did commit replays as a no-op
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception as exc:  # an unexpected bug: never delete what may not be written
                log.exception("commit of %d messages failed; they will be redelivered", len(group))
                self.stats.error(f"commit failed: {describe(exc)}")
                for h in group:
                    h.fail(FAILED, describe(exc))
                report = CommitReport()
                break
        self._gate.set()
        by_queue: dict[str, list[Handled]] = {}
        for h in group:
            by_queue.setdefault(h.message.queue_url, []).append(h)
        for url, handled in by_queue.items():
            ok = [h for h in handled if h.outcome == OK]
            failed = [h for h in handled if h.outcome == FAILED]
            for h in ok:
                self.stats.add_events(url, h.kinds)
            if failed:
                self._let_reappear(url, failed)
            if ok:
                self._deletes.put((url, ok))  # deleted by another thread while the next group is written
        self.metrics.committed(report, group)
        committed = [h for h in group if h.outcome == OK]
        for listener in self.listeners if committed else ():
            try:
                listener.committed(committed)
            except Exception:  # a listener never fails a write that committed
                log.exception("commit listener %s failed", listener.name)
        if report.messages:
            self.stats.committed()
            log.info("events committed", extra={"fields": {
                "messages": report.messages, "events": report.events, "failed": report.failed,
                "nodes": report.writes.nodes, "relationships": report.writes.relationships,
                "transactions": report.writes.transactions, **report.counts,
                "seconds": round(report.seconds, 3)}})

    def _delete_loop(self) -> None:
        while True:
            try:
                url, handled = self._deletes.get(timeout=0.2)
            except queue.Empty:
                if self._commits_done.is_set():
                    return
                continue
            try:
                self._delete(url, handled)
            except Exception:  # not deleted: they come back and replay as no-ops
                log.exception("deleting %d messages on %s failed", len(handled), url)
                self._forget(url, handled)
            self._maybe_done()

    def _delete(self, url: str, handled: list[Handled]) -> None:
        for chunk in _chunks(handled):
            entries = [{"Id": str(i), "ReceiptHandle": h.message.receipt_handle} for i, h in enumerate(chunk)]
            try:
                response = self.sqs(url).delete_message_batch(QueueUrl=url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                # Written but not deleted: the message comes back and replays as a no-op.
                log.warning("delete of %d messages on %s failed: %s", len(chunk), url, describe(exc))
                self.stats.error(f"delete failed: {describe(exc)}")
                self._forget(url, chunk)
                continue
            for failure in response.get("Failed") or []:
                h = chunk[int(failure["Id"])]
                log.warning("message %s on %s not deleted: %s", h.message.message_id, url, failure.get("Message"),
                            extra={"fields": log_fields(h.message)})
            self.stats.add(url, deleted=len(response.get("Successful") or []))
            self._forget(url, chunk)
