"""OpenLineage out, end to end: a graph built by the real collectors (the simulated account synced, S3
schemas read, a git repository of SQL synced) exported through the official client's file and HTTP
transports, every event validated against the OpenLineage JSON Schemas (local copies, no network);
then the consumer's live emission through an outage of the receiving end.

The module's graph is built once and read by every test but the live-emission ones, which come last
and start from an empty database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from collector.openlineage.events import Naming, execution_events, run_id, s3_dataset_name
from config import load_settings
from graphstore.openlineage_outbox import OpenLineageOutbox
from graphstore.openlineage_reads import OpenLineageReads
from jobs.app import App
from jobs.openlineage.export import client, export, file_transport, naming, parse_since
from jobs.sources.s3 import s3_service, utcnow
from jobs.wiring import event_consumer, run_sync
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim.account import seed_demo_account, seed_execution, seed_pipeline
from tests import event_samples as ev
from tests.test_git_sync import CUSTOMERS, STG, Remote

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]
API_KEY = "ol-test-key"


def _spec_dir() -> Path | None:
    """The OpenLineage JSON Schemas: shared/openlineage-spec beside (an ancestor of) this checkout."""
    if os.environ.get("OPENLINEAGE_SPEC_DIR"):
        return Path(os.environ["OPENLINEAGE_SPEC_DIR"])
    for parent in ROOT.parents:
        if (parent / "shared" / "openlineage-spec" / "OpenLineage.json").is_file():
            return parent / "shared" / "openlineage-spec"
    return None


SPEC = _spec_dir()


def rows(driver, query: str, **params) -> list[dict]:
    records, _, _ = driver.execute_query(query, params)
    return [r.data() for r in records]


# --- schema validation ------------------------------------------------------------------------------


class Spec:
    """OpenLineage.json and facets/*.json in one registry, so their $refs resolve locally."""

    def __init__(self, folder: Path) -> None:
        resources = [Resource.from_contents(json.loads(p.read_text()))
                     for p in [folder / "OpenLineage.json", *sorted((folder / "facets").glob("*.json"))]]
        self.ids = {r.contents["$id"] for r in resources}
        self.registry = Registry().with_resources((r.contents["$id"], r) for r in resources)
        self.core = next(i for i in self.ids if i.endswith("/OpenLineage.json"))
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, ref: str) -> Draft202012Validator:
        if ref not in self._validators:
            self._validators[ref] = Draft202012Validator({"$ref": ref}, registry=self.registry,
                                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self._validators[ref]

    def check(self, event: dict) -> tuple[Counter, set[str]]:
        """Validate an event and each facet it carries; (facets validated by name, facets with no local schema)."""
        kind = "RunEvent" if "run" in event else "JobEvent"
        assert event["schemaURL"].endswith(f"#/$defs/{kind}")
        errors = sorted(self.validator(f"{self.core}#/$defs/{kind}").iter_errors(event), key=str)
        assert not errors, f"{kind} invalid: {errors[0].message} at {list(errors[0].absolute_path)}"
        checked: Counter = Counter()
        unknown: set[str] = set()
        for name, facet in _facets(event):
            url = facet["_schemaURL"]
            if url.split("#")[0] not in self.ids:
                unknown.add(name)
                continue
            errors = list(self.validator(url).iter_errors(facet))
            assert not errors, f"facet {name} invalid: {errors[0].message} at {list(errors[0].absolute_path)}"
            checked[name] += 1
        return checked, unknown


def _facets(event: dict) -> Iterator[tuple[str, dict]]:
    for holder in [event.get("run") or {}, event["job"], *event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from (holder.get(key) or {}).items()


@pytest.fixture(scope="module")
def spec() -> Spec:
    if SPEC is None:
        pytest.skip("the OpenLineage JSON Schemas (shared/openlineage-spec) are not beside this checkout")
    return Spec(SPEC)


# --- the graph ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(neo4j_server, driver, sim_server, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The demo account synced, dataset schemas read, and a git repository of SQL synced, once."""
    from graphstore.writer import GraphWriter

    sim_server.reset()
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    GraphWriter(driver).ensure_schema()
    seed_demo_account(sim_server, now=NOW)
    root = tmp_path_factory.mktemp("sql")
    remote = Remote(root)
    remote.commit("Add staging and customer models", {"models/stg_orders.sql": STG, "models/customers.sql": CUSTOMERS})
    uri, auth = neo4j_server
    values = {"NEO4J_URI": uri, "AWS_ENDPOINT_URL": sim_server.endpoint_url, "LINEAGE_REGIONS": "us-east-1",
              "LINEAGE_LOG_FORMAT": "text", "LINEAGE_GIT_CACHE_DIR": str(root / "cache"),
              "LINEAGE_GIT_REPOS": json.dumps([{"url": remote.url, "paths": ["models/**/*.sql"], "dialect": "spark",
                                                 "name": "analytics"}])}
    if auth:
        values.update(NEO4J_USERNAME=auth[0], NEO4J_PASSWORD=auth[1])
    with pytest.MonkeyPatch.context() as mp:
        for name in ("NEO4J_USERNAME", "NEO4J_PASSWORD", "LINEAGE_OPENLINEAGE_URL", "LINEAGE_OPENLINEAGE_API_KEY"):
            mp.delenv(name, raising=False)
        for name, value in values.items():
            mp.setenv(name, value)
        mp.chdir(Path(__file__).parent)
        app = App(load_settings())
        try:
            report = run_sync(app)
            assert report.pipelines == 7 and not report.errors
            s3_service(app).rescan(utcnow() + timedelta(seconds=1), 1000)
        finally:
            app.close()
        assert rows(driver, "MATCH (:Dataset)-[:HAS_SCHEMA {current: true}]->(v) RETURN count(v) AS n")[0]["n"] > 3
        assert rows(driver, "MATCH (:Column)-[r:FEEDS]->(:Column) RETURN count(r) AS n")[0]["n"] > 3
        yield {**values, "GIT_URL": remote.url}


