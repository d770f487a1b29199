"""Feature Store (#13, part 2): transforms on fixture shapes, then the simulated account -> sync / consumer ->
a real Neo4j: feature groups with their features as schema versions, the offline store Dataset and Glue Table,
ingestion and training lineage, the incremental rule, state-change events, retirement and a denied describe."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from collector.events import CloudEvent
from collector.events.feature_store import FEATURE_GROUP_STATE
from collector.sagemaker.definition import parse_definition
from collector.sagemaker.feature_store import (
    StoredFeatureSchema,
    feature_columns,
    feature_group_graph,
    feature_store_outputs,
)
from collector.sagemaker.transform import job_graph, pipeline_graph
from config import load_settings
from graphstore.queries import QueryLibrary
from jobs.app import App
from jobs.sources.feature_store import FeatureStoreSync, _route
from jobs.wiring import event_consumer, run_sync
from lineage_dev.sim import inject_fault
from lineage_dev.sim.feature_store_demo import FEATURE_GROUP, FEATURES, PIPELINE, create_feature_group, seed_feature_store
from lineage_dev.sim.moto_feature_store import set_status
from tests import event_samples as ev
from tests.test_consumer import make_queue, send

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
SM = "arn:aws:sagemaker:us-east-1:123456789012"
DESCRIBED = {
    "FeatureGroupArn": f"{SM}:feature-group/clickstream-sessions", "FeatureGroupName": "clickstream-sessions",
    "RecordIdentifierFeatureName": "session_id", "EventTimeFeatureName": "event_time",
    "FeatureDefinitions": [{"FeatureName": "session_id", "FeatureType": "String"},
                           {"FeatureName": "event_time", "FeatureType": "Fractional"},
                           {"FeatureName": "pages", "FeatureType": "String", "CollectionType": "List"}],
    "CreationTime": NOW - timedelta(days=3), "LastModifiedTime": NOW - timedelta(days=1),
    "OnlineStoreConfig": {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": "k"}},
    "OfflineStoreConfig": {
        "S3StorageConfig": {"S3Uri": "s3://acme-ml-data/feature-store",
                            "ResolvedOutputS3Uri": "s3://acme-ml-data/feature-store/123456789012/sagemaker/us-east-1/"
                                                   "offline-store/clickstream-sessions-1717000000/data"},
        "DataCatalogConfig": {"TableName": "clickstream_sessions_1717000000", "Catalog": "AwsDataCatalog",
                              "Database": "sagemaker_featurestore"},
        "TableFormat": "Glue"},
    "FeatureGroupStatus": "Created", "OfflineStoreStatus": {"Status": "Active"},
}
OFFLINE = "s3://acme-ml-data/feature-store/123456789012/sagemaker/us-east-1/offline-store/clickstream-sessions-1717000000/data/"
KEY = f"{SM}:feature-group/clickstream-sessions"


# --- pure transforms ------------------------------------------------------------------------------


def test_a_described_group_is_a_feature_group_with_its_schema_offline_dataset_and_glue_table():
    graph = feature_group_graph(DESCRIBED, None, NOW)
    group = graph.nodes[("FeatureGroup", KEY)]
    assert group.props["record_identifier"] == "session_id" and group.props["feature_count"] == 3
    assert json.loads(group.props["features"]) == [
        {"name": "session_id", "type": "String", "nullable": False},
        {"name": "event_time", "type": "Fractional", "nullable": False},
        {"name": "pages", "type": "List<String>", "nullable": True}]
    assert "KmsKeyId" not in group.props["online_store"] and group.props["online_store_enabled"] is True
    assert group.state == {"status": "Created", "offline_store_status": "Active"}
    assert group.props["offline_store_table"] == "sagemaker_featurestore.clickstream_sessions_1717000000"
    rels = {(r.type, r.start, r.end): r.props for r in graph.rels.values()}
    assert rels[("STORED_AT", ("FeatureGroup", KEY), ("Dataset", OFFLINE))]["via"] == "offline_store"
    table = ("Table", "sagemaker_featurestore.clickstream_sessions_1717000000")
    assert rels[("STORED_AT", table, ("Dataset", OFFLINE))]["via"] == "feature_store"
    (version,) = [n for n in graph.nodes.values() if n.label == "SchemaVersion"]
    assert version.props["version"] == 1 and version.props["column_names"] == ["session_id", "event_time", "pages"]
    assert rels[("HAS_SCHEMA", ("FeatureGroup", KEY), ("SchemaVersion", version.key))]["current"] is True


def test_an_added_feature_is_a_new_schema_version_with_the_diff():
    first = feature_group_graph(DESCRIBED, None, NOW)
    (v1,) = [n for n in first.nodes.values() if n.label == "SchemaVersion"]
    stored = StoredFeatureSchema(v1.key, v1.props["fingerprint"], 1, feature_columns(DESCRIBED), {v1.key})
    updated = {**DESCRIBED, "LastModifiedTime": NOW,
               "FeatureDefinitions": DESCRIBED["FeatureDefinitions"] + [{"FeatureName": "clicks", "FeatureType": "Integral"}]}
    graph = feature_group_graph(updated, stored, NOW)
    (v2,) = [n for n in graph.nodes.values() if n.label == "SchemaVersion" and n.key != v1.key]
    assert v2.props["version"] == 2 and v2.props["added"] == ["clicks"] and v2.props["drift"] is False
    assert ("PREVIOUS", ("SchemaVersion", v2.key), ("SchemaVersion", v1.key), ()) in graph.rels
    assert feature_group_graph(DESCRIBED, stored, NOW).nodes[("FeatureGroup", KEY)].props.get("schema_id") is None


def test_feature_store_outputs_of_definitions_and_jobs_become_produces_edges():
    definition = {"Version": "2020-12-01", "Parameters": [{"Name": "Group", "Type": "String", "DefaultValue": "sessions"}],
                  "Steps": [{"Name": "Ingest", "Type": "Processing", "Arguments": {"ProcessingOutputConfig": {"Outputs": [
                      {"OutputName": "fs", "FeatureStoreOutput": {"FeatureGroupName": {"Get": "Parameters.Group"}}}]}}}]}
    parsed = parse_definition(definition)
    assert [(o.name, o.feature_group) for o in parsed.steps[0].feature_outputs] == [("fs", "sessions")]
    pipeline = f"{SM}:pipeline/ingest"
    graph = pipeline_graph({"PipelineArn": pipeline}, {}, parsed, {}, json.dumps(definition))
    assert ("PRODUCES", ("Step", f"{pipeline}/Ingest"), ("FeatureGroup", f"{SM}:feature-group/sessions"), ("fs",)) \
        in graph.rels
    job = {"ProcessingJobArn": f"{SM}:processing-job/ingest-1", "ProcessingJobStatus": "Completed",
           "ProcessingOutputConfig": {"Outputs": [{"OutputName": "fs", "FeatureStoreOutput": {
               "FeatureGroupName": f"{SM}:feature-group/Sessions"}}]}}
    rels = [r for r in job_graph("ProcessingJob", job).rels.values() if r.type == "PRODUCES"]
    assert [(r.end, r.props["feature_group"]) for r in rels] == [
        (("FeatureGroup", f"{SM}:feature-group/sessions"), f"{SM}:feature-group/Sessions")]
    assert feature_store_outputs({"ProcessingOutputConfig": {"Outputs": [{"OutputName": "s3", "S3Output": {}}]}}) == []


def test_a_state_change_event_sets_the_status_as_of_its_time_and_flags_new_features():
    detail = {k: v for k, v in DESCRIBED.items() if k not in ("LastModifiedTime",)}
    detail = json.loads(json.dumps({**detail, "CreationTime": int((NOW - timedelta(days=3)).timestamp() * 1000),
                                    "FeatureGroupStatus": "Deleting", "Tags": {}}, default=str))
    effect = _route(CloudEvent("aws.sagemaker", FEATURE_GROUP_STATE, detail, time=NOW))
    group = effect.graph.nodes[("FeatureGroup", KEY)]
    assert group.state["status"] == "Deleting" and group.state_time == NOW and group.state_rank == 1
    assert group.props["event_schema_fingerprint"] and "offline_store_uri" not in group.props
    assert [n.label for n in effect.graph.nodes.values()] == ["FeatureGroup"]


# --- the simulated account, a real Neo4j -------------------------------------------------------------


@pytest.fixture
def app(settings_env, neo4j):
    application = App(load_settings())
    application.writer.ensure_schema()
    yield application
    application.close()


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def _key(arn: str) -> str:
    return arn.lower()


def test_sync_writes_groups_and_describes_only_what_changed(app, sim, neo4j):
    group = create_feature_group(sim)
    other = create_feature_group(sim, "orders-daily", features=[
        {"FeatureName": "session_id", "FeatureType": "String"}, {"FeatureName": "event_time", "FeatureType": "String"},
        {"FeatureName": "total", "FeatureType": "Fractional"}], online=False)
    report = run_sync(app)
    assert report.errors == [] and report.sources["feature_store"]["described"] == 2
    stored = rows(neo4j, "MATCH (g:FeatureGroup {arn: $k}) RETURN g.feature_names AS names, g.status AS status, "
                         "g.online_store_enabled AS online", k=_key(group["FeatureGroupArn"]))
    assert stored == [{"names": [f["FeatureName"] for f in FEATURES], "status": "Created", "online": True}]
    offline = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"] + "/"
    table = "sagemaker_featurestore." + group["OfflineStoreConfig"]["DataCatalogConfig"]["TableName"]
    linked = rows(neo4j, "MATCH (g:FeatureGroup {arn: $k})-[s:STORED_AT]->(d:Dataset)<-[:STORED_AT]-(t:Table) "
                         "RETURN d.uri AS uri, s.via AS via, t.name AS table", k=_key(group["FeatureGroupArn"]))
    assert linked == [{"uri": offline, "via": "offline_store", "table": table}]
    assert rows(neo4j, "MATCH (g:FeatureGroup {arn: $k})-[:HAS_SCHEMA {current: true}]->(v:SchemaVersion) "
                       "RETURN v.column_count AS n", k=_key(other["FeatureGroupArn"])) == [{"n": 3}]

    sim.reset_counts()
    second = run_sync(app)
    assert second.sources["feature_store"] == {**second.sources["feature_store"], "described": 0, "unchanged": 2}
    assert sim.counts()["sagemaker.DescribeFeatureGroup"] == 0 and sim.counts()["sagemaker.ListFeatureGroups"] == 1

    # a status the listing shows differently from the last describe: that group (only) is described again
    set_status(sim.sagemaker_backend(), "orders-daily", "Created", offline_status="Blocked", failure="bucket gone")
    sim.reset_counts()
    run_sync(app)
    assert sim.counts()["sagemaker.DescribeFeatureGroup"] == 1
    assert rows(neo4j, "MATCH (g:FeatureGroup {name: 'orders-daily'}) RETURN g.offline_store_status AS s, "
                       "g.failure_reason AS why") == [{"s": "Blocked", "why": "bucket gone"}]


def test_a_feature_added_by_update_shows_as_a_schema_change(app, sim, neo4j):
    group = create_feature_group(sim)
    run_sync(app)
    sm = sim.client("sagemaker")
    sm.update_feature_group(FeatureGroupName=FEATURE_GROUP,
                            FeatureAdditions=[{"FeatureName": "clicks", "FeatureType": "Integral"}])
    run_sync(app)  # within the refresh period: the listing shows nothing new, so nothing is described
    assert rows(neo4j, "MATCH (g:FeatureGroup)-[:HAS_SCHEMA]->(v) RETURN count(v) AS n") == [{"n": 1}]
    report = FeatureStoreSync(app.aws, app.writer, refresh_seconds=0).run(["us-east-1"])  # the periodic refresh
    assert report.sources["feature_store"]["described"] == 1
    history = rows(neo4j, """
        MATCH (g:FeatureGroup {arn: $k})-[h:HAS_SCHEMA]->(v:SchemaVersion)
        OPTIONAL MATCH (v)-[:PREVIOUS]->(p:SchemaVersion)
        RETURN v.version AS version, h.current AS current, v.added AS added, p.version AS previous
        ORDER BY version""", k=_key(group["FeatureGroupArn"]))
    assert history == [{"version": 1, "current": False, "added": None, "previous": None},
                       {"version": 2, "current": True, "added": ["clicks"], "previous": 1}]
    assert rows(neo4j, "MATCH (g:FeatureGroup) RETURN g.schema_version AS v, g.feature_count AS n") == [{"v": 2, "n": 6}]


def test_upstream_of_the_model_reaches_the_feature_group_and_what_fed_it(app, sim, neo4j):
    seeded = seed_feature_store(sim, now=NOW)
    report = run_sync(app)
    assert report.errors == []
    group = _key(seeded["feature_group"])
    # the processing job (and its step) write into the group; the training job reads its offline store
    assert rows(neo4j, "MATCH (x)-[p:PRODUCES]->(:FeatureGroup {arn: $g}) "
                       "RETURN CASE WHEN x:Job THEN 'Job' WHEN x:Step THEN 'Step' ELSE 'other' END AS l, p.name AS name "
                       "ORDER BY l", g=group) == [{"l": "Job", "name": "sessions"}, {"l": "Step", "name": "sessions"}]
    library = QueryLibrary(neo4j, timeout=120)
    model = rows(neo4j, "MATCH (m:Model) RETURN m.arn AS arn")[0]["arn"]
    found = library.run("upstream", {"node": model, "depth": 12, "limit": 500}).rows
    by_key = {r["key"]: r for r in found}
    assert group in by_key and by_key[group]["kind"] == "FeatureGroup"
    assert "s3://acme-ml-data/clickstream/raw/" in by_key  # the ingesting job's input
    assert seeded["offline_store"] + "/" in by_key
    table = [r for r in found if r["kind"] == "Table"]
    assert table and table[0]["key"].startswith("sagemaker_featurestore.clickstream_sessions_")
    # and from the group: what it feeds, down to the model
    down = library.run("downstream", {"node": FEATURE_GROUP, "depth": 8, "limit": 500})
    assert down.params["kind"] == "feature-group" and model.lower() in {r["key"].lower() for r in down.rows}


def test_data_read_below_an_offline_store_links_to_its_group(app, sim, neo4j):
    group = create_feature_group(sim)
    offline = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
    run_sync(app)
    partition = offline.rsplit("/data", 1)[0] + "/"  # the group's root, above data/
    app.writer.write(_reader_of(partition), source="sync")
    report = run_sync(app)
    assert report.sources["feature_store"]["offline_links"] == 1
    assert rows(neo4j, "MATCH (:FeatureGroup)-[s:STORED_AT {via: 'under_offline_store'}]->(d:Dataset) "
                       "RETURN d.uri AS uri") == [{"uri": partition}]


def _reader_of(uri: str):
    from graphstore.model import Graph

    graph = Graph()
    graph.rel("FEEDS", graph.node("Dataset", uri), graph.node("Job", f"{SM}:training-job/reader"), {"name": "train"},
              merge_on=("name",))
    return graph


def test_a_state_change_event_through_the_consumer_updates_the_status(app, sim, sqs, neo4j):
    group = create_feature_group(sim)
    run_sync(app)
    detail = {"FeatureGroupArn": group["FeatureGroupArn"], "FeatureGroupName": FEATURE_GROUP,
              "RecordIdentifierFeatureName": "session_id", "EventTimeFeatureName": "event_time",
              "FeatureDefinitions": FEATURES, "CreationTime": ev.millis(NOW), "FeatureGroupStatus": "Deleting",
              "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://acme-ml-data/feature-store"}}, "Tags": {}}
    now = datetime.now(timezone.utc).replace(microsecond=0)
    older = ev.eventbridge(FEATURE_GROUP_STATE, {**detail, "FeatureGroupStatus": "Creating"}, now - timedelta(days=30),
                           resources=[group["FeatureGroupArn"]])
    newer = ev.eventbridge(FEATURE_GROUP_STATE, detail, now, resources=[group["FeatureGroupArn"]])
    url, _dlq = make_queue(sqs, "feature-events")
    send(sqs, url, [newer, older])  # out of order: the older one must not win
    consumer = event_consumer(app, queue_urls=[url], until_empty=True, wait_seconds=1, visibility_timeout=30,
                              shutdown_seconds=10)
    stats = consumer.run(threading.Event())
    assert stats.total("deleted") == 2 and stats.total("failed") == 0
    assert rows(neo4j, "MATCH (g:FeatureGroup {arn: $k}) RETURN g.status AS s, g.feature_count AS n",
                k=_key(group["FeatureGroupArn"])) == [{"s": "Deleting", "n": 5}]
    # the listing now shows the status the event reported, not the one the last describe saw: described again
    set_status(sim.sagemaker_backend(), FEATURE_GROUP, "Deleting")
    sim.reset_counts()
    run_sync(app)
    assert sim.counts()["sagemaker.DescribeFeatureGroup"] == 1
    assert rows(neo4j, "MATCH (g:FeatureGroup) RETURN g.status AS s, g.described_status AS d") == [
        {"s": "Deleting", "d": "Deleting"}]


def test_a_deleted_group_is_retired_and_a_denied_describe_is_logged_by_name(app, sim, neo4j, caplog):
    create_feature_group(sim)
    create_feature_group(sim, "orders-daily")
    create_feature_group(sim, "secret-features")
    inject_fault(service="sagemaker", operation="DescribeFeatureGroup", code="AccessDeniedException",
                 message="not authorized", match=lambda p: p.get("FeatureGroupName") == "secret-features")
    report = run_sync(app)
    assert report.sources["feature_store"]["described"] == 2 and report.sources["feature_store"]["describe_errors"] == 1
    assert any("secret-features" in e and "AccessDenied" in e for e in report.errors)
    assert any("secret-features" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert rows(neo4j, "MATCH (g:FeatureGroup) RETURN g.name AS n, g.status AS s ORDER BY n") == [
        {"n": "clickstream-sessions", "s": "Created"}, {"n": "orders-daily", "s": "Created"},
        {"n": "secret-features", "s": "Created"}]  # written from its listing
    sim.client("sagemaker").delete_feature_group(FeatureGroupName="orders-daily")
    report = run_sync(app)
    assert report.sources["feature_store"]["retired"] == 1
    assert rows(neo4j, "MATCH (g:FeatureGroup) RETURN g.name AS n, coalesce(g.retired, false) AS r ORDER BY n") == [
        {"n": "clickstream-sessions", "r": False}, {"n": "orders-daily", "r": True}, {"n": "secret-features", "r": False}]


def test_the_demo_account_with_its_feature_store(app, sim, neo4j):
    from lineage_dev.sim.account import seed_demo_account

    seeded = seed_demo_account(sim, now=NOW, feature_store=True)
    report = run_sync(app)
    assert report.errors == [] and report.pipelines == len(seeded["pipelines"]) + 1
    assert rows(neo4j, "MATCH (p:Pipeline {name: $p})-[:HAS_STEP]->(s:Step)-[:PRODUCES]->(g:FeatureGroup) "
                       "RETURN s.name AS step, g.name AS group", p=PIPELINE) == [
        {"step": "IngestSessionFeatures", "group": FEATURE_GROUP}]


def test_the_worker_runs_a_feature_store_pass_on_the_sync_schedule(app, sim, neo4j, caplog):
    from jobs.sources.feature_store import FeatureStoreSource

    create_feature_group(sim)
    [job] = FeatureStoreSource(app).scheduled_jobs()
    assert job.id == "feature-store-sync"
    with caplog.at_level("INFO", logger="lineage.sync"):
        job.run(threading.Event())
    assert any(r.getMessage() == "feature store sync finished" for r in caplog.records)
    assert rows(neo4j, "MATCH (g:FeatureGroup) RETURN g.name AS n") == [{"n": FEATURE_GROUP}]
