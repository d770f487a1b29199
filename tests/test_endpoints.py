"""The endpoints source (#13 part 1) end to end: the simulated account's hosting API -> sync and the
consumer -> a real Neo4j; and its pure transforms."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from collector.events import CloudEvent
from collector.events.endpoints import endpoint_description, endpoint_state
from collector.events.model import MalformedMessage
from config import load_settings
from graphstore.queries import QueryLibrary
from jobs.app import App
from jobs.consumer import Consumer, ConsumerConfig
from jobs.ingest import EventIngest
from jobs.sources.endpoints import EndpointEvents, EndpointsSource
from jobs.wiring import run_sync
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_demo_account
from lineage_dev.sim.moto_endpoints import finish_update, hold_updates
from tests.test_consumer import make_queue, send

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
DESCRIBES = {"sagemaker.DescribeEndpoint", "sagemaker.DescribeEndpointConfig", "sagemaker.DescribeModel",
             "sagemaker.DescribeInferenceComponent"}
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"


@pytest.fixture
def app(settings_env, neo4j):
    application = App(load_settings())
    application.writer.ensure_schema()
    yield application
    application.close()


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def sync(app):
    report = run_sync(app, sources=["endpoints"])
    return report, report.sources["endpoints"]


def seed_hosting(sim) -> str:
    """Two models (one from a model package), a config with a production, a serverless shadow variant and data
    capture, an endpoint, and an inference component on a second endpoint. Returns the package ARN."""
    sm = sim.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="churn-models")
    package = sm.create_model_package(
        ModelPackageGroupName="churn-models", InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://acme-ml-data/models/churn/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sm.create_model(ModelName="churn-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": "img", "ModelPackageName": package,
                                      "ModelDataUrl": "s3://acme-ml-data/models/churn/model.tar.gz"})
    sm.create_model(ModelName="churn-challenger", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    capture = {"InitialSamplingPercentage": 20, "DestinationS3Uri": "s3://acme-ml-data/capture/churn",
               "CaptureOptions": [{"CaptureMode": "Input"}]}
    primary = {"VariantName": "primary", "ModelName": "churn-model", "InstanceType": "ml.m5.large",
               "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}
    sm.create_endpoint_config(
        EndpointConfigName="churn-v1", ProductionVariants=[primary], DataCaptureConfig=capture,
        ShadowProductionVariants=[{"VariantName": "shadow", "ModelName": "churn-challenger",
                                   "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 4}}])
    sm.create_endpoint_config(EndpointConfigName="churn-v2", ProductionVariants=[
        {**primary, "ModelName": "churn-challenger"}])
    sm.create_endpoint_config(EndpointConfigName="shared-ic", ProductionVariants=[
        {"VariantName": "all", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="Churn-Scoring", EndpointConfigName="churn-v1")
    sm.create_endpoint(EndpointName="shared", EndpointConfigName="shared-ic")
    sm.create_inference_component(
        InferenceComponentName="churn-ic", EndpointName="shared", VariantName="all",
        Specification={"ModelName": "churn-model", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 2})
    return package


ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-scoring"
CONFIG = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{}"
MODEL = "arn:aws:sagemaker:us-east-1:123456789012:model/{}"


def history(neo4j, endpoint=ENDPOINT):
    return rows(neo4j, "MATCH (c:EndpointConfig)-[d:DEPLOYED_TO]->(:Endpoint {arn: $e}) "
                       "RETURN c.name AS config, d.current AS current, d.since IS NOT NULL AS since, "
                       "d.until IS NOT NULL AS until ORDER BY d.since", e=endpoint)


def test_first_sync_builds_hosting_and_a_second_describes_nothing_unchanged(app, sim, neo4j):
    package = seed_hosting(sim)
    sim.reset_counts()
    report, summary = sync(app)
    assert report.errors == [] and summary["describe_failures"] == []
    calls = sim.counts()
    assert calls["sagemaker.DescribeModel"] == 2 and calls["sagemaker.DescribeEndpointConfig"] == 3
    assert calls["sagemaker.DescribeEndpoint"] == 2 and calls["sagemaker.DescribeInferenceComponent"] == 1
    assert sim.invalid_responses == []

    [endpoint] = rows(neo4j, "MATCH (e:Endpoint {arn: $arn}) RETURN e {.*} AS e", arn=ENDPOINT)
    e = endpoint["e"]
    assert e["name"] == "churn-scoring" and e["display_name"] == "Churn-Scoring" and e["status"] == "InService"
    assert e["config_name"] == "churn-v1" and e["last_deployment_time"] is not None and e["retired"] is False
    variants = rows(neo4j, "MATCH (m:Model)-[d:DEPLOYED_AS]->(c:EndpointConfig {arn: $c}) "
                           "RETURN m.name AS model, d {.*} AS d ORDER BY d.variant", c=CONFIG.format("churn-v1"))
    assert [(v["model"], v["d"]["variant_kind"]) for v in variants] == [
        ("churn-model", "production"), ("churn-challenger", "shadow")]
    assert variants[0]["d"]["instance_type"] == "ml.m5.large" and variants[0]["d"]["initial_instance_count"] == 2
    assert variants[1]["d"]["serverless_memory_mb"] == 2048
    [config] = rows(neo4j, "MATCH (c:EndpointConfig {arn: $c}) RETURN c {.*} AS c", c=CONFIG.format("churn-v1"))
    assert config["c"]["serverless"] is True and config["c"]["shadow_variants"] == ["shadow"]
    assert config["c"]["data_capture_uri"] == "s3://acme-ml-data/capture/churn"
    assert history(neo4j) == [{"config": "churn-v1", "current": True, "since": True, "until": False}]
    # data capture as a dataset; the model's package and its model data
    assert rows(neo4j, "MATCH (:Endpoint {arn: $e})-[:PRODUCES {name: 'data-capture'}]->(d:Dataset) RETURN d.uri AS u",
                e=ENDPOINT) == [{"u": "s3://acme-ml-data/capture/churn/"}]
    assert rows(neo4j, "MATCH (p:ModelPackage)-[:INSTANTIATED_AS]->(m:Model {name: 'churn-model'}) "
                       "MATCH (d:Dataset)-[:FEEDS]->(m) RETURN p.arn AS p, d.uri AS d") == [
        {"p": package, "d": "s3://acme-ml-data/models/churn/model.tar.gz"}]
    # the inference component: its model and its endpoint
    assert rows(neo4j, "MATCH (m:Model)-[:DEPLOYED_AS]->(ic:InferenceComponent)-[d:DEPLOYED_TO]->(e:Endpoint) "
                       "RETURN m.name AS m, ic.name AS ic, ic.status AS s, e.name AS e, d.current AS current") == [
        {"m": "churn-model", "ic": "churn-ic", "s": "InService", "e": "shared", "current": True}]

    sim.reset_counts()
    report, summary = sync(app)
    calls = sim.counts()
    assert not DESCRIBES & set(calls), calls  # listings only
    assert summary["Endpoint_unchanged"] == 2 and summary["Model_unchanged"] == 2
    assert report.errors == []


def test_an_update_moves_the_current_config_and_keeps_the_history(app, sim, neo4j):
    seed_hosting(sim)
    sync(app)
    backend = sim.sagemaker_backend()
    hold_updates(backend, "Churn-Scoring")
    sim.client("sagemaker").update_endpoint(EndpointName="Churn-Scoring", EndpointConfigName="churn-v2")
    sim.reset_counts()
    sync(app)
    assert sim.counts()["sagemaker.DescribeEndpoint"] == 1  # only the endpoint that changed
    [e] = rows(neo4j, "MATCH (e:Endpoint {arn: $e}) RETURN e.status AS s, e.config_name AS c, "
                      "e.pending_config_name AS p", e=ENDPOINT)
    assert e == {"s": "Updating", "c": "churn-v1", "p": "churn-v2"}
    assert [h["config"] for h in history(neo4j)] == ["churn-v1"]  # pending is not serving

    finish_update(backend, "Churn-Scoring", NOW.replace(year=2030))
    sync(app)
    [e] = rows(neo4j, "MATCH (e:Endpoint {arn: $e}) RETURN e.status AS s, e.config_name AS c, "
                      "e.pending_config_name AS p", e=ENDPOINT)
    assert e == {"s": "InService", "c": "churn-v2", "p": None}
    assert history(neo4j) == [{"config": "churn-v1", "current": False, "since": True, "until": True},
                              {"config": "churn-v2", "current": True, "since": True, "until": False}]
    # which endpoints served churn-model (v1's primary), and when: the closed period answers
    served = rows(neo4j, "MATCH (:Model {arn: $m})-[:DEPLOYED_AS]->(:EndpointConfig)-[d:DEPLOYED_TO]->(e:Endpoint) "
                         "WHERE d.until IS NOT NULL RETURN DISTINCT e.name AS e", m=MODEL.format("churn-model"))
    assert served == [{"e": "churn-scoring"}]


def endpoint_event(status: str, config: str, modified: datetime, *, sent: datetime | None = None) -> dict:
    """The event as AWS documents it: the API's field names, the status upper-snake, times in epoch ms."""
    return {
        "version": "0", "id": f"ev-{status}-{modified.timestamp()}", "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker", "account": "123456789012", "time": (sent or modified).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [ENDPOINT],
        "detail": {"EndpointName": "Churn-Scoring", "EndpointArn": ENDPOINT, "EndpointConfigName": config,
                   "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
                   "EndpointStatus": status, "CreationTime": int((NOW - timedelta(days=30)).timestamp() * 1000),
                   "LastModifiedTime": int(modified.timestamp() * 1000), "Tags": {}},
    }