@pytest.fixture(scope="module")
def app(env) -> Iterator[App]:
    application = App(load_settings())  # the module's environment (env) stays set while it is used
    yield application
    application.close()


def export_to(app: App, path: Path, **options: Any) -> tuple[list[dict], Any]:
    path.write_text("")
    emitter = client(file_transport(str(path)))
    report = export(OpenLineageReads(app.driver), naming(app.settings), emitter, **options)
    emitter.close()
    return [json.loads(line) for line in path.read_text().splitlines()], report


@pytest.fixture(scope="module")
def exported(app, tmp_path_factory) -> tuple[list[dict], Any, Path]:
    path = tmp_path_factory.mktemp("export") / "events.ndjson"
    events, report = export_to(app, path)
    return events, report, path


# --- the export ---------------------------------------------------------------------------------------


def test_every_event_and_facet_is_valid_against_the_openlineage_schemas(exported, spec):
    events, report, _ = exported
    assert len(events) == sum(report.events.values()) > 100
    checked: Counter = Counter()
    unknown: set[str] = set()
    for event in events:
        names, others = spec.check(event)
        checked.update(names)
        unknown |= others
    # Every facet we make has its schema here; the client adds its own `tags` run facet.
    assert {"parent", "jobType", "schema", "sql", "columnLineage", "errorMessage"} <= set(checked)
    assert unknown <= {"tags"}


