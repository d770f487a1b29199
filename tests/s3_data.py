"""Real objects for the S3 tests, written by pyarrow and uploaded through the sim's S3 API."""
from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import json
import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

try:  # the event issue's interface; identical fallback until that module is on the branch
    from collector.events.model import S3ObjectEvent
except ImportError:  # pragma: no cover
    @dataclass(frozen=True)
    class S3ObjectEvent:  # type: ignore[no-redef]
        bucket: str
        key: str
        action: str
        time: dt.datetime
        size: int | None = None
        etag: str | None = None
        version_id: str | None = None
        sequencer: str | None = None
        region: str | None = None


def rich_table(rows: int = 5000) -> pa.Table:
    """Several types, nested structs (two levels), lists, decimals, timestamps."""
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "small": pa.array([i % 100 for i in range(rows)], pa.int32()),
        "score": pa.array([i / 7 for i in range(rows)], pa.float64()),
        "name": pa.array([f"user-{i}" for i in range(rows)], pa.string()),
        "active": pa.array([i % 2 == 0 for i in range(rows)], pa.bool_()),
        "created": pa.array([base + dt.timedelta(minutes=i) for i in range(rows)], pa.timestamp("ms", tz="UTC")),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 365) for i in range(rows)], pa.date32()),
        "amount": pa.array([decimal.Decimal(i) / 100 for i in range(rows)], pa.decimal128(12, 2)),
        "tags": pa.array([["a", "b"][: i % 3] for i in range(rows)], pa.list_(pa.string())),
        "address": pa.array([{"city": f"c{i % 10}", "geo": {"lat": 1.5, "lon": -2.5}} for i in range(rows)],
                            pa.struct([("city", pa.string()),
                                       ("geo", pa.struct([("lat", pa.float64()), ("lon", pa.float64())]))])),
    })


def parquet_bytes(table: pa.Table, **options: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def large_parquet(path: str, target_bytes: int = 200 * 1024 * 1024, row_groups: int = 200) -> int:
    """~target_bytes of incompressible data in many row groups, written fast (one random block reused,
    dictionary encoding and compression off so it is stored as is)."""
    per_group = target_bytes // row_groups
    rows = 64
    blob = os.urandom(per_group // rows)
    batch = pa.table({"id": pa.array(range(rows), pa.int64()),
                      "payload": pa.array([blob] * rows, pa.binary()),
                      "label": pa.array(["x"] * rows, pa.string())})
    with pq.ParquetWriter(path, batch.schema, compression="none", use_dictionary=False,
                          write_statistics=False) as writer:
        for _ in range(row_groups):
            writer.write_table(batch)
    return os.path.getsize(path)


def csv_bytes(header: bool = True) -> bytes:
    lines = ['id,name,score,joined,comment'] if header else []
    for i in range(3000):
        comment = f'"line one\nline two, with comma {i}"' if i % 50 == 0 else f"plain {i}"
        lines.append(f"{i},name-{i},{i * 0.5},2024-01-{1 + i % 28:02d},{comment}")
    return ("\n".join(lines) + "\n").encode()


def jsonl_bytes(rows: int = 2000) -> bytes:
    return "".join(json.dumps({"id": i, "event": "click", "props": {"page": f"/p/{i}", "ms": i * 3},
                               "items": [i, i + 1]}) + "\n" for i in range(rows)).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def avro_bytes(schema: dict[str, Any], records: list[dict[str, Any]], codec: str = "deflate") -> bytes:
    """An Avro object container file written by fastavro."""
    import fastavro

    sink = io.BytesIO()
    fastavro.writer(sink, fastavro.parse_schema(schema), records, codec=codec)
    return sink.getvalue()


def orc_bytes(table: pa.Table, **options: Any) -> bytes:
    import pyarrow.orc as orc

    sink = io.BytesIO()
    orc.write_table(table, sink, **options)
    return sink.getvalue()


def upload_dir(client: Any, bucket: str, prefix: str, root: str) -> list[str]:
    """Every file under a local folder, uploaded under prefix (a Delta table written by deltalake)."""
    keys = []
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            key = prefix + os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, "rb") as f:
                client.put_object(Bucket=bucket, Key=key, Body=f.read())
            keys.append(key)
    return keys


def iceberg_metadata(location: str, schemas: list[list[dict[str, Any]]], current: int) -> bytes:
    """An Iceberg v2 table metadata file as the table spec lays it out, with these schemas (field lists)."""
    return json.dumps({
        "format-version": 2, "table-uuid": "5f0f2b8e-7d8a-4c1e-9a57-6f1f4c3a2b10", "location": location,
        "last-sequence-number": 1, "last-updated-ms": 1717405200000, "last-column-id": 20,
        "current-schema-id": current,
        "schemas": [{"type": "struct", "schema-id": i, "fields": fields} for i, fields in enumerate(schemas)],
        "default-spec-id": 0,
        "partition-specs": [{"spec-id": 0, "fields": [
            {"name": "event_day", "transform": "day", "source-id": 2, "field-id": 1000}]}],
        "last-partition-id": 1000, "default-sort-order-id": 0, "sort-orders": [{"order-id": 0, "fields": []}],
        "properties": {}, "current-snapshot-id": -1, "snapshots": [], "snapshot-log": [], "metadata-log": [],
    }).encode()
