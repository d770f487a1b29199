"""S3 objects at the edge: references, ranged reads that count their bytes, listings."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403"})
MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    modified: datetime | None = None
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def order(self) -> tuple[datetime, str, str]:
        """Newest-wins order: modification time, then the event sequencer (hex, same length per key)."""
        when = self.modified or datetime.min.replace(tzinfo=timezone.utc)
        return (when, (self.sequencer or "").rjust(32, "0"), self.key)


def newest(objects: list[ObjectRef]) -> ObjectRef:
    return max(objects, key=ObjectRef.order)


def error_reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return f"{code}: {err.get('Message') or 'no message'}"
    return f"{type(exc).__name__}: {exc}"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return type(exc).__name__


class ReadFailed(Exception):
    """An object could not be read; `reason` says why (AccessDenied: ..., NoSuchKey: ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ReadStats:
    requests: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests: int, size: int) -> None:
        with self.lock:
            self.requests += requests
            self.bytes += size


@dataclass
class Chunk:
    data: bytes
    start: int
    total: int | None  # object size, from Content-Range (or Content-Length of a whole read)

    @property
    def complete(self) -> bool:
        return self.total is not None and self.start == 0 and len(self.data) >= self.total


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class ObjectReader:
    """Ranged GETs on one S3 client; every request and byte is counted."""

    def __init__(self, client: Any, stats: ReadStats | None = None) -> None:
        self.client = client
        self.stats = stats or ReadStats()

    def _get(self, obj: ObjectRef, range_header: str) -> Chunk:
        kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key, "Range": range_header}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        try:
            response = self.client.get_object(**kwargs)
            data = response["Body"].read()
        except ClientError as exc:
            self.stats.add(1, 0)
            if error_code(exc) == "InvalidRange":  # a range on an empty object
                return Chunk(b"", 0, 0)
            raise ReadFailed(error_reason(exc)) from None
        except BotoCoreError as exc:
            self.stats.add(1, 0)
            raise ReadFailed(error_reason(exc)) from None
        self.stats.add(1, len(data))
        match = _CONTENT_RANGE.match(response.get("ContentRange") or "")
        if match:
            total = None if match.group(3) == "*" else int(match.group(3))
            return Chunk(data, int(match.group(1)), total)
        return Chunk(data, 0, len(data))  # the server ignored the range: this is the whole object

    def head(self, obj: ObjectRef, length: int) -> Chunk:
        """The first `length` bytes (fewer if the object is smaller)."""
        return self._get(obj, f"bytes=0-{max(length, 1) - 1}")

    def tail(self, obj: ObjectRef, length: int) -> Chunk:
        """The last `length` bytes (the whole object if it is smaller)."""
        return self._get(obj, f"bytes=-{max(length, 1)}")

    def range(self, obj: ObjectRef, start: int, end_inclusive: int) -> Chunk:
        return self._get(obj, f"bytes={start}-{end_inclusive}")


def list_objects(client: Any, bucket: str, prefix: str, *, max_pages: int | None = None,
                 delimiter: str | None = None, start_after: str | None = None) -> Iterator[ObjectRef]:
    """Objects under a prefix, page by page (1,000 per request), optionally only keys after `start_after`."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        kwargs["Delimiter"] = delimiter
    if start_after:
        kwargs["StartAfter"] = start_after
    pages = 0
    while True:
        page = client.list_objects_v2(**kwargs)
        pages += 1
        for item in page.get("Contents", []) or []:
            yield ObjectRef(bucket, item["Key"], item.get("Size"), (item.get("ETag") or "").strip('"') or None,
                            item.get("LastModified"))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token or (max_pages and pages >= max_pages):
            return
        kwargs["ContinuationToken"] = token


def head_object(client: Any, obj: ObjectRef) -> ObjectRef | None:
    """The object's size, ETag and time; None if it does not exist."""
    try:
        response = client.head_object(Bucket=obj.bucket, Key=obj.key)
    except ClientError as exc:
        if error_code(exc) in MISSING:
            return None
        raise
    return ObjectRef(obj.bucket, obj.key, response.get("ContentLength"),
                     (response.get("ETag") or "").strip('"') or None, response.get("LastModified"))