def test_runs_start_before_they_end_and_step_runs_point_at_their_execution(exported, app):
    events = exported[0]
    runs = [e for e in events if "run" in e]
    by_run: dict[str, list[tuple[int, dict]]] = {}
    for i, e in enumerate(runs):
        by_run.setdefault(e["run"]["runId"], []).append((i, e))
    parents = {e["run"]["runId"]: e["job"] for e in runs if "parent" not in (e["run"].get("facets") or {})}
    for run, seen in by_run.items():
        kinds = [e["eventType"] for _, e in seen]
        assert kinds[0] == "START" and kinds.count("START") == 1, (run, kinds)
        assert len(kinds) <= 2 and set(kinds[1:]) <= {"COMPLETE", "FAIL", "ABORT"}
        if len(seen) == 2:
            assert seen[0][1]["eventTime"] <= seen[1][1]["eventTime"]
        for _, e in seen:
            parent = (e["run"].get("facets") or {}).get("parent")
            if parent:
                assert parent["run"]["runId"] in parents  # an existing execution run ...
                assert parents[parent["run"]["runId"]] | {"facets": None} == parent["job"] | {"facets": None}
                assert e["job"]["name"].startswith(parent["job"]["name"] + ".")  # ... of its own pipeline
                assert parent["root"]["run"]["runId"] == parent["run"]["runId"]
                assert e["job"]["namespace"] == parent["job"]["namespace"]
                start = next(i for i, x in by_run[parent["run"]["runId"]] if x["eventType"] == "START")
                assert start < seen[0][0]  # the execution started first

    graph = rows(app.driver, "MATCH (e:PipelineExecution)-[:OF]->(p:Pipeline) RETURN e.arn AS arn, e.status AS status, "
                             "p.name AS pipeline, p.arn AS parn")
    assert len(parents) == len(graph) > 20
    expected_end = {"Succeeded": ["COMPLETE"], "Failed": ["FAIL"], "Executing": [], "Stopped": ["ABORT"]}
    for g in graph:
        seen = by_run[run_id(g["arn"])]
        assert [e["eventType"] for _, e in seen][1:] == expected_end[g["status"]], g
        job = seen[0][1]["job"]
        account, region = g["parn"].split(":")[4], g["parn"].split(":")[3]
        assert job == {"namespace": f"arn:aws:sagemaker:{region}:{account}", "name": g["pipeline"],
                       "facets": job["facets"]}
        assert job["facets"]["jobType"] | {"_producer": None, "_schemaURL": None} == {
            "processingType": "BATCH", "integration": "SAGEMAKER", "jobType": "PIPELINE",
            "_producer": None, "_schemaURL": None}
    failed = [e for e in runs if e["eventType"] == "FAIL" and "parent" in e["run"]["facets"]]
    assert failed and all(e["run"]["facets"]["errorMessage"]["message"] for e in failed)


def test_step_runs_carry_their_real_times_job_types_and_s3_data(exported, app):
    events = exported[0]
    graph = rows(app.driver, """
        MATCH (r:StepRun)-[:IN]->(e:PipelineExecution)-[:OF]->(p:Pipeline {name: 'churn-training'})
        OPTIONAL MATCH (r)-[:RUN_OF]->(s:Step)
        RETURN r.key AS key, r.name AS name, r.start_time AS start, r.end_time AS end, r.status AS status,
               s.type AS type, e.arn AS execution""")
    assert graph
    by_run = {(e["run"]["runId"], e["eventType"]): e for e in events if "run" in e}
    types = set()
    for g in graph:
        start = by_run[(run_id(g["key"]), "START")]
        assert start["job"]["name"] == f"churn-training.{g['name']}"
        assert datetime.fromisoformat(start["eventTime"]) == g["start"].to_native()
        assert start["run"]["facets"]["parent"]["run"]["runId"] == run_id(g["execution"])
        types.add(start["job"]["facets"]["jobType"]["jobType"])
        if g["status"] == "Succeeded":
            end = by_run[(run_id(g["key"]), "COMPLETE")]
            assert datetime.fromisoformat(end["eventTime"]) == g["end"].to_native()
    assert {"PROCESSING", "TRAINING", "CONDITION", "REGISTER_MODEL"} <= types

    # Concrete S3 data by the naming spec: namespace s3://bucket, name the key or prefix, no slashes around it.
    datasets = [d for e in events if "run" in e for d in e.get("inputs", []) + e.get("outputs", [])]
    assert datasets and all(d["namespace"].startswith("s3://") for d in datasets)
    assert all("/" not in d["namespace"][5:] and (d["name"] == "/" or not d["name"].startswith("/"))
               and not (d["name"] != "/" and d["name"].endswith("/")) and "{" not in d["name"] for d in datasets)
    pre = rows(app.driver, """
        MATCH (r:StepRun {name: 'PreprocessChurnData'})-[:RAN_AS]->(j:Job), (d:Dataset)-[:FEEDS]->(j)
        RETURN r.key AS key, collect(d.uri) AS inputs LIMIT 1""")[0]
    start = by_run[(run_id(pre["key"]), "START")]
    assert {(d["namespace"], d["name"]) for d in start["inputs"]} == {s3_dataset_name(u) for u in pre["inputs"]}
    assert ("s3://acme-ml-data", "churn/raw") in {(d["namespace"], d["name"]) for d in start["inputs"]}


