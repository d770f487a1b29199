"""`dlq replay --native`: SQS's own redrive (StartMessageMoveTask), watched with ListMessageMoveTasks until it ends."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from jobs.dead_letter import Progress, ReplayError, check_queue, default_target, sqs_for

FINISHED = ("COMPLETED", "CANCELLED", "FAILED")


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination: str
    status: str = "RUNNING"
    moved: int = 0
    to_move: int = 0
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"native": True, "task_handle": self.handle, "source_arn": self.source_arn,
                "destination": self.destination, "status": self.status, "moved": self.moved,
                "to_move": self.to_move, "failure": self.failure}


def start_move(aws: Aws, dlq_url: str, to: str | None, per_second: int | None) -> MoveTask:
    """Start moving every message of the dead-letter queue to `to` (or its one source queue)."""
    source_arn = check_queue(aws, dlq_url, "dead-letter queue")["QueueArn"]
    target, why = default_target(aws, dlq_url, to)
    if target is None:
        raise ReplayError(f"{dlq_url}: {why}: pass --to QUEUE_URL")
    params: dict[str, Any] = {"SourceArn": source_arn,
                              "DestinationArn": check_queue(aws, target, "--to" if to else "source queue")["QueueArn"]}
    if per_second:
        params["MaxNumberOfMessagesPerSecond"] = per_second
    try:
        handle: str = sqs_for(aws, dlq_url).start_message_move_task(**params)["TaskHandle"]
    except (ClientError, BotoCoreError) as exc:
        raise ReplayError(f"StartMessageMoveTask on {dlq_url}: {describe_error(exc)}") from None
    return MoveTask(handle, source_arn, target)


def watch(aws: Aws, dlq_url: str, task: MoveTask, progress: Progress | None = None, interval: float = 1.0,
          sleep: Callable[[float], None] = time.sleep) -> MoveTask:
    """Poll the task until it has finished; its counts are SQS's approximations."""
    sqs = sqs_for(aws, dlq_url)
    while True:
        try:
            results = sqs.list_message_move_tasks(SourceArn=task.source_arn, MaxResults=10).get("Results") or []
        except (ClientError, BotoCoreError) as exc:
            task.failure = f"ListMessageMoveTasks: {describe_error(exc)} (the task goes on in SQS)"
            return task
        # A finished task no longer shows its handle; SQS runs one task per queue at a time, newest first.
        row = next((r for r in results if r.get("TaskHandle") == task.handle), None)
        if row is None and results and results[0].get("Status") in FINISHED:
            row = results[0]
        if row is not None:
            task.status = row.get("Status", task.status)
            task.moved = int(row.get("ApproximateNumberOfMessagesMoved") or 0)
            task.to_move = int(row.get("ApproximateNumberOfMessagesToMove") or 0)
            task.failure = row.get("FailureReason")
        if progress:
            progress("SQS moving dead-lettered messages", task.moved, task.to_move or None)
        if task.status in FINISHED:
            return task
        sleep(interval)
