"""An SQS message body -> the events it carries, with every envelope removed.

Accepted: an EventBridge event; an SNS notification wrapping any of these (raw delivery needs no
unwrapping); an S3 event notification (`Records[]`; `s3:TestEvent` is ignored); Git push
payloads (GitHub push webhook, GitLab Push Hook, optionally inside a `{"headers", "body"}` webhook
relay envelope) and CodeCommit `Repository State Change` events. Anything else raises
MalformedMessage.

Every document is first checked as a whole (collector.events.document: depth, valid Unicode, number
ranges), then each envelope and each known event's detail against its typed model
(collector.events.schema): a wrong type, a garbage time or a name breaking AWS's rules is a
MalformedMessage naming the field, never an exception of another kind.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector.events import document, git, s3
from collector.events.model import CloudEvent, Ignored, Item, MalformedMessage
from collector.events.schema import SAGEMAKER_DETAILS, EventBridgeEnvelope, SnsNotification, WebhookRelay, s3_uris, validated

_MAX_DEPTH = 4


def parse_body(body: str | bytes) -> list[Item]:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage("body is not UTF-8") from None
    if not isinstance(body, str):
        raise MalformedMessage("body is not text")
    return _unwrap(document.load(body, "body"), 0)


def _json(text: Any, what: str) -> Any:
    if isinstance(text, (dict, list)):  # part of a document already checked
        return text
    if not isinstance(text, str):
        raise MalformedMessage(f"{what} is not text")
    return document.load(text, what)


def _unwrap(doc: Any, depth: int) -> list[Item]:
    if depth > _MAX_DEPTH:
        raise MalformedMessage("envelopes nested too deep")
    if not isinstance(doc, dict):
        raise MalformedMessage(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("Type") == "Notification" and "Message" in doc:  # SNS
        notification = validated(SnsNotification, doc, "SNS notification")
        return _unwrap(_json(notification.Message, "SNS Message"), depth + 1)
    if doc.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return [Ignored(f"sns:{doc['Type']}")]
    if doc.get("Event") == "s3:TestEvent":
        return [Ignored("s3:TestEvent")]
    if isinstance(doc.get("Records"), list):
        return _s3_records(doc["Records"])
    if "detail-type" in doc and "source" in doc:
        return [_eventbridge(doc)]
    if isinstance(doc.get("headers"), dict) and "body" in doc:  # a webhook relayed with its headers
        relay = validated(WebhookRelay, doc, "webhook relay")
        return _webhook(relay.headers, relay.body, depth)
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
    if not isinstance(doc.get("detail"), dict):
        raise MalformedMessage(f"EventBridge event {str(doc.get('detail-type'))[:100]!r} without a detail object")
    event = validated(EventBridgeEnvelope, doc, "EventBridge event")
    source, detail_type, detail, time, region = event.source, event.detail_type, doc["detail"], event.time, event.region
    resources = tuple(event.resources)
    if source == "aws.s3":
        return s3.from_eventbridge(detail_type, detail, time, region, event.account)
    if source == "aws.codecommit" and detail_type == git.CODECOMMIT_DETAIL_TYPE:
        return git.codecommit_push(detail, time, region, resources)
    model = SAGEMAKER_DETAILS.get(detail_type) if source == "aws.sagemaker" else None
    if model is not None:
        what = f"{detail_type!r} event"
        if time is None:
            raise MalformedMessage(f"{what} without a time")
        validated(model, detail, f"{what} detail")
        s3_uris(detail, f"{what} detail")
    return CloudEvent(source=source, detail_type=detail_type, detail=dict(detail), time=time, id=event.id,
                      region=region, account=event.account, resources=resources)


def _webhook(headers: Mapping[str, Any], body: Any, depth: int) -> list[Item]:
    lowered = {str(k).lower(): v for k, v in headers.items()}
    github, gitlab = lowered.get("x-github-event"), lowered.get("x-gitlab-event")
    if github is not None and github != "push":
        return [Ignored(f"github:{github}")]
    if gitlab is not None and gitlab not in ("Push Hook", "Tag Push Hook"):
        return [Ignored(f"gitlab:{gitlab}")]
    return _unwrap(_json(body, "webhook body"), depth + 1)
