"""S3 URI normalisation and dataset identity.

A dataset is a prefix (ending in "/") or a single object. Partition folders
(`k=v/`, dates) and part files fold into the table-like prefix above them, so every
write of a partitioned dataset lands on one Dataset node. The rules are data
(`DatasetRules`): defaults cover Hive/Spark/Athena/Firehose layouts, and settings may add
patterns (`configure(rules)` once at start; every function here then uses them).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeGuard
from urllib.parse import unquote_plus

DEFAULT_PARTITION_PATTERNS: tuple[str, ...] = (
    r"[^=/]+=[^/]*",  # Hive: dt=2024-01-31, region=eu
    r"\d{4}(-\d{2}){0,2}([T_ -]?\d{2}([:-]?\d{2}){0,2}Z?)?",  # 2024, 2024-01, 2024-01-31, 2024-01-31T10
    r"\d{8}(\d{2})?",  # 20240131, 2024013110
)
# Segments that count as partitions only directly under another partition: 2024/01/31/23
DEFAULT_NESTED_DATE_PATTERNS: tuple[str, ...] = (r"\d{2}",)
DEFAULT_PART_FILE_PATTERNS: tuple[str, ...] = (
    r"part-\d+.*",  # Spark/Hadoop: part-00000-<uuid>.c000.snappy.parquet
    r"part-[a-z]-\d+.*",  # MapReduce: part-r-00000
    r"run-\d+-part-.*",  # Glue
    r".*\.c\d{3}(\..*)?",  # Spark file-commit suffix
    r"\d+_\d+_\d+.*",  # Presto/Athena: 20240131_101010_00001_x
    r"\d{6}_\d+(_copy_\d+)?(\..*)?",  # Hive: 000000_0, 000001_0_copy_1.gz
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*",  # uuid-named data files
)
DEFAULT_MARKER_PATTERNS: tuple[str, ...] = (
    r"_SUCCESS", r"_committed_.*", r"_started_.*", r".*\.crc", r".*_\$folder\$", r"\..*",
)
# Folders whose contents are in flight, never data: Spark/Hive staging.
DEFAULT_TRANSIENT_FOLDERS: tuple[str, ...] = (r"_temporary", r"\.hive-staging.*", r"\.spark-staging.*")

_FORMATS = {
    ".parquet": "parquet", ".parq": "parquet", ".csv": "csv", ".tsv": "csv", ".csv.gz": "csv",
    ".tsv.gz": "csv", ".json": "json", ".json.gz": "json", ".jsonl": "jsonl", ".jsonl.gz": "jsonl",
    ".ndjson": "jsonl", ".avro": "avro", ".orc": "orc", ".tar.gz": "tar.gz", ".gz": "gzip", ".txt": "text",
    ".py": "code", ".sql": "sql", ".pkl": "pickle", ".zip": "zip", ".npy": "numpy",
}


def _any(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)")


@dataclass(frozen=True)
class DatasetRules:
    """How object keys fold into dataset prefixes. Patterns match one whole path segment."""

    partition: tuple[str, ...] = DEFAULT_PARTITION_PATTERNS
    nested_date: tuple[str, ...] = DEFAULT_NESTED_DATE_PATTERNS
    part_file: tuple[str, ...] = DEFAULT_PART_FILE_PATTERNS
    marker: tuple[str, ...] = DEFAULT_MARKER_PATTERNS
    transient_folder: tuple[str, ...] = DEFAULT_TRANSIENT_FOLDERS
    _cache: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def extended(self, *, partition: Iterable[str] = (), part_file: Iterable[str] = (),
                 marker: Iterable[str] = ()) -> DatasetRules:
        """These rules plus extra patterns (from settings)."""
        return DatasetRules(self.partition + tuple(partition), self.nested_date, self.part_file + tuple(part_file),
                            self.marker + tuple(marker), self.transient_folder)

    def _compiled(self, name: str) -> re.Pattern[str]:
        pattern = self._cache.get(name)
        if pattern is None:
            pattern = self._cache[name] = re.compile(rf"^(?:{_any(getattr(self, name)).pattern})$")
        return pattern

    def is_partition_segment(self, segment: str) -> bool:
        return bool(self._compiled("partition").match(segment))

    def is_nested_date_segment(self, segment: str) -> bool:
        return bool(self._compiled("nested_date").match(segment))

    def is_part_file(self, name: str) -> bool:
        return bool(self._compiled("part_file").match(name))

    def is_marker_name(self, name: str) -> bool:
        return bool(self._compiled("marker").match(name))

    def is_transient_folder(self, segment: str) -> bool:
        return bool(self._compiled("transient_folder").match(segment))


DEFAULT_RULES = DatasetRules()
_active: list[DatasetRules] = [DEFAULT_RULES]


def configure(rules: DatasetRules) -> None:
    """Set the process-wide rules (once at start, from settings)."""
    _active[0] = rules


def active_rules() -> DatasetRules:
    return _active[0]


def is_s3_uri(value: object) -> TypeGuard[str]:
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


def is_marker(key: str, rules: DatasetRules | None = None) -> bool:
    """Commit markers, checksums, hidden files and anything under a staging folder: never data."""
    rules = rules or active_rules()
    *folders, name = key.split("/")
    return rules.is_marker_name(name) or any(rules.is_transient_folder(f) for f in folders if f)


_DELTA_LOG = re.compile(r"^(?P<root>(?:.*/)?)_delta_log/(?P<name>[^/]+)$")
_ICEBERG_METADATA = re.compile(
    r"^(?P<root>(?:.*/)?)metadata/(?P<name>[^/]*\.metadata\.json(?:\.gz)?|version-hint\.text|snap-[^/]+\.avro"
    r"|[^/]+-m\d+\.avro)$")


def table_root(key: str) -> tuple[str, str] | None:
    """(root key, "delta" | "iceberg") when the key is a table-format metadata file: a file in a
    `_delta_log/` folder, or an Iceberg `metadata/` file (`*.metadata.json`, `version-hint.text`,
    manifest lists and manifests). The table's root folder is its dataset."""
    match = _DELTA_LOG.match(key)
    if match:
        return match.group("root"), "delta"
    match = _ICEBERG_METADATA.match(key)
    if match:
        return match.group("root"), "iceberg"
    return None


