"""What the consumer accepts of a parsed event: times no later than the message's receive time plus
the allowed clock skew, and only the accounts and regions it is configured for. Pure functions.

Times: an event reporting a state later than it could have been sent is forged or broken; it is
rejected (dead-lettered), not clamped: a clamped forgery would still beat the genuine events of the
next minutes. The receive time is the message's own (SQS's SentTimestamp, AWS-stamped) or the local
clock, never a time from the body.

Scope: an EventBridge event names its account and region in its envelope, and the SageMaker ARNs it
carries must name the same ones (a mismatch means the envelope is not the event's); an S3 event names
its region (and through EventBridge, the bucket owner's account). Git pushes have neither: the
configured repositories bound them.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collector.events.feature_store import is_feature_store_event
from collector.events.model import CloudEvent, GitPushEvent, Item, S3ObjectEvent
from collector.events.names import arn_parts
from collector.events.sagemaker import is_known
from collector.events.times import parse_time

SKIP, DEAD_LETTER = "skip", "dead-letter"


@dataclass(frozen=True)
class EventBounds:
    """What the consumer applies (from settings; the defaults bound time only)."""

    max_clock_skew: timedelta = timedelta(seconds=300)
    accounts: frozenset[str] | None = None   # None: any account
    regions: frozenset[str] | None = None    # None: any region
    out_of_scope: str = SKIP                 # or DEAD_LETTER


def item_times(item: Item) -> Iterator[datetime]:
    """The times an item reports: an EventBridge event's `time` and, for the SageMaker events applied, its
    detail's top-level times (stepStartTime, executionEndTime, a job's epoch-millisecond *Time fields...); an
    S3 event's time; a push's. (Other sources' details may name future times legitimately, such as a scheduled
    maintenance window: they are only counted, never applied.)"""
    if isinstance(item, CloudEvent):
        if item.time is not None:
            yield item.time
        if not (is_known(item) or is_feature_store_event(item)):
            return
        for name, value in item.detail.items():
            if name.endswith(("Time", "time")):
                parsed = parse_time(value)
                if parsed is not None:
                    yield parsed
    elif isinstance(item, (S3ObjectEvent, GitPushEvent)) and item.time is not None:
        yield item.time


def too_late(items: Iterable[Item], received_at: datetime, skew: timedelta) -> str | None:
    """Why these items are rejected (a time later than received_at + skew), or None."""
    limit = received_at + skew
    latest = max((t for item in items for t in item_times(item)), default=None)
    if latest is None or latest <= limit:
        return None
    return (f"event time {latest.isoformat()} is later than the message's receive time {received_at.isoformat()} "
            f"plus the allowed clock skew of {skew.total_seconds():g} s (LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS)")


def _sagemaker_arns(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if current.startswith("arn:") and ":sagemaker:" in current[:40]:
                yield current
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def out_of_scope(item: Item, bounds: EventBounds) -> tuple[str, str] | None:
    """(counter kind, reason) when the item lies outside the configured accounts and regions, else None."""
    if isinstance(item, CloudEvent):
        for arn in _sagemaker_arns([list(item.resources), item.detail]):
            parts = arn_parts(arn)
            if parts is None:
                continue
            _, region, account, _ = parts
            if (item.account is not None and account != item.account) or (item.region is not None and region != item.region):
                return ("out-of-scope:arn-mismatch",
                        f"ARN {arn[:200]} names account {account or '-'} in {region or '-'}, the envelope "
                        f"{item.account or '-'} in {item.region or '-'}")
        return _scope(item.account, item.region, bounds, required=True)
    if isinstance(item, S3ObjectEvent):
        return _scope(item.account, item.region, bounds, required=False)
    return None


def _scope(account: str | None, region: str | None, bounds: EventBounds, *, required: bool) -> tuple[str, str] | None:
    if bounds.accounts is not None and (account is not None or required) and account not in bounds.accounts:
        return ("out-of-scope:account",
                f"account {account or '(none given)'} is not one of LINEAGE_ACCOUNTS ({', '.join(sorted(bounds.accounts))})")
    if bounds.regions is not None and (region is not None or required) and region not in bounds.regions:
        return ("out-of-scope:region",
                f"region {region or '(none given)'} is not one of LINEAGE_REGIONS ({', '.join(sorted(bounds.regions))})")
    return None
