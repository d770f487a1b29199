"""One realistic graph for the query library's tests and docs, built by the real collectors.

The simulated demo account (seven SDK pipelines; churn-training gets one more step, a Lambda that
deploys an endpoint), a sync, S3 schemas through the S3 source (then a new raw object that drops a
column: drift after training), events (a failed churn run; the endpoint the deploy step created),
and a SQL repository in Git whose tables are stored at the S3 data churn-training reads, so that
`raw.customers` -> `stg.customers` -> `ml.churn_features` (= s3://acme-ml-data/churn/raw/) -> ... ->
the churn model packages and the endpoint is one lineage path.

Bucket posture: acme-ml-data and acme-ml-artifacts are encrypted with public access blocked;
acme-lake (where `raw.customers` lives) is not encrypted, so the churn models are exposed and
the other pipelines' models are not.

    build_query_graph(sim, app_env, workdir)   # from a test fixture (sim: lineage_dev.sim.SimAws)
    python -m tests.query_graph                 # into NEO4J_URI, with a simulator of its own (docs examples)
"""
from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import git

ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod"
LAKE = "acme-lake"
RAW_CHURN = "s3://acme-ml-data/churn/raw/"
LAKE_CUSTOMERS = f"s3://{LAKE}/raw/customers/"

STG_CUSTOMERS = """CREATE TABLE stg.customers AS
SELECT customer_id, tenure_months, contract, churned FROM raw.customers WHERE customer_id IS NOT NULL;
"""
CHURN_FEATURES_V1 = """CREATE TABLE ml.churn_features AS
SELECT c.customer_id, c.tenure_months, c.contract, c.churned
FROM stg.customers c;
"""
CHURN_FEATURES = """CREATE TABLE ml.churn_features AS
SELECT c.customer_id, c.tenure_months, b.monthly_charges, c.contract, c.churned
FROM stg.customers c JOIN raw.billing b ON b.customer_id = c.customer_id;
"""
TABLE_LOCATIONS = {"ml.churn_features": RAW_CHURN, "raw.customers": LAKE_CUSTOMERS}

DEPLOY_STEP = {
    "Name": "DeployChurnEndpoint", "Type": "Lambda", "DependsOn": ["CreateChurnModel-CreateModel"],
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:deploy-churn-endpoint",
    "Arguments": {"endpoint_name": "churn-prod"},
    "OutputParameters": [{"OutputName": "endpoint_name", "OutputType": "String"}],
}


@dataclass
class QueryGraph:
    """What the tests need to know about the graph they query."""
    now: datetime
    seeded: dict[str, Any]
    repo_url: str
    commits: list[str]
    failed_execution: str
    endpoint_execution: str
    env: dict[str, str] = field(default_factory=dict)


def _pipelines_dir(root: Path) -> Path:
    """The demo pipelines, churn-training with a deploy step after its CreateModel step."""
    from lineage_dev.demo import PIPELINES_DIR

    target = root / "pipelines"
    target.mkdir(parents=True, exist_ok=True)
    for source in PIPELINES_DIR.glob("*.json"):
        shutil.copy(source, target / source.name)
    churn = json.loads((target / "churn-training.json").read_text())
    condition = next(s for s in churn["Steps"] if s["Name"] == "CheckChurnAuc")
    condition["Arguments"]["IfSteps"].append(DEPLOY_STEP)
    (target / "churn-training.json").write_text(json.dumps(churn))
    return target


def _sql_repo(root: Path) -> tuple[str, list[str]]:
    """A bare remote with two commits of SQL models (the second adds billing to the features)."""
    bare = root / "sql-remote.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.init(root / "sql-work", initial_branch="main")
    with work.config_writer() as cfg:
        cfg.set_value("user", "name", "Ada Analyst")
        cfg.set_value("user", "email", "ada@example.com")
    work.create_remote("origin", str(bare))
    commits = []
    for message, files in (("Add staging and churn features", {"models/stg_customers.sql": STG_CUSTOMERS,
                                                               "models/churn_features.sql": CHURN_FEATURES_V1}),
                           ("Churn features: add monthly charges from billing",
                            {"models/churn_features.sql": CHURN_FEATURES})):
        for path, text in files.items():
            (root / "sql-work" / path).parent.mkdir(parents=True, exist_ok=True)
            (root / "sql-work" / path).write_text(text)
            work.git.add(path)
        work.git.commit("-m", message)
        work.git.push("origin", "main")
        commits.append(work.head.commit.hexsha)
    return bare.as_uri(), commits


def git_env(repo_url: str, cache: Path) -> dict[str, str]:
    return {"LINEAGE_GIT_REPOS": json.dumps([{"url": repo_url, "paths": ["models/**/*.sql"], "dialect": "spark",
                                              "name": "analytics"}]),
            "LINEAGE_GIT_CACHE_DIR": str(cache), "LINEAGE_SQL_TABLE_LOCATIONS": json.dumps(TABLE_LOCATIONS)}


