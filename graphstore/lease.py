"""A lease held in Neo4j: one worker at a time does the scheduled reconciliation, whatever the number of workers.

The lease is a node (:Lease {name}) with its owner and expiry. Taking and renewing it is one MERGE (which locks
the node, so two workers never both win) against the server's clock (so workers' clocks never matter): it
succeeds when the lease is free, expired, or already ours. A holder that dies stops renewing and its lease
is taken over once it expires. The holder believes it holds the lease for less than the lease's time (from
before its renewal was sent, with a margin), so two workers never both believe they hold it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from neo4j import Driver

log = logging.getLogger("lineage.lease")

_TAKE = (
    "MERGE (l:Lease {name: $name}) "
    "WITH l, datetime.realtime() AS now "
    "WHERE l.owner IS NULL OR l.owner = $owner OR l.expires_at < now "
    "SET l.acquired_at = CASE WHEN l.owner = $owner THEN l.acquired_at ELSE now END, "
    "l.owner = $owner, l.renewed_at = now, l.expires_at = now + duration({milliseconds: $ttl_ms}) "
    "RETURN l.owner AS owner"
)
_RELEASE = "MATCH (l:Lease {name: $name}) WHERE l.owner = $owner SET l.owner = null, l.expires_at = null"
_READ = ("MATCH (l:Lease {name: $name}) RETURN l.owner AS owner, toString(l.expires_at) AS expires_at, "
         "toString(l.acquired_at) AS acquired_at")
BELIEF = 0.8  # of the lease's time: how long a holder trusts a renewal


class Lease:
    def __init__(self, driver: Driver, name: str, owner: str, ttl_seconds: float, database: str | None = None) -> None:
        self.driver, self.name, self.owner, self.ttl, self.database = driver, name, owner, ttl_seconds, database
        self._trusted_until = 0.0  # monotonic
        self._was_held = False

    @property
    def held(self) -> bool:
        return time.monotonic() < self._trusted_until

    def refresh(self) -> bool:
        """Take or renew the lease; False when another worker holds it or Neo4j does not answer."""
        sent = time.monotonic()
        try:
            records, _, _ = self.driver.execute_query(
                _TAKE, name=self.name, owner=self.owner, ttl_ms=int(self.ttl * 1000), database_=self.database)
        except Exception as exc:  # Neo4j away: we stop believing in the lease when the last renewal runs out
            log.warning("lease %s: cannot renew (%s: %s)", self.name, type(exc).__name__, exc)
            return self._note(self.held)
        if records:
            self._trusted_until = sent + self.ttl * BELIEF
        else:
            self._trusted_until = 0.0
        return self._note(bool(records))

    def _note(self, held: bool) -> bool:
        if held != self._was_held:
            log.info("lease %s %s by %s", self.name, "taken" if held else "lost", self.owner)
            self._was_held = held
        return held

    def release(self) -> None:
        self._trusted_until = 0.0
        try:
            self.driver.execute_query(_RELEASE, name=self.name, owner=self.owner, database_=self.database)
        except Exception as exc:  # it expires on its own
            log.warning("lease %s: cannot release (%s: %s)", self.name, type(exc).__name__, exc)

    def holder(self) -> dict[str, Any] | None:
        records, _, _ = self.driver.execute_query(_READ, name=self.name, database_=self.database)
        return records[0].data() if records else None

    def keep(self, stop: threading.Event) -> None:
        """Renew until `stop` is set, then release: a background loop of the worker."""
        while not stop.wait(self.ttl / 4):
            self.refresh()
        self.release()