def consume(app, sqs, bodies):
    url, _ = make_queue(sqs, "endpoint-events")
    send(sqs, url, bodies)
    ingest = EventIngest(app.writer, [EndpointsSource(app).event_handler()])
    config = ConsumerConfig.from_settings(app.settings, queue_urls=[url], until_empty=True, wait_seconds=1,
                                          visibility_timeout=30, shutdown_seconds=10)
    return Consumer(app.aws, ingest, config).run(threading.Event())


def test_endpoint_state_events_through_the_consumer_keep_the_newest_state(app, sim, sqs, neo4j):
    t = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    stats = consume(app, sqs, [endpoint_event("CREATING", "churn-v1", t),
                               endpoint_event("IN_SERVICE", "churn-v1", t + timedelta(minutes=5))])
    assert stats.total("deleted") == 2 and stats.total("failed") == 0
    [e] = rows(neo4j, "MATCH (e:Endpoint {arn: $e}) RETURN e.status AS s, e.config_name AS c", e=ENDPOINT)
    assert e == {"s": "InService", "c": "churn-v1"}
    # an update: in service with v2; then the older v1 events come again, late: they change nothing
    consume(app, sqs, [endpoint_event("UPDATING", "churn-v1", t + timedelta(minutes=20)),
                       endpoint_event("IN_SERVICE", "churn-v2", t + timedelta(minutes=30))])
    consume(app, sqs, [endpoint_event("IN_SERVICE", "churn-v1", t + timedelta(minutes=5)),
                       endpoint_event("CREATING", "churn-v1", t)])
    [e] = rows(neo4j, "MATCH (e:Endpoint {arn: $e}) RETURN e.status AS s, e.config_name AS c", e=ENDPOINT)
    assert e == {"s": "InService", "c": "churn-v2"}
    assert history(neo4j) == [{"config": "churn-v1", "current": False, "since": True, "until": True},
                              {"config": "churn-v2", "current": True, "since": True, "until": False}]


