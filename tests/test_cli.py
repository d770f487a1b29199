"""The command line, run as a real process against the test Neo4j and the moto server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from lineage_dev.sim.account import seed_demo_account

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], env=full_env, capture_output=True,
                          text=True, timeout=timeout, cwd=os.path.dirname(__file__))


@pytest.fixture(scope="module")
def synced_env(neo4j_server, driver, sim_server):
    """One demo account synced through the CLI, shared by the read-only tests of this module."""
    from graphstore.writer import GraphWriter

    sim_server.reset()
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    GraphWriter(driver).ensure_schema()
    seed_demo_account(sim_server, now=NOW)
    uri, auth = neo4j_server
    env = {"NEO4J_URI": uri, "AWS_ENDPOINT_URL": sim_server.endpoint_url, "LINEAGE_REGIONS": "us-east-1"}
    if auth:
        env.update(NEO4J_USERNAME=auth[0], NEO4J_PASSWORD=auth[1])
    result = cli(env, "sync", "--json")
    assert result.returncode == 0, result.stderr
    return env, json.loads(result.stdout)


@pytest.fixture
def settings_env(synced_env):
    return synced_env[0]


@pytest.fixture
def synced(synced_env):
    return synced_env[1]


def test_sync_prints_a_summary_with_calls_by_operation(synced):
    assert synced["pipelines"] == 7 and synced["errors"] == []
    assert synced["aws_calls"]["sagemaker.ListPipelines"] == 1
    assert synced["nodes_written"] > 300 and synced["relationships_written"] > 500


def test_lineage_json_has_every_step_edge_and_data(settings_env, synced):
    result = cli(settings_env, "lineage", "--pipeline", "churn-training")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"pipeline", "summary", "graph", "graphPipeline", "latestExecution"}
    assert out["pipeline"]["name"] == "churn-training" and out["pipeline"]["arn"].endswith(":pipeline/churn-training")
    nodes = {n["id"]: n for n in out["graph"]["nodes"]}
    assert set(nodes) == {"PreprocessChurnData", "TrainChurnModel", "EvaluateChurnModel", "CheckChurnAuc",
                          "RegisterChurnModel-RegisterModel", "CreateChurnModel-CreateModel", "ChurnAucTooLow"}
    edges = {(e["from"], e["to"], e["via"]) for e in out["graph"]["edges"]}
    assert ("CheckChurnAuc", "ChurnAucTooLow", "condition") in edges
    assert ("PreprocessChurnData", "TrainChurnModel", "ref:Get") in edges
    pre = nodes["PreprocessChurnData"]
    assert {"name": "raw", "uri": "s3://acme-ml-data/churn/raw/"} in pre["inputs"]
    assert {"name": "train", "uri": "s3://acme-ml-artifacts/churn/{Execution.PipelineExecutionId}/train"} \
        in pre["outputs"]
    run = nodes["TrainChurnModel"]["run"]
    assert run["status"] == "Succeeded" and run["jobArn"].startswith("arn:aws:sagemaker:")
    assert run["metrics"] and run["elapsedSec"] > 0
    assert all("{" not in d["uri"] for d in run["inputs"] + run["outputs"])
    assert out["summary"]["overallStatus"] == "Succeeded"
    assert sum(out["summary"]["nodeStatus"].values()) == 7
    artifacts = {a["uri"] for a in out["graph"]["artifacts"]}
    assert "s3://acme-ml-data/churn/raw/" in artifacts
    kinds = {e["kind"] for e in out["graphPipeline"]["edges"]}
    assert kinds == {"read", "write", "dependsOn"}

    only_steps = json.loads(cli(settings_env, "lineage", "--pipeline", "churn-training", "--view", "pipeline",
                                "--no-include-latest-exec").stdout)
    assert {n["kind"] for n in only_steps["graphPipeline"]["nodes"]} == {"process"}
    assert "run" not in only_steps["graph"]["nodes"][0] and "summary" not in only_steps
    data_view = json.loads(cli(settings_env, "lineage", "--pipeline", "churn-training", "--view", "data").stdout)
    assert {e["kind"] for e in data_view["graphPipeline"]["edges"]} == {"read", "write"}


def test_lineage_is_stable_json(settings_env, synced):
    first = cli(settings_env, "lineage", "--pipeline", "fraud-tuning-batch").stdout
    second = cli(settings_env, "lineage", "--pipeline", "fraud-tuning-batch").stdout
    assert first == second


def test_unknown_pipeline_exits_2(settings_env, synced):
    result = cli(settings_env, "lineage", "--pipeline", "no-such-pipeline")
    assert result.returncode == 2 and "pipeline not found" in result.stderr
    domain = cli(settings_env, "lineage", "--pipeline", "churn-training", "--domain", "other-domain")
    assert domain.returncode == 2


def test_inventory_groups_by_region_and_domain(settings_env, synced):
    out = json.loads(cli(settings_env, "inventory").stdout)
    domains = out["regions"]["us-east-1"]["domains"]
    assert len(domains["ml-platform"]["pipelines"]) == 6
    assert len(domains["(no domain)"]["pipelines"]) == 1


@pytest.mark.parametrize("env, name", [
    ({"LINEAGE_EXECUTIONS_PER_PIPELINE": "many"}, "LINEAGE_EXECUTIONS_PER_PIPELINE"),
    ({"NEO4J_URI": "http://localhost:7474"}, "NEO4J_URI"),
    ({"LINEAGE_SYNC_CRON": "every day"}, "LINEAGE_SYNC_CRON"),
    ({"NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": ""}, None),
])
def test_misconfiguration_fails_at_start_with_one_line(env, name):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "LINEAGE_"))}
    result = subprocess.run([sys.executable, "-m", "jobs.cli", "sync"], env={**base, **env}, capture_output=True,
                            text=True, timeout=60, cwd=os.path.dirname(__file__))
    if name is None:
        return  # an empty password is allowed (a server may use one); only the shape matters
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr


def test_unreachable_neo4j_is_one_clear_line():
    result = cli({"NEO4J_URI": "bolt://127.0.0.1:1"}, "init-schema")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("lineage-collector: cannot reach Neo4j at bolt://127.0.0.1:1")
