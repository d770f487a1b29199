"""The S3 object hook the SQS consumer calls once per receive batch (after its graph write).

The call only folds events into the throttle (microseconds per event) and returns; a
background thread reads schemas for the groups that are due. A burst of 10,000 part files of
one dataset becomes one pending group: one read now and one when the interval is over.

A stopping worker calls `stop`: what is pending is read at once (intervals and the rate no longer
apply) while the time allows, and the rest is handed back (`hand_back`: the scheduled rescan of
whichever worker runs next reads those datasets first), so no schema read dies with the process.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from collector.s3.objects import ObjectRef
from collector.s3.throttle import DatasetThrottle
from collector.s3uri import DatasetRules, active_rules, folder_dataset, is_marker, sibling_identity

log = logging.getLogger("lineage.s3")


class S3EventHook:
    """Callable as `S3ObjectHook = Callable[[list[S3ObjectEvent]], None]`."""

    def __init__(self, process: Callable[[list[ObjectRef]], Any], throttle: DatasetThrottle, *,
                 rules: DatasetRules | None = None, groups_per_batch: int = 32,
                 hand_back: Callable[[list[ObjectRef]], Any] | None = None) -> None:
        self.process = process
        self.hand_back = hand_back
        self.throttle = throttle
        self.rules = rules or active_rules()
        self.groups_per_batch = groups_per_batch
        self.counts: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._busy = False
        self._running: list[ObjectRef] = []  # the batch being read
        self._last_batch_seconds = 0.0
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, events: Iterable[Any]) -> None:
        with self._cond:
            for event in events:
                self.counts["events"] += 1
                if getattr(event, "action", "created") != "created":
                    self.counts["deleted"] += 1  # the scheduled rescan notices a changed newest object
                    continue
                if is_marker(event.key, self.rules) or event.key.endswith("/"):
                    self.counts["markers"] += 1
                    continue
                obj = ObjectRef(event.bucket, event.key, getattr(event, "size", None), getattr(event, "etag", None),
                                getattr(event, "time", None), getattr(event, "version_id", None),
                                getattr(event, "sequencer", None))
                self.throttle.offer(folder_dataset(obj.bucket, obj.key, self.rules),
                                    sibling_identity(obj.bucket, obj.key, self.rules), obj)
            pending = bool(self.throttle.pending)
            self._cond.notify_all()
        if pending:
            self._start()

    def _start(self) -> None:
        if self._thread is None and not self._closed.is_set():
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(target=self.run, args=(self._closed,), name="s3-schema-hook",
                                                    daemon=True)
                    self._thread.start()

    def run(self, stop: threading.Event) -> None:
        """Drain loop; also usable as a worker background task."""
        while not stop.is_set() and not self._closed.is_set():
            with self._cond:
                wait = self.throttle.wait_time()
                if wait is None or wait > 0:
                    self._cond.wait(timeout=min(1.0, wait if wait is not None else 1.0))
                    continue
                due = self.throttle.due(self.groups_per_batch)
                self._busy = bool(due)
                self._running = [obj for _, objs in due for obj in objs]
            if due:
                self._read(due)

    def _read(self, due: list[tuple[str, list[ObjectRef]]]) -> None:
        started = time.monotonic()
        try:
            self.counts["batches"] += 1
            self.process([obj for _, objs in due for obj in objs])
            self.counts["groups_read"] += len(due)
        except Exception:  # the loop never dies for one batch; the rescan catches up later
            log.exception("schema extraction for %d datasets failed", len(due))
        finally:
            with self._cond:
                self._last_batch_seconds = time.monotonic() - started
                self._busy = False
                self._running = []
                self._cond.notify_all()

    def stop(self, timeout: float) -> dict[str, int]:
        """Stopping: read what is pending now, batch by batch while a batch still fits in `timeout`; hand back
        the rest (and a batch the background thread has not finished). Counts in dataset groups."""
        deadline = time.monotonic() + timeout
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))  # it finishes the batch it is reading
        counts = {"read_at_stop": 0, "handed_back": 0}
        thread_done = self._thread is None or not self._thread.is_alive()
        while thread_done and deadline - time.monotonic() > self._last_batch_seconds:
            with self._cond:
                due = self.throttle.take_all(self.groups_per_batch)
            if not due:
                break
            self._read(due)
            counts["read_at_stop"] += len(due)
        with self._cond:
            rest = [obj for _, objs in self.throttle.take_all() for obj in objs] + list(self._running)
        if rest:
            counts["handed_back"] = len({folder_dataset(o.bucket, o.key, self.rules) for o in rest})
            self._hand_back(rest)
        self.counts.update(counts)
        return counts

    def _hand_back(self, objects: list[ObjectRef]) -> None:
        if self.hand_back is None:
            log.warning("stopping with %d objects' schema reads not done; the scheduled rescan will find them",
                        len(objects))
            return
        try:
            self.hand_back(objects)
        except Exception as exc:  # Neo4j gone too: the rescan still reaches them by age
            log.warning("could not hand back %d objects' schema reads to the rescan (%s: %s); it will reach "
                        "them by age", len(objects), type(exc).__name__, exc)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending or running (tests, the CLI, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self.throttle.pending and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