def test_schema_facets_are_the_datasets_current_schema_versions(exported, app):
    events = exported[0]
    current = {s3_dataset_name(r["uri"]): json.loads(r["columns"]) for r in rows(app.driver, """
        MATCH (d:Dataset)-[:HAS_SCHEMA {current: true}]->(v:SchemaVersion) RETURN d.uri AS uri, v.columns AS columns""")}
    seen = 0
    for e in events:
        for d in e.get("inputs", []) + e.get("outputs", []):
            facet = (d.get("facets") or {}).get("schema")
            if not d["namespace"].startswith("s3://"):
                continue
            key = (d["namespace"], d["name"])
            if not current.get(key):  # no schema read, or one without columns (e.g. a JSON document)
                assert facet is None
                continue
            seen += 1
            assert [(f["name"], f["type"], f["ordinal_position"]) for f in facet["fields"]] == [
                (c["name"], c["type"], i) for i, c in enumerate(current[key], 1)]
    assert seen > 10


def test_sql_files_are_jobs_with_their_sql_tables_and_column_lineage(exported, env):
    jobs = {e["job"]["name"]: e for e in exported[0] if "run" not in e}
    assert set(jobs) == {"models/stg_orders.sql", "models/customers.sql"}
    stg = jobs["models/stg_orders.sql"]
    assert stg["job"]["namespace"] == env["GIT_URL"]
    assert stg["job"]["facets"]["sql"]["dialect"] == "spark"
    assert "raw.orders -> stg.orders" in stg["job"]["facets"]["sql"]["query"]
    assert stg["job"]["facets"]["jobType"]["integration"] == "SQL"
    assert [(d["namespace"], d["name"]) for d in stg["inputs"]] == [("spark", "raw.orders")]
    (out,) = stg["outputs"]
    assert (out["namespace"], out["name"]) == ("spark", "stg.orders")
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["id", "amount", "customer_id"]
    lineage = out["facets"]["columnLineage"]["fields"]
    assert lineage["amount"]["inputFields"] == [{"namespace": "spark", "name": "raw.orders", "field": "amount"}]
    customers = jobs["models/customers.sql"]
    assert {d["name"] for d in customers["inputs"]} == {"raw.customers", "stg.orders"}
    (totals,) = customers["outputs"]
    assert totals["name"] == "mart.customer_totals"
    total = {(f["name"], f["field"]) for f in totals["facets"]["columnLineage"]["fields"]["total"]["inputFields"]}
    assert ("stg.orders", "amount") in total  # through the collapsed temporary view


def test_a_re_export_is_identical_and_run_ids_are_stable(exported, app, tmp_path):
    events, _, path = exported
    again, _ = export_to(app, tmp_path / "again.ndjson")
    assert again == events
    assert (tmp_path / "again.ndjson").read_text() == path.read_text()


