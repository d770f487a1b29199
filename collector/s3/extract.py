"""One object in, one Observation out, reading as little as possible.

Parquet: the footer only (a suffix read, then the rest of the metadata if it is longer). ORC: the
tail (postscript, footer) by ranged reads. Avro: the header. CSV/JSON (optionally gzip): one ranged
read of the first bytes, capped. Delta and Iceberg tables: their metadata files (collector.s3.tables).
Other formats: no read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.orc as paorc

from collector.s3.avro import header_metadata, parse_avro_header
from collector.s3.formats import (
    GZIP_MAGIC,
    PARQUET_MAGIC,
    PARQUET_TAIL,
    Parsed,
    Unreadable,
    as_text,
    gunzip_prefix,
    parquet_metadata_length,
    parse_csv_sample,
    parse_json_sample,
    parse_parquet_footer,
    sniff_text_format,
)
from collector.s3.objects import ObjectReader, ObjectRef, ReadFailed
from collector.s3.ranged import RangedFile
from collector.s3.schema import Column, columns_of, fingerprint
from collector.s3.tables import delta_schema, iceberg_schema, table_kind
from collector.s3uri import guess_compression, guess_format

SCHEMA_FORMATS = frozenset({"parquet", "csv", "json", "jsonl", "avro", "orc", "delta", "iceberg"})
SNIFF_BYTES = 64 * 1024
AVRO_HEAD_BYTES = 16 * 1024  # the header is the schema JSON and a few names: a few KiB


@dataclass(frozen=True)
class ExtractOptions:
    sample_rows: int = 1000
    sample_bytes: int = 1 << 20  # compressed bytes read from the start of a CSV/JSON object
    footer_read_bytes: int = 64 << 10  # first suffix read of a Parquet object; 8 = strictly two-step
    max_footer_bytes: int = 64 << 20


@dataclass
class Observation:
    object: ObjectRef
    format: str | None
    status: str  # "ok" | "no_schema" | "unreadable"
    columns: list[Column] | None = None
    reason: str | None = None
    row_count: int | None = None
    row_groups: int | None = None
    sampled_rows: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    bytes_read: int = 0
    requests: int = 0

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.columns) if self.columns is not None else None


def extract(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions = ExtractOptions()) -> Observation:
    """Never raises for a bad object: unreadable objects come back with the reason."""
    name = obj.key.rsplit("/", 1)[-1]
    table = table_kind(obj.key)
    fmt = table or guess_format(obj.key) or (name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else None)
    before = (reader.stats.requests, reader.stats.bytes)
    try:
        if table == "delta":
            parsed: Parsed | None = delta_schema(reader, obj)
        elif table == "iceberg":
            parsed = iceberg_schema(reader, obj)
        elif obj.size == 0:
            raise Unreadable("empty object (0 bytes)")
        elif fmt is None:
            fmt, parsed = _sniffed(reader, obj, options)
        elif fmt == "parquet":
            parsed = _parquet(reader, obj, options)
        elif fmt in ("csv", "json", "jsonl"):
            parsed = _text_sample(reader, obj, options, fmt, compressed=guess_compression(obj.key) == "gzip")
        elif fmt == "avro":
            parsed = _avro(reader, obj, options)
        elif fmt == "orc":
            parsed = _orc(reader, obj, options)
        else:
            parsed = None
        observation = (Observation(obj, fmt, "ok", parsed.columns, row_count=parsed.row_count,
                                   row_groups=parsed.row_groups, sampled_rows=parsed.sampled_rows,
                                   details=parsed.details)
                       if parsed else Observation(obj, fmt, "no_schema"))
    except (Unreadable, ReadFailed) as exc:
        observation = Observation(obj, fmt, "unreadable", reason=exc.reason)
    observation.requests = reader.stats.requests - before[0]
    observation.bytes_read = reader.stats.bytes - before[1]
    return observation


def _parquet(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions) -> Parsed:
    first = reader.tail(obj, max(options.footer_read_bytes, PARQUET_TAIL))
    total = first.total if first.total is not None else (obj.size or 0)
    length = parquet_metadata_length(first.data, total)
    needed = length + PARQUET_TAIL
    if needed > options.max_footer_bytes:
        raise Unreadable(f"Parquet footer of {needed} bytes exceeds the {options.max_footer_bytes}-byte cap")
    footer = first.data[-needed:]
    if len(footer) < needed:  # fetch only the part of the metadata the first read missed
        missing = needed - len(first.data)
        rest = reader.range(obj, total - needed, total - needed + missing - 1)
        footer = rest.data + first.data
        if len(footer) != needed:
            raise Unreadable(f"short read of the Parquet footer ({len(footer)} of {needed} bytes)")
    return parse_parquet_footer(footer)


def _avro(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions) -> Parsed:
    first = reader.head(obj, AVRO_HEAD_BYTES)
    if header_metadata(first.data) is None and not first.complete:  # a header longer than 16 KiB: rare
        first = reader.head(obj, options.max_footer_bytes)
    return parse_avro_header(first.data)


def _orc(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions) -> Parsed:
    try:
        orc = paorc.ORCFile(RangedFile(reader, obj, max(options.footer_read_bytes, 16 << 10)))
        schema = orc.schema
        details = {"compression": orc.compression, "writer": orc.writer, "software_version": orc.software_version}
        return Parsed(columns_of(schema), row_count=orc.nrows, row_groups=orc.nstripes, details=details)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise Unreadable(f"corrupt ORC tail: {exc}") from None


def _text_sample(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions, fmt: str,
                 compressed: bool, chunk: Any = None) -> Parsed:
    chunk = chunk or reader.head(obj, options.sample_bytes)
    data, truncated = chunk.data, not chunk.complete
    if compressed or data[:2] == GZIP_MAGIC:
        data, cut = gunzip_prefix(data, options.sample_bytes * 8)
        truncated = truncated or cut
    if fmt == "csv":
        delimiter = "\t" if obj.key.lower().endswith((".tsv", ".tsv.gz")) else None
        return parse_csv_sample(data, truncated=truncated, max_rows=options.sample_rows, delimiter=delimiter)
    return parse_json_sample(data, truncated=truncated, max_rows=options.sample_rows)


def _sniffed(reader: ObjectReader, obj: ObjectRef, options: ExtractOptions) -> tuple[str | None, Parsed | None]:
    """Objects without an extension (SageMaker outputs, part-00000): look at the first bytes."""
    head = reader.head(obj, min(SNIFF_BYTES, options.sample_bytes))
    if not head.data:
        raise Unreadable("empty object (0 bytes)")
    if head.data[:4] == PARQUET_MAGIC:
        return "parquet", _parquet(reader, obj, options)
    data = head.data
    if data[:2] == GZIP_MAGIC:
        data, _ = gunzip_prefix(data, SNIFF_BYTES)
    try:
        fmt = sniff_text_format(as_text(data))
    except Unreadable:
        return None, None  # binary of an unknown kind: no schema, not an error
    if fmt == "text":
        return "text", None
    chunk = head if head.complete or options.sample_bytes <= SNIFF_BYTES else None
    return fmt, _text_sample(reader, obj, options, fmt, compressed=False, chunk=chunk)
