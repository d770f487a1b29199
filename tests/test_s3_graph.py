"""S3 datasets end to end: real objects in the moto server -> schema versions, posture and report
metrics in a real Neo4j, through the scan CLI, the event hook, the rescan and the sync's calls."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from collector.s3.objects import ObjectRef, list_objects
from config import load_settings
from graphstore.examples import EXAMPLES
from graphstore.model import Graph
from jobs.app import App
from jobs.cli import main
from jobs.sources.s3 import (
    S3Datasets,
    build_s3_object_hook,
    evaluation_metrics_for_execution,
    refresh_posture,
    s3_scheduled_jobs,
    s3_service,
)
from jobs.wiring import run_sync
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_execution, seed_pipeline
from tests.s3_data import S3ObjectEvent, parquet_bytes, rich_table

LAKE = "acme-lake"


@pytest.fixture
def app(settings_env, neo4j, sim):
    application = App(load_settings())
    application.writer.ensure_schema()
    sim.client("s3").create_bucket(Bucket=LAKE)
    yield application
    application.close()


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def put(sim, key: str, body: bytes, bucket: str = LAKE) -> ObjectRef:
    sim.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return next(o for o in list_objects(sim.client("s3"), bucket, key) if o.key == key)


def versions(driver, dataset: str) -> list[dict]:
    return rows(driver, """
        MATCH (d:Dataset {uri: $uri})-[h:HAS_SCHEMA]->(v:SchemaVersion)
        OPTIONAL MATCH (v)-[:PREVIOUS]->(p:SchemaVersion)
        RETURN v.version AS version, v.fingerprint AS fp, h.current AS current, v.added AS added,
               v.removed AS removed, v.type_changed AS type_changed, v.drift AS drift, v.object AS object,
               p.version AS previous, v.column_names AS columns, v.row_count AS rows
        ORDER BY version""", uri=dataset)


def test_schema_change_across_two_writes_yields_two_versions_with_the_diff(app, sim, neo4j):
    service = s3_service(app)
    orders = "s3://acme-lake/sales/orders/"
    v1 = rich_table(100)
    first = put(sim, "sales/orders/dt=2024-01-01/part-00000-a.snappy.parquet", parquet_bytes(v1))
    service.observe_objects([first])
    changed = v1.drop_columns(["tags"]).set_column(2, "score", pa.array([str(i) for i in range(100)]))
    changed = changed.append_column("channel", pa.array(["web"] * 100))
    second = put(sim, "sales/orders/dt=2024-01-02/part-00000-b.snappy.parquet", parquet_bytes(changed))
    report = service.observe_objects([second])
    assert report.new_versions == 1 and report.drift == 1
    got = versions(neo4j, orders)
    assert [(v["version"], v["current"], v["previous"]) for v in got] == [(1, False, None), (2, True, 1)]
    assert got[1]["added"] == ["channel"] and got[1]["removed"] == ["tags"] and got[1]["drift"] is True
    assert json.loads(got[1]["type_changed"]) == [{"name": "score", "from": "double", "to": "string"}]
    assert got[1]["object"] == second.uri and got[1]["rows"] == 100
    # The same schema again (a later partition): no new version.
    third = put(sim, "sales/orders/dt=2024-01-03/part-00000-c.snappy.parquet", parquet_bytes(changed))
    assert service.observe_objects([third]).unchanged == 1
    # An object older than the current schema's changes nothing; one already observed is not read again.
    stale = ObjectRef(LAKE, first.key, first.size, "older", first.modified - timedelta(days=1))
    assert service.observe_objects([stale]).stale == 1
    sim.reset_counts()
    assert service.observe_objects([third]).already_seen == 1 and sim.counts()["s3.GetObject"] == 0
    assert len(versions(neo4j, orders)) == 2
    current = rows(neo4j, "MATCH (:Dataset {uri: $u})-[:HAS_SCHEMA {current: true}]->(v) RETURN v.version AS v",
                   u=orders)
    assert current == [{"v": 2}]
    # A return to the first schema is a third version, not a loop back to the first node.
    fourth = put(sim, "sales/orders/dt=2024-01-04/part-00000-d.snappy.parquet", parquet_bytes(v1))
    service.observe_objects([fourth])
    got = versions(neo4j, orders)
    assert [v["version"] for v in got] == [1, 2, 3] and got[2]["fp"] == got[0]["fp"] and got[2]["previous"] == 2


def test_objects_join_the_dataset_a_step_reads(app, sim, neo4j):
    graph = Graph()  # a step that reads the prefix, as the sync writes it
    step = graph.node("Step", "arn:aws:sagemaker:us-east-1:1:pipeline/p/Train", {"name": "Train"})
    graph.rel("FEEDS", graph.node("Dataset", "s3://acme-lake/ml/input/"), step, {"name": "train"}, merge_on=("name",))
    app.writer.write(graph, source="sync")
    obj = put(sim, "ml/input/shard=1/sub/data.csv", b"a,b\n1,x\n")
    s3_service(app).observe_objects([obj])
    assert rows(neo4j, "MATCH (d:Dataset)-[:HAS_SCHEMA]->() RETURN d.uri AS uri") == [{"uri": "s3://acme-lake/ml/input/"}]


def test_bucket_posture_with_settings_and_with_access_denied(app, sim, neo4j):
    s3 = sim.client("s3")
    s3.put_bucket_encryption(Bucket=LAKE, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/lake"}}]})
    s3.put_bucket_versioning(Bucket=LAKE, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=LAKE, PublicAccessBlockConfiguration=dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True))
    s3.put_bucket_tagging(Bucket=LAKE, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.create_bucket(Bucket="locked-bucket")
    s3.put_bucket_acl(Bucket="locked-bucket", ACL="public-read")
    for operation in ("GetBucketEncryption", "GetBucketTagging"):
        inject_fault(service="s3", operation=operation, code="AccessDenied", message="Access Denied", status=403,
                     match=lambda p: "locked-bucket" in json.dumps(p, default=str))
    sim.reset_counts()
    assert refresh_posture(app, [LAKE, "locked-bucket"]) == 2
    assert refresh_posture(app, [LAKE, "locked-bucket"]) == 0  # fresh: once per bucket per interval
    assert sum(n for op, n in sim.counts().items() if op.startswith("s3.")) == 14
    got = {r["b"]["name"]: r["b"] for r in rows(neo4j, "MATCH (b:Bucket) RETURN b {.*} AS b")}
    lake, locked = got[LAKE], got["locked-bucket"]
    assert (lake["encryption"], lake["encryption_key_id"], lake["versioning"]) == ("SSE-KMS", "alias/lake", "Enabled")
    assert lake["public_access"] == "Blocked" and json.loads(lake["tags"]) == {"team": "data"}
    assert lake["region"] == "us-east-1" and json.loads(lake["posture_errors"]) == {}
    assert locked["encryption"] == "Unknown" and json.loads(locked["tags"]) == "Unknown"
    assert locked["public_access"] == "Public" and locked["acl_public"] is True
    assert json.loads(locked["posture_errors"]) == {"encryption": "AccessDenied: Access Denied",
                                                    "tags": "AccessDenied: Access Denied"}


def test_a_burst_of_10000_part_files_costs_a_bounded_number_of_reads(app, sim, neo4j, monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS", "2")
    app.settings = load_settings()
    body = parquet_bytes(rich_table(50))
    keys = [f"clicks/dt=2024-01-31/part-{i:05d}-x.snappy.parquet" for i in range(10_000)]
    for key in (keys[0], keys[-1]):
        put(sim, key, body)
    start = datetime(2024, 1, 31, 12, tzinfo=timezone.utc)
    events = [S3ObjectEvent(LAKE, key, "created", start + timedelta(milliseconds=i), len(body), f"etag-{i}")
              for i, key in enumerate(keys)]
    events.append(S3ObjectEvent(LAKE, "clicks/dt=2024-01-31/_SUCCESS", "created", start + timedelta(seconds=11)))
    hook = build_s3_object_hook(app)
    sim.reset_counts()
    try:
        for i in range(0, len(events), 10):  # as SQS delivers them: ten per receive batch
            hook(events[i:i + 10])
        assert hook.wait_idle(timeout=30)
    finally:
        hook.close()
    reads = sim.counts()
    assert reads["s3.GetObject"] <= 3, reads  # the leading read, the trailing one: not 10,000
    assert reads["s3.ListObjectsV2"] == 0 and reads["s3.HeadObject"] == 0
    dataset = rows(neo4j, "MATCH (d:Dataset {uri: 's3://acme-lake/clicks/'}) RETURN d.newest_object AS newest, "
                          "d.schema_version AS version")
    assert dataset == [{"newest": f"s3://{LAKE}/{keys[-1]}", "version": 1}]
    print(f"\n10,000-object burst: {dict(sorted(reads.items()))}")


def _hook_with_pending_reads(app, sim):
    """A hook whose first read of each dataset is done and whose second waits out a minute's interval."""
    body = parquet_bytes(rich_table(5))
    start = datetime(2024, 1, 31, 12, tzinfo=timezone.utc)
    events = []
    for i, folder in enumerate(("orders", "refunds", "orders", "refunds")):
        key = f"{folder}/part-{i}.parquet"
        put(sim, key, body)
        events.append(S3ObjectEvent(LAKE, key, "created", start + timedelta(seconds=i), len(body), f"etag-{i}"))
    hook = build_s3_object_hook(app)
    hook(events[:2])  # the first read of each folder starts at once
    deadline = datetime.now() + timedelta(seconds=30)
    while hook.counts["groups_read"] < 2 and datetime.now() < deadline:
        hook.wait_idle(timeout=0.2)
    hook(events[2:])  # within the interval: pending
    return hook


