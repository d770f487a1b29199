"""Schema extraction from real objects in the moto server: what is read, and what comes out."""
from __future__ import annotations

import os
import time

import pytest

from collector.s3.extract import ExtractOptions, extract
from collector.s3.objects import ObjectReader, ObjectRef
from lineage_dev.sim import inject_fault
from tests.s3_data import (
    avro_bytes,
    csv_bytes,
    gz,
    iceberg_metadata,
    jsonl_bytes,
    large_parquet,
    orc_bytes,
    parquet_bytes,
    rich_table,
    upload_dir,
)

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


@pytest.mark.parametrize("key", ["models/churn/output/model.tar.gz", "raw/images/cat.jpg", "t/weights.npy"])
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


ORDER_AVRO = {"type": "record", "name": "Order", "namespace": "acme.sales", "fields": [
    {"name": "id", "type": "long"},
    {"name": "note", "type": ["null", "string"], "default": None},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "shipping", "type": {"type": "record", "name": "Address", "fields": [
        {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "int"]}]}},
    {"name": "billing", "type": ["null", "Address"]},
    {"name": "items", "type": {"type": "array", "items": "string"}},
    {"name": "channel", "type": {"type": "enum", "name": "Channel", "symbols": ["WEB", "STORE"]}},
]}


def order_records(n: int) -> list[dict]:
    import datetime as dt
    import decimal

    return [{"id": i, "note": None, "amount": decimal.Decimal(i) / 100, "placed": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
             "shipping": {"city": "Oslo", "zip": None}, "billing": None, "items": ["a"] * (i % 3),
             "channel": "WEB"} for i in range(n)]


def test_avro_schema_from_the_header_only(s3, sim):
    body = avro_bytes(ORDER_AVRO, order_records(20_000), codec="null")
    assert len(body) > 400_000
    sim.reset_counts()
    obs = observe(s3, "sales/orders_avro/dt=2024-01-01/part-00000.avro", body)
    assert obs.status == "ok" and obs.format == "avro"
    assert types(obs) == {
        "id": "int64", "note": "string", "amount": "decimal128(12, 2)", "placed": "timestamp[ms, tz=UTC]",
        "shipping.city": "string", "shipping.zip": "int32", "billing.city": "string", "billing.zip": "int32",
        "items": "list<element: string>", "channel": "string"}
    assert {c.name: c.nullable for c in obs.columns}["note"] and not {c.name: c.nullable for c in obs.columns}["id"]
    assert obs.details == {"codec": "null", "record": "acme.sales.Order"}
    assert obs.requests == 1 and obs.bytes_read == 16 * 1024 and sim.counts()["s3.GetObject"] == 1


def test_avro_bad_headers(s3):
    assert "no Obj" in observe(s3, "t/bad.avro", b"PAR1 not avro").reason
    cut = avro_bytes(ORDER_AVRO, order_records(1))[:40]
    assert "Avro header longer" in observe(s3, "t/cut.avro", cut).reason


def test_orc_schema_from_the_tail_by_ranged_reads(s3, sim):
    table = rich_table(50_000).drop_columns(["tags"])
    body = orc_bytes(table, stripe_size=256 * 1024)
    sim.reset_counts()
    obs = observe(s3, "sales/orders_orc/part-00000.orc", body)
    assert obs.status == "ok" and obs.format == "orc", obs.reason
    assert types(obs)["address.geo.lat"] == "double" and types(obs)["amount"] == "decimal128(12, 2)"
    assert obs.row_count == 50_000 and obs.row_groups >= 2
    assert obs.bytes_read <= 64 * 1024 < len(body) and obs.requests == sim.counts()["s3.GetObject"] <= 2
    assert "corrupt ORC" in observe(s3, "t/bad.orc", b"ORC" + os.urandom(500)).reason