def _parquet(columns: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def _posture(sim: Any) -> None:
    s3 = sim.client("s3")
    for bucket in ("acme-ml-data", "acme-ml-artifacts"):
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/ml"}}]})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True))
    s3.create_bucket(Bucket=LAKE)  # no encryption configured: exposed
    s3.put_object(Bucket=LAKE, Key="raw/customers/2024/06/01/part-0.csv",
                  Body=b"customer_id,tenure_months,contract,churned\n1,12,monthly,false\n2,30,yearly,true\n")


def _messages(events: list[dict[str, Any]], prefix: str) -> list[Any]:
    from jobs.ingest import Message

    return [Message("query-tests", f"{prefix}-{i}", json.dumps(e)) for i, e in enumerate(events)]


def build_query_graph(sim: Any, app: Any, workdir: Path, now: datetime, repo_url: str,
                      commits: list[str]) -> QueryGraph:
    """Fill the (empty) Neo4j of `app` from the simulator. `app.settings` must carry git_env(repo_url)."""
    from collector.s3.objects import list_objects
    from jobs.sources.git_sql import git_sql_sync
    from jobs.sources.s3 import refresh_posture, s3_service
    from jobs.wiring import event_ingest, run_sync
    from lineage_dev.sim.account import seed_demo_account, seed_execution
    from tests import event_samples as ev

    app.writer.ensure_schema()
    seeded = seed_demo_account(sim, now=now, pipelines_dir=_pipelines_dir(workdir))
    _posture(sim)
    report = run_sync(app)  # SageMaker, then S3 posture and reports, then SQL from Git
    if report.errors:
        raise RuntimeError(f"sync failed: {report.errors}")
    git_reports = git_sql_sync(app, app.settings).run()
    if any(r.error for r in git_reports):
        raise RuntimeError(f"git sync failed: {[r.error for r in git_reports]}")
    service = s3_service(app)
    service.rescan(now + timedelta(days=365), 10_000)  # schemas of every dataset the steps touch
    refresh_posture(app, None, force=True)  # acme-lake was first named by the SQL sync

    # A new raw churn object without monthly_charges: a second schema version, drift after training.
    s3 = sim.client("s3")
    s3.put_object(Bucket="acme-ml-data", Key="churn/raw/part-00001.snappy.parquet", Body=_parquet({
        "customer_id": [101, 102], "tenure_months": [3, 40], "contract": ["monthly", "yearly"],
        "churned": [False, True]}))
    service.observe_objects(list_objects(s3, "acme-ml-data", "churn/raw/part-00001.snappy.parquet"))

    ingest = event_ingest(app)
    # A churn run that fails at training, told only by its events.
    failed = seed_execution(sim, "churn-training", status="Failed", start=now - timedelta(hours=2),
                            failed_step="TrainChurnModel")
    ingest.handle(_messages(ev.execution_events(sim, failed), "failed"))
    # The endpoint the deploy step of the latest successful churn run created (the step's Metadata).
    churn = seeded["executions"]["churn-training"]
    latest = churn[-1]
    sm = sim.client("sagemaker")
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=latest)["PipelineExecutionSteps"]
    deploy = next(s for s in steps if s["StepName"] == DEPLOY_STEP["Name"])
    row = {**deploy, "Metadata": {**deploy.get("Metadata", {}), "Endpoint": {"Arn": ENDPOINT_ARN}}}
    pipeline_arn = seeded["pipelines"]["churn-training"]
    end = ev.utc(deploy["EndTime"]) + timedelta(seconds=5)
    ingest.handle(_messages([ev.step_event(pipeline_arn, latest, row, "Succeeded", "Executing", end)], "deploy"))
    return QueryGraph(now=now, seeded=seeded, repo_url=repo_url, commits=commits, failed_execution=failed,
                      endpoint_execution=latest)


def main() -> None:  # pragma: no cover - a developer's tool
    """Build the graph into NEO4J_URI (emptied first!) with a simulator of its own."""
    import tempfile

    from config import load_settings
    from jobs.app import App
    from lineage_dev.sim import start_sim

    for name, value in {"AWS_ACCESS_KEY_ID": "query-graph", "AWS_SECRET_ACCESS_KEY": "query-graph",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    workdir = Path(tempfile.mkdtemp(prefix="query-graph-"))
    repo_url, commits = _sql_repo(workdir)
    with start_sim() as sim:
        os.environ.update({"AWS_ENDPOINT_URL": sim.endpoint_url, "LINEAGE_REGIONS": "us-east-1",
                           **git_env(repo_url, workdir / "git-cache")})
        app = App(load_settings())
        try:
            with app.driver.session() as session:
                session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            build_query_graph(sim, app, workdir, now, repo_url, commits)
        finally:
            app.close()
    print(f"query graph built in {os.environ.get('NEO4J_URI', 'bolt://localhost:7687')}")


if __name__ == "__main__":  # pragma: no cover
    main()


def module_graph(neo4j_server: Any, driver: Any, sim_server: Any, workdir: Path) -> Any:
    """A test module's fixture body: an empty Neo4j and simulator, the graph built, then (app, env, graph).
    A generator: `yield from module_graph(...)` in a module-scoped fixture."""
    import pytest

    from config import load_settings
    from graphstore.writer import GraphWriter
    from jobs.app import App

    sim_server.reset()
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    GraphWriter(driver).ensure_schema()
    repo_url, commits = _sql_repo(workdir)
    uri, auth = neo4j_server
    env = {"NEO4J_URI": uri, "AWS_ENDPOINT_URL": sim_server.endpoint_url, "LINEAGE_REGIONS": "us-east-1",
           "LINEAGE_LOG_FORMAT": "text", **git_env(repo_url, workdir / "git-cache")}
    if auth:
        env.update(NEO4J_USERNAME=auth[0], NEO4J_PASSWORD=auth[1])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        if not auth:
            patch.delenv("NEO4J_USERNAME", raising=False)
            patch.delenv("NEO4J_PASSWORD", raising=False)
        patch.chdir(Path(__file__).parent)  # no stray .env from the work tree
        app = App(load_settings())
        try:
            now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            graph = build_query_graph(sim_server, app, workdir, now, repo_url, commits)
            graph.env = env
            yield app, graph
        finally:
            app.close()