def test_a_deleted_endpoint_is_retired_and_what_it_served_stays_queryable(app, sim, neo4j):
    seed_hosting(sim)
    sync(app)
    sim.client("sagemaker").delete_endpoint(EndpointName="Churn-Scoring")
    report, summary = sync(app)
    assert summary["Endpoint_retired"] == 1 and report.errors == []
    [e] = rows(neo4j, "MATCH (e:Endpoint {arn: $e}) RETURN e.retired AS r, e.retired_at IS NOT NULL AS at", e=ENDPOINT)
    assert e == {"r": True, "at": True}
    assert history(neo4j) == [{"config": "churn-v1", "current": False, "since": True, "until": True}]
    served = rows(neo4j, "MATCH (:Model {arn: $m})-[:DEPLOYED_AS]->(:EndpointConfig)-[d:DEPLOYED_TO]->(e:Endpoint) "
                         "WHERE d.since <= datetime() AND d.until >= datetime() - duration('P31D') "
                         "RETURN e.name AS e, e.retired AS retired", m=MODEL.format("churn-model"))
    assert served == [{"e": "churn-scoring", "retired": True}]
    # the other endpoint stays; a failed listing retires nothing
    inject_fault("sagemaker", "ListEndpoints", "ThrottlingException", "Rate exceeded")
    sim.client("sagemaker").delete_endpoint(EndpointName="shared")
    report, summary = sync(app)
    assert any("cannot list Endpoint" in e for e in report.errors) and "Endpoint_retired" not in summary
    assert rows(neo4j, "MATCH (e:Endpoint {name: 'shared'}) RETURN e.retired AS r") == [{"r": False}]