def newest(neo4j, folder: str) -> str:
    return rows(neo4j, "MATCH (d:Dataset {uri: $uri}) RETURN d.newest_object AS n", uri=f"s3://{LAKE}/{folder}/")[0]["n"]


def test_a_stopping_hook_reads_what_is_pending_at_once(app, sim, neo4j, monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS", "60")
    app.settings = load_settings()
    hook = _hook_with_pending_reads(app, sim)
    assert newest(neo4j, "orders").endswith("part-0.parquet")
    counts = hook.stop(timeout=20)
    assert counts == {"read_at_stop": 2, "handed_back": 0}
    assert newest(neo4j, "orders").endswith("part-2.parquet") and newest(neo4j, "refunds").endswith("part-3.parquet")


def test_a_stopping_hook_out_of_time_hands_its_reads_to_the_rescan(app, sim, neo4j, monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS", "60")
    app.settings = load_settings()
    put(sim, "ledger/part-0.parquet", parquet_bytes(rich_table(5)))
    service = s3_service(app)
    assert service.scan(LAKE, "ledger/").extracted == 1  # scanned just now: not due for a rescan by age
    hook = _hook_with_pending_reads(app, sim)
    assert hook.stop(timeout=0) == {"read_at_stop": 0, "handed_back": 2}
    assert newest(neo4j, "orders").endswith("part-0.parquet")
    due = rows(neo4j, "MATCH (d:Dataset) WHERE d.schema_read_due IS NOT NULL RETURN d.uri AS uri ORDER BY uri")
    assert [r["uri"] for r in due] == [f"s3://{LAKE}/orders/", f"s3://{LAKE}/refunds/"]
    targets = service.state.datasets_to_rescan(datetime.now(timezone.utc) - timedelta(hours=1), limit=10)
    assert [t.uri for t in targets] == [f"s3://{LAKE}/orders/", f"s3://{LAKE}/refunds/"]
    report = service.rescan(datetime.now(timezone.utc) - timedelta(hours=1), limit=10)
    assert report.extracted == 2
    assert newest(neo4j, "orders").endswith("part-2.parquet") and newest(neo4j, "refunds").endswith("part-3.parquet")
    assert service.state.datasets_to_rescan(datetime.now(timezone.utc) - timedelta(hours=1), limit=10) == []


def test_scan_cli_and_rescan_of_changed_datasets(app, sim, neo4j, capsys):
    put(sim, "crm/customers/2024/01/31/export.csv", b"id,name\n1,a\n2,b\n")
    put(sim, "crm/customers/2024/01/31/_SUCCESS", b"")
    put(sim, "events/dt=2024-01-31/part-0.jsonl", b'{"id": 1}\n{"id": 2}\n')
    put(sim, "models/m1/model.tar.gz", b"\x1f\x8b not really")
    put(sim, "broken/part-0.parquet", b"not parquet at all")
    handlers = logging.getLogger().handlers[:]
    try:
        assert main(["scan", f"s3://{LAKE}/", "--json"]) == 0
    finally:  # main() logs to the stream capsys closes after this test
        logging.getLogger().handlers[:] = handlers
    summary = json.loads(capsys.readouterr().out)
    assert summary["objects"] == 4 and summary["datasets"] == 4 and summary["new_versions"] == 2
    assert summary["unreadable"] == 1 and summary["no_schema"] == 1 and summary["buckets_refreshed"] == 1
    got = {r["uri"]: r for r in rows(neo4j, "MATCH (d:Dataset) RETURN d.uri AS uri, d.format AS format, "
                                            "d.schema_status AS status, d.schema_error AS error, "
                                            "d.scanned_objects AS objects")}
    assert set(got) == {f"s3://{LAKE}/crm/customers/", f"s3://{LAKE}/events/", f"s3://{LAKE}/models/m1/model.tar.gz",
                        f"s3://{LAKE}/broken/"}
    assert got[f"s3://{LAKE}/broken/"]["status"] == "unreadable"
    assert "not a Parquet file" in got[f"s3://{LAKE}/broken/"]["error"]
    assert got[f"s3://{LAKE}/events/"]["format"] == "jsonl" and got[f"s3://{LAKE}/crm/customers/"]["objects"] == 1
    # Later, one dataset's newest object changes; the rescan reads only that one.
    put(sim, "crm/customers/2024/02/01/export.csv", b"id,name,email\n1,a,x@y\n")
    service = s3_service(app)
    sim.reset_counts()
    report = service.rescan(datetime.now(timezone.utc) + timedelta(seconds=1), limit=100)
    assert report.new_versions == 1 and report.unchanged == 3 and sim.counts()["s3.GetObject"] == 1
    assert [v["version"] for v in versions(neo4j, f"s3://{LAKE}/crm/customers/")] == [1, 2]
    assert {j.id for j in s3_scheduled_jobs(app, app.settings)} == {"s3-posture", "s3-rescan", "s3-evaluation-reports"}


def test_sync_then_posture_reports_schemas_drift_and_the_example_queries(app, sim, neo4j):
    definition = json.loads((PIPELINES / "churn-training.json").read_text())
    s3 = sim.client("s3")
    for bucket in ("acme-ml-data", "acme-ml-artifacts"):
        s3.create_bucket(Bucket=bucket)
    put(sim, "churn/raw/part-00000.csv", b"customer_id,tenure,monthly_charges,churned\n1,12,70.5,0\n2,3,99.1,1\n",
        bucket="acme-ml-data")
    seed_pipeline(sim, "churn-training", definition, tags={"DomainName": "ml-platform"})
    start = datetime.now(timezone.utc) - timedelta(days=2)
    executions = [seed_execution(sim, "churn-training", start=start + timedelta(hours=h)) for h in (0, 5)]
    report = run_sync(app)
    assert report.errors == []
    # The sync ends with bucket posture and evaluation reports; each is done once.
    assert refresh_posture(app, None) == 0
    assert evaluation_metrics_for_execution(app, executions) == {}
    metrics = neo4j.execute_query("MATCH (r:StepRun) WHERE r.key ENDS WITH '/EvaluateChurnModel' "
                                  "RETURN r.metrics AS m").records
    assert len(metrics) == 2 and all("metrics.auc" in json.loads(r["m"]) for r in metrics)
    lineage = app.views.lineage("churn-training")
    run = next(n for n in lineage["graph"]["nodes"] if n["id"] == "EvaluateChurnModel")["run"]
    assert 0 < run["metrics"]["metrics.auc"] < 1
    posture = {a["bucket"]: a["s3"] for a in lineage["graph"]["artifacts"]}
    assert posture["acme-ml-data"] == {"encryption": "None", "versioning": "Disabled", "publicAccess": "NotBlocked",
                                       "tags": {}}
    # The raw data the pipeline reads gets its schema; then a new file drops a column.
    service: S3Datasets = s3_service(app)
    service.scan("acme-ml-data", "churn/")
    put(sim, "churn/raw/part-00001.csv", b"customer_id,tenure,churned\n3,7,0\n", bucket="acme-ml-data")
    service.observe_objects(list_objects(s3, "acme-ml-data", "churn/raw/part-00001.csv"))
    raw = versions(neo4j, "s3://acme-ml-data/churn/raw/")
    assert [v["version"] for v in raw] == [1, 2] and raw[1]["removed"] == ["monthly_charges"]
    results = {}
    for example in EXAMPLES:
        results[example.title] = [r.data() for r in neo4j.execute_query(example.cypher, example.params).records]
    history = next(v for k, v in results.items() if k.startswith("Schema history"))
    assert [r["version"] for r in history] == [2, 1]
    drifted = next(v for k, v in results.items() if k.startswith("Training data whose schema drifted"))
    assert {r["dataset"] for r in drifted} == {"s3://acme-ml-data/churn/raw/"}
    exposed = next(v for k, v in results.items() if k.startswith("Models trained on data in a bucket"))
    assert exposed and all(r["encryption"] == "none" for r in exposed)


def test_scan_of_a_bucket_it_may_not_list_says_why(app, sim, capsys):
    inject_fault(service="s3", operation="ListObjectsV2", code="AccessDenied", message="Access Denied", status=403)
    handlers = logging.getLogger().handlers[:]
    try:
        assert main(["scan", f"s3://{LAKE}/private/"]) == 1
    finally:
        logging.getLogger().handlers[:] = handlers
    assert f"error: cannot list s3://{LAKE}/private/: AccessDenied: Access Denied" in capsys.readouterr().out


def evolving_lake(sim, prefix: str, days: int = 12) -> list[ObjectRef]:
    """Daily partitions written by pyarrow: a column added on day 5, a type changed on day 9."""
    objects = []
    for day in range(1, days + 1):
        table = pa.table({"id": pa.array(range(20), pa.int64()), "amount": pa.array([1.5] * 20)})
        if day >= 5:
            table = table.append_column("channel", pa.array(["web"] * 20))
        if day >= 9:
            table = table.set_column(1, "amount", pa.array(["1.5"] * 20))
        objects.append(put(sim, f"{prefix}dt=2024-01-{day:02d}/part-00000-{day}.snappy.parquet", parquet_bytes(table)))
    return objects


def history_rows(driver, dataset: str) -> list[dict]:
    return rows(driver, """
        MATCH (d:Dataset {uri: $uri})-[h:HAS_SCHEMA]->(v:SchemaVersion)
        RETURN v.version AS version, h.current AS current, v.first_seen_partition AS partition,
               v.first_seen_at AS at, v.drift AS drift, v.added AS added, v.previous AS previous
        ORDER BY version""", uri=dataset)


def test_scan_history_finds_each_change_at_its_first_partition_by_sampling(app, sim, neo4j, monkeypatch):
    monkeypatch.setenv("LINEAGE_S3_HISTORY_MAX_PARTITIONS", "4")
    app.settings = load_settings()
    objects = evolving_lake(sim, "sales/daily/")
    sim.reset_counts()
    report = s3_service(app).scan(LAKE, "sales/", history=True)
    dataset = f"s3://{LAKE}/sales/daily/"
    got = history_rows(neo4j, dataset)
    assert [(r["version"], r["current"], r["partition"]) for r in got] == [
        (1, False, "dt=2024-01-01/"), (2, False, "dt=2024-01-05/"), (3, True, "dt=2024-01-09/")]
    assert got[1]["added"] == ["channel"] and got[2]["drift"] is True and got[0]["drift"] is False
    assert got[2]["at"].to_native() == objects[8].modified
    # 4 evenly spaced partitions, then bisection to the exact first partition: fewer than all 12
    assert report.history_partitions == 12 and report.history_partitions_read < 12
    assert report.history_versions == 3 and report.new_versions == 0 and report.unchanged == 1
    # Once more: idempotent, nothing added.
    again = s3_service(app).scan(LAKE, "sales/", history=True)
    assert again.history_versions == 0 and history_rows(neo4j, dataset) == got
    drifted = rows(neo4j, "MATCH (:Dataset {uri: $u})-[:HAS_SCHEMA]->(v:SchemaVersion) WHERE v.drift "
                          "RETURN v.removed AS removed, v.type_changed AS tc", u=dataset)
    assert [json.loads(r["tc"]) for r in drifted] == [[{"name": "amount", "from": "double", "to": "string"}]]


def test_first_scan_of_a_new_dataset_reads_its_history_within_the_bound(app, sim, neo4j, monkeypatch):
    evolving_lake(sim, "raw/a/", days=6)
    report = s3_service(app).scan(LAKE, "raw/")
    assert report.history_datasets == 1 and report.history_partitions_read == 6
    assert [r["partition"] for r in history_rows(neo4j, f"s3://{LAKE}/raw/a/")] == ["dt=2024-01-01/", "dt=2024-01-05/"]
    # A later plain scan of a dataset with a schema does not read its history again.
    assert s3_service(app).scan(LAKE, "raw/").history_datasets == 0
    monkeypatch.setenv("LINEAGE_S3_HISTORY_ON_FIRST_SCAN", "0")
    app.settings = load_settings()
    evolving_lake(sim, "raw2/b/", days=6)
    assert s3_service(app).scan(LAKE, "raw2/").history_datasets == 0


def test_history_never_replaces_a_newer_current_schema(app, sim, neo4j, capsys):
    objects = evolving_lake(sim, "events/daily/")
    service = s3_service(app)
    service.observe_objects([objects[-1]])  # an event saw the newest partition first
    dataset = f"s3://{LAKE}/events/daily/"
    assert [(r["version"], r["current"]) for r in history_rows(neo4j, dataset)] == [(1, True)]
    handlers = logging.getLogger().handlers[:]
    try:
        assert main(["scan", f"s3://{LAKE}/events/", "--history", "--json"]) == 0
    finally:
        logging.getLogger().handlers[:] = handlers
    summary = json.loads(capsys.readouterr().out)
    assert summary["history_versions"] == 2 and summary["history_partitions_read"] == 12
    got = history_rows(neo4j, dataset)
    assert [(r["version"], r["current"], r["partition"]) for r in got] == [
        (1, False, "dt=2024-01-01/"), (2, False, "dt=2024-01-05/"), (3, True, "dt=2024-01-09/")]
    assert got[2]["previous"] is not None and got[2]["drift"] is True
    assert rows(neo4j, "MATCH (d:Dataset {uri: $u}) RETURN d.schema_version AS v", u=dataset) == [{"v": 3}]


def test_delta_and_iceberg_tables_are_datasets_at_their_root(app, sim, neo4j, tmp_path):
    from deltalake import write_deltalake

    from tests.s3_data import iceberg_metadata, upload_dir

    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"id": [1, 2], "region": ["eu", "us"]}), partition_by=["region"])
    upload_dir(sim.client("s3"), LAKE, "delta/orders/", path)
    fields = [{"id": 1, "name": "event_id", "required": True, "type": "long"}]
    put(sim, "ice/events/metadata/00000-a.metadata.json", iceberg_metadata(f"s3://{LAKE}/ice/events", [fields], 0))
    put(sim, "ice/events/data/event_day=2024-06-03/00000-0-b.parquet", parquet_bytes(rich_table(5)))
    report = s3_service(app).scan(LAKE, "")
    got = {r["uri"]: r for r in rows(neo4j, "MATCH (d:Dataset)-[:HAS_SCHEMA {current: true}]->(v) "
                                            "RETURN d.uri AS uri, d.format AS format, v.column_names AS cols")}
    assert got == {f"s3://{LAKE}/delta/orders/": {"uri": f"s3://{LAKE}/delta/orders/", "format": "delta",
                                                  "cols": ["id", "region"]},
                   f"s3://{LAKE}/ice/events/": {"uri": f"s3://{LAKE}/ice/events/", "format": "iceberg",
                                                "cols": ["event_id"]}}
    assert report.history_datasets == 0
    # A data file's event does not read it: the table's schema is in its log.
    data = next(o for o in list_objects(sim.client("s3"), LAKE, "delta/orders/") if o.key.endswith(".parquet"))
    sim.reset_counts()
    assert s3_service(app).observe_objects([data]).already_seen == 1 and sim.counts()["s3.GetObject"] == 0
