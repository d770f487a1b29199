"""Delta Lake and Iceberg tables: the current schema from their metadata files, never their data files.

Delta: the JSON commits in `_delta_log/` after the last checkpoint (named by `_last_checkpoint`),
newest first, until one holds a `metaData` action; when none does, the checkpoint's `metaData`
column (read by ranges: footer and that one column). Iceberg: the newest `metadata/*.metadata.json`
(or the one `version-hint.text` names) and its `current-schema-id`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from collector.s3.formats import Parsed, Unreadable, gunzip_prefix
from collector.s3.objects import ObjectReader, ObjectRef, ReadFailed, error_reason, list_objects, newest
from collector.s3.ranged import RangedFile
from collector.s3.schema import columns_of
from collector.s3uri import table_root

TABLE_FORMATS = frozenset({"delta", "iceberg"})
MAX_METADATA_BYTES = 16 << 20
MAX_COMMITS = 200  # JSON commits read back from the newest before giving up on finding metaData
_COMMIT = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.\d+\.\d+)?\.parquet$")
_VERSION = re.compile(r"^v?(\d+)")
_DELTA_PRIMITIVES: dict[str, pa.DataType] = {
    "string": pa.string(), "long": pa.int64(), "integer": pa.int32(), "short": pa.int16(), "byte": pa.int8(),
    "float": pa.float32(), "double": pa.float64(), "boolean": pa.bool_(), "binary": pa.binary(),
    "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"), "timestamp_ntz": pa.timestamp("us"),
}
_ICEBERG_PRIMITIVES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(), "int": pa.int32(), "long": pa.int64(), "float": pa.float32(), "double": pa.float64(),
    "date": pa.date32(), "time": pa.time64("us"), "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"), "timestamp_ns": pa.timestamp("ns"),
    "timestamptz_ns": pa.timestamp("ns", tz="UTC"), "string": pa.string(), "uuid": pa.binary(16),
    "binary": pa.binary(),
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_FIXED = re.compile(r"^fixed\[\s*(\d+)\s*\]$")


def table_kind(key: str) -> str | None:
    """"delta" or "iceberg" for a metadata file that names a table's current state."""
    table = table_root(key)
    if table is None:
        return None
    name = key.rsplit("/", 1)[-1]
    if table[1] == "delta":
        return "delta" if _COMMIT.match(name) or _CHECKPOINT.match(name) or name == "_last_checkpoint" else None
    return "iceberg" if name.endswith((".metadata.json", ".metadata.json.gz")) or name == "version-hint.text" else None


def pick_table_object(objects: Iterable[ObjectRef]) -> ObjectRef | None:
    """The metadata file that stands for a table's newest state (highest version, then newest), if any."""
    candidates = [o for o in objects if table_kind(o.key)]
    if not candidates:
        return None

    def order(o: ObjectRef) -> tuple[int, int, Any]:
        name = o.key.rsplit("/", 1)[-1]
        match = _VERSION.match(name)
        return (int(name.endswith((".json", ".parquet", ".gz"))), int(match.group(1)) if match else -1, o.order())

    return max(candidates, key=order)


def pick_object(objects: list[ObjectRef]) -> ObjectRef:
    """The object to read for a dataset: its table metadata when it is a table, else its newest object."""
    return pick_table_object(objects) or newest(objects)


# --- Delta ------------------------------------------------------------------------------------


def delta_schema(reader: ObjectReader, obj: ObjectRef) -> Parsed:
    root = (table_root(obj.key) or ("", ""))[0]
    log = f"{root}_delta_log/"
    pointer = _last_checkpoint(reader, ObjectRef(obj.bucket, f"{log}_last_checkpoint"))
    after = f"{log}{int(pointer['version']):020d}.checkpoint" if pointer else None
    try:
        listed = list(list_objects(reader.client, obj.bucket, log, start_after=after))
    except (ClientError, BotoCoreError) as exc:
        raise ReadFailed(error_reason(exc)) from None
    commits = sorted((o for o in listed if _COMMIT.match(o.key.rsplit("/", 1)[-1])), key=lambda o: o.key, reverse=True)
    if not commits and not pointer:
        raise Unreadable(f"no Delta commits under s3://{obj.bucket}/{log}")
    version = int(commits[0].key.rsplit("/", 1)[-1][:20]) if commits else int(pointer["version"])  # type: ignore[index]
    for commit in commits[:MAX_COMMITS]:
        metadata = _commit_metadata(reader, commit)
        if metadata is not None:
            return _delta_parsed(metadata, version)
    if pointer:
        metadata = _checkpoint_metadata(reader, obj.bucket, log, pointer)
        if metadata is not None:
            return _delta_parsed(metadata, version)
    if len(commits) > MAX_COMMITS:
        raise Unreadable(f"no metaData action in the newest {MAX_COMMITS} Delta commits and no checkpoint")
    raise Unreadable("no metaData action in the Delta log")


def _last_checkpoint(reader: ObjectReader, obj: ObjectRef) -> dict[str, Any] | None:
    try:
        chunk = reader.head(obj, 1 << 20)
    except ReadFailed as exc:
        if exc.reason.startswith(("NoSuchKey", "404")):
            return None
        raise
    try:
        pointer = json.loads(chunk.data)
        int(pointer["version"])
    except (ValueError, KeyError, TypeError):
        raise Unreadable("corrupt Delta _last_checkpoint") from None
    return pointer if isinstance(pointer, dict) else None


