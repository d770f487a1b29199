"""An SQS message body -> the events it carries, with every envelope removed.

Accepted: an EventBridge event; an SNS notification wrapping any of these (raw delivery needs no
unwrapping); an S3 event notification (`Records[]`; `s3:TestEvent` is ignored); Git push
payloads (GitHub push webhook, GitLab Push Hook, optionally inside a `{"headers", "body"}` webhook
relay envelope) and CodeCommit `Repository State Change` events. Anything else raises
MalformedMessage.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from collector.events import git, s3
from collector.events.model import CloudEvent, Ignored, Item, MalformedMessage
from collector.events.times import parse_time

_MAX_DEPTH = 4


def parse_body(body: str | bytes) -> list[Item]:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage("body is not UTF-8") from None
    return _unwrap(_json(body, "body"), 0)


def _json(text: Any, what: str) -> Any:
    if isinstance(text, (dict, list)):
        return text
    if not isinstance(text, str):
        raise MalformedMessage(f"{what} is not text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedMessage(f"{what} is not JSON ({exc.msg} at character {exc.pos})") from None
    except ValueError as exc:  # not a JSONDecodeError: an integer with more digits than int() converts
        raise MalformedMessage(f"{what} is not JSON ({exc})") from None


def _unwrap(doc: Any, depth: int) -> list[Item]:
    if depth > _MAX_DEPTH:
        raise MalformedMessage("envelopes nested too deep")
    if not isinstance(doc, dict):
        raise MalformedMessage(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("Type") == "Notification" and "Message" in doc:  # SNS
        return _unwrap(_json(doc["Message"], "SNS Message"), depth + 1)
    if doc.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return [Ignored(f"sns:{doc['Type']}")]
    if doc.get("Event") == "s3:TestEvent":
        return [Ignored("s3:TestEvent")]
    if isinstance(doc.get("Records"), list):
        return _s3_records(doc["Records"])
    if "detail-type" in doc and "source" in doc:
        return [_eventbridge(doc)]
    if isinstance(doc.get("headers"), dict) and "body" in doc:  # a webhook relayed with its headers
        return _webhook(doc["headers"], doc["body"], depth)
    if git.is_gitlab_push(doc):
        return [git.gitlab_push(doc)]
    if git.is_github_push(doc):
        return [git.github_push(doc)]
    raise MalformedMessage("not an EventBridge event, SNS notification, S3 notification or Git push")


def _s3_records(records: list[Any]) -> list[Item]:
    items: list[Item] = []
    for record in records:
        if not isinstance(record, dict):
            raise MalformedMessage("Records[] entry is not an object")
        source = record.get("eventSource") or record.get("EventSource")
        if source != "aws:s3":
            items.append(Ignored(f"records:{source or 'unknown'}"))
            continue
        items.append(s3.from_notification_record(record))
    return items or [Ignored("s3:empty-records")]


def _eventbridge(doc: Mapping[str, Any]) -> Item:
    source, detail_type = doc.get("source"), doc.get("detail-type")
    detail = doc.get("detail")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        raise MalformedMessage("EventBridge event with a non-text source or detail-type")
    if not isinstance(detail, dict):
        raise MalformedMessage(f"EventBridge event {detail_type!r} without a detail object")
    time = parse_time(doc.get("time"))
    region = doc.get("region") if isinstance(doc.get("region"), str) else None
    resources = tuple(r for r in doc.get("resources") or [] if isinstance(r, str))
    if source == "aws.s3":
        return s3.from_eventbridge(detail_type, detail, time, region)
    if source == "aws.codecommit" and detail_type == git.CODECOMMIT_DETAIL_TYPE:
        return git.codecommit_push(detail, time, region, resources)
    return CloudEvent(source=source, detail_type=detail_type, detail=dict(detail), time=time,
                      id=doc.get("id") if isinstance(doc.get("id"), str) else None, region=region,
                      account=doc.get("account") if isinstance(doc.get("account"), str) else None,
                      resources=resources)


def _webhook(headers: Mapping[str, Any], body: Any, depth: int) -> list[Item]:
    lowered = {str(k).lower(): v for k, v in headers.items()}
    github, gitlab = lowered.get("x-github-event"), lowered.get("x-gitlab-event")
    if github is not None and github != "push":
        return [Ignored(f"github:{github}")]
    if gitlab is not None and gitlab not in ("Push Hook", "Tag Push Hook"):
        return [Ignored(f"gitlab:{gitlab}")]
    return _unwrap(_json(body, "webhook body"), depth + 1)