def dataset_uri(uri: str, *, is_prefix: bool | None = None, rules: DatasetRules | None = None) -> str:
    """The dataset an S3 location belongs to.

    `is_prefix` says whether the URI names a folder; when None it is guessed: a trailing
    slash or a last segment without a file extension means a folder.
    """
    rules = rules or active_rules()
    uri = normalize(uri)
    bucket, key = split(uri)
    table = table_root(key)
    if table and table[0]:
        return f"s3://{bucket}/{table[0]}"
    parts = [p for p in key.split("/") if p]
    if not parts:
        return f"s3://{bucket}/"
    last = parts[-1]
    trailing = key.endswith("/")
    if not trailing and is_prefix is not True and (rules.is_part_file(last) or is_marker(key, rules)):
        return _folder(bucket, parts[:-1], rules)
    folder = is_prefix if is_prefix is not None else (trailing or "." not in last or "{" in last)
    if folder:
        return _folder(bucket, parts, rules)
    # A single object inside partition folders belongs to the dataset above them.
    if len(parts) > 1 and _is_partition(parts[:-1], rules):
        return _folder(bucket, parts[:-1], rules)
    return uri


def folder_dataset(bucket: str, key: str, rules: DatasetRules | None = None) -> str:
    """The folder dataset holding an object: its parent prefix with partitions folded."""
    rules = rules or active_rules()
    return _folder(bucket, [p for p in key.split("/")[:-1] if p], rules)


def sibling_identity(bucket: str, key: str, rules: DatasetRules | None = None) -> str:
    """What an object stands for when deduplicating: part files and files in partitions stand for
    their folder dataset (any one of them shows its schema); other files stand for themselves."""
    rules = rules or active_rules()
    parts = [p for p in key.split("/") if p]
    if not parts:
        return f"s3://{bucket}/"
    if rules.is_part_file(parts[-1]) or (len(parts) > 1 and _is_partition(parts[:-1], rules)):
        return _folder(bucket, parts[:-1], rules)
    return f"s3://{bucket}/{key}"


def ancestors(uri: str) -> list[str]:
    """Every folder prefix above an object, nearest first: s3://b/a/b/c.csv -> [s3://b/a/b/, s3://b/a/, s3://b/]."""
    bucket, key = split(uri)
    parts = [p for p in key.split("/") if p][:-1]
    return [f"s3://{bucket}/" + "".join(p + "/" for p in parts[:n]) for n in range(len(parts), -1, -1)]


def _is_partition(folders: list[str], rules: DatasetRules) -> bool:
    last = folders[-1]
    if rules.is_partition_segment(last):
        return True
    # "01"-style segments count only under a year: 2024/01/31
    return rules.is_nested_date_segment(last) and len(folders) > 1 and _is_partition(folders[:-1], rules)


def _folder(bucket: str, parts: list[str], rules: DatasetRules) -> str:
    while parts and _is_partition(parts, rules):
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


def guess_compression(uri: str) -> str | None:
    return "gzip" if uri.lower().endswith(".gz") and not uri.lower().endswith(".tar.gz") else None
