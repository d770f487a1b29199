"""SQS message move tasks for moto's server, which has none: StartMessageMoveTask and ListMessageMoveTasks,
the API behind the console's "start DLQ redrive".

A task moves the messages visible in its source queue when it starts, one by one on a thread of the server
(at MaxNumberOfMessagesPerSecond when given): each is sent to the destination as a new message, body and
attributes kept and its receive count reset, and only then removed from the source. Without a
DestinationArn the source must be the dead-letter queue of exactly one queue, which is the destination
(SQS would send each message back to the queue it was redriven from; moto does not record that). Tasks live
on moto's Queue objects (`sim_move_tasks`, newest first), so moto's reset clears them. Every response is
checked with botocore's ParamValidator against the operation's output shape before moto serializes it.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from moto.core.responses import ActionResult
from moto.sqs.exceptions import QueueDoesNotExist, SQSException
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

SERVICE_MODEL = botocore.session.get_session().get_service_model("sqs")
_installed: list[bool] = []


class ResourceNotFound(SQSException):
    code = "ResourceNotFoundException"


class InvalidParameterValue(SQSException):
    code = "InvalidParameterValue"


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    messages: list[Message]
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    status: str = "RUNNING"
    moved: int = 0
    failure: str | None = None

    def result(self) -> dict[str, Any]:
        row: dict[str, Any] = {"Status": self.status, "SourceArn": self.source_arn,
                               "ApproximateNumberOfMessagesMoved": self.moved,
                               "ApproximateNumberOfMessagesToMove": len(self.messages),
                               "StartedTimestamp": self.started_ms}
        if self.status == "RUNNING":  # SQS gives the handle of running tasks only
            row["TaskHandle"] = self.handle
        optional = {"DestinationArn": self.destination_arn, "MaxNumberOfMessagesPerSecond": self.rate,
                    "FailureReason": self.failure}
        row.update({k: v for k, v in optional.items() if v is not None})
        return row


def _validated(operation: str, payload: dict[str, Any]) -> ActionResult:
    report = ParamValidator().validate(payload, SERVICE_MODEL.operation_model(operation).output_shape)
    if report.has_errors():
        raise SQSException("SimInvalidResponse", f"sim response for sqs.{operation} is invalid: "
                                                 f"{report.generate_report()}")
    return ActionResult(payload)


def _queue_of(arn: str) -> tuple[SQSBackend, Queue]:
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ResourceNotFound(f"{arn} is not an SQS queue ARN")
    try:
        backend = sqs_backends[parts[4]][parts[3]]
        return backend, backend.get_queue(parts[5])
    except (QueueDoesNotExist, KeyError):
        raise ResourceNotFound(f"the queue {arn} does not exist") from None


def _tasks(queue: Queue) -> list[MoveTask]:
    tasks: list[MoveTask] = queue.__dict__.setdefault("sim_move_tasks", [])
    return tasks


def _only_source(backend: SQSBackend, dlq: Queue) -> Queue:
    sources = backend.list_dead_letter_source_queues(dlq.name)
    if len(sources) != 1:
        raise InvalidParameterValue(f"{dlq.queue_arn} is the dead-letter queue of {len(sources)} queues: "
                                    "give a DestinationArn")
    return sources[0]


def _move(backend: SQSBackend, task: MoveTask, source: Queue, destination: Queue) -> None:
    try:
        for message in task.messages:
            if message not in source._messages:  # deleted (or received and deleted) since the task started
                continue
            backend.send_message(destination.name, message.body, message_attributes=message.message_attributes,
                                 deduplication_id=message.deduplication_id, group_id=message.group_id)
            with source._messages_lock:
                if message in source._messages:
                    source._messages.remove(message)
            source.pending_messages.discard(message)
            task.moved += 1
            if task.rate:
                time.sleep(1 / task.rate)
        task.status = "COMPLETED"
    except Exception as exc:  # a task that fails says why, as SQS's do
        task.status, task.failure = "FAILED", f"{type(exc).__name__}: {exc}"


def start_message_move_task(self: SQSResponse) -> ActionResult:
    source_arn = self._get_param("SourceArn")
    backend, source = _queue_of(source_arn)
    destination_arn = self._get_param("DestinationArn")
    destination = _queue_of(destination_arn)[1] if destination_arn else _only_source(backend, source)
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    handle = base64.b64encode(json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()).decode()
    task = MoveTask(handle, source_arn, destination_arn, int(rate) if rate else None, list(source.messages))
    _tasks(source).insert(0, task)
    threading.Thread(target=_move, args=(backend, task, source, destination), name="sim-sqs-move", daemon=True).start()
    return _validated("StartMessageMoveTask", {"TaskHandle": handle})


def list_message_move_tasks(self: SQSResponse) -> ActionResult:
    _, source = _queue_of(self._get_param("SourceArn"))
    limit = int(self._get_param("MaxResults") or 1)
    if not 1 <= limit <= 10:
        raise InvalidParameterValue("MaxResults must be between 1 and 10")
    return _validated("ListMessageMoveTasks", {"Results": [t.result() for t in _tasks(source)[:limit]]})


def install() -> None:
    if _installed:
        return
    SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]
    _installed.append(True)