def test_access_denied_on_one_describe_is_logged_and_the_rest_goes_on(app, sim, neo4j, caplog):
    seed_hosting(sim)
    inject_fault("sagemaker", "DescribeEndpointConfig", "AccessDeniedException", "not authorized",
                 match=lambda params: params.get("EndpointConfigName") == "churn-v2")
    with caplog.at_level(logging.WARNING, logger="lineage.sync"):
        _, summary = sync(app)
    assert summary["EndpointConfig_describe_failed"] == 1 and summary["EndpointConfig_described"] == 2
    assert [f for f in summary["describe_failures"] if CONFIG.format("churn-v2") in f and "AccessDenied" in f]
    assert any(CONFIG.format("churn-v2") in r.getMessage() and "AccessDenied" in r.getMessage() for r in caplog.records)
    assert rows(neo4j, "MATCH (e:Endpoint) RETURN count(e) AS n") == [{"n": 2}]
    # described next time, once allowed
    from lineage_dev.sim import clear_faults

    clear_faults()
    sim.reset_counts()
    sync(app)
    assert sim.counts()["sagemaker.DescribeEndpointConfig"] == 1


def test_the_demo_account_reaches_its_endpoint_downstream_of_raw_data(app, sim, neo4j):
    seeded = seed_demo_account(sim, now=NOW)
    assert seeded["hosting"]["endpoint"].endswith("endpoint/churn-scoring")
    report = run_sync(app)
    assert report.errors == [] and sim.invalid_responses == []
    library = QueryLibrary(neo4j, timeout=120)
    found = library.run("downstream", {"node": "s3://acme-ml-data/churn/raw/", "depth": 12, "limit": 1000}).rows
    endpoints = [r for r in found if r["kind"] == "Endpoint"]
    assert [r["name"] for r in endpoints] == ["churn-scoring"]
    assert {"INSTANTIATED_AS", "DEPLOYED_AS", "DEPLOYED_TO"} <= set(endpoints[0]["via"])
    impact = library.run("impact", {"node": "s3://acme-ml-data/churn/raw/", "depth": 12, "limit": 1000}).rows
    by_default = library.run("impact", {"node": "s3://acme-ml-data/churn/raw/"}).rows  # default depth reaches it
    assert [r["name"] for r in by_default if r["category"] == "endpoint"] == ["churn-scoring"]
    assert [r["name"] for r in impact if r["category"] == "endpoint"] == ["churn-scoring"]
    assert "churn-model-v1" in {r["name"] for r in impact if r["category"] == "model"}
    assert history(neo4j, seeded["hosting"]["endpoint"].lower())[-1]["config"] == "churn-scoring-v2"


# --- pure: the event's shape ----------------------------------------------------------------------------------


def test_endpoint_events_are_normalised_to_the_describe_shape():
    doc = endpoint_event("UPDATE_ROLLBACK_FAILED", "churn-v1", NOW)
    described = endpoint_description(doc["detail"])
    assert described["EndpointStatus"] == "UpdateRollbackFailed" and described["LastModifiedTime"] == NOW
    assert endpoint_description({**doc["detail"], "EndpointStatus": "InService"})["EndpointStatus"] == "InService"
    event = CloudEvent(source="aws.sagemaker", detail_type="SageMaker Endpoint State Change", detail=doc["detail"],
                       time=NOW, id="1", region="us-east-1", account="123456789012", resources=(ENDPOINT,))
    effect = endpoint_state(event)
    assert effect.deployments == []  # not in service: serves nothing new
    node = effect.graph.nodes[("Endpoint", ENDPOINT)]
    assert node.state["status"] == "UpdateRollbackFailed" and node.state_time >= NOW
    with pytest.raises(MalformedMessage):
        endpoint_description({"EndpointName": "x"})
    assert json.dumps(doc)  # the sample stays plain JSON
    assert EndpointEvents.name == "endpoints"