def test_since_and_pipeline_narrow_the_export(exported, app, tmp_path):
    cutoff = NOW - timedelta(days=1)  # the demo's third runs and later
    events, _ = export_to(app, tmp_path / "since.ndjson", since=cutoff)
    changed = {r["arn"] for r in rows(app.driver, """
        MATCH (e:PipelineExecution) WHERE e.state_time >= $t OR EXISTS {
            MATCH (r:StepRun)-[:IN]->(e) WHERE r.state_time >= $t }
        RETURN e.arn AS arn""", t=cutoff)}
    parents = {e["run"]["runId"] for e in events if "run" in e and "parent" not in e["run"]["facets"]}
    assert parents == {run_id(a) for a in changed} and 0 < len(changed) < len({
        e["run"]["runId"] for e in exported[0] if "run" in e and "parent" not in e["run"]["facets"]})
    # The SQL was committed just now, after the cutoff: both files are in.
    assert {e["job"]["name"] for e in events if "run" not in e} == {"models/stg_orders.sql", "models/customers.sql"}
    # Small pages give the same keys: the keyset paging over (time, key) neither skips nor repeats.
    small, large = OpenLineageReads(app.driver), OpenLineageReads(app.driver)
    small.page_size = 2
    assert list(small.execution_keys(since=cutoff)) == list(large.execution_keys(since=cutoff))
    assert sorted(small.execution_keys(since=cutoff)) == sorted(changed)
    assert list(small.execution_keys()) == sorted(r["arn"] for r in rows(
        app.driver, "MATCH (e:PipelineExecution) RETURN e.arn AS arn"))
    assert sorted(small.sql_file_keys(since=cutoff)) == list(large.sql_file_keys()) != []
    churn, _ = export_to(app, tmp_path / "churn.ndjson", pipeline="churn-training")
    assert churn and {e["job"]["name"].split(".")[0] for e in churn} == {"churn-training"}


# --- the command line, the file and the HTTP transports -------------------------------------------------


