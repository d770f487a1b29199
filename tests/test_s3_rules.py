"""Pure parts of the S3 work: dataset identity rules, fingerprints and diffs, the event throttle,
posture and report transforms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from collector.s3.objects import ObjectRef
from collector.s3.posture import RawPosture, posture_props, public_access_summary
from collector.s3.reports import may_hold_report, numeric_metrics
from collector.s3.schema import Column, columns_of, diff, fingerprint
from collector.s3.throttle import DatasetThrottle
from collector.s3uri import (
    DEFAULT_RULES,
    ancestors,
    dataset_uri,
    folder_dataset,
    guess_compression,
    guess_format,
    is_marker,
    object_key_from_event,
    sibling_identity,
)
from config import SettingsError, load_settings


@pytest.mark.parametrize("uri, dataset", [
    ("s3://b/sales/orders/dt=2024-01-31/region=eu/part-00000-1a2b.c000.snappy.parquet", "s3://b/sales/orders/"),
    ("s3://b/sales/orders/2024/01/31/part-00007.parquet", "s3://b/sales/orders/"),
    ("s3://b/logs/2024/01/31/23/firehose-1-2024-01-31-23-00-00-abc.gz", "s3://b/logs/"),
    ("s3://b/hive/warehouse/t/000000_0", "s3://b/hive/warehouse/t/"),
    ("s3://b/mr/out/part-r-00000", "s3://b/mr/out/"),
    ("s3://b/glue/out/run-1706659200000-part-r-00001", "s3://b/glue/out/"),
    ("s3://b/iceberg/t/data/3f2a1b4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c.parquet", "s3://b/iceberg/t/data/"),
    ("s3://b/sales/orders/dt=2024-01-31/", "s3://b/sales/orders/"),
    ("s3://b/sales/orders/_SUCCESS", "s3://b/sales/orders/"),
    ("s3://b/churn/raw", "s3://b/churn/raw/"),
    ("s3://b/models/churn/model.tar.gz", "s3://b/models/churn/model.tar.gz"),
    ("s3a://b/double//slash/x.csv", "s3://b/double/slash/x.csv"),
    ("s3://b/exports/20240131/customers.csv", "s3://b/exports/"),
])
def test_dataset_identity_folds_partitions_dates_and_part_files(uri, dataset):
    assert dataset_uri(uri) == dataset


@pytest.mark.parametrize("key, marker", [
    ("t/_SUCCESS", True), ("t/_committed_123", True), ("t/_started_123", True), ("t/.part-0.crc", True),
    ("t/part-0.parquet.crc", True), ("t_$folder$", True), ("t/.hidden", True),
    ("t/_temporary/0/_temporary/attempt_1/part-0.parquet", True), ("t/part-0.parquet", False),
    ("t/data.csv", False),
])
def test_markers_and_staging_folders_are_never_data(key, marker):
    assert is_marker(key) is marker


def test_folder_dataset_sibling_identity_and_ancestors():
    assert folder_dataset("b", "raw/dt=2024-01-01/part-1.parquet") == "s3://b/raw/"
    assert folder_dataset("b", "top.csv") == "s3://b/"
    assert sibling_identity("b", "raw/dt=2024-01-01/x.parquet") == "s3://b/raw/"
    assert sibling_identity("b", "raw/part-00001.parquet") == "s3://b/raw/"
    assert sibling_identity("b", "eval/evaluation.json") == "s3://b/eval/evaluation.json"
    assert ancestors("s3://b/a/b/c.csv") == ["s3://b/a/b/", "s3://b/a/", "s3://b/"]


def test_formats_compression_and_event_keys():
    assert guess_format("s3://b/x.csv.gz") == "csv" and guess_compression("s3://b/x.csv.gz") == "gzip"
    assert guess_format("s3://b/m/model.tar.gz") == "tar.gz" and guess_compression("s3://b/m/model.tar.gz") is None
    assert guess_format("s3://b/x.snappy.parquet") == "parquet"
    assert object_key_from_event("my+folder/a%3Db.csv") == "my folder/a=b.csv"


def test_extra_patterns_from_settings(monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_PARTITION_PATTERNS", '["v\\\\d+", "batch_\\\\d+"]')
    monkeypatch.setenv("LINEAGE_S3_PART_FILE_PATTERNS", r"chunk-\d+\..*")
    settings = load_settings()
    from jobs.sources.s3 import dataset_rules

    rules = dataset_rules(settings)
    assert dataset_uri("s3://b/feat/v3/batch_7/chunk-0001.parquet", rules=rules) == "s3://b/feat/"
    assert dataset_uri("s3://b/feat/v3/batch_7/chunk-0001.parquet", rules=DEFAULT_RULES) == "s3://b/feat/v3/batch_7/chunk-0001.parquet"


def test_a_bad_pattern_fails_at_start_naming_the_variable(monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_MARKER_PATTERNS", "([unclosed")
    with pytest.raises(SettingsError, match=r"^invalid setting LINEAGE_S3_MARKER_PATTERNS: .*regular expression"):
        load_settings()


# --- schemas ------------------------------------------------------------------------------------


def test_fingerprint_is_canonical_over_name_type_nullability_in_order():
    a = [Column("id", "int64", False), Column("name", "string")]
    assert fingerprint(a) == fingerprint(list(a))
    assert fingerprint(a) != fingerprint([Column("id", "int64", True), Column("name", "string")])
    assert fingerprint(a) != fingerprint(list(reversed(a)))
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False),
                        pa.field("s", pa.struct([pa.field("x", pa.int32()), pa.field("y", pa.list_(pa.string()))]))])
    assert columns_of(schema) == [Column("id", "int64", False), Column("s.x", "int32"),
                                  Column("s.y", "list<item: string>")]


def test_diff_reports_added_removed_type_and_nullability_changes_and_drift():
    old = [Column("id", "int64"), Column("amount", "double"), Column("note", "string"), Column("empty", "null")]
    new = [Column("id", "int64", False), Column("amount", "string"), Column("empty", "int64"), Column("extra", "bool")]
    d = diff(old, new)
    assert d.added == ["extra"] and d.removed == ["note"]
    assert d.type_changed == [{"name": "amount", "from": "double", "to": "string"},
                              {"name": "empty", "from": "null", "to": "int64"}]
    assert d.nullability_changed == [{"name": "id", "from": True, "to": False}]
    assert d.drift_kinds == ["removed", "type_changed"]
    widened = diff([Column("a", "null")], [Column("a", "int64"), Column("b", "string")])
    assert not widened.drift  # a column typed once values arrived, and an addition, break no reader


# --- the event throttle -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def obj(key: str, second: int) -> ObjectRef:
    return ObjectRef("b", key, 10, f"etag{second}", datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=second))


def test_throttle_collapses_a_burst_into_a_leading_and_a_trailing_read():
    clock = Clock()
    throttle = DatasetThrottle(min_interval=60, rate=0, clock=clock)
    throttle.offer("s3://b/t/", "s3://b/t/", obj("t/part-0.parquet", 0))
    first = throttle.due()
    assert [(g, [o.key for o in objs]) for g, objs in first] == [("s3://b/t/", ["t/part-0.parquet"])]
    for i in range(1, 10_000):
        throttle.offer("s3://b/t/", "s3://b/t/", obj(f"t/part-{i}.parquet", i))
        clock.t += 0.001
    assert throttle.due() == [] and 0 < throttle.wait_time() <= 60
    clock.t += 60
    (_, objs), = throttle.due()
    assert len(objs) == 1 and objs[0].key == "t/part-9999.parquet" and throttle.wait_time() is None


def test_throttle_caps_distinct_files_per_folder_and_the_global_rate():
    clock = Clock()
    throttle = DatasetThrottle(min_interval=0, rate=2, burst=2, max_entries_per_group=3, clock=clock)
    for i in range(100):
        throttle.offer("s3://b/uploads/", f"s3://b/uploads/f{i}.csv", obj(f"uploads/f{i}.csv", i))
    for g in range(5):
        throttle.offer(f"s3://b/g{g}/", f"s3://b/g{g}/", obj(f"g{g}/part-0", g))
    batch = throttle.due()
    assert len(batch) == 2  # the rate: two groups now
    uploads = dict(batch).get("s3://b/uploads/") or []
    assert len(uploads) in (0, 4)  # 3 distinct files + the newest of the rest
    clock.t += 10
    assert len(throttle.due()) == 2  # refilled up to the burst
    clock.t += 10
    assert len(throttle.due()) == 2 and throttle.wait_time() is None


# --- posture and reports ---------------------------------------------------------------------


def test_posture_transform_and_public_access_summary():
    raw = RawPosture("b", {
        "location": {"LocationConstraint": "EU"},
        "encryption": {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:1:key/k"}, "BucketKeyEnabled": True}]}},
        "versioning": {"Status": "Suspended"}, "public_access_block": None, "policy_status": None,
        "acl": {"Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                            "Permission": "READ"}]},
    }, {"tags": "AccessDenied: Access Denied"})
    props = posture_props(raw)
    assert props["region"] == "eu-west-1" and props["encryption"] == "SSE-KMS"
    assert props["encryption_key_id"].endswith("key/k") and props["bucket_key_enabled"] is True
    assert props["versioning"] == "Suspended" and props["public_access_block"] == "{}"
    assert (props["policy_public"], props["acl_public"], props["public_access"]) == (False, True, "Public")
    assert props["tags"] == '"Unknown"' and "AccessDenied" in props["posture_errors"]
    all_on = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    assert public_access_summary(all_on, True, True) == "Blocked"
    assert public_access_summary({}, "Unknown", False) == "Unknown"
    assert public_access_summary({"RestrictPublicBuckets": True}, True, False) == "NotPublic"


def test_numeric_metrics_follow_the_sdk_convention():
    report = {"binary_classification_metrics": {"auc": {"value": 0.91, "standard_deviation": 0.01},
                                                 "confusion_matrix": {"0": {"0": 10, "1": 2}}},
              "ok": True, "name": "x", "curve": [0.1, 0.2], "nan": float("nan")}
    assert numeric_metrics(report) == {
        "binary_classification_metrics.auc": 0.91, "binary_classification_metrics.auc.standard_deviation": 0.01,
        "binary_classification_metrics.confusion_matrix.0.0": 10.0,
        "binary_classification_metrics.confusion_matrix.0.1": 2.0, "curve.0": 0.1, "curve.1": 0.2}
    assert may_hold_report("evaluation", "s3://b/churn/1/evaluation", False)
    assert may_hold_report("train", "s3://b/churn/1/train", True)
    assert not may_hold_report("train", "s3://b/churn/1/train", False)
    assert not may_hold_report("model", "s3://b/m/model.tar.gz", True)
    assert may_hold_report("x", "s3://b/m/metrics.json", False)


@pytest.mark.parametrize("key, root", [
    ("lake/orders/_delta_log/00000000000000000003.json", ("lake/orders/", "delta")),
    ("lake/orders/_delta_log/_last_checkpoint", ("lake/orders/", "delta")),
    ("w/db/events/metadata/00001-ab.metadata.json", ("w/db/events/", "iceberg")),
    ("w/db/events/metadata/version-hint.text", ("w/db/events/", "iceberg")),
    ("w/db/events/metadata/snap-1-1-c.avro", ("w/db/events/", "iceberg")),
    ("w/db/events/metadata/notes.json", None),
    ("lake/orders/region=eu/part-00000.parquet", None),
])
def test_table_metadata_keys_name_their_table_root(key, root):
    from collector.s3uri import table_root

    assert table_root(key) == root


def test_history_partitions_are_oldest_first_and_sampled_with_both_ends():
    from collector.s3.history import partitions_of, spaced

    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    objects = [ObjectRef("b", "t/dt=2024-01-02/part-1.parquet", 10, "e", t0 + timedelta(days=1)),
               ObjectRef("b", "t/dt=2024-01-02/part-0.parquet", 10, "e", t0 + timedelta(days=1, hours=-1)),
               ObjectRef("b", "t/dt=2024-01-01/part-0.parquet", 10, "e", t0),
               ObjectRef("b", "t/dt=2024-01-03/empty.parquet", 0, "e", t0)]
    parts = partitions_of("s3://b/t/", objects)
    assert [(p.path, p.object.key.rsplit("/", 1)[-1]) for p in parts] == [
        ("dt=2024-01-01/", "part-0.parquet"), ("dt=2024-01-02/", "part-0.parquet")]
    assert spaced(5, 10) == [0, 1, 2, 3, 4]
    assert spaced(1000, 5) == [0, 250, 500, 749, 999]
