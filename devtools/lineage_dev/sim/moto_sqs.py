"""SQS extension for moto's server: sending and receiving stay cheap however long the queue.

moto's SendMessage and ReceiveMessage read `Queue.attributes` once per message (only to look up
ContentBasedDeduplication and MessageRetentionPeriod), and that property counts the visible,
delayed and in-flight messages by scanning the whole queue, reading the clock twice per message.
With a few thousand messages queued, every message sent or received cost tens of milliseconds
(the event benchmark and tests queue thousands). Here the scan reads the clock once, and inside
SendMessage / ReceiveMessage `attributes` leaves the three Approximate* counts out.

DeleteMessage also rebuilt the message list without holding the queue's lock, so a message sent
at the same moment could vanish; here it removes the one message in place, under that lock. And
ReceiveMessage iterated the set of in-flight messages while a concurrent delete changed it
("Set changed size during iteration", an HTTP 500); here it iterates a snapshot. And two
concurrent ReceiveMessage calls could both take the same message (SQS hands a message to one
receiver at a time); here picking messages is serialized per queue, while long polls still wait
side by side.
"""
from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

_inside = threading.local()
_installed: list[bool] = []
_COUNTS = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible"}


@functools.cache
def _field(name: str) -> str:
    return camelcase_to_underscores(name)


def _attributes_without_counts(queue: Queue) -> dict[str, Any]:
    """moto's Queue.attributes, minus the counts."""
    names = [a for a in queue.BASE_ATTRIBUTES if a not in _COUNTS]
    if queue.fifo_queue:
        names += queue.FIFO_ATTRIBUTES
    if queue.kms_master_key_id:  # type: ignore[attr-defined]
        names += queue.KMS_ATTRIBUTES
    result: dict[str, Any] = {name: getattr(queue, _field(name)) for name in names}
    if queue.policy:  # type: ignore[attr-defined]
        result["Policy"] = queue.policy  # type: ignore[attr-defined]
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}


def _visible_messages(queue: Queue) -> list[Message]:
    now = unix_time_millis()  # Message.visible / .delayed read the clock for every message
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _delete_message(queue: Queue, receipt_handle: str) -> None:
    if receipt_handle in queue.deleted_messages:
        return  # already deleted: AWS accepts a second delete
    with queue._messages_lock:
        for index, message in enumerate(queue._messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                del queue._messages[index]
                break
        else:
            raise ReceiptHandleIsInvalid()
    queue.pending_messages.discard(message)
    queue.deleted_messages.update(message.all_receipt_handles)


def _pending_message_groups(queue: Queue) -> set[str]:
    in_flight = list(queue._pending_messages)  # one C-level copy: no other thread runs meanwhile
    return {m.group_id for m in in_flight if m.group_id is not None}


def _uncounted(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_inside, "active", False)
        _inside.active = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _inside.active = outer
    return wrapper


def _one_receiver_at_a_time(receive: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(receive)
    def wrapper(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int, visibility_timeout: int,
                message_attribute_names: list[str] | None = None) -> Any:
        queue = self.get_queue(queue_name)
        lock = queue.__dict__.setdefault("_sim_receive_lock", threading.Lock())
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                got = receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            remaining = deadline - time.monotonic()
            if got or remaining <= 0:
                return got
            queue.wait_for_messages(min(1.0, remaining))  # moto's own long-poll wait
    return wrapper


def install() -> None:
    if _installed:
        return
    full = Queue.attributes.fget  # type: ignore[attr-defined]

    def attributes(queue: Queue) -> dict[str, Any]:
        return _attributes_without_counts(queue) if getattr(_inside, "active", False) else full(queue)

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    Queue.pending_message_groups = property(_pending_message_groups)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = _uncounted(SQSBackend.send_message)  # type: ignore[method-assign]
    SQSBackend.receive_message = _one_receiver_at_a_time(  # type: ignore[method-assign]
        _uncounted(SQSBackend.receive_message))
    _installed.append(True)
