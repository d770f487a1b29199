"""End to end: the moto server's simulated account -> sync -> a real Neo4j."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from config import load_settings
from jobs.app import App
from jobs.wiring import run_sync
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_demo_account, seed_execution, seed_pipeline
from tests.graph_dump import counts, dump

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
JOB_DESCRIBES = {"sagemaker.DescribeProcessingJob", "sagemaker.DescribeTrainingJob",
                 "sagemaker.DescribeTransformJob", "sagemaker.DescribeHyperParameterTuningJob",
                 "sagemaker.DescribeAutoMLJobV2"}


def definition(name: str) -> dict:
    return json.loads((PIPELINES / f"{name}.json").read_text())


@pytest.fixture
def app(settings_env, neo4j):
    application = App(load_settings())
    application.writer.ensure_schema()
    yield application
    application.close()


def rows(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def test_demo_account_syncs_into_a_lineage_graph(app, sim, neo4j):
    seeded = seed_demo_account(sim, now=NOW)
    report = run_sync(app)
    assert report.errors == []
    assert report.pipelines == len(seeded["pipelines"]) == 7
    c = counts(neo4j)
    assert c["Pipeline"] == 7 and c["Domain"] == 1
    assert c["PipelineExecution"] == sum(len(v) for v in seeded["executions"].values())
    stored_jobs = {r["arn"] for r in rows(neo4j, "MATCH (j:Job) WHERE j.status IS NOT NULL RETURN j.arn AS arn")}
    assert {arn.lower() for arn in seeded["jobs"]} <= stored_jobs  # plus the check steps' processing jobs
    assert c["ModelPackage"] >= 3 and c["StepRun"] > 50
    # The domain link comes from the DomainName tag.
    assert rows(neo4j, "MATCH (p:Pipeline)-[:IN_DOMAIN]->(d:Domain) RETURN count(p) AS n")[0]["n"] == 6
    # Run-level lineage is concrete and crosses from raw data to the registered model.
    chain = rows(neo4j, """
        MATCH (raw:Dataset {uri: 's3://acme-ml-data/churn/raw/'})-[:FEEDS]->(:ProcessingJob)
              -[:PRODUCES]->(train:Dataset)-[:FEEDS]->(t:TrainingJob)-[:PRODUCES]->(model:Dataset)
              -[:FEEDS]->(mp:ModelPackage)
        RETURN DISTINCT train.uri AS train, model.uri AS model, mp.approval_status AS approval""")
    assert chain and all("{" not in r["train"] and r["model"].endswith("model.tar.gz") for r in chain)
    # Every step run of a job step points at its job, with times and status.
    missing = rows(neo4j, """
        MATCH (r:StepRun)-[:RUN_OF]->(s:Step) WHERE s.job_kind IS NOT NULL AND r.status = 'Succeeded'
          AND NOT coalesce(r.cache_hit, false) AND NOT (r)-[:RAN_AS]->(:Job)
        RETURN r.key AS key""")
    assert missing == []
    failed = rows(neo4j, "MATCH (e:PipelineExecution {status: 'Failed'}) RETURN e.failure_reason AS reason")
    assert failed and all(r["reason"] for r in failed)
    assert rows(neo4j, "MATCH (e:PipelineExecution {status: 'Executing'}) RETURN e.end_time AS end") == [{"end": None}]


def test_second_sync_fetches_nothing_terminal_and_leaves_the_graph_identical(app, sim, neo4j):
    seed_demo_account(sim, now=NOW)
    first = run_sync(app)
    before = dump(neo4j)
    sim.reset_counts()
    second = run_sync(app)
    calls = sim.counts()
    assert second.errors == [] and second.executions_skipped > 0
    executing = 1  # the demo account has one execution still running; only it is fetched again
    assert second.executions_fetched == executing
    assert calls["sagemaker.ListPipelineExecutionSteps"] == executing
    assert calls["sagemaker.DescribePipeline"] == 0  # unchanged LastModifiedTime: definition from the graph
    assert sum(calls[op] for op in JOB_DESCRIBES) <= 2  # at most the running execution's unfinished jobs
    assert first.aws_calls_total if hasattr(first, "aws_calls_total") else True
    assert sum(second.aws_calls.values()) < sum(first.aws_calls.values()) / 3
    after = dump(neo4j)
    gone, new = set(before[0]) - set(after[0]), set(after[0]) - set(before[0])
    detail = [dict(n[2]) for n in sorted(gone)[:1]] + [dict(n[2]) for n in sorted(new)[:1]]
    if len(detail) == 2:
        detail = {k: (detail[0].get(k), detail[1].get(k)) for k in detail[0].keys() | detail[1].keys()
                  if detail[0].get(k) != detail[1].get(k)}
    assert after == before, detail


def test_only_terminal_executions_in_the_graph_are_skipped(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    seed_execution(sim, "churn-training", start=NOW - timedelta(days=1))
    run_sync(app)
    sim.reset_counts()
    newer = seed_execution(sim, "churn-training", start=NOW)
    report = run_sync(app)
    assert (report.executions_fetched, report.executions_skipped) == (1, 1)
    assert sim.counts()["sagemaker.ListPipelineExecutionSteps"] == 1
    assert rows(neo4j, "MATCH (e:PipelineExecution {arn: $a}) RETURN e.status AS s", a=newer) == [{"s": "Succeeded"}]


def test_parameter_overrides_resolve_run_level_data(app, sim, neo4j):
    seed_pipeline(sim, "feature-pipeline", definition("feature-pipeline"))
    arn = seed_execution(sim, "feature-pipeline", start=NOW)
    run_sync(app)
    # The Lambda step runs no job: its data comes from the definition resolved for this execution.
    lambda_in = rows(neo4j, """
        MATCH (d:Dataset)-[:FEEDS]->(r:StepRun {key: $k}) RETURN d.uri AS uri""",
                     k=f"{arn}/SyncFeatureStore")
    assert lambda_in == [{"uri": "s3://acme-ml-data/features/sessions/"}]


def test_definitions_only(app, sim, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    seed_execution(sim, "churn-training", start=NOW)
    report = run_sync(app, executions=0)
    assert report.executions_fetched == 0
    assert "PipelineExecution" not in counts(neo4j)
    assert counts(neo4j)["Step"] == 7


def test_bad_inputs_are_logged_and_skipped(app, sim, neo4j, caplog):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    seed_pipeline(sim, "secret-pipeline", definition("daily-scoring"))
    seed_pipeline(sim, "broken-definition", {"Version": "2020-12-01", "Steps": "not a list"})
    inject_fault("sagemaker", "DescribePipeline", "AccessDeniedException", "not authorized",
                 match=lambda p: p.get("PipelineName") == "secret-pipeline")
    inject_fault("sagemaker", "ListTags", "ThrottlingException", "Rate exceeded", times=2)
    report = run_sync(app)
    assert report.pipelines == 2 and report.pipelines_failed == 1
    assert any("secret-pipeline" in e and "AccessDenied" in e for e in report.errors)
    assert "definition skipped" in caplog.text and "broken-definition" in caplog.text
    names = {r["name"] for r in rows(neo4j, "MATCH (p:Pipeline) RETURN p.name AS name")}
    assert names == {"churn-training", "broken-definition"}


def test_changed_definition_retires_missing_steps_and_deleted_pipelines(app, sim, neo4j):
    original = definition("churn-training")
    seed_pipeline(sim, "churn-training", original)
    seed_pipeline(sim, "daily-scoring", definition("daily-scoring"))
    run_sync(app)
    changed = json.loads(json.dumps(original))
    changed["Steps"] = [s for s in changed["Steps"] if s["Name"] != "CheckChurnAuc"]
    client = sim.client("sagemaker")
    client.update_pipeline(PipelineName="churn-training", PipelineDefinition=json.dumps(changed))
    client.delete_pipeline(PipelineName="daily-scoring", ClientRequestToken="delete-daily-scoring-0000000000000001")
    run_sync(app)
    retired = {r["name"] for r in rows(neo4j, "MATCH (:Pipeline {name: 'churn-training'})-[:HAS_STEP]->"
                                              "(s:Step {retired: true}) RETURN s.name AS name")}
    assert retired == {"CheckChurnAuc", "RegisterChurnModel-RegisterModel", "CreateChurnModel-CreateModel",
                       "ChurnAucTooLow"}
    assert rows(neo4j, "MATCH (:Step {name: 'CheckChurnAuc'})-[r:PRECEDES]-() RETURN count(r) AS n") == [{"n": 0}]
    assert rows(neo4j, "MATCH (p:Pipeline {name: 'daily-scoring'}) RETURN p.retired AS r") == [{"r": True}]
    assert rows(neo4j, "MATCH (:Pipeline {name: 'daily-scoring'})-[:HAS_STEP]->(s:Step) "
                       "RETURN count(s) = sum(CASE WHEN s.retired THEN 1 ELSE 0 END) AS all_retired") == [
        {"all_retired": True}]  # its steps go with it


def test_a_removed_domain_tag_removes_the_domain_link(app, sim, neo4j):
    seeded = seed_demo_account(sim, now=NOW)
    run_sync(app)
    arn = next(r["arn"] for r in rows(neo4j, "MATCH (p:Pipeline)-[:IN_DOMAIN]->(:Domain) RETURN p.arn AS arn "
                                             "ORDER BY arn LIMIT 1"))
    assert seeded["pipelines"]
    sim.client("sagemaker").delete_tags(ResourceArn=arn, TagKeys=["DomainName"])
    run_sync(app)
    assert rows(neo4j, "MATCH (p:Pipeline {arn: $arn}) RETURN p.domain_name AS name, "
                       "COUNT { (p)-[:IN_DOMAIN]->() } AS links", arn=arn) == [{"name": None, "links": 0}]
    assert rows(neo4j, "MATCH (p:Pipeline)-[:IN_DOMAIN]->(d:Domain) RETURN count(p) AS n")[0]["n"] == 5
