"""What an SQS message can carry, once its envelopes are removed; and the hooks other parts plug in.

`S3ObjectEvent`, `GitPushEvent`, `S3ObjectHook` and `GitPushHandler` are interfaces other
issues code against (S3 schema extraction, Git/SQL lineage): change them only together.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias


@dataclass(frozen=True)
class S3ObjectEvent:
    bucket: str
    key: str                 # URL-decoded object key
    action: str              # "created" | "deleted"
    time: datetime           # event time, tz-aware UTC
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    region: str | None = None
    # The bucket owner's account when the event says it (EventBridge does, notifications do not): scope only,
    # not part of what the event is (the same change delivered either way compares equal).
    account: str | None = field(default=None, compare=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class GitPushEvent:
    provider: str            # "github" | "gitlab" | "codecommit"
    repo_url: str            # clone URL as given (https or ssh); CodeCommit: the repository's https clone URL
    ref: str                 # e.g. "refs/heads/main"
    branch: str | None
    before: str | None       # sha before the push (None / all-zeros for a new branch)
    after: str | None        # sha after the push (None / all-zeros for a deleted branch)
    forced: bool
    time: datetime | None
    repository_name: str | None = None


# Called once per committed write (one or more receive batches), AFTER the graph write holding those
# events committed; used by the S3 schema work to schedule extraction. Raising leaves the messages that
# carried these events for redelivery (their graph effect is idempotent, so a replay is harmless).
S3ObjectHook = Callable[[list[S3ObjectEvent]], None]
# Does its own git work and graph writes; raising means the message is retried (not deleted).
GitPushHandler = Callable[[GitPushEvent], None]


@dataclass(frozen=True)
class CloudEvent:
    """An EventBridge event (from any source other than the ones unwrapped into the types above)."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    time: datetime | None = None
    id: str | None = None
    region: str | None = None
    account: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Ignored:
    """A well-formed message that carries nothing to ingest (s3:TestEvent, tag changes, pings...)."""

    kind: str


Item: TypeAlias = CloudEvent | S3ObjectEvent | GitPushEvent | Ignored


class MalformedMessage(ValueError):
    """The message cannot be parsed at all: it is dead-lettered or deleted, never retried."""
