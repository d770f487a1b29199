"""collector.s3.posture (seven S3 answers per bucket -> Bucket properties) and collector.s3.versioning
(an Observation plus what the graph holds -> Dataset and SchemaVersion data). Pure: no S3, no Neo4j."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from collector.s3.extract import Observation
from collector.s3.objects import ObjectRef
from collector.s3.posture import CALLS, UNKNOWN, posture_graph, posture_props, public_access_summary
from collector.s3.schema import Column, columns_json, fingerprint
from collector.s3.versioning import StoredSchema, plan_observation, stored_schema
from tests.transform_data import (
    assert_graph,
    default_dataset_rules,  # noqa: F401 (a fixture)
    posture,
)

pytestmark = pytest.mark.usefixtures("default_dataset_rules")

KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}

# --- posture -----------------------------------------------------------------------------------------

POSTURES = {
    "acme-credit-data": {
        "region": "eu-west-1", "posture_checked_at": "2024-06-03T09:00:00+00:00", "posture_errors": {},
        "encryption": "SSE-KMS", "encryption_key_id": KMS_KEY, "bucket_key_enabled": True,
        "versioning": "Enabled", "mfa_delete": "Disabled", "public_access_block": ALL_BLOCKED,
        "policy_public": False, "acl_public": False, "public_access": "Blocked",
        "tags": {"data-classification": "confidential", "owner": "credit-risk"}},
    "acme-public-site": {  # us-east-1 (no location constraint); no access block and no tags configured
        "region": "us-east-1", "encryption": "SSE-S3", "encryption_key_id": "", "bucket_key_enabled": False,
        "versioning": "Disabled", "mfa_delete": "Disabled", "public_access_block": {}, "policy_public": True,
        "acl_public": True, "public_access": "Public", "tags": {}},
    "acme-locked-down": {  # "EU" location; GetBucketEncryption, -Versioning and -PolicyStatus denied
        "region": "eu-west-1", "encryption": UNKNOWN, "versioning": UNKNOWN, "policy_public": UNKNOWN,
        "acl_public": False, "public_access": UNKNOWN,
        "public_access_block": {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
                                "RestrictPublicBuckets": False},
        "posture_errors": {"encryption": "AccessDenied: Access Denied", "versioning": "AccessDenied: Access Denied",
                           "policy_status": "AccessDenied: Access Denied"}},
}


def test_posture_of_three_buckets():
    raws = [posture(bucket) for bucket in POSTURES]
    assert_graph(posture_graph(raws), {"nodes": {"Bucket": POSTURES}})
    assert set(posture_props(raws[0])) == set(POSTURES["acme-credit-data"])  # every property, nothing else


def test_denied_location_and_tags():
    raw = posture("acme-credit-data")
    raw = replace(raw, responses={k: v for k, v in raw.responses.items() if k not in ("location", "tags")},
                  errors={"location": "AccessDenied: Access Denied", "tags": "AccessDenied: Access Denied"})
    props = posture_props(raw)
    assert (props["region"], props["tags"], props["encryption"]) == (UNKNOWN, json.dumps(UNKNOWN), "SSE-KMS")
    assert json.loads(props["posture_errors"]) == raw.errors


@pytest.mark.parametrize("change", ["encryption denied", "versioning denied", "encryption removed"])
def test_a_later_posture_leaves_no_earlier_value_standing(change):
    earlier = posture("acme-credit-data")
    field = change.split()[0]
    if change.endswith("denied"):
        later = replace(earlier, errors={field: "AccessDenied: Access Denied"},
                        responses={k: v for k, v in earlier.responses.items() if k != field})
    else:
        later = replace(earlier, responses={**earlier.responses, "encryption": None})
    graph = posture_graph([earlier])
    graph.update(posture_graph([later]))  # what the write path does: SET n += props
    assert graph.nodes[("Bucket", "acme-credit-data")].props == posture_props(later), "earlier values left standing"


@pytest.mark.parametrize("bucket", sorted(POSTURES))
@pytest.mark.parametrize("call", [None, *CALLS])
def test_every_posture_sets_every_property(bucket, call):
    """Whatever is denied or absent, no property is left out (None would be dropped by the writer)."""
    raw = posture(bucket)
    if call is not None:
        raw = replace(raw, errors={**raw.errors, call: "AccessDenied: Access Denied"},
                      responses={k: v for k, v in raw.responses.items() if k != call})
    props = posture_props(raw)
    assert set(props) == set(POSTURES["acme-credit-data"]) and None not in props.values()
    assert all(props[name] == UNKNOWN for name in {
        "encryption": ("encryption", "encryption_key_id", "bucket_key_enabled"),
        "versioning": ("versioning", "mfa_delete"), "location": ("region",),
        "policy_status": ("policy_public",), "acl": ("acl_public",)}.get(call or "", ()))


@pytest.mark.parametrize("block, policy, acl, expected", [
    (ALL_BLOCKED, True, True, "Blocked"),
    ({}, True, False, "Public"),
    ({"RestrictPublicBuckets": True}, True, False, "NotPublic"),
    ({"IgnorePublicAcls": True}, False, True, "NotPublic"),
    (None, False, True, "Public"),  # access block denied, the ACL grants AllUsers
    (None, False, False, "NotPublic"),
    ({}, UNKNOWN, False, UNKNOWN),
    ({}, UNKNOWN, True, "Public"),
])
def test_public_access_summary(block, policy, acl, expected):
    assert public_access_summary(block, policy, acl) == expected


# --- schema versions -----------------------------------------------------------------------------------

DATASET = "s3://acme-credit-data/raw/credit applications/"
NOW = datetime(2024, 6, 3, 9, 30, tzinfo=timezone.utc)
V1 = [Column("application_id", "int64", False), Column("applicant.age", "int64"), Column("amount", "double"),
      Column("submitted_at", "timestamp[ms, tz=UTC]")]


def observation(columns: list[Column] | None, modified: datetime | None, *, status: str = "ok",
                key: str = "raw/credit applications/dt=2024-06-03/part-00000-1f2e.snappy.parquet", **extra) -> Observation:
    obj = ObjectRef("acme-credit-data", key, size=7_340_032, etag='"9b2cf535f27731c974343645a3985328"', modified=modified)
    return Observation(obj, "parquet", status, columns, row_count=120_000 if columns else None,
                       row_groups=2 if columns else None, details={"created_by": "parquet-mr version 1.12.3"}, **extra)


def stored(columns: list[Column], observed_at: datetime, version: int = 1, version_ids: set[str] | None = None) -> StoredSchema:
    current = f"{DATASET}@{fingerprint(columns)}"
    return StoredSchema(DATASET, current_id=current, current_fingerprint=fingerprint(columns), current_version=version,
                        current_columns=columns, current_observed_at=observed_at, version_ids=version_ids or {current})


def test_first_schema_of_a_dataset():
    obs = observation(V1, datetime(2024, 6, 3, 7, 45, 12, tzinfo=timezone.utc))
    planned = plan_observation(DATASET, obs, None, NOW)
    version = f"{DATASET}@{fingerprint(V1)}"
    assert (planned.outcome, planned.version_id, planned.drift) == ("new_version", version, False)
    assert_graph(planned.graph, {"nodes": {
        "Dataset": {DATASET: {"bucket": "acme-credit-data", "format": "parquet", "scanned_at": "2024-06-03T09:30:00+00:00",
                              "_state": {"newest_object": obs.object.uri, "newest_object_time": "2024-06-03T07:45:12+00:00",
                                         "newest_object_etag": obs.object.etag, "newest_object_size": 7_340_032,
                                         "schema_status": "ok", "schema_error": "", "row_count": 120_000,
                                         "schema_id": version, "schema_fingerprint": fingerprint(V1), "schema_version": 1},
                              "_state_time": "2024-06-03T07:45:12+00:00"}},
        "SchemaVersion": {version: {
            "dataset": DATASET, "fingerprint": fingerprint(V1), "version": 1, "format": "parquet",
            "columns": [c.as_dict() for c in V1], "column_names": ["application_id", "applicant.age", "amount", "submitted_at"],
            "column_count": 4, "observed_at": "2024-06-03T07:45:12+00:00", "object": obs.object.uri, "row_count": 120_000,
            "row_groups": 2, "sampled_rows": None, "created_by": "parquet-mr version 1.12.3", "previous": None,
            "drift": False, "drift_kinds": [], "added": None, "change_summary": None}},
        "Bucket": {"acme-credit-data": {}},
    }, "rels": [["Dataset", DATASET, "IN_BUCKET", "Bucket", "acme-credit-data"],
                ["Dataset", DATASET, "HAS_SCHEMA", "SchemaVersion", version,
                 {"current": True, "since": "2024-06-03T07:45:12+00:00"}]]})


def test_same_schema_again_only_touches_the_current_version():
    seen = datetime(2024, 6, 2, 7, tzinfo=timezone.utc)
    planned = plan_observation(DATASET, observation(V1, seen + timedelta(days=1)), stored(V1, seen), NOW)
    version = f"{DATASET}@{fingerprint(V1)}"
    assert (planned.outcome, planned.version_id) == ("unchanged", version)
    assert planned.graph.nodes[("SchemaVersion", version)].props == {
        "last_observed_at": seen + timedelta(days=1), "last_object": observation(V1, None).object.uri}
    assert {r.type for r in planned.graph.rels.values()} == {"IN_BUCKET"}
    assert "schema_id" not in planned.graph.nodes[("Dataset", DATASET)].state


def test_changed_schema_with_drift_replaces_the_current_version():
    seen, now_seen = datetime(2024, 6, 2, 7, tzinfo=timezone.utc), datetime(2024, 6, 3, 7, tzinfo=timezone.utc)
    v2 = [Column("application_id", "int64", True), Column("amount", "string"), Column("submitted_at", "timestamp[ms, tz=UTC]"),
          Column("channel", "string")]
    planned = plan_observation(DATASET, observation(v2, now_seen), stored(V1, seen), NOW)
    old, new = f"{DATASET}@{fingerprint(V1)}", f"{DATASET}@{fingerprint(v2)}"
    assert (planned.outcome, planned.version_id, planned.drift) == ("new_version", new, True)
    assert_graph(planned.graph, {"nodes": {
        "Dataset": {DATASET: {"_state": {"schema_id": new, "schema_version": 2}}},
        "SchemaVersion": {new: {"version": 2, "previous": old, "drift": True, "drift_kinds": ["removed", "type_changed"],
                                "added": ["channel"], "removed": ["applicant.age"], "reordered": False,
                                "type_changed": [{"name": "amount", "from": "double", "to": "string"}],
                                "nullability_changed": [{"name": "application_id", "from": False, "to": True}],
                                "change_summary": "added channel; removed applicant.age; amount: double -> string; "
                                                  "application_id: nullable"},
                          old: {}},
        "Bucket": {"acme-credit-data": {}},
    }, "rels": [["Dataset", DATASET, "IN_BUCKET", "Bucket", "acme-credit-data"],
                ["Dataset", DATASET, "HAS_SCHEMA", "SchemaVersion", new, {"current": True}],
                ["Dataset", DATASET, "HAS_SCHEMA", "SchemaVersion", old,
                 {"current": False, "until": "2024-06-03T07:00:00+00:00"}],
                ["SchemaVersion", new, "PREVIOUS", "SchemaVersion", old]]})


def test_a_column_getting_a_type_or_a_new_column_is_not_drift():
    before = [Column("id", "int64"), Column("note", "null")]
    after = [Column("id", "int64"), Column("note", "string"), Column("score", "double")]
    seen = datetime(2024, 6, 2, tzinfo=timezone.utc)
    planned = plan_observation(DATASET, observation(after, seen + timedelta(hours=1)), stored(before, seen), NOW)
    assert (planned.outcome, planned.drift) == ("new_version", False)
    assert planned.graph.nodes[("SchemaVersion", planned.version_id)].props["drift_kinds"] == []


def test_an_older_object_never_replaces_a_newer_schema():
    seen = datetime(2024, 6, 3, 8, tzinfo=timezone.utc)
    planned = plan_observation(DATASET, observation(V1[:2], seen - timedelta(hours=1)), stored(V1, seen), NOW)
    assert planned.outcome == "stale" and not any(n.label == "SchemaVersion" for n in planned.graph.nodes.values())


def test_returning_to_an_earlier_schema_is_a_new_version():
    v2 = V1[:3]
    history = {f"{DATASET}@{fingerprint(V1)}", f"{DATASET}@{fingerprint(v2)}"}
    seen = datetime(2024, 6, 2, tzinfo=timezone.utc)
    planned = plan_observation(DATASET, observation(V1, seen + timedelta(days=1)),
                               replace(stored(v2, seen, version=2), version_ids=history), NOW)
    assert planned.version_id == f"{DATASET}@{fingerprint(V1)}#3"
    assert ("PREVIOUS", ("SchemaVersion", planned.version_id), ("SchemaVersion", f"{DATASET}@{fingerprint(v2)}")) in {
        (r.type, r.start, r.end) for r in planned.graph.rels.values()}


def test_unreadable_object():
    obs = observation(None, datetime(2024, 6, 3, 7, 45), status="unreadable", reason="AccessDenied: Access Denied")
    planned = plan_observation(DATASET, obs, None, NOW)
    assert planned.outcome == "unreadable" and {n.label for n in planned.graph.nodes.values()} == {"Dataset", "Bucket"}
    dataset = planned.graph.nodes[("Dataset", DATASET)]
    assert dataset.state == {"newest_object": obs.object.uri,
                             "newest_object_time": datetime(2024, 6, 3, 7, 45, tzinfo=timezone.utc),
                             "newest_object_etag": obs.object.etag, "newest_object_size": 7_340_032,
                             "schema_status": "unreadable", "schema_error": "AccessDenied: Access Denied"}


def test_observation_times_naive_aware_or_missing():
    cest = timezone(timedelta(hours=2))
    aware = plan_observation(DATASET, observation(V1, datetime(2024, 6, 3, 9, 45, tzinfo=cest)), None, NOW)
    naive = plan_observation(DATASET, observation(V1, datetime(2024, 6, 3, 7, 45)), None, NOW)
    missing = plan_observation(DATASET, observation(V1, None), None, NOW)
    times = [p.graph.nodes[("Dataset", DATASET)].state_time for p in (aware, naive, missing)]
    assert times == [datetime(2024, 6, 3, 7, 45, tzinfo=timezone.utc)] * 2 + [NOW]


def test_stored_schema_from_a_state_row():
    v1, v2 = f"{DATASET}@{fingerprint(V1)}", f"{DATASET}@{fingerprint(V1[:2])}"
    row = {"uri": DATASET, "newest": f"{DATASET}x.parquet", "etag": '"e"', "time": NOW, "current": v1, "versions": [
        {"id": v1, "fingerprint": fingerprint(V1), "columns": columns_json(V1), "version": 1, "observed_at": NOW},
        {"id": v2, "fingerprint": fingerprint(V1[:2]), "columns": columns_json(V1[:2]), "version": 2}]}
    schema = stored_schema(row)
    assert (schema.current_id, schema.current_columns, schema.current_version, schema.version_ids) == (v1, V1, 2, {v1, v2})
    assert stored_schema({**row, "current": None}).current_id == v2  # no pointer: the highest version
    assert stored_schema({"uri": DATASET}) == StoredSchema(DATASET)


def test_history_goes_in_front_of_the_stored_chain_and_keeps_the_current():
    from collector.s3.history import History, HistoryVersion, Partition
    from collector.s3.history_plan import plan_history

    v2, v3 = V1 + [Column("channel", "string")], V1[:3] + [Column("channel", "string")]
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    entries = []
    for day, columns in ((0, V1), (4, v2), (8, v3)):
        part = Partition(f"dt=2024-01-{day + 1:02d}/", t0 + timedelta(days=day),
                         ObjectRef("acme-credit-data", f"raw/credit applications/dt={day}/p.parquet"))
        obs = observation(columns, part.time, key=part.object.key)
        entries.append(HistoryVersion(part, part, obs))
    history = History(DATASET, 12, sampled=False, versions=entries)
    current = f"{DATASET}@{fingerprint(v3)}"
    seen = t0 + timedelta(days=11)
    known = replace(stored(v3, seen), newest_object_time=seen, versions=[
        {"id": current, "fingerprint": fingerprint(v3), "version": 1, "columns": columns_json(v3), "observed_at": seen}])
    graph, added = plan_history(history, known, NOW)
    assert added == [f"{DATASET}@{fingerprint(V1)}", f"{DATASET}@{fingerprint(v2)}"]
    nodes = {k[1]: n.props for k, n in graph.nodes.items() if k[0] == "SchemaVersion"}
    assert nodes[current]["version"] == 3 and nodes[current]["first_seen_partition"] == "dt=2024-01-09/"
    assert nodes[current]["previous"] == added[1] and nodes[current]["drift"] is True
    assert nodes[added[1]]["added"] == ["channel"] and nodes[added[0]]["version"] == 1
    currents = [r.props.get("current") for r in graph.rels.values() if r.type == "HAS_SCHEMA"]
    assert True not in currents  # the stored current stays the only current
    assert graph.nodes[("Dataset", DATASET)].state == {"schema_version": 3}
    # Nothing stored: the history is the chain, its last version current.
    graph, added = plan_history(history, None, NOW)
    assert len(added) == 3 and graph.nodes[("Dataset", DATASET)].state["schema_id"] == added[-1]


def _tied_history(times: list[datetime]):
    """Three schemas over partitions dt=01, dt=05, dt=09 of DATASET, first seen at these times."""
    from collector.s3.history import History, HistoryVersion, Partition

    v2, v3 = V1 + [Column("channel", "string")], V1[:3] + [Column("channel", "string")]
    entries = []
    for day, columns, at in zip((1, 5, 9), (V1, v2, v3), times, strict=True):
        path = f"dt=2024-01-{day:02d}/"
        part = Partition(path, at, ObjectRef("acme-credit-data", f"raw/credit applications/{path}part-0.parquet"))
        entries.append(HistoryVersion(part, part, observation(columns, at, key=part.object.key)))
    return History(DATASET, 12, sampled=True, versions=entries), v3


def _as_stored(graph, newest: datetime) -> StoredSchema:
    """What graphstore.s3_state would read back after writing this graph (one plan, nothing before)."""
    versions = [{k: n.props.get(k) for k in ("fingerprint", "version", "columns", "observed_at", "object",
                                              "first_seen_object")} | {"id": key[1]}
                for key, n in graph.nodes.items() if key[0] == "SchemaVersion"]
    state = graph.nodes[("Dataset", DATASET)].state
    return stored_schema({"uri": DATASET, "current": state["schema_id"], "time": newest, "versions": versions})


@pytest.mark.parametrize("case", ["same LastModified", "observed_at moved later"])
def test_a_second_history_of_the_same_partitions_adds_nothing(case):
    from collector.s3.history_plan import plan_history

    t0 = datetime(2024, 1, 1, 12, 0, 7, tzinfo=timezone.utc)
    times = [t0] * 3 if case == "same LastModified" else [t0, t0 + timedelta(days=4), t0 + timedelta(days=8)]
    history, _ = _tied_history(times)
    graph, added = plan_history(history, None, NOW)
    assert len(added) == 3
    known = _as_stored(graph, t0 + timedelta(days=11))
    if case == "observed_at moved later":  # a later read re-stamped the earliest version
        known.versions[0]["observed_at"] = t0 + timedelta(days=11)
    graph, added = plan_history(history, known, NOW)
    assert added == []
    assert {n.props.get("version") for k, n in graph.nodes.items() if k[0] == "SchemaVersion"} <= {None, 1}


def test_with_tied_times_the_partition_path_orders_the_history_before_a_version_an_event_stored():
    from collector.s3.history_plan import plan_history

    t0 = datetime(2024, 1, 1, 12, 0, 7, tzinfo=timezone.utc)
    history, v3 = _tied_history([t0] * 3)
    current = f"{DATASET}@{fingerprint(v3)}"
    newest = f"{DATASET}dt=2024-01-12/part-0.parquet"  # the newest partition, put within the same second
    known = replace(stored(v3, t0), newest_object_time=t0, versions=[
        {"id": current, "fingerprint": fingerprint(v3), "version": 1, "columns": columns_json(v3),
         "observed_at": t0, "object": newest}])
    graph, added = plan_history(history, known, NOW)
    assert added == [f"{DATASET}@{fingerprint(V1)}", f"{DATASET}@{fingerprint(V1 + [Column('channel', 'string')])}"]
    assert graph.nodes[("SchemaVersion", current)].props["version"] == 3
    # An event's version in a partition before them all (by path, at the same second) gets nothing in front.
    earliest = {**known.versions[0], "object": f"{DATASET}dt=2023-12-31/part-0.parquet"}
    assert plan_history(history, replace(known, versions=[earliest]), NOW)[1] == []