class Capture:
    """An OpenLineage endpoint on 127.0.0.1: records what it is sent; `status` other than 200 refuses."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.paths: list[str] = []
        self.status = 200
        self.refused = 0
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if capture.status != 200:
                    capture.refused += 1
                    self.send_response(capture.status)
                    self.end_headers()
                    return
                capture.received.append(json.loads(body))
                capture.headers.append(dict(self.headers))
                capture.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture()
    yield server
    server.close()


def cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "LINEAGE_", "OPENLINEAGE"))}
    full.update({k: v for k, v in env.items() if k != "GIT_URL"})
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], env=full, capture_output=True, text=True,
                          timeout=timeout, cwd=Path(__file__).parent)


def test_cli_exports_to_a_file_and_to_http_with_the_api_key(env, exported, capture, tmp_path):
    events = exported[0]
    out = tmp_path / "cli.ndjson"
    out.write_text("stale\n")
    result = cli(env, "openlineage", "export", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"exported {len(events)} OpenLineage events" in result.stdout
    assert [json.loads(line) for line in out.read_text().splitlines()] == events

    result = cli({**env, "LINEAGE_OPENLINEAGE_API_KEY": API_KEY}, "openlineage", "export", "--url", capture.url,
                 "--pipeline", "churn-training", "--json")
    assert result.returncode == 0, result.stderr
    churn = [e for e in events if e["job"]["name"].split(".")[0] == "churn-training"]
    assert json.loads(result.stdout)["events"] == len(capture.received) == len(churn)
    assert capture.received == churn  # the same events, in the same order
    assert set(capture.paths) == {"/api/v1/lineage"}
    assert {h.get("Authorization") for h in capture.headers} == {f"Bearer {API_KEY}"}
    assert {h.get("Content-Type") for h in capture.headers} == {"application/json"}


def test_cli_failures_are_one_line(env, tmp_path):
    bad = cli({**env, "LINEAGE_OPENLINEAGE_URL": "ftp://lineage.example"}, "openlineage", "export", "-o",
              str(tmp_path / "x"))
    assert bad.returncode == 2 and "LINEAGE_OPENLINEAGE_URL" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    url = cli(env, "openlineage", "export", "--url", "file:///tmp/x")
    assert url.returncode == 2 and len(url.stderr.strip().splitlines()) == 1 and "--url" in url.stderr
    refused = cli(env, "openlineage", "export", "--url", "http://127.0.0.1:1", "--pipeline", "churn-training",
                  timeout=120)
    assert refused.returncode == 1 and "OpenLineage export failed sending to http://127.0.0.1:1" in refused.stderr
    assert "Traceback" not in refused.stderr
    since = cli(env, "openlineage", "export", "-o", str(tmp_path / "y"), "--since", "yesterday")
    assert since.returncode == 2 and "--since" in since.stderr


def test_since_takes_iso_times_and_durations():
    now = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
    assert parse_since("2024-06-01", now) == datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert parse_since("2024-06-01T10:00:00+02:00", now) == datetime(2024, 6, 1, 8, tzinfo=timezone.utc)
    assert parse_since("2024-06-01T10:00:00Z", now) == datetime(2024, 6, 1, 10, tzinfo=timezone.utc)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("7d", now) == now - timedelta(days=7)
    with pytest.raises(ValueError):
        parse_since("last week", now)


# --- the transform alone ---------------------------------------------------------------------------------


def _execution(status: str, steps: list[dict], **times: Any) -> dict:
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn/execution/abc"
    return {"execution": {"arn": arn, "status": status, "start_time": NOW, **times},
            "pipeline": {"arn": "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn", "name": "Churn"},
            "runs": [{"key": f"{arn}/{s['name']}", "inputs": [], "outputs": [], **s} for s in steps], "schemas": {}}


def test_statuses_times_and_names_map_as_documented():
    names = Naming(producer="urn:test")
    later = NOW + timedelta(minutes=5)
    events = execution_events(_execution("Stopped", [
        {"name": "Train", "status": "Stopped", "start_time": NOW, "end_time": later, "step_type": "Training"},
        {"name": "Check", "status": "Executing", "start_time": NOW + timedelta(minutes=1), "step_type": "Condition"},
        {"name": "Never", "status": "Starting"},  # no time at all: left out
        {"name": "Odd", "status": "Failed", "start_time": later, "end_time": NOW, "failure_reason": "boom",
         "step_type": "RegisterModel"},
    ], end_time=later), names)
    got = [(e.job.name, e.eventType.value, e.eventTime) for e in events]
    assert got == [("Churn", "START", "2024-06-03T12:00:00.000Z"),
                   ("Churn.Train", "START", "2024-06-03T12:00:00.000Z"),
                   ("Churn.Check", "START", "2024-06-03T12:01:00.000Z"),
                   ("Churn.Odd", "START", "2024-06-03T12:05:00.000Z"),  # at one time: STARTs first
                   ("Churn.Train", "ABORT", "2024-06-03T12:05:00.000Z"),
                   ("Churn.Odd", "FAIL", "2024-06-03T12:05:00.000Z"),  # an end before the start: at the start
                   ("Churn", "ABORT", "2024-06-03T12:05:00.000Z")]
    assert {e.job.namespace for e in events} == {"arn:aws:sagemaker:eu-west-1:111122223333"}
    assert [e.job.facets["jobType"].jobType for e in events[:3]] == ["PIPELINE", "TRAINING", "CONDITION"]
    assert events[5].run.facets["errorMessage"].message == "boom"
    assert events[0].run.runId == run_id("arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn/execution/abc")
    assert [e.eventType.value for e in execution_events(_execution("CompletedWithFailures", []), names)] == [
        "START", "FAIL"]
    assert [e.eventType.value for e in execution_events(_execution("Executing", []), names)] == ["START"]
    assert s3_dataset_name("s3://b/a/b/") == ("s3://b", "a/b") and s3_dataset_name("s3://b/") == ("s3://b", "/")
    assert s3_dataset_name("s3://b/x.parquet") == ("s3://b", "x.parquet")


# --- live emission (an empty database from here on) ----------------------------------------------------


def test_live_emission_survives_the_endpoint_going_away_and_loses_nothing(settings_env, neo4j, sim, monkeypatch):
    server = Capture()
    port = server.port
    monkeypatch.setenv("LINEAGE_OPENLINEAGE_URL", server.url)
    monkeypatch.setenv("LINEAGE_OPENLINEAGE_API_KEY", API_KEY)
    app = App(load_settings())
    try:
        sqs = sim.client("sqs")
        url = sqs.create_queue(QueueName="lineage-live", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        seed_pipeline(sim, "churn-training", json.loads((PIPELINES / "churn-training.json").read_text()))
        first = seed_execution(sim, "churn-training", start=NOW)
        second = seed_execution(sim, "churn-training", status="Failed", start=NOW + timedelta(hours=2),
                                failed_step="TrainChurnModel")

        def consume(events: list) -> Any:
            for i in range(0, len(events), 10):
                sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": json.dumps(e)}
                                                              for j, e in enumerate(events[i:i + 10])])
            consumer = event_consumer(app, queue_urls=[url], until_empty=True, wait_seconds=1,
                                      poison_policy="delete", shutdown_seconds=10)
            (emitter,) = consumer.listeners
            emitter.retry_initial = emitter._delay = 0.2
            stats = consumer.run(threading.Event())
            assert stats.total("failed") == 0 and stats.total("deleted") == stats.total("received") == len(events)
            return stats.snapshot()["openlineage"]

        # 1. The endpoint answers: the first execution's events arrive as the consumer writes them.
        snapshot = consume(ev.execution_events(sim, first))
        assert snapshot["sent"] == len(server.received) > 10 and snapshot["outbox"] == 0
        assert {h.get("Authorization") for h in server.headers} == {f"Bearer {API_KEY}"}
        before = len(server.received)

        # 2. The endpoint goes away: the graph writes go on, the events wait in the outbox.
        server.close()
        received = list(server.received)
        snapshot = consume(ev.execution_events(sim, second))
        assert snapshot["failed_attempts"] >= 1 and snapshot["held"] > 0
        held = OpenLineageOutbox(app.driver).count()
        assert held > 0 and snapshot["outbox"] == held
        assert rows(neo4j, "MATCH (e:PipelineExecution {arn: $a}) RETURN e.status AS s", a=second) == [{"s": "Failed"}]
        stored = rows(neo4j, "MATCH (o:OpenLineageOutbox) RETURN o.attempts AS a, o.last_error AS e ORDER BY o.seq")
        assert stored[0]["a"] >= 1 and stored[0]["e"]

        # 3. It comes back refusing (HTTP 500) for a while, then takes them: the outbox drains, oldest first.
        server = Capture(port)
        server.status = 500
        from jobs.openlineage.live import live_emitter

        emitter = live_emitter(app)
        emitter.retry_initial = emitter._delay = 0.2
        emitter.start()
        deadline = time.monotonic() + 20
        while server.refused < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.refused >= 2 and OpenLineageOutbox(app.driver).count() == held
        server.status = 200
        while not emitter.idle() and time.monotonic() < deadline:
            time.sleep(0.1)
        emitter.stop(5)
        assert emitter.idle() and OpenLineageOutbox(app.driver).count() == 0
        assert emitter.counters["retried_ok"] == held
        counters = emitter.snapshot()
        assert counters["dropped_queue_full"] == counters["dropped_outbox_full"] == counters["dropped_at_shutdown"] == 0
    finally:
        server.close()
        app.close()

    # Nothing lost: every event the graph now gives for both executions arrived, each run's START first.
    reads = OpenLineageReads(neo4j)
    expected = [e for row in reads.executions([first, second])
                for e in execution_events(row, Naming(producer="urn:x"))]
    arrived = [(e["run"]["runId"], e["eventType"]) for e in received + server.received]
    assert {(e.run.runId, e.eventType.value) for e in expected} <= set(arrived)
    for rid in {r for r, _ in arrived}:
        kinds = [k for r, k in arrived if r == rid]
        assert kinds[0] == "START"
    assert len(received) == before and len(server.received) == held
