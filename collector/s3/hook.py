"""The S3 object hook the SQS consumer calls once per receive batch (after its graph write).

The call only folds events into the throttle (microseconds per event) and returns; a
background thread reads schemas for the groups that are due. A burst of 10,000 part files of
one dataset becomes one pending group: one read now and one when the interval is over.
"""
from __future__ import annotations

import logging
import threading
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
                 rules: DatasetRules | None = None, groups_per_batch: int = 32) -> None:
        self.process = process
        self.throttle = throttle
        self.rules = rules or active_rules()
        self.groups_per_batch = groups_per_batch
        self.counts: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._busy = False
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
            if not due:
                continue
            objects = [obj for _, objs in due for obj in objs]
            try:
                self.counts["batches"] += 1
                self.process(objects)
            except Exception:  # the loop never dies for one batch; the rescan catches up later
                log.exception("schema extraction for %d datasets failed", len(due))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

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