def test_delta_table_schema_from_its_log_not_its_data(s3, sim, tmp_path):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from collector.s3.objects import list_objects
    from collector.s3.tables import pick_object
    from collector.s3uri import dataset_uri

    path = str(tmp_path / "orders")
    write_deltalake(path, pa.table({"id": [1, 2], "region": ["eu", "us"]}), partition_by=["region"])
    for i in range(3):
        write_deltalake(path, pa.table({"id": [10 + i], "region": ["eu"]}), mode="append")
    upload_dir(s3, BUCKET, "lake/orders/", path)
    objects = list(list_objects(s3, BUCKET, "lake/orders/"))
    assert {dataset_uri(o.uri) for o in objects} == {f"s3://{BUCKET}/lake/orders/"}
    pick = pick_object(objects)
    assert pick.key == "lake/orders/_delta_log/00000000000000000003.json"
    sim.reset_counts()
    obs = extract(ObjectReader(s3), pick)
    assert obs.status == "ok" and obs.format == "delta", obs.reason
    assert [(c.name, c.type) for c in obs.columns] == [("id", "int64"), ("region", "string")]
    assert obs.details["table_version"] == 3 and obs.details["partition_columns"] == ["region"]
    # The log is read newest first until a metaData action: four small commits, no data file.
    assert sim.counts()["s3.GetObject"] == 5  # _last_checkpoint (missing) and the four commits
    # A schema change, then a checkpoint: the commit after it holds no metaData, the checkpoint does.
    write_deltalake(path, pa.table({"id": [5], "region": ["eu"], "score": [0.5]}), mode="append", schema_mode="merge")
    DeltaTable(path).create_checkpoint()
    write_deltalake(path, pa.table({"id": [6], "region": ["us"], "score": [0.7]}), mode="append")
    upload_dir(s3, BUCKET, "lake/orders/", path)
    pick = pick_object(list(list_objects(s3, BUCKET, "lake/orders/")))
    sim.reset_counts()
    obs = extract(ObjectReader(s3), pick)
    assert obs.status == "ok" and [c.name for c in obs.columns] == ["id", "region", "score"], obs.reason
    assert obs.details["table_version"] == 5
    assert sim.counts()["s3.ListObjectsV2"] == 1 and obs.bytes_read < 64 * 1024


def test_iceberg_table_schema_from_its_current_metadata(s3, sim):
    from collector.s3.objects import list_objects
    from collector.s3.tables import pick_object
    from collector.s3uri import dataset_uri

    v1 = [{"id": 1, "name": "event_id", "required": True, "type": "long"},
          {"id": 2, "name": "event_time", "required": False, "type": "timestamptz"},
          {"id": 3, "name": "payload", "required": False, "type": {"type": "struct", "fields": [
              {"id": 4, "name": "kind", "required": False, "type": "string"},
              {"id": 5, "name": "amount", "required": False, "type": "decimal(10, 2)"}]}},
          {"id": 6, "name": "tags", "required": False, "type": {
              "type": "list", "element-id": 7, "element": "string", "element-required": False}}]
    v2 = v1 + [{"id": 8, "name": "device", "required": False, "type": "uuid"}]
    location = f"s3://{BUCKET}/warehouse/db/events"
    put(s3, "warehouse/db/events/metadata/00000-aaa.metadata.json", iceberg_metadata(location, [v1], 0))
    put(s3, "warehouse/db/events/metadata/00001-bbb.metadata.json", iceberg_metadata(location, [v1, v2], 1))
    put(s3, "warehouse/db/events/metadata/snap-1-1-ccc.avro", b"manifest list")
    put(s3, "warehouse/db/events/data/event_day=2024-06-03/00000-0-ddd.parquet", parquet_bytes(rich_table(10)))
    objects = list(list_objects(s3, BUCKET, "warehouse/db/events/"))
    meta = [o for o in objects if "/metadata/" in o.key]
    assert {dataset_uri(o.uri) for o in meta} == {f"s3://{BUCKET}/warehouse/db/events/"}
    pick = pick_object(objects)
    assert pick.key.endswith("00001-bbb.metadata.json")
    sim.reset_counts()
    obs = extract(ObjectReader(s3), pick)
    assert obs.status == "ok" and obs.format == "iceberg", obs.reason
    assert types(obs) == {"event_id": "int64", "event_time": "timestamp[us, tz=UTC]", "payload.kind": "string",
                          "payload.amount": "decimal128(10, 2)", "tags": "list<element: string>",
                          "device": "fixed_size_binary[16]"}
    assert not obs.columns[0].nullable and obs.details["partition_columns"] == ["event_day"]
    assert obs.details["schema_id"] == 1 and sim.counts()["s3.GetObject"] == 1
    # version-hint.text names the metadata file of a Hadoop-catalog table.
    put(s3, "hadoop/t/metadata/v3.metadata.json", iceberg_metadata("s3://x/hadoop/t", [v1], 0))
    hint = put(s3, "hadoop/t/metadata/version-hint.text", b"3\n")
    assert [c.name for c in extract(ObjectReader(s3), hint).columns] == ["event_id", "event_time", "payload.kind",
                                                                         "payload.amount", "tags"]
