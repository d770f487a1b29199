"""S3 URI normalisation and dataset identity.

A dataset is a prefix (ending in "/") or a single object. Partition folders
(`k=v/`, dates) and part files fold into the table-like prefix above them, so every
write of a partitioned dataset lands on one Dataset node.
"""
from __future__ import annotations

import re
from urllib.parse import unquote_plus

_PARTITION = re.compile(r"^[^=/]+=[^/]*$")
_PART_FILE = re.compile(r"^(part-\d+.*|.*\.c\d{3}(\..*)?|\d+_\d+_\d+.*)$")
_MARKERS = re.compile(r"^(_SUCCESS|_committed_.*|_started_.*|.*\.crc|.*_\$folder\$|\.[^/]*)$")
_FORMATS = {
    ".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl",
    ".avro": "avro", ".orc": "orc", ".tar.gz": "tar.gz", ".gz": "gzip", ".txt": "text",
    ".py": "code", ".sql": "sql", ".pkl": "pickle", ".zip": "zip", ".npy": "numpy",
}


def is_s3_uri(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("s3://", "s3a://", "s3n://")) and len(value) > 5


def split(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def normalize(uri: str) -> str:
    """Canonical s3:// form: scheme unified, duplicate slashes collapsed, templates kept."""
    bucket, key = split(uri.strip())
    key = re.sub(r"/{2,}", "/", key)
    return f"s3://{bucket}/{key}"


def is_marker(key: str) -> bool:
    return bool(_MARKERS.match(key.rsplit("/", 1)[-1]))


def dataset_uri(uri: str, *, is_prefix: bool | None = None) -> str:
    """The dataset an S3 location belongs to.

    `is_prefix` says whether the URI names a folder; when None it is guessed: a trailing
    slash or a last segment without a file extension means a folder.
    """
    uri = normalize(uri)
    bucket, key = split(uri)
    parts = [p for p in key.split("/") if p]
    if not parts:
        return f"s3://{bucket}/"
    last = parts[-1]
    trailing = key.endswith("/")
    if not trailing and is_prefix is not True and (_PART_FILE.match(last) or is_marker(last)):
        return _folder(bucket, parts[:-1])
    folder = is_prefix if is_prefix is not None else (trailing or "." not in last or "{" in last)
    if folder:
        return _folder(bucket, parts)
    # A single object inside partition folders belongs to the dataset above them.
    if len(parts) > 1 and _is_partition(parts[:-1]):
        return _folder(bucket, parts[:-1])
    return uri


def _is_partition(folders: list[str]) -> bool:
    last = folders[-1]
    if _PARTITION.match(last) or re.match(r"^\d{4}(-\d{2}){0,2}$|^\d{8}$", last):
        return True
    # "01"-style segments count only under a year: 2024/01/31
    return bool(re.match(r"^\d{2}$", last)) and len(folders) > 1 and _is_partition(folders[:-1])


def _folder(bucket: str, parts: list[str]) -> str:
    while parts and _is_partition(parts):
        parts = parts[:-1]
    return f"s3://{bucket}/" + "".join(p + "/" for p in parts)


def object_key_from_event(raw_key: str) -> str:
    """S3 event notifications URL-encode keys (spaces as '+')."""
    return unquote_plus(raw_key)


def guess_format(uri: str) -> str | None:
    lower = uri.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            return _FORMATS[suffix]
    return None
