"""Schema extraction from real objects in the moto server: what is read, and what comes out."""
from __future__ import annotations

import os
import time

import pytest

from collector.s3.extract import ExtractOptions, extract
from collector.s3.objects import ObjectReader, ObjectRef
from lineage_dev.sim import inject_fault
from tests.s3_data import csv_bytes, gz, jsonl_bytes, large_parquet, parquet_bytes, rich_table

BUCKET = "acme-datalake"


@pytest.fixture
def s3(sim):
    client = sim.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3, key: str, body: bytes) -> ObjectRef:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return ObjectRef(BUCKET, key, len(body))


def observe(s3, key: str, body: bytes | None = None, **options):
    obj = put(s3, key, body) if body is not None else ObjectRef(BUCKET, key)
    return extract(ObjectReader(s3), obj, ExtractOptions(**options))


def types(obs) -> dict[str, str]:
    return {c.name: c.type for c in obs.columns}


def test_parquet_footer_gives_types_nested_fields_rows_and_row_groups(s3, sim):
    body = parquet_bytes(rich_table(5000), row_group_size=250)
    sim.reset_counts()
    obs = observe(s3, "sales/orders/part-00000.snappy.parquet", body)
    assert obs.status == "ok" and obs.format == "parquet"
    assert types(obs) == {
        "id": "int64", "small": "int32", "score": "double", "name": "string", "active": "bool",
        "created": "timestamp[ms, tz=UTC]", "day": "date32[day]", "amount": "decimal128(12, 2)",
        "tags": "list<element: string>", "address.city": "string", "address.geo.lat": "double",
        "address.geo.lon": "double",
    }
    assert obs.row_count == 5000 and obs.row_groups == 20
    assert obs.details["created_by"].startswith("parquet-cpp-arrow")
    assert sim.counts()["s3.GetObject"] == obs.requests == 1  # one suffix read holds this footer


def test_parquet_strict_two_step_read(s3):
    body = parquet_bytes(rich_table(500), row_group_size=50)
    obs = observe(s3, "t/strict.parquet", body, footer_read_bytes=8)
    assert obs.status == "ok" and obs.requests == 2
    assert obs.bytes_read < len(body) / 3  # the last 8 bytes, then exactly the metadata


def test_200mb_parquet_reads_only_the_footer(s3, sim, tmp_path):
    started = time.perf_counter()
    path = tmp_path / "big.parquet"
    size = large_parquet(str(path))
    with open(path, "rb") as f:
        s3.put_object(Bucket=BUCKET, Key="big/part-00000.parquet", Body=f)
    sim.reset_counts()
    obs = extract(ObjectReader(s3), ObjectRef(BUCKET, "big/part-00000.parquet"))
    fetched = sim.bytes_out()["s3.GetObject"]
    assert obs.status == "ok" and obs.row_groups == 200 and obs.row_count == 200 * 64
    assert size > 200 * 1024 * 1024 * 0.99
    assert fetched == obs.bytes_read <= 64 * 1024 + 8  # the configured suffix read, nothing more
    assert sim.counts()["s3.GetObject"] == 1 and sim.counts()["s3.HeadObject"] == 0
    print(f"\n200 MB Parquet: {fetched:,} of {size:,} bytes fetched ({fetched / size:.6%})")
    assert time.perf_counter() - started < 30


def test_csv_with_header_quoted_newlines_and_a_cut_last_line(s3):
    body = csv_bytes()
    obs = observe(s3, "crm/customers/2024-01-31/export.csv", body, sample_bytes=4096)
    assert obs.status == "ok" and obs.format == "csv"
    assert types(obs) == {"id": "int64", "name": "string", "score": "double", "joined": "date32[day]",
                          "comment": "string"}
    assert 0 < obs.sampled_rows < 200 and obs.bytes_read == 4096  # capped; the cut record is dropped
    assert obs.details == {"delimiter": ",", "header": True}


def test_csv_sample_is_bounded_by_rows(s3):
    obs = observe(s3, "crm/full.csv", csv_bytes(), sample_rows=100)
    assert obs.sampled_rows == 100


