"""Stale cleanup: what a complete look no longer finds is retired after a grace period (its history stays
queryable), nothing a partial or failed look missed is, and deletion is opt-in."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from collector.s3.objects import ObjectRef
from config import load_settings
from graphstore.queries.library import QueryLibrary
from jobs.app import App
from jobs.sources.s3 import s3_service
from jobs.wiring import run_sync
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_execution, seed_pipeline

START = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
LAKE = "acme-retire"


def definition(name: str) -> dict:
    return json.loads((PIPELINES / f"{name}.json").read_text())


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def make_app(monkeypatch, **settings: str) -> App:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    app = App(load_settings())
    app.writer.ensure_schema()
    return app


def age_listing(neo4j, name: str, hours: float) -> None:
    neo4j.execute_query("MATCH (p:Pipeline {name: $name}) SET p.listed_at = p.listed_at - duration({hours: $h})",
                        {"name": name, "h": hours})


def inventory(app) -> set[str]:
    return {r["pipeline"] for r in QueryLibrary(app.driver).run("inventory").rows}


def retired_counts(neo4j, pipeline: str) -> dict:
    return rows(neo4j, """
        MATCH (p:Pipeline {name: $name})
        RETURN p.retired AS pipeline,
               COUNT { MATCH (e:PipelineExecution)-[:OF]->(p) WHERE e.retired } AS executions,
               COUNT { MATCH (r:StepRun)-[:IN]->(:PipelineExecution)-[:OF]->(p) WHERE r.retired } AS step_runs,
               COUNT { MATCH (r:StepRun)-[:IN]->(:PipelineExecution)-[:OF]->(p) } AS all_step_runs,
               COUNT { MATCH (p)-[:HAS_STEP]->(s:Step) WHERE s.retired } AS steps""", name=pipeline)[0]


@pytest.fixture
def two_pipelines(sim):
    for name in ("churn-training", "daily-scoring"):
        seed_pipeline(sim, name, definition(name))
        seed_execution(sim, name, start=START)
        seed_execution(sim, name, start=START + timedelta(days=1), status="Failed")


def delete(sim, name: str) -> None:
    sim.client("sagemaker").delete_pipeline(PipelineName=name, ClientRequestToken=f"delete-{name}-00000000000000001")


def test_a_deleted_pipeline_retires_after_the_grace_period_with_its_runs(settings_env, sim, neo4j, monkeypatch,
                                                                       two_pipelines):
    app = make_app(monkeypatch, LINEAGE_RETIRE_AFTER_SECONDS="3600")
    run_sync(app)
    assert inventory(app) >= {"churn-training", "daily-scoring"}
    delete(sim, "daily-scoring")
    report = run_sync(app)
    assert report.retired_pipelines == 0  # listed an hour ago at most: within the grace period
    assert retired_counts(neo4j, "daily-scoring")["pipeline"] is False
    age_listing(neo4j, "daily-scoring", 2)
    assert run_sync(app).retired_pipelines == 1
    counts = retired_counts(neo4j, "daily-scoring")
    assert counts["pipeline"] is True and counts["executions"] == 2 and counts["steps"] > 0
    assert counts["step_runs"] == counts["all_step_runs"] > 0
    kept = retired_counts(neo4j, "churn-training")
    assert (kept["pipeline"], kept["executions"], kept["step_runs"], kept["steps"]) == (False, 0, 0, 0)
    assert "daily-scoring" not in inventory(app) and "churn-training" in inventory(app)
    # the history stays: its runs and what they read and wrote
    history = rows(neo4j, "MATCH (d:Dataset)-[:FEEDS]->(:Job)<-[:RAN_AS]-(:StepRun)-[:IN]->(:PipelineExecution)"
                          "-[:OF]->(:Pipeline {name: 'daily-scoring'}) RETURN count(DISTINCT d) AS n")
    assert history[0]["n"] > 0
    # re-created under the same name: current again
    seed_pipeline(sim, "daily-scoring", definition("daily-scoring"))
    run_sync(app)
    assert retired_counts(neo4j, "daily-scoring")["pipeline"] is False and "daily-scoring" in inventory(app)


def test_a_partial_or_failed_look_retires_nothing(settings_env, sim, neo4j, monkeypatch, two_pipelines):
    app = make_app(monkeypatch)
    run_sync(app)
    delete(sim, "daily-scoring")
    inject_fault("sagemaker", "ListPipelines", "ThrottlingException", "Rate exceeded", times=10)
    report = run_sync(app)
    assert report.errors and report.retired_pipelines == 0
    assert run_sync(app, pipelines=["churn-training"]).retired_pipelines == 0  # a filtered sync
    assert retired_counts(neo4j, "daily-scoring")["pipeline"] is False
    # a pipeline still listed whose own sync fails stays current
    inject_fault("sagemaker", "DescribePipeline", "AccessDeniedException", "not authorized",
                 match=lambda p: p.get("PipelineName") == "churn-training")
    sim.client("sagemaker").update_pipeline(PipelineName="churn-training",
                                            PipelineDefinition=json.dumps(definition("churn-training")))
    report = run_sync(app)
    assert report.pipelines_failed == 1 and report.retired_pipelines == 1
    assert retired_counts(neo4j, "churn-training")["pipeline"] is False
    assert retired_counts(neo4j, "daily-scoring")["pipeline"] is True


def put(sim, key: str, body: bytes = b"id,name\n1,a\n") -> ObjectRef:
    sim.client("s3").put_object(Bucket=LAKE, Key=key, Body=body)
    return ObjectRef(LAKE, key)


def dataset(neo4j, uri: str) -> dict:
    return rows(neo4j, "MATCH (d:Dataset {uri: $uri}) RETURN d.retired AS retired, "
                       "d.objects_missing_since IS NOT NULL AS missing", uri=uri)[0]


def test_a_dataset_whose_objects_are_gone_retires_and_comes_back(settings_env, sim, neo4j, monkeypatch):
    sim.client("s3").create_bucket(Bucket=LAKE)
    app = make_app(monkeypatch, LINEAGE_RETIRE_AFTER_SECONDS="3600")
    put(sim, "crm/customers/part-0.csv")
    put(sim, "crm/orders/part-0.csv")
    service = s3_service(app)
    service.scan(LAKE, "crm/")
    neo4j.execute_query("MERGE (d:Dataset {uri: 's3://acme-retire/crm/planned/'}) SET d.bucket = 'acme-retire'")
    sim.client("s3").delete_object(Bucket=LAKE, Key="crm/customers/part-0.csv")
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert service.rescan(later, limit=100).retired == 0  # missing, within the grace period
    customers, orders = "s3://acme-retire/crm/customers/", "s3://acme-retire/crm/orders/"
    assert dataset(neo4j, customers) == {"retired": None, "missing": True}
    assert dataset(neo4j, orders) == {"retired": None, "missing": False}
    neo4j.execute_query("MATCH (d:Dataset {uri: $uri}) SET d.objects_missing_since = d.objects_missing_since "
                        "- duration({hours: 2})", {"uri": customers})
    assert service.rescan(datetime.now(timezone.utc) + timedelta(seconds=1), limit=100).retired == 1
    assert dataset(neo4j, customers) == {"retired": True, "missing": True}
    assert dataset(neo4j, "s3://acme-retire/crm/planned/") == {"retired": None, "missing": False}  # never held data
    # data again: the next read makes it current
    put(sim, "crm/customers/part-1.csv")
    service.rescan(datetime.now(timezone.utc) + timedelta(seconds=1), limit=100)
    assert dataset(neo4j, customers) == {"retired": False, "missing": False}


def test_deletion_is_opt_in_and_takes_only_what_retired_long_enough(settings_env, sim, neo4j, monkeypatch,
                                                                  two_pipelines):
    app = make_app(monkeypatch)
    run_sync(app)
    delete(sim, "daily-scoring")
    report = run_sync(app)
    assert report.retired_pipelines == 1 and "retirement" not in report.sources  # kept: deletion is off
    before = rows(neo4j, "MATCH (n) RETURN count(n) AS n")[0]["n"]
    app = make_app(monkeypatch, LINEAGE_RETIRED_DELETE_AFTER_SECONDS="86400")
    assert run_sync(app).sources["retirement"] == {"deleted": {}}  # retired today: not yet
    assert rows(neo4j, "MATCH (n) RETURN count(n) AS n")[0]["n"] == before
    neo4j.execute_query("MATCH (n) WHERE n.retired = true SET n.retired_at = n.retired_at - duration({days: 2})")
    deleted = run_sync(app).sources["retirement"]["deleted"]
    assert deleted["Pipeline"] == 1 and deleted["PipelineExecution"] == 2 and deleted["StepRun"] > 0
    assert rows(neo4j, "MATCH (p:Pipeline {name: 'daily-scoring'}) RETURN count(p) AS n") == [{"n": 0}]
    assert rows(neo4j, "MATCH (n) WHERE n.retired = true RETURN count(n) AS n") == [{"n": 0}]
    assert retired_counts(neo4j, "churn-training")["all_step_runs"] > 0
