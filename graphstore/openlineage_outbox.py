"""The outbox of the live OpenLineage emission: events that could not be sent yet, oldest first.

A node per event (`OpenLineageOutbox {id}`, the hash of its JSON, so the same event is held once) with
the event JSON, its order (`seq`), attempts and the last error. Bounded: past `limit` nodes the oldest
are deleted, and the caller counts them as dropped.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from graphstore.reader import Reader

ADD = """
UNWIND $rows AS r
MERGE (o:OpenLineageOutbox {id: r.id})
ON CREATE SET o.seq = r.seq, o.event = r.event, o.run_id = r.run_id, o.event_type = r.event_type,
              o.created = $now, o.attempts = r.attempts, o.last_error = r.error
RETURN count(o) AS n
"""

TRIM = """
MATCH (o:OpenLineageOutbox) WHERE o.seq IS NOT NULL
WITH o ORDER BY o.seq LIMIT $excess
DELETE o RETURN count(*) AS n
"""

HEAD = """
MATCH (o:OpenLineageOutbox) WHERE o.seq IS NOT NULL
RETURN o.id AS id, o.event AS event, o.attempts AS attempts ORDER BY o.seq LIMIT $limit
"""

SENT = "UNWIND $ids AS id MATCH (o:OpenLineageOutbox {id: id}) DELETE o"

FAILED = """
MATCH (o:OpenLineageOutbox {id: $id})
SET o.attempts = coalesce(o.attempts, 0) + 1, o.last_error = $error, o.last_attempt = $now
"""

COUNT = "MATCH (o:OpenLineageOutbox) RETURN count(o) AS n"


@dataclass(frozen=True)
class Held:
    id: str
    event: str  # the event's JSON
    run_id: str | None = None
    event_type: str | None = None
    attempts: int = 0
    error: str | None = None


class OpenLineageOutbox(Reader):
    _lock = threading.Lock()
    _last_seq = 0

    @classmethod
    def _next_seq(cls) -> int:
        with cls._lock:  # nanoseconds since the epoch, strictly increasing within the process
            cls._last_seq = max(cls._last_seq + 1, time.time_ns())
            return cls._last_seq

    def add(self, events: Sequence[Held], limit: int) -> int:
        """Hold these events (in this order, after those already held); returns how many of the oldest
        were deleted to stay within `limit`."""
        if not events:
            return 0
        rows = [{"id": e.id, "event": e.event, "run_id": e.run_id, "event_type": e.event_type,
                 "attempts": e.attempts, "error": e.error, "seq": self._next_seq()} for e in events]
        self._write(ADD, rows=rows, now=_now())
        excess = self.count() - limit  # on the leader, as every outbox read: a replica may lag behind deletes
        if excess <= 0:
            return 0
        return int(self._write(TRIM, excess=excess)[0]["n"])

    def head(self, limit: int) -> list[Held]:
        return [Held(r["id"], r["event"], attempts=int(r["attempts"] or 0)) for r in self._write(HEAD, limit=limit)]

    def sent(self, ids: Sequence[str]) -> None:
        if ids:
            self._write(SENT, ids=list(ids))

    def failed(self, id: str, error: str) -> None:
        self._write(FAILED, id=id, error=error[:1000], now=_now())

    def count(self) -> int:
        rows: list[dict[str, Any]] = self._write(COUNT)
        return int(rows[0]["n"]) if rows else 0


def _now() -> datetime:
    return datetime.now(timezone.utc)