def test_gzip_csv_without_header_and_tsv(s3):
    obs = observe(s3, "train/xgb/train.csv.gz", gz(csv_bytes(header=False)))
    assert obs.status == "ok" and obs.details["header"] is False
    assert [c.name for c in obs.columns] == ["col_0", "col_1", "col_2", "col_3", "col_4"]
    tsv = observe(s3, "t/data.tsv", b"a\tb\n1\tx\n2\ty\n")
    assert types(tsv) == {"a": "int64", "b": "string"} and tsv.details["delimiter"] == "\t"


def test_json_lines_array_and_document(s3):
    lines = observe(s3, "events/clicks/dt=2024-01-31/part-0.jsonl", jsonl_bytes(), sample_bytes=8192)
    assert lines.status == "ok" and types(lines) == {
        "id": "int64", "event": "string", "props.page": "string", "props.ms": "int64", "items": "list<item: int64>"}
    array = observe(s3, "t/array.json", b'[{"a": 1, "b": "x"}, {"a": 2.5, "b": null}]')
    assert types(array) == {"a": "double", "b": "string"} and array.details["json"] == "array"
    doc = observe(s3, "t/config.json", b'{\n  "name": "x",\n  "limits": {"max": 3}\n}\n')
    assert types(doc) == {"name": "string", "limits.max": "int64"} and doc.details["json"] == "document"
    zipped = observe(s3, "t/clicks.jsonl.gz", gz(jsonl_bytes(50)))
    assert zipped.status == "ok" and zipped.sampled_rows == 50


@pytest.mark.parametrize("key, body, reason", [
    ("bad/corrupt.parquet", b"PAR1" + os.urandom(2000) + b"\xff\xff\x00\x00PAR1", "corrupt Parquet footer"),
    ("bad/garbage-footer.parquet", os.urandom(3000) + b"\x10\x00\x00\x00PAR1", "corrupt Parquet footer"),
    ("bad/not.parquet", b"id,name\n1,a\n", "not a Parquet file"),
    ("bad/empty.parquet", b"", "empty object (0 bytes)"),
    ("bad/empty.csv", b"", "empty object (0 bytes)"),
    ("bad/junk.csv", b"\x89PNG\r\n\x1a\n" + os.urandom(4000), "binary content"),
    ("bad/broken.json", b'{"a": 1, "b": ', "not valid JSON"),
    ("bad/broken.json.gz", b"\x1f\x8b" + os.urandom(200), "corrupt gzip data"),
])
def test_bad_files_are_unreadable_with_a_reason(s3, key, body, reason):
    obs = observe(s3, key, body)
    assert obs.status == "unreadable" and obs.columns is None
    assert reason in obs.reason


def test_access_denied_is_unreadable_with_the_reason(s3):
    put(s3, "secret/part-0.parquet", parquet_bytes(rich_table(10)))
    inject_fault(service="s3", operation="GetObject", code="AccessDenied", message="Access Denied", status=403)
    obs = observe(s3, "secret/part-0.parquet")
    assert obs.status == "unreadable" and obs.reason == "AccessDenied: Access Denied"


@pytest.mark.parametrize("key", ["models/churn/output/model.tar.gz", "raw/images/cat.jpg", "t/data.avro",
                                 "t/data.orc"])
def test_other_formats_have_no_schema_and_cost_no_read(s3, sim, key):
    put(s3, key, os.urandom(1000))
    sim.reset_counts()
    obs = observe(s3, key)
    assert obs.status == "no_schema" and obs.reason is None and obs.requests == 0
    assert sim.counts()["s3.GetObject"] == 0


def test_objects_without_extension_are_sniffed(s3):
    assert observe(s3, "out/part-00000", parquet_bytes(rich_table(10))).format == "parquet"
    sniffed = observe(s3, "out/part-00001", b"1,0.5,a\n2,0.7,b\n")
    assert sniffed.format == "csv" and sniffed.status == "ok"
    text = observe(s3, "out/part-00002", b"placeholder written by the SageMaker simulator\n")
    assert (text.format, text.status) == ("text", "no_schema")