def _commit_metadata(reader: ObjectReader, commit: ObjectRef) -> dict[str, Any] | None:
    chunk = reader.head(commit, MAX_METADATA_BYTES)
    if not chunk.complete:
        raise Unreadable(f"Delta commit {commit.key} larger than {MAX_METADATA_BYTES} bytes")
    found = None
    for line in chunk.data.splitlines():
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except ValueError as exc:
            raise Unreadable(f"Delta commit {commit.key} is not JSON lines: {exc}") from None
        if isinstance(action, dict) and isinstance(action.get("metaData"), dict):
            found = action["metaData"]
    return found


def _checkpoint_metadata(reader: ObjectReader, bucket: str, log: str, pointer: dict[str, Any]) -> dict[str, Any] | None:
    version = int(pointer["version"])
    parts = int(pointer.get("parts") or 0)
    names = ([f"{version:020d}.checkpoint.{i:010d}.{parts:010d}.parquet" for i in range(1, parts + 1)] if parts
             else [f"{version:020d}.checkpoint.parquet"])
    for name in names:
        try:
            table = pq.ParquetFile(RangedFile(reader, ObjectRef(bucket, log + name))).read(columns=["metaData"])
        except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
            raise Unreadable(f"unreadable Delta checkpoint {name}: {exc}") from None
        for row in table.column("metaData").to_pylist():
            if isinstance(row, dict) and row.get("schemaString"):
                return dict(row)
    return None


def _delta_parsed(metadata: dict[str, Any], version: int) -> Parsed:
    try:
        schema = json.loads(metadata["schemaString"])
        arrow = pa.schema([_delta_field(f) for f in schema.get("fields") or []])
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"Delta schemaString not understood: {exc}") from None
    return Parsed(columns_of(arrow), details={
        "table_format": "delta", "table_version": version, "table_id": metadata.get("id"),
        "partition_columns": list(metadata.get("partitionColumns") or [])})


def _delta_field(f: dict[str, Any]) -> pa.Field:
    return pa.field(str(f["name"]), _delta_type(f["type"]), bool(f.get("nullable", True)))


def _delta_type(t: Any) -> pa.DataType:
    if isinstance(t, str):
        if t in _DELTA_PRIMITIVES:
            return _DELTA_PRIMITIVES[t]
        decimal = _DECIMAL.match(t)
        if decimal:
            return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
        return pa.opaque(pa.null(), t, "delta")
    kind = t.get("type")
    if kind == "struct":
        return pa.struct([_delta_field(f) for f in t.get("fields") or []])
    if kind == "array":
        return pa.list_(pa.field("element", _delta_type(t["elementType"]), bool(t.get("containsNull", True))))
    if kind == "map":
        return pa.map_(_delta_type(t["keyType"]), _delta_type(t["valueType"]))
    raise Unreadable(f"unknown Delta type {t!r}")


# --- Iceberg ----------------------------------------------------------------------------------


def iceberg_schema(reader: ObjectReader, obj: ObjectRef) -> Parsed:
    if obj.key.endswith("/version-hint.text"):
        hint = reader.head(obj, 1024).data.decode("utf-8", "replace").strip()
        if not hint.isdigit():
            raise Unreadable(f"Iceberg version-hint.text does not hold a version: {hint[:40]!r}")
        obj = ObjectRef(obj.bucket, obj.key.rsplit("/", 1)[0] + f"/v{hint}.metadata.json")
    chunk = reader.head(obj, MAX_METADATA_BYTES)
    if not chunk.complete:
        raise Unreadable(f"Iceberg metadata larger than {MAX_METADATA_BYTES} bytes")
    data = chunk.data
    if data[:2] == b"\x1f\x8b":
        data, cut = gunzip_prefix(data, MAX_METADATA_BYTES * 8)
        if cut:
            raise Unreadable("Iceberg metadata larger than the decompression cap")
    try:
        meta = json.loads(data)
        schemas = meta.get("schemas") or [meta["schema"]]
        current = meta.get("current-schema-id", schemas[-1].get("schema-id"))
        schema = next((s for s in schemas if s.get("schema-id") == current), schemas[-1])
        arrow = pa.schema([_iceberg_field(f) for f in schema.get("fields") or []])
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise Unreadable(f"Iceberg metadata not understood: {exc}") from None
    specs = meta.get("partition-specs") or [{"fields": meta.get("partition-spec") or []}]
    spec = next((s for s in specs if s.get("spec-id") == meta.get("default-spec-id")), specs[-1])
    return Parsed(columns_of(arrow), details={
        "table_format": "iceberg", "format_version": meta.get("format-version"), "table_id": meta.get("table-uuid"),
        "schema_id": current, "snapshot_id": meta.get("current-snapshot-id"),
        "partition_columns": [p.get("name") for p in spec.get("fields") or []], "metadata": obj.uri})


def _iceberg_field(f: dict[str, Any]) -> pa.Field:
    return pa.field(str(f["name"]), _iceberg_type(f["type"]), not f.get("required", False))


def _iceberg_type(t: Any) -> pa.DataType:
    if isinstance(t, str):
        if t in _ICEBERG_PRIMITIVES:
            return _ICEBERG_PRIMITIVES[t]
        decimal, fixed = _DECIMAL.match(t), _FIXED.match(t)
        if decimal:
            return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
        if fixed:
            return pa.binary(int(fixed.group(1)))
        return pa.opaque(pa.null(), t, "iceberg")
    kind = t.get("type")
    if kind == "struct":
        return pa.struct([_iceberg_field(f) for f in t.get("fields") or []])
    if kind == "list":
        return pa.list_(pa.field("element", _iceberg_type(t["element"]), not t.get("element-required", False)))
    if kind == "map":
        return pa.map_(_iceberg_type(t["key"]), _iceberg_type(t["value"]))
    raise Unreadable(f"unknown Iceberg type {t!r}")
