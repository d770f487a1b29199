"""The consumer's counters and last-seen times, for its logs and the health endpoint."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

MAX_EVENT_KINDS = 100


@dataclass
class QueueCounters:
    received: int = 0
    deleted: int = 0
    failed: int = 0
    poison: int = 0
    dead_lettered: int = 0
    released: int = 0            # held at stop, made visible again
    handed_back: int = 0         # waited a whole visibility window for a commit to start
    extended: int = 0            # visibility extensions (messages)
    late_extensions: int = 0     # landed with less than a quarter of the window left
    lapsed_extensions: int = 0   # landed after the message had become visible again
    events: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        counts = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "events"}
        return {**counts, "events": dict(sorted(self.events.items()))}


class ConsumerStats:
    """Counters and last-seen times for logs and the health endpoint; thread-safe."""

    def __init__(self, queue_urls: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self.queues = {url: QueueCounters() for url in queue_urls}
        self.last_receive: datetime | None = None
        self.last_commit: datetime | None = None
        self.last_error: tuple[datetime, str] | None = None
        self.neo4j_ok: bool | None = None
        self.running = False
        self.extras: dict[str, Callable[[], dict[str, Any]]] = {}  # name -> snapshot of a commit listener
        self.listener: Callable[[str, dict[str, int]], None] | None = None  # told of every add (jobs/metrics.py)

    def add(self, url: str, **counts: int) -> None:
        with self._lock:
            counters = self.queues.setdefault(url, QueueCounters())
            for name, n in counts.items():
                setattr(counters, name, getattr(counters, name) + n)
        if self.listener is not None:
            self.listener(url, counts)

    def add_events(self, url: str, kinds: Counter[str]) -> None:
        """Counts by event kind. Kinds come from message text (an ignored event's source and detail-type), so
        their number is bounded: past MAX_EVENT_KINDS distinct ones per queue, new ones count as `other`."""
        with self._lock:
            events = self.queues.setdefault(url, QueueCounters()).events
            for kind, n in kinds.items():
                kind = kind[:120]
                events[kind if kind in events or len(events) < MAX_EVENT_KINDS else "other"] += n

    def received(self) -> None:
        with self._lock:
            self.last_receive = datetime.now(timezone.utc)

    def committed(self) -> None:
        with self._lock:
            self.last_commit = datetime.now(timezone.utc)
            self.neo4j_ok = True

    def error(self, message: str, neo4j_down: bool = False) -> None:
        with self._lock:
            self.last_error = (datetime.now(timezone.utc), message)
            if neo4j_down:
                self.neo4j_ok = False

    def total(self, name: str) -> int:
        with self._lock:
            return sum(getattr(q, name) for q in self.queues.values())

    def snapshot(self) -> dict[str, Any]:
        def iso(when: datetime | None) -> str | None:
            return when.isoformat(timespec="seconds") if when else None

        extras = {name: snapshot() for name, snapshot in self.extras.items()}  # outside the lock: theirs
        with self._lock:
            return {
                "running": self.running, "last_receive": iso(self.last_receive), "last_commit": iso(self.last_commit),
                "last_error": {"time": iso(self.last_error[0]), "message": self.last_error[1]} if self.last_error else None,
                "neo4j_writes_ok": self.neo4j_ok,
                "queues": {url: q.snapshot() for url, q in self.queues.items()},
                **extras,
            }
