"""The visibility of in-flight messages: a heartbeat keeps them hidden while they are worked on, hands
back those that waited a whole visibility window for a commit to start (unless Neo4j is known to be
down: then every worker would fail them alike, and a hand-back only burns a receive count towards the
dead-letter queue), and releases the rest at stop.

An extension falls due when half the visibility timeout is left, so it has half a window to land in.
Each one is measured: one that lands with less than a quarter of the window left is late, one that
lands after the message became visible again has lapsed (another receive may have taken the message).
Both are logged and counted; either means the worker is starved of CPU or SQS answers slowly.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from jobs.consumer_stats import ConsumerStats
from jobs.inflight import Held, InFlight
from jobs.ingest import describe, log_fields

log = logging.getLogger("lineage.consumer")


def _chunks(items: Sequence[Held], size: int = 10) -> list[Sequence[Held]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _by_queue(items: Sequence[Held]) -> dict[str, list[Held]]:
    grouped: dict[str, list[Held]] = {}
    for held in items:
        grouped.setdefault(held.message.queue_url, []).append(held)
    return grouped


class Heartbeat:
    def __init__(self, sqs: Callable[[str], Any], inflight: InFlight, timeout: int, stats: ConsumerStats,
                 store_up: Callable[[], bool] = lambda: True) -> None:
        self.sqs, self.inflight, self.timeout, self.stats = sqs, inflight, timeout, stats
        self.store_up = store_up
        self.margin = timeout / 2
        self.late_left = timeout / 4
        self.idle_interval = max(0.05, min(5.0, timeout / 4))  # how soon new or overdue messages are looked at

    def run(self, finished: threading.Event) -> None:
        while True:
            due = self.inflight.next_due(self.margin)
            pause = self.idle_interval if due is None else min(self.idle_interval, due - time.monotonic())
            if finished.wait(max(0.02, pause)):
                return
            try:
                self.beat()
            except Exception:  # keep beating: a lapse only means a redelivery, which replays as a no-op
                log.exception("visibility heartbeat failed")

    def beat(self) -> None:
        now = time.monotonic()
        overdue = self.inflight.drop_overdue(now, self.timeout) if self.store_up() else []
        for url, items in _by_queue(overdue).items():
            count = self.change(url, items, 0)
            self.stats.add(url, handed_back=count)
            log.warning("handed back %d messages on %s that waited %.0f s (the visibility timeout) for a commit to "
                        "start: graph writes are slow or hung; another worker may take them", count, url, self.timeout)
        for url, items in _by_queue(self.inflight.due(now, self.margin)).items():
            self.change(url, items, self.timeout)

    def release_all(self) -> int:
        """At stop: everything still held becomes visible again at once, for the next consumer."""
        released = 0
        for url, items in _by_queue(self.inflight.take_all()).items():
            count = self.change(url, items, 0)
            self.stats.add(url, released=count)
            released += count
        return released

    def change(self, url: str, items: Sequence[Held], timeout: int) -> int:
        changed = 0
        for chunk in _chunks(items):
            entries = [{"Id": str(i), "ReceiptHandle": h.message.receipt_handle, "VisibilityTimeout": timeout}
                       for i, h in enumerate(chunk)]
            sent = time.monotonic()
            try:
                response = self.sqs(url).change_message_visibility_batch(QueueUrl=url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                log.warning("cannot change the visibility of %d messages on %s: %s", len(chunk), url, describe(exc))
                continue
            landed = time.monotonic()
            extended = [chunk[int(ok["Id"])] for ok in response.get("Successful") or []]
            for failure in response.get("Failed") or []:
                message = chunk[int(failure["Id"])].message
                log.warning("visibility of message %s on %s not changed: %s", message.message_id,
                            url, failure.get("Message") or failure.get("Code"), extra={"fields": log_fields(message)})
            changed += len(extended)
            if timeout and extended:
                self._measure(url, extended, landed)
                for h in extended:
                    h.visible_until = sent + timeout  # SQS counts from when it took the request, at latest `sent`
        return changed

    def _measure(self, url: str, extended: Sequence[Held], landed: float) -> None:
        left = min(h.visible_until - landed for h in extended)
        lapsed = sum(1 for h in extended if h.visible_until <= landed)
        late = sum(1 for h in extended if 0 < h.visible_until - landed < self.late_left)
        self.stats.add(url, extended=len(extended), late_extensions=late, lapsed_extensions=lapsed)
        if lapsed:
            log.warning("visibility extension of %d messages on %s landed %.1f s after they became visible again "
                        "(timeout %d s): they may be redelivered; the worker is starved of CPU or SQS is slow",
                        lapsed, url, -left, self.timeout)
        elif late:
            log.warning("visibility extension of %d messages on %s landed late, %.1f s before they would have become "
                        "visible (timeout %d s, due with %.0f s left)", late, url, left, self.timeout, self.margin)
