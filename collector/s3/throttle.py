"""Deduplicate and pace schema reads triggered by object events. Pure (the clock is injected).

Objects wait under a group (their folder dataset); within a group, part files collapse to one
entry and only the newest object per entry is kept. A group runs at most once per
`min_interval` (leading edge now, the trailing edge once the interval is over, so the latest
object is always read), and all groups together at most `rate` per second.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from collector.s3.objects import ObjectRef

OVERFLOW = "*"


@dataclass
class TokenBucket:
    rate: float  # tokens per second; <= 0 means unlimited
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_time(self) -> float:
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class DatasetThrottle:
    """Not thread-safe on its own: the hook calls it under its lock."""

    def __init__(self, min_interval: float, rate: float, burst: float = 10, max_entries_per_group: int = 8,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_interval = min_interval
        self.max_entries = max_entries_per_group
        self.clock = clock
        self.tokens = TokenBucket(rate, max(burst, 1), clock)
        self.pending: dict[str, dict[str, ObjectRef]] = {}
        self.last_run: dict[str, float] = {}
        self.offered = 0

    def offer(self, group: str, identity: str, obj: ObjectRef) -> None:
        self.offered += 1
        entries = self.pending.setdefault(group, {})
        if identity not in entries and len(entries) >= self.max_entries:
            identity = OVERFLOW  # many distinct files in one folder: keep only the newest of the rest
        current = entries.get(identity)
        if current is None or obj.order() >= current.order():
            entries[identity] = obj

    def _ready_at(self, group: str) -> float:
        return self.last_run.get(group, float("-inf")) + self.min_interval

    def due(self, limit: int = 64) -> list[tuple[str, list[ObjectRef]]]:
        """Groups whose interval is over, as far as the rate allows; they leave the pending set."""
        now = self.clock()
        ready = sorted((g for g in self.pending if self._ready_at(g) <= now), key=self._ready_at)
        out = []
        for group in ready[:limit]:
            if not self.tokens.take():
                break
            out.append((group, list(self.pending.pop(group).values())))
            self.last_run[group] = now
        self._forget(now)
        return out

    def take_all(self, limit: int | None = None) -> list[tuple[str, list[ObjectRef]]]:
        """Pending groups, longest-waiting first, whatever their interval or the rate: for a stopping worker."""
        groups = sorted(self.pending, key=self._ready_at)[:limit]
        return [(group, list(self.pending.pop(group).values())) for group in groups]

    def wait_time(self) -> float | None:
        """Seconds until `due` can return something; None when nothing is pending."""
        if not self.pending:
            return None
        now = self.clock()
        soonest = min(self._ready_at(g) for g in self.pending)
        return max(0.0, soonest - now, self.tokens.wait_time())

    def _forget(self, now: float) -> None:
        if len(self.last_run) > 10_000:
            self.last_run = {g: t for g, t in self.last_run.items() if t + self.min_interval > now}
