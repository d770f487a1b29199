"""Avro object container files: the schema from the header, without a full Avro library. Pure.

The header is the magic `Obj\\x01`, then the file metadata as an Avro map of bytes (blocks of
zigzag-varint counts, each key and value length-prefixed), then a 16-byte sync marker; the
writer's schema is the JSON under `avro.schema`.
"""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from collector.s3.formats import Parsed, Unreadable
from collector.s3.schema import columns_of

AVRO_MAGIC = b"Obj\x01"
_PRIMITIVES: dict[str, pa.DataType] = {
    "null": pa.null(), "boolean": pa.bool_(), "int": pa.int32(), "long": pa.int64(), "float": pa.float32(),
    "double": pa.float64(), "bytes": pa.binary(), "string": pa.string(),
}
_LOGICAL: dict[str, pa.DataType] = {
    "date": pa.date32(), "time-millis": pa.time32("ms"), "time-micros": pa.time64("us"),
    "timestamp-millis": pa.timestamp("ms", tz="UTC"), "timestamp-micros": pa.timestamp("us", tz="UTC"),
    "timestamp-nanos": pa.timestamp("ns", tz="UTC"), "local-timestamp-millis": pa.timestamp("ms"),
    "local-timestamp-micros": pa.timestamp("us"), "local-timestamp-nanos": pa.timestamp("ns"), "uuid": pa.string(),
}


class _Cursor:
    def __init__(self, data: bytes, start: int) -> None:
        self.data, self.pos = data, start

    def long(self) -> int:
        shift = value = 0
        while True:
            if self.pos >= len(self.data):
                raise _Short()
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (value >> 1) ^ -(value & 1)
            shift += 7
            if shift > 63:
                raise Unreadable("corrupt Avro header: varint longer than 10 bytes")

    def bytes(self) -> bytes:
        length = self.long()
        if length < 0:
            raise Unreadable("corrupt Avro header: negative length")
        end = self.pos + length
        if end > len(self.data):
            raise _Short()
        out, self.pos = self.data[self.pos:end], end
        return out


class _Short(Exception):
    """The header runs past the bytes read."""


def header_metadata(data: bytes) -> dict[str, bytes] | None:
    """The header's metadata map, or None when `data` ends before the header does (read more)."""
    if data[:4] != AVRO_MAGIC:
        raise Unreadable("not an Avro object container file: no Obj\\x01 magic")
    cursor = _Cursor(data, 4)
    meta: dict[str, bytes] = {}
    try:
        while (count := cursor.long()) != 0:
            if count < 0:  # a block with its byte size after the count
                count = -count
                cursor.long()
            for _ in range(count):
                key = cursor.bytes().decode("utf-8", "replace")
                meta[key] = cursor.bytes()
    except _Short:
        return None
    return meta


def parse_avro_header(data: bytes) -> Parsed:
    meta = header_metadata(data)
    if meta is None:
        raise Unreadable(f"Avro header longer than the {len(data)} bytes read")
    if "avro.schema" not in meta:
        raise Unreadable("Avro header without avro.schema")
    try:
        schema = json.loads(meta["avro.schema"])
    except ValueError as exc:
        raise Unreadable(f"Avro schema is not valid JSON: {exc}") from None
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        arrow = pa.schema([pa.field("value", *_type(schema, {}, set()))])
    else:
        arrow = pa.schema(_fields(schema, {}, set()))
    codec = meta.get("avro.codec", b"null").decode("utf-8", "replace")
    return Parsed(columns_of(arrow), details={"codec": codec, "record": schema.get("name")
                                              if isinstance(schema, dict) else None})


def _fields(record: dict[str, Any], names: dict[str, pa.DataType], open_records: set[str]) -> list[pa.Field]:
    out = []
    for f in record.get("fields") or []:
        arrow, nullable = _type(f.get("type"), names, open_records)
        out.append(pa.field(str(f.get("name")), arrow, nullable))
    return out


def _type(schema: Any, names: dict[str, pa.DataType], open_records: set[str]) -> tuple[pa.DataType, bool]:
    """Arrow type and nullability of an Avro type; a union with null is a nullable column."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        nullable = len(branches) < len(schema)
        if len(branches) == 1:
            return _type(branches[0], names, open_records)[0], nullable
        if not branches:
            return pa.null(), True
        fields = [pa.field(f"member{i}", _type(b, names, open_records)[0]) for i, b in enumerate(branches)]
        return pa.dense_union(fields), nullable
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema], schema == "null"
        if schema in open_records:  # a recursive reference: the structure is not expanded again
            return pa.struct([]), True
        if schema in names or schema.rsplit(".", 1)[-1] in names:
            return names.get(schema, names.get(schema.rsplit(".", 1)[-1], pa.null())), False
        raise Unreadable(f"Avro schema names an undefined type {schema!r}")
    if not isinstance(schema, dict):
        raise Unreadable(f"unexpected Avro type {schema!r}")
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical == "decimal":
        precision, scale = int(schema.get("precision", 38)), int(schema.get("scale", 0))
        return (pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)), False
    if logical in _LOGICAL:
        return _LOGICAL[logical], False
    name = str(schema.get("name") or "")
    if kind == "record":
        open_records.add(name)
        arrow: pa.DataType = pa.struct(_fields(schema, names, open_records))
        open_records.discard(name)
    elif kind == "enum":
        arrow = pa.string()
    elif kind == "fixed":
        arrow = pa.binary(int(schema.get("size", 0)))
    elif kind == "array":
        arrow = pa.list_(pa.field("element", _type(schema.get("items"), names, open_records)[0]))
    elif kind == "map":
        arrow = pa.map_(pa.string(), _type(schema.get("values"), names, open_records)[0])
    else:
        return _type(kind, names, open_records)
    if name:
        names[name] = names[name.rsplit(".", 1)[-1]] = arrow
    return arrow, False
