"""`dlq replay`: dead-lettered messages back to their queue after a fix, counted per reason.

Nothing is lost: a message leaves the dead-letter queue only after the send to its target succeeded.
Whatever is not moved (a dry run, another reason, a failed send) stays invisible while the queue is read,
so that no message is seen twice, and is released (visibility 0) when the run ends, however it ends.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from jobs.consumer import ERROR_ATTRIBUTE, SOURCE_ATTRIBUTE, queue_region

REDRIVEN = "redriven by SQS: maxReceiveCount reached"
HOLD_SECONDS = 600  # a received message stays invisible this long: longer than a run takes to reach the end
REASON_LENGTH = 80
OURS = (ERROR_ATTRIBUTE, SOURCE_ATTRIBUTE)

_MESSAGE_ID = re.compile(r";\s*message \S*\s*$")
_ASIDE = re.compile(r"\s*\([^()]*\)")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?")

Progress = Callable[..., None]


class ReplayError(Exception):
    """A misconfiguration found before anything moved: one line, exit 2."""


@dataclass
class ReplayOptions:
    dlq_url: str
    to: str | None = None
    max_messages: int | None = None
    dry_run: bool = False
    reason: str | None = None


def reason_text(message: dict[str, Any]) -> str:
    """The consumer's reason without its trailing message id; SQS's redrive leaves none."""
    attribute = (message.get("MessageAttributes") or {}).get(ERROR_ATTRIBUTE)
    if not attribute:
        return REDRIVEN
    return _MESSAGE_ID.sub("", attribute.get("StringValue") or "").strip() or "unparseable"


def reason_key(text: str) -> str:
    """A stable group for a reason: asides, quoted values and times left out, cut to its leading words."""
    key = " ".join(_TIME.sub("<time>", _QUOTED.sub("'…'", _ASIDE.sub("", text))).split())
    return key if len(key) <= REASON_LENGTH else key[:REASON_LENGTH - 1].rstrip() + "…"


@dataclass
class ReasonCount:
    moved: int = 0     # or would move, in a dry run
    failed: int = 0    # the send failed: left in the dead-letter queue
    skipped: int = 0   # another reason than --reason


@dataclass
class ReplayReport:
    dlq_url: str
    dry_run: bool
    reasons: dict[str, ReasonCount] = field(default_factory=dict)
    targets: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stopped: str = "empty"   # "empty" (the queue answered empty), "max" (--max reached) or "error"

    def count(self, key: str) -> ReasonCount:
        return self.reasons.setdefault(key, ReasonCount())

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.reasons.values())

    def as_dict(self) -> dict[str, Any]:
        return {"dlq": self.dlq_url, "dry_run": self.dry_run, "stopped": self.stopped,
                "moved": self.total("moved"), "failed": self.total("failed"), "skipped": self.total("skipped"),
                "reasons": {k: vars(c) for k, c in sorted(self.reasons.items())},
                "targets": dict(sorted(self.targets.items())), "errors": self.errors}


class NoTarget(ReplayError):
    def __init__(self, message: str, report: ReplayReport) -> None:
        super().__init__(message)
        self.report = report


def sqs_for(aws: Aws, url: str) -> Any:
    return aws.client("sqs", queue_region(url))


def check_queue(aws: Aws, url: str, what: str) -> dict[str, str]:
    try:
        attributes: dict[str, str] = sqs_for(aws, url).get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])["Attributes"]
        return attributes
    except (ClientError, BotoCoreError) as exc:
        raise ReplayError(f"{what} {url}: {describe_error(exc)}") from None


def source_queues(aws: Aws, dlq_url: str) -> list[str]:
    """The queues whose redrive policy names this dead-letter queue."""
    urls: list[str] = []
    try:
        for page in sqs_for(aws, dlq_url).get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
            urls += page.get("queueUrls") or []
    except (ClientError, BotoCoreError) as exc:
        raise ReplayError(f"source queues of {dlq_url}: {describe_error(exc)}") from None
    return urls


def default_target(aws: Aws, dlq_url: str, to: str | None) -> tuple[str | None, str]:
    """(--to or the one source queue, why there is none when there is none)."""
    if to:
        return to, ""
    sources = source_queues(aws, dlq_url)
    if len(sources) == 1:
        return sources[0], ""
    why = "no queue has it as its dead-letter queue" if not sources else \
        f"it is the dead-letter queue of {len(sources)} queues ({', '.join(sources)})"
    return None, why


def _send_attributes(message: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        if name not in OURS:
            kept[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    return kept


class Replay:
    def __init__(self, aws: Aws, options: ReplayOptions, progress: Progress | None = None) -> None:
        self.aws = aws
        self.options = options
        self.progress = progress or (lambda *_, **__: None)
        self.dlq = sqs_for(aws, options.dlq_url)
        self.report = ReplayReport(options.dlq_url, options.dry_run)
        self._held: list[str] = []   # receipt handles to release at the end
        self._seen: set[str] = set()
        self.default: str | None = None
        self.no_default = ""

    def run(self) -> ReplayReport:
        waiting = int(check_queue(self.aws, self.options.dlq_url, "dead-letter queue")
                      .get("ApproximateNumberOfMessages", 0))
        if self.options.to:
            if self.options.to.rstrip("/") == self.options.dlq_url.rstrip("/"):
                raise ReplayError("--to is the dead-letter queue itself")
            check_queue(self.aws, self.options.to, "--to")
        self.default, self.no_default = default_target(self.aws, self.options.dlq_url, self.options.to)
        total = min(waiting, self.options.max_messages) if self.options.max_messages is not None else waiting
        try:
            while not self._at_max():
                batch = self._receive()
                if not batch:
                    break
                self._take(batch)
                self.progress("dead-lettered messages " + ("counted" if self.options.dry_run else "moved"),
                              self.report.total("moved"), max(total, self.report.total("moved")))
            else:
                self.report.stopped = "max"
        finally:
            self._release()
        return self.report

    def _at_max(self) -> bool:
        return self.options.max_messages is not None and self.report.total("moved") >= self.options.max_messages

    def _receive(self) -> list[dict[str, Any]]:
        """The next messages not seen in this run; [] once the queue answers empty."""
        wanted = 10
        if self.options.max_messages is not None and not self.options.reason:
            wanted = max(1, min(10, self.options.max_messages - self.report.total("moved")))
        # A short poll asks only some of SQS's servers, so an empty answer is confirmed by a long poll, which asks all.
        for wait in (0, 1):
            try:
                got: list[dict[str, Any]] = self.dlq.receive_message(
                    QueueUrl=self.options.dlq_url, MaxNumberOfMessages=wanted, WaitTimeSeconds=wait,
                    VisibilityTimeout=HOLD_SECONDS, MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"]).get("Messages") or []
            except (ClientError, BotoCoreError) as exc:
                self.report.errors.append(f"receive from {self.options.dlq_url}: {describe_error(exc)}")
                self.report.stopped = "error"
                return []
            again = [m for m in got if m["MessageId"] in self._seen]
            self._held += [m["ReceiptHandle"] for m in again]  # held ones that came back: released at the end
            fresh = [m for m in got if m["MessageId"] not in self._seen]
            if fresh:
                return fresh
        return []

    def _take(self, batch: list[dict[str, Any]]) -> None:
        needle = (self.options.reason or "").lower()
        sent: set[str] = set()
        try:
            for message in batch:
                self._seen.add(message["MessageId"])
                text = reason_text(message)
                key = reason_key(text)
                if needle and needle not in text.lower() and needle not in key.lower():
                    self.report.count(key).skipped += 1
                elif self._at_max():
                    continue
                elif self.options.dry_run:
                    self.report.targets[self._target(message)] += 1
                    self.report.count(key).moved += 1
                elif self._send(message, key):
                    sent.add(message["MessageId"])
        finally:  # what was not sent is released at the end, also when a message has nowhere to go
            self._held += [m["ReceiptHandle"] for m in batch if m["MessageId"] not in sent]
            self._delete([m for m in batch if m["MessageId"] in sent])

    def _target(self, message: dict[str, Any]) -> str:
        source = (message.get("MessageAttributes") or {}).get(SOURCE_ATTRIBUTE, {}).get("StringValue")
        target = self.options.to or source or self.default
        if not target:
            raise NoTarget(f"message {message['MessageId']} names no source queue and {self.options.dlq_url} has "
                           f"no single one ({self.no_default}): pass --to QUEUE_URL", self.report)
        return target

    def _send(self, message: dict[str, Any], key: str) -> bool:
        target = self._target(message)
        params: dict[str, Any] = {"QueueUrl": target, "MessageBody": message.get("Body") or " "}
        attributes = _send_attributes(message)
        if attributes:
            params["MessageAttributes"] = attributes
        if target.endswith(".fifo"):
            system = message.get("Attributes") or {}
            params["MessageGroupId"] = system.get("MessageGroupId") or "dlq-replay"
            params["MessageDeduplicationId"] = system.get("MessageDeduplicationId") or message["MessageId"]
        try:
            sqs_for(self.aws, target).send_message(**params)
        except (ClientError, BotoCoreError) as exc:
            self.report.count(key).failed += 1
            self.report.errors.append(f"message {message['MessageId']} to {target}: {describe_error(exc)}; "
                                      "left in the dead-letter queue")
            return False
        self.report.count(key).moved += 1
        self.report.targets[target] += 1
        return True

    def _delete(self, sent: list[dict[str, Any]]) -> None:
        for i in range(0, len(sent), 10):
            chunk = sent[i:i + 10]
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)]
            try:
                failed = self.dlq.delete_message_batch(QueueUrl=self.options.dlq_url, Entries=entries).get("Failed")
            except (ClientError, BotoCoreError) as exc:
                failed = [{"Id": e["Id"], "Message": describe_error(exc)} for e in entries]
            for failure in failed or []:
                message = chunk[int(failure["Id"])]
                self.report.errors.append(f"message {message['MessageId']} was sent but not deleted "
                                          f"({failure.get('Message')}): it comes back in {HOLD_SECONDS} s")

    def _release(self) -> None:
        for i in range(0, len(self._held), 10):
            entries = [{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                       for n, h in enumerate(self._held[i:i + 10])]
            try:
                self.dlq.change_message_visibility_batch(QueueUrl=self.options.dlq_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                self.report.errors.append(f"release of {len(entries)} messages: {describe_error(exc)}; "
                                          f"they come back within {HOLD_SECONDS} s")
        self._held.clear()
