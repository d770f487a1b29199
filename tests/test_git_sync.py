"""Git repositories of SQL -> lineage in a real Neo4j: a real git repo built here with several
commits (add, modify, rename, delete, force-push), push events, credentials, Glue and step links."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import git
import pytest

from collector.events.model import GitPushEvent
from config import load_settings
from config.git import GitRepoConfig
from graphstore.model import Graph
from graphstore.sql_state import SqlState
from jobs.app import App
from jobs.sources.git_sql import GitSqlSync, SyncOptions, git_push_handler, git_scheduled_jobs, git_sql_sync
from tests.graph_dump import dump

STG = "CREATE TABLE stg.orders AS SELECT id, amount, customer_id FROM raw.orders WHERE amount > 0;"
STG_V2 = "CREATE TABLE stg.orders AS SELECT id, amount * 100 AS amount, customer_id FROM raw.orders_v2;"
CUSTOMERS = """
USE mart;
CREATE TEMPORARY VIEW recent AS SELECT id, customer_id, amount FROM stg.orders;
INSERT OVERWRITE TABLE customer_totals
SELECT c.id, c.name, SUM(r.amount) AS total FROM raw.customers c JOIN recent r ON r.customer_id = c.id
GROUP BY c.id, c.name;
"""


class Remote:
    """A bare 'remote' and a working clone that pushes to it."""

    def __init__(self, root: Path) -> None:
        self.bare_path = root / "remote.git"
        git.Repo.init(self.bare_path, bare=True, initial_branch="main")
        self.work = git.Repo.init(root / "work", initial_branch="main")
        with self.work.config_writer() as cfg:
            cfg.set_value("user", "name", "Ada Analyst")
            cfg.set_value("user", "email", "ada@example.com")
        self.work.create_remote("origin", str(self.bare_path))
        self.url = self.bare_path.as_uri()

    def commit(self, message: str, files: dict[str, str | None] | None = None,
               renames: dict[str, str] | None = None, force: bool = False) -> str:
        root = Path(self.work.working_tree_dir)
        for old, new in (renames or {}).items():
            (root / new).parent.mkdir(parents=True, exist_ok=True)
            self.work.git.mv(old, new)
        for path, text in (files or {}).items():
            if text is None:
                self.work.git.rm(path)
            else:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text)
                self.work.git.add(path)
        self.work.git.commit("-m", message)
        self.work.git.push(*(["--force"] if force else []), "origin", "main")
        return self.work.head.commit.hexsha


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path)


def make_app(monkeypatch, tmp_path: Path, repos: list[dict], **env: str) -> App:
    monkeypatch.setenv("LINEAGE_GIT_REPOS", json.dumps(repos))
    monkeypatch.setenv("LINEAGE_GIT_CACHE_DIR", str(tmp_path / "cache"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = App(load_settings())
    app.writer.ensure_schema()
    return app


@pytest.fixture
def apps():
    made: list[App] = []
    yield made
    for app in made:
        app.close()


def rows(driver, query: str, **params) -> list[dict]:
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


def feeds(driver) -> set[tuple[str, str]]:
    return {(r["a"], r["b"]) for r in rows(driver, "MATCH (a:Table)-[:FEEDS]->(b:Table) RETURN a.name AS a, b.name AS b")}


def column_feeds(driver) -> set[tuple[str, str]]:
    return {(r["a"], r["b"]) for r in rows(
        driver, "MATCH (a:Column)-[:FEEDS]->(b:Column) RETURN a.key AS a, b.key AS b")}


def test_commits_add_modify_rename_delete_and_force_push(remote, settings_env, neo4j, monkeypatch, tmp_path, apps):
    c1 = remote.commit("Add staging and customer models\n\nlong body", {
        "models/stg_orders.sql": STG, "models/customers.sql": CUSTOMERS, "README.md": "# models",
        "scratch/ignored.sql": "CREATE TABLE junk AS SELECT * FROM raw.orders",
    })
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "paths": ["models/**/*.sql"], "dialect": "spark",
                                            "name": "analytics"}])
    apps.append(app)
    syncer = git_sql_sync(app, app.settings)
    first = syncer.sync_repo(app.settings.git_repos[0], trigger="test")
    assert first.error is None and first.files_parsed == 2 and first.head == c1
    assert feeds(neo4j) == {("raw.orders", "stg.orders"), ("raw.customers", "mart.customer_totals"),
                            ("stg.orders", "mart.customer_totals")}
    assert ("raw.orders.amount", "stg.orders.amount") in column_feeds(neo4j)
    # The temporary view is collapsed: stg.orders.amount feeds the total directly.
    assert ("stg.orders.amount", "mart.customer_totals.total") in column_feeds(neo4j)
    edge = rows(neo4j, "MATCH (:Table {name: 'raw.orders'})-[r:FEEDS]->(:Table {name: 'stg.orders'}) "
                       "RETURN r.file AS file, r.commit AS commit, r.dialect AS dialect, r.statements AS st")[0]
    assert edge == {"file": f"{remote.url}:models/stg_orders.sql", "commit": c1, "dialect": "spark", "st": [0]}
    commit = rows(neo4j, "MATCH (c:Commit {sha: $sha})-[:IN]->(r:Repo) RETURN c.author AS author, "
                         "c.message AS message, r.head AS head, r.name AS repo", sha=c1)[0]
    assert commit == {"author": "Ada Analyst", "message": "Add staging and customer models", "head": c1,
                      "repo": "analytics"}
    assert rows(neo4j, "MATCH (f:SqlFile)-[:DEFINES]->(t:Table) RETURN f.path AS p, t.name AS t ORDER BY p") == [
        {"p": "models/customers.sql", "t": "mart.customer_totals"}, {"p": "models/stg_orders.sql", "t": "stg.orders"}]

    # Modify: the changed file is parsed (and customers.sql, which reads stg.orders, again); the edges
    # the old version defined are retired.
    c2 = remote.commit("Read orders v2", {"models/stg_orders.sql": STG_V2})
    second = syncer.sync_repo(app.settings.git_repos[0])
    assert (second.files_parsed, second.files_unchanged, second.commits) == (2, 1, 1)
    assert ("raw.orders", "stg.orders") not in feeds(neo4j) and ("raw.orders_v2", "stg.orders") in feeds(neo4j)
    assert ("raw.orders.amount", "stg.orders.amount") not in column_feeds(neo4j)
    assert rows(neo4j, "MATCH (f:SqlFile {path: 'models/stg_orders.sql'}) RETURN f.commit AS c")[0]["c"] == c2

    # Rename: the old file is retired with its edges, the new path defines the same lineage.
    c3 = remote.commit("Move customers", renames={"models/customers.sql": "models/marts/customers.sql"})
    syncer.sync_repo(app.settings.git_repos[0])
    files = {r["p"]: r["retired"] for r in rows(neo4j, "MATCH (f:SqlFile) RETURN f.path AS p, f.retired AS retired")}
    assert files == {"models/stg_orders.sql": False, "models/customers.sql": True, "models/marts/customers.sql": False}
    owners = {r["file"] for r in rows(neo4j, "MATCH ()-[r:FEEDS]->(:Table {name: 'mart.customer_totals'}) "
                                             "RETURN r.file AS file")}
    assert owners == {f"{remote.url}:models/marts/customers.sql"}
    change = rows(neo4j, "MATCH (:Commit {sha: $sha})-[c:CHANGED]->(f:SqlFile) RETURN c.change AS change, "
                         "c.old_path AS old, f.path AS path", sha=c3)
    assert change == [{"change": "R", "old": "models/customers.sql", "path": "models/marts/customers.sql"}]

    # Delete: current lineage shows only what the head defines; the history stays.
    remote.commit("Drop staging model", {"models/stg_orders.sql": None})
    syncer.sync_repo(app.settings.git_repos[0])
    assert feeds(neo4j) == {("raw.customers", "mart.customer_totals"), ("stg.orders", "mart.customer_totals")}
    assert rows(neo4j, "MATCH (c:Commit) RETURN count(c) AS n")[0]["n"] == 4

    # Force-push back to c2 plus a new commit: lineage is reset to the new head.
    remote.work.git.reset("--hard", c2)
    c5 = remote.commit("Rewrite history", {"models/stg_orders.sql": STG}, force=True)
    forced = syncer.sync_repo(app.settings.git_repos[0])
    assert forced.forced and forced.head == c5 and forced.error is None
    assert feeds(neo4j) == {("raw.orders", "stg.orders"), ("raw.customers", "mart.customer_totals"),
                            ("stg.orders", "mart.customer_totals")}
    files = {r["p"]: r["retired"] for r in rows(neo4j, "MATCH (f:SqlFile) RETURN f.path AS p, f.retired AS retired")}
    assert files == {"models/stg_orders.sql": False, "models/customers.sql": False,
                     "models/marts/customers.sql": True}

    # Nothing changed: nothing is parsed and the graph stays as it is.
    before = dump(neo4j)
    again = syncer.sync_repo(app.settings.git_repos[0])
    assert again.files_parsed == 0 and again.files_removed == 0 and dump(neo4j) == before


def test_push_events_match_configured_repos_by_url_or_name(remote, settings_env, neo4j, monkeypatch, tmp_path, apps):
    c1 = remote.commit("Add", {"models/stg_orders.sql": STG})
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "dialect": "spark", "name": "analytics"}])
    apps.append(app)
    handler = git_push_handler(app, app.settings)
    assert handler is not None

    def push(**overrides) -> GitPushEvent:
        values = dict(provider="github", repo_url=remote.url + "/", ref="refs/heads/main", branch="main",
                      before=None, after=c1, forced=False, time=datetime.now(timezone.utc))
        values.update(overrides)
        return GitPushEvent(**values)

    handler(push(repo_url="https://example.com/other/repo.git"))  # not ours: ignored
    handler(push(branch="feature", ref="refs/heads/feature"))  # not the configured branch
    assert feeds(neo4j) == set()
    handler(push())
    assert feeds(neo4j) == {("raw.orders", "stg.orders")}
    c2 = remote.commit("v2", {"models/stg_orders.sql": STG_V2})
    handler(push(repo_url="https://git-codecommit.us-east-1.amazonaws.com/v1/repos/analytics",
                 repository_name="analytics", provider="codecommit", before=c1, after=c2))
    assert feeds(neo4j) == {("raw.orders_v2", "stg.orders")}
    # A replayed (older) event changes nothing: the branch head is what counts.
    handler(push(before=None, after=c1))
    assert feeds(neo4j) == {("raw.orders_v2", "stg.orders")}


def test_an_unreachable_repo_is_logged_redacted_and_the_others_continue(remote, settings_env, neo4j, monkeypatch,
                                                                         tmp_path, apps, caplog):
    remote.commit("Add", {"models/stg_orders.sql": STG})
    token = "ghp_s3cr3tT0ken"
    app = make_app(monkeypatch, tmp_path, [
        {"url": "https://127.0.0.1:9/acme/unreachable.git", "credentials_env": "GIT_TOKEN", "name": "gone"},
        {"url": "https://127.0.0.1:9/acme/nocreds.git", "credentials_env": "MISSING_TOKEN_VAR", "name": "nocreds"},
        {"url": remote.url, "dialect": "spark", "name": "analytics"},
    ], GIT_TOKEN=token)
    apps.append(app)
    monkeypatch.delenv("MISSING_TOKEN_VAR", raising=False)
    caplog.set_level(logging.INFO)
    reports = git_sql_sync(app, app.settings).run()
    assert [r.error is None for r in reports] == [False, False, True]
    assert "git fetch failed" in reports[0].error and "MISSING_TOKEN_VAR is not set" in reports[1].error
    assert feeds(neo4j) == {("raw.orders", "stg.orders")}
    assert token not in caplog.text and all(token not in (r.error or "") for r in reports)
    assert "unreachable.git" in caplog.text


def test_push_handler_raises_when_the_repo_cannot_be_synced(settings_env, neo4j, monkeypatch, tmp_path, apps):
    app = make_app(monkeypatch, tmp_path, [{"url": (tmp_path / "missing.git").as_uri(), "name": "missing"}])
    apps.append(app)
    handler = git_push_handler(app, app.settings)
    event = GitPushEvent("gitlab", (tmp_path / "missing.git").as_uri(), "refs/heads/main", "main", None,
                         "a" * 40, False, None)
    with pytest.raises(RuntimeError, match=r"git sync of .*missing.git failed"):
        handler(event)


def test_credentials_from_a_secrets_manager_secret(settings_env, sim, neo4j):
    arn = sim.client("secretsmanager").create_secret(
        Name="git/analytics", SecretString=json.dumps({"username": "bot", "token": "t0k/en"}))["ARN"]
    plain = sim.client("secretsmanager").create_secret(Name="git/plain", SecretString="glpat-xyz")["ARN"]
    app = App(load_settings())
    try:
        syncer = GitSqlSync([], app.writer, SqlState(app.driver), SyncOptions("/tmp/unused"), aws=app.aws)
        config = GitRepoConfig(url="https://github.com/acme/analytics.git", secret_arn=arn)
        assert syncer.credentials(config) == ("bot", "t0k/en")
        gitlab = GitRepoConfig(url="https://gitlab.com/acme/sql.git", secret_arn=plain)
        assert syncer.credentials(gitlab) == ("oauth2", "glpat-xyz")
        missing = GitRepoConfig(url="https://github.com/acme/x.git",
                                secret_arn=arn.replace("git/analytics", "git/none"))
        with pytest.raises(Exception, match="could not be read"):
            syncer.credentials(missing)
    finally:
        app.close()


def test_tables_link_to_s3_through_glue_settings_and_ddl_and_steps_run_sql(
        remote, settings_env, sim, neo4j, monkeypatch, tmp_path, apps):
    glue = sim.client("glue")
    glue.create_database(DatabaseInput={"Name": "stg"})
    glue.create_table(DatabaseName="stg", TableInput={
        "Name": "orders", "StorageDescriptor": {"Location": "s3://acme-lake/stg/orders/"}})
    remote.commit("Add models", {
        "models/stg_orders.sql": STG,
        "models/features.sql": "CREATE TABLE ml.features AS SELECT id, amount FROM stg.orders;",
        "models/external.sql": "CREATE EXTERNAL TABLE raw.events (id INT) STORED AS PARQUET "
                               "LOCATION 's3://acme-lake/raw/events/dt=2024-01-01/';",
    })
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "dialect": "hive", "name": "analytics"}],
                   LINEAGE_GLUE_LOOKUP="true",
                   LINEAGE_SQL_TABLE_LOCATIONS=json.dumps({"ML.Features": "s3://acme-ml/features/"}))
    apps.append(app)
    pipeline_arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn"
    definition = {"Version": "2020-12-01", "Steps": [
        {"Name": "BuildFeatures", "Type": "Processing", "Arguments": {
            "AppSpecification": {"ContainerEntrypoint": ["python3", "run_sql.py"],
                                 "ContainerArguments": ["--sql", "/opt/ml/processing/input/code/models/features.sql"]}}},
        {"Name": "Train", "Type": "Training", "Arguments": {}},
        {"Name": "Audit", "Type": "Processing", "Arguments": {}},
    ]}
    seed = Graph()
    pipe = seed.node("Pipeline", pipeline_arn, {"name": "churn", "definition": json.dumps(definition),
                                                "tags": json.dumps({"lineage:sql": "Audit=analytics:models/stg_orders.sql"})})
    for step in ("BuildFeatures", "Train", "Audit"):
        seed.rel("HAS_STEP", pipe, seed.node("Step", f"{pipeline_arn}/{step}", {"name": step}))
    seed.rel("FEEDS", seed.node("Dataset", "s3://acme-ml/features/"), ("Step", f"{pipeline_arn}/Train"),
             {"name": "train"}, merge_on=("name",))
    app.writer.write(seed, source="sync")

    reports = git_sql_sync(app, app.settings).run()
    assert reports[0].error is None and reports[0].locations == 2
    stored = {(r["t"], r["d"], r["via"]) for r in rows(
        neo4j, "MATCH (t:Table)-[r:STORED_AT]->(d:Dataset) RETURN t.name AS t, d.uri AS d, r.via AS via")}
    assert stored == {("stg.orders", "s3://acme-lake/stg/orders/", "glue"),
                      ("ml.features", "s3://acme-ml/features/", "settings"),
                      ("raw.events", "s3://acme-lake/raw/events/", "sql")}
    runs = {(r["step"], r["path"], r["via"]) for r in rows(
        neo4j, "MATCH (s:Step)-[r:RUNS]->(f:SqlFile) RETURN s.name AS step, f.path AS path, r.via AS via")}
    assert runs == {("BuildFeatures", "models/features.sql", "argument"), ("Audit", "models/stg_orders.sql", "tag")}
    # From a raw table through SQL models to the S3 data a training step reads.
    path = rows(neo4j, "MATCH p = (:Table {name: 'raw.orders'})-[:FEEDS*]->(:Table)-[:STORED_AT]->(:Dataset)"
                       "-[:FEEDS]->(s:Step) RETURN s.name AS step, [n IN nodes(p) | coalesce(n.name, n.uri)] AS via")
    assert path == [{"step": "Train", "via": ["raw.orders", "stg.orders", "ml.features", "s3://acme-ml/features/",
                                              "Train"]}]


def test_a_table_whose_glue_location_changed_moves_its_stored_at(remote, settings_env, sim, neo4j, monkeypatch,
                                                                 tmp_path, apps):
    glue = sim.client("glue")
    glue.create_database(DatabaseInput={"Name": "stg"})
    glue.create_table(DatabaseName="stg", TableInput={
        "Name": "orders", "StorageDescriptor": {"Location": "s3://acme-lake/stg/orders/"}})
    remote.commit("Add", {"models/features.sql": "CREATE TABLE ml.features AS SELECT id FROM stg.orders;"})
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "dialect": "hive", "name": "analytics"}],
                   LINEAGE_GLUE_LOOKUP="true")
    apps.append(app)
    stored_at = "MATCH (t:Table {name: 'stg.orders'})-[r:STORED_AT]->(d:Dataset) RETURN d.uri AS d, r.via AS via"
    git_sql_sync(app, app.settings).run()
    assert rows(neo4j, stored_at) == [{"d": "s3://acme-lake/stg/orders/", "via": "glue"}]
    glue.update_table(DatabaseName="stg", TableInput={
        "Name": "orders", "StorageDescriptor": {"Location": "s3://acme-lake-v2/orders/"}})
    remote.commit("Read more", {"models/features.sql": "CREATE TABLE ml.features AS SELECT id, amount FROM stg.orders;"})
    report = git_sql_sync(app, app.settings).run()[0]
    assert report.error is None and report.edges_retired >= 1
    assert rows(neo4j, stored_at) == [{"d": "s3://acme-lake-v2/orders/", "via": "glue"}]


def test_scheduled_job_is_offered_only_with_repos(settings_env, neo4j, monkeypatch, tmp_path, remote, apps):
    app = make_app(monkeypatch, tmp_path, [])
    apps.append(app)
    assert git_scheduled_jobs(app, app.settings) == [] and git_push_handler(app, app.settings) is None
    remote.commit("Add", {"models/stg_orders.sql": STG})
    app2 = make_app(monkeypatch, tmp_path, [{"url": remote.url}], LINEAGE_GIT_SYNC_INTERVAL_SECONDS="60")
    apps.append(app2)
    [job] = git_scheduled_jobs(app2, app2.settings)
    assert job.id == "git-sql-sync"
    job.run(__import__("threading").Event())
    assert feeds(neo4j) == {("raw.orders", "stg.orders")}


def test_a_push_event_through_the_sqs_consumer_updates_lineage(remote, settings_env, sim, neo4j, monkeypatch,
                                                              tmp_path, apps):
    """A GitHub push webhook on an SQS queue -> consumer -> push handler -> git fetch -> lineage."""
    from jobs.wiring import event_consumer
    from tests.event_samples import github_push

    c1 = remote.commit("Add", {"models/stg_orders.sql": STG})
    sqs = sim.client("sqs")
    dlq = sqs.create_queue(QueueName="git-pushes-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName="git-pushes", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})["QueueUrl"]
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "dialect": "spark", "name": "ml-sql"}],
                   LINEAGE_QUEUE_URLS=queue_url, LINEAGE_QUEUE_WAIT_SECONDS="0")
    apps.append(app)
    git_sql_sync(app, app.settings).sync_repo(app.settings.git_repos[0])
    assert feeds(neo4j) == {("raw.orders", "stg.orders")}

    c2 = remote.commit("Read orders v2", {"models/stg_orders.sql": STG_V2})
    # GitHub names the repository by its https URL; the configured repo is matched by its name.
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(github_push(repo="acme/ml-sql", before=c1, after=c2)))
    stats = event_consumer(app, until_empty=True).run(__import__("threading").Event())
    assert stats.total("deleted") == 1 and stats.total("failed") == 0
    assert feeds(neo4j) == {("raw.orders_v2", "stg.orders")}
    assert rows(neo4j, "MATCH (r:Repo) RETURN r.head AS head") == [{"head": c2}]
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_select_star_follows_column_changes_upstream(remote, settings_env, neo4j, monkeypatch, tmp_path, apps):
    remote.commit("Add", {"models/stg.sql": "CREATE TABLE stg AS SELECT id, v FROM raw",
                          "models/mart.sql": "CREATE TABLE mart AS SELECT * FROM stg"})
    app = make_app(monkeypatch, tmp_path, [{"url": remote.url, "dialect": "duckdb"}])
    apps.append(app)
    syncer = git_sql_sync(app, app.settings)
    syncer.sync_repo(app.settings.git_repos[0])
    assert {("stg.id", "mart.id"), ("stg.v", "mart.v")} <= column_feeds(neo4j)
    # Only the upstream model changes: the file reading it with * is parsed again.
    remote.commit("Rename v to w", {"models/stg.sql": "CREATE TABLE stg AS SELECT id, w FROM raw"})
    report = syncer.sync_repo(app.settings.git_repos[0])
    assert report.files_parsed == 2 and report.files_unchanged == 1
    assert column_feeds(neo4j) == {("raw.id", "stg.id"), ("raw.w", "stg.w"), ("stg.id", "mart.id"),
                                   ("stg.w", "mart.w")}
    # Only the downstream model changes: the upstream columns come from the graph.
    remote.commit("Add a constant", {"models/mart.sql": "CREATE TABLE mart AS SELECT *, 1 AS one FROM stg"})
    report = syncer.sync_repo(app.settings.git_repos[0])
    assert report.files_parsed == 1
    assert {("stg.id", "mart.id"), ("stg.w", "mart.w")} <= column_feeds(neo4j)
    assert rows(neo4j, "MATCH (t:Table {name: 'mart'}) RETURN t.columns AS c") == [{"c": ["id", "w", "one"]}]


class GitHttpServer:
    """git's smart HTTP protocol (git http-backend) behind Basic authentication, on 127.0.0.1."""

    def __init__(self, root: Path, user: str, token: str) -> None:
        import base64
        import subprocess
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.requests: list[str] = []

        def app(environ, start_response):
            self.requests.append(environ.get("HTTP_AUTHORIZATION", ""))
            if environ.get("HTTP_AUTHORIZATION") != expected:
                start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
                return [b"unauthorized"]
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            cgi = {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH": "/usr/bin:/bin",
                   "PATH_INFO": environ.get("PATH_INFO", ""), "QUERY_STRING": environ.get("QUERY_STRING", ""),
                   "REQUEST_METHOD": environ["REQUEST_METHOD"], "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
                   "CONTENT_LENGTH": str(len(body)), "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
                   "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1"}
            out = subprocess.run(["git", "http-backend"], input=body, env=cgi, capture_output=True,
                                 timeout=30).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            headers = [tuple(line.split(": ", 1)) for line in head.decode().split("\r\n") if ": " in line]
            status = next((v for k, v in headers if k.lower() == "status"), "200 OK")
            start_response(status, [(k, v) for k, v in headers if k.lower() != "status"])
            return [payload]

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_credentials_reach_git_as_a_header_and_bad_ones_fail_clearly(remote, settings_env, neo4j, monkeypatch,
                                                                    tmp_path, apps):
    remote.commit("Add", {"models/stg_orders.sql": STG})
    server = GitHttpServer(remote.bare_path.parent, "bot", "right-t0ken")
    try:
        url = f"{server.url}/remote.git"
        app = make_app(monkeypatch, tmp_path, [
            {"url": url, "name": "good", "dialect": "spark", "credentials_env": "GOOD_TOKEN", "username": "bot"},
            {"url": url, "name": "bad", "branch": "main", "credentials_env": "BAD_TOKEN", "username": "bot",
             "paths": ["nothing/*.sql"]},
        ], GOOD_TOKEN="right-t0ken", BAD_TOKEN="wrong-t0ken")
        apps.append(app)
        good, bad = git_sql_sync(app, app.settings).run()
        assert good.error is None and feeds(neo4j) == {("raw.orders", "stg.orders")}
        assert bad.error and "git fetch failed" in bad.error and "wrong-t0ken" not in bad.error
        assert all("t0ken" not in str(v) for r in rows(neo4j, "MATCH (n) RETURN properties(n) AS p") for v in r["p"].values())
        assert any(h.startswith("Basic ") for h in server.requests)
    finally:
        server.close()
