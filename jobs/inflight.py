"""The consumer's in-flight messages: received and neither deleted nor released yet.

Bounded by count and by bytes, so a slow or hung graph write stops the receivers instead of letting
them hoard the queue. Each message is either being worked on (prepared or written) or waiting for a
commit to start; a message that waits longer than its visibility window is handed back to the queue,
where another worker can take it, rather than being kept alive by the heartbeat.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jobs.ingest import Handled, Message


@dataclass
class Held:
    message: Message
    received_at: float     # monotonic, taken before the receive request went out
    visible_until: float   # monotonic; conservative: SQS may hide it a little longer
    waiting: bool = False  # prepared, waiting for a commit to start

    @property
    def size(self) -> int:
        return len(self.message.body.encode("utf-8", "surrogatepass"))


class InFlight:
    """Thread-safe; `room` and `wait_for_room` are what the receivers ask before each receive."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages, self.max_bytes = max_messages, max_bytes
        self._held: dict[tuple[str, str], Held] = {}
        self._bytes = 0
        self._reserved = 0  # room taken by receive requests under way
        self.peak_messages = self.peak_bytes = 0
        self._changed = threading.Condition()

    def __len__(self) -> int:
        with self._changed:
            return len(self._held)

    @property
    def bytes(self) -> int:
        with self._changed:
            return self._bytes

    def _room(self) -> int:
        if self._bytes >= self.max_bytes:  # bytes are known only once received: one batch may overshoot
            return 0
        return max(0, self.max_messages - len(self._held) - self._reserved)

    def reserve(self, wanted: int, timeout: float) -> int:
        """Room for up to `wanted` messages of a receive about to be made (0 when none frees up in `timeout`);
        `add` or `unreserve` gives it back."""
        with self._changed:
            self._changed.wait_for(lambda: self._room() > 0, timeout)
            room = min(wanted, self._room())
            self._reserved += room
            return room

    def unreserve(self, count: int) -> None:
        if count > 0:
            with self._changed:
                self._reserved -= count
                self._changed.notify_all()

    def add(self, messages: Iterable[Message], received_at: float, visibility: float, reserved: int = 0) -> None:
        with self._changed:
            for m in messages:
                held = Held(m, received_at, received_at + visibility)
                previous = self._held.get(key(m))
                self._bytes += held.size - (previous.size if previous else 0)
                self._held[key(m)] = held
            self._reserved -= reserved
            self.peak_messages = max(self.peak_messages, len(self._held))
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            self._changed.notify_all()

    def remove(self, messages: Iterable[Message]) -> None:
        with self._changed:
            for m in messages:
                held = self._held.get(key(m))
                if held is not None and held.message is m:  # not a later copy of the same message
                    del self._held[key(m)]
                    self._bytes -= held.size
            self._changed.notify_all()

    def wait(self, handled: Sequence[Handled]) -> None:
        """Prepared: now waiting for a commit to start."""
        with self._changed:
            for h in handled:
                if (held := self._held.get(key(h.message))) is not None:
                    held.waiting = True

    def start(self, handled: Sequence[Handled]) -> list[Handled]:
        """A commit starts: those of `handled` still held (not released meanwhile) are being written."""
        started = []
        with self._changed:
            for h in handled:
                held = self._held.get(key(h.message))
                if held is not None and held.message is h.message:
                    held.waiting = False
                    started.append(h)
        return started

    def due(self, now: float, margin: float) -> list[Held]:
        """Held messages whose visibility ends within `margin` seconds."""
        with self._changed:
            return [h for h in self._held.values() if h.visible_until - now < margin]

    def drop_overdue(self, now: float, window: float) -> list[Held]:
        """Waiting messages received `window` seconds ago or more: no longer held, for the caller to release."""
        with self._changed:
            overdue = [h for h in self._held.values() if h.waiting and now - h.received_at >= window]
            for h in overdue:
                del self._held[key(h.message)]
                self._bytes -= h.size
            if overdue:
                self._changed.notify_all()
            return overdue

    def next_due(self, margin: float) -> float | None:
        """Monotonic time at which the first held message becomes due for extension."""
        with self._changed:
            return min((h.visible_until - margin for h in self._held.values()), default=None)

    def take_all(self) -> list[Held]:
        with self._changed:
            held = list(self._held.values())
            self._held.clear()
            self._bytes = 0
            self._changed.notify_all()
            return held


def key(message: Message) -> tuple[str, str]:
    return (message.queue_url, message.message_id)
