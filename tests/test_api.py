"""The HTTP API (`lineage-collector serve`) over real HTTP: uvicorn in a thread on a free loopback port, against
the demo account synced through the CLI (the `synced_env` fixture of tests/test_cli.py)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from graphstore.api_reads import ApiReads
from tests.api_server import free_port, neo4j_overrides, serving
from tests.test_cli import cli, synced_env  # noqa: F401  (the module-scoped fixture: one synced demo account)

ML_PLATFORM_PIPELINES = 6


@pytest.fixture(scope="module")
def scanned_env(synced_env):  # noqa: F811
    env = synced_env[0]
    result = cli(env, "scan", "s3://acme-ml-data/churn/")  # the raw data's schema, read through the CLI
    assert result.returncode == 0, result.stderr
    return env


@pytest.fixture(scope="module")
def api(scanned_env) -> Iterator[httpx.Client]:
    with serving(**neo4j_overrides(scanned_env)) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


def test_health(api):
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["neo4j"] is True and body["version"]
    assert response.headers["x-request-id"]
    assert "access-control-allow-origin" not in api.get("/health", headers={"Origin": "http://x.example"}).headers


def test_inventory(api):
    body = api.get("/inventory", params={"regions": "us-east-1"}).json()
    assert [r["region"] for r in body["regions"]] == ["us-east-1"]
    region = body["regions"][0]
    assert {"DomainId", "DomainName"} == set(region["domains"][0])
    assert "ml-platform" in {d["DomainName"] for d in region["domains"]}
    assert len(region["pipelines"]) == 7
    first = region["pipelines"][0]
    assert set(first) == {"name", "arn", "lastModifiedTime", "tags", "matchedDomain"}
    assert isinstance(first["tags"], dict) and first["lastModifiedTime"].startswith("20")
    matched = [p["matchedDomain"] for p in region["pipelines"]]
    assert matched.count("ml-platform") == ML_PLATFORM_PIPELINES and matched.count(None) == 1
    assert api.get("/inventory", params={"regions": "eu-north-9"}).json() == {
        "regions": [{"region": "eu-north-9", "domains": [], "pipelines": []}]}


def test_pipelines_are_paged(api):
    first = api.get("/sagemaker/pipelines", params={"region": "us-east-1", "limit": 3}).json()
    assert first["total"] == 7 and len(first["pipelines"]) == 3 and first["nextOffset"] == 3
    names = [p["name"] for p in first["pipelines"]]
    offset, pages = first["nextOffset"], 1
    while offset is not None:
        page = api.get("/sagemaker/pipelines", params={"region": "us-east-1", "limit": 3, "offset": offset}).json()
        names += [p["name"] for p in page["pipelines"]]
        offset, pages = page["nextOffset"], pages + 1
    assert pages == 3 and len(names) == len(set(names)) == 7 and names == sorted(names)
    for bad in ({"limit": 0}, {"limit": "x"}, {"offset": -1}, {"limit": 100_000}):
        response = api.get("/sagemaker/pipelines", params=bad)
        assert response.status_code == 400 and "message" in response.json()


def test_lineage_is_the_cli_json(api, scanned_env):
    for params, args in ((
            {"pipeline": "churn-training"}, []),
            ({"pipeline": "churn-training", "includeLatestExec": "0", "view": "pipeline"},
             ["--no-include-latest-exec", "--view", "pipeline"]),
            ({"pipeline": "fraud-tuning-batch", "includeLatestExec": "true", "view": "data"}, ["--view", "data"])):
        response = api.get("/lineage", params=params)
        assert response.status_code == 200, response.text
        printed = cli(scanned_env, "lineage", "--pipeline", params["pipeline"], *args)
        assert printed.returncode == 0, printed.stderr
        assert response.json() == json.loads(printed.stdout)
    out = api.get("/lineage", params={"pipeline": "churn-training", "includeLatestExec": "1"}).json()
    assert {"pipeline", "summary", "graph", "graphPipeline", "latestExecution"} == set(out)
    posture = {a["bucket"]: a["s3"] for a in out["graph"]["artifacts"]}
    assert posture["acme-ml-data"]["encryption"] == "None" and posture["acme-ml-data"]["publicAccess"] == "NotBlocked"
    for s3 in posture.values():
        assert s3["encryption"] in {"aws:kms", "AES256", "aws:kms:dsse", "None", "Unknown"}
        assert s3["publicAccess"] in {"Blocked", "NotBlocked", "Public", "Unknown"}
    assert "summary" not in api.get("/lineage", params={"pipeline": "churn-training",
                                                        "includeLatestExec": "False"}).json()


def test_lineage_errors(api):
    assert api.get("/lineage").json() == {"message": "pipeline is required"}
    assert api.get("/lineage").status_code == 400
    missing = api.get("/lineage", params={"pipeline": "no-such-pipeline"})
    assert missing.status_code == 404 and missing.json() == {"message": "pipeline not found or domain filter mismatched"}
    assert api.get("/lineage", params={"pipeline": "churn-training", "domain": "other-domain"}).status_code == 404
    assert api.get("/lineage", params={"pipeline": "churn-training", "domain": "ml-platform"}).status_code == 200
    for bad in ({"includeLatestExec": "yes"}, {"view": "everything"}):
        response = api.get("/lineage", params={"pipeline": "churn-training", **bad})
        assert response.status_code == 400 and response.json()["message"]


def test_lineage_by_domain_and_one_failing_pipeline(api, monkeypatch):
    body = api.get("/lineage/by-domain", params={"region": "us-east-1", "domain": "ml-platform"}).json()
    assert body["region"] == "us-east-1" and body["domain"] == "ml-platform"
    assert body["count"] == ML_PLATFORM_PIPELINES == len(body["results"])
    assert all(r["ok"] and r["data"]["pipeline"]["name"] == r["pipeline"] for r in body["results"])
    assert api.get("/lineage/by-domain", params={"region": "us-east-1"}).status_code == 400

    original = ApiReads.lineage

    def failing(self, name, **kwargs):
        if name == "churn-training":
            raise RuntimeError("secret detail of one pipeline")
        return original(self, name, **kwargs)

    monkeypatch.setattr(ApiReads, "lineage", failing)
    body = api.get("/lineage/by-domain", params={"domain": "ml-platform", "includeLatestExec": "0"}).json()
    failed = [r for r in body["results"] if not r["ok"]]
    assert [r["pipeline"] for r in failed] == ["churn-training"] and "secret" not in failed[0]["error"]
    assert sum(r["ok"] for r in body["results"]) == ML_PLATFORM_PIPELINES - 1


def test_dataset_schema_and_versions(api):
    current = api.get("/datasets/acme-ml-data/churn/raw/schema")
    assert current.status_code == 200, current.text
    body = current.json()
    assert body["dataset"] == "s3://acme-ml-data/churn/raw/" and body["schema"]["current"] is True
    assert body["schema"]["version"] == 1 and body["schema"]["columns"]
    versions = api.get("/datasets/acme-ml-data/churn/raw/schema/versions").json()
    assert versions["dataset"] == body["dataset"] and [v["version"] for v in versions["versions"]] == [1]
    assert api.get("/datasets/acme-ml-data/no/such/prefix/schema").json() == {"message": "dataset not found"}
    assert api.get("/datasets/acme-ml-data/no/such/prefix/schema/versions").status_code == 404


def test_sql_lineage_is_the_cli_json(api):
    sql = "INSERT INTO mart.churn SELECT c.id, c.tenure FROM raw.customers c JOIN raw.events e ON c.id = e.id"
    response = api.post("/sql/lineage", json={"sql": sql, "dialect": "spark"})
    assert response.status_code == 200, response.text
    printed = subprocess.run([sys.executable, "-m", "jobs.cli", "sql-lineage", "--dialect", "spark", "-"], input=sql,
                             capture_output=True, text=True, timeout=60, cwd=os.path.dirname(__file__))
    assert printed.returncode == 0, printed.stderr
    assert response.json() == json.loads(printed.stdout)
    assert response.json()["files"][0]["targets"]
    assert api.post("/sql/lineage", json={"sql": sql, "dialect": "klingon"}).status_code == 400
    assert api.post("/sql/lineage", json={"dialect": "spark"}).status_code == 400
    too_big = api.post("/sql/lineage", json={"sql": "SELECT 1 " + " " * (300 << 10)})
    assert too_big.status_code == 413 and too_big.json()["message"].startswith("body too large")


def test_query_library(api):
    listed = api.get("/queries").json()["queries"]
    names = {q["name"] for q in listed}
    assert {"upstream", "downstream", "schema-history", "runs"} <= names
    history = api.get("/queries/schema-history", params={"dataset": "s3://acme-ml-data/churn/raw/"}).json()
    assert history["query"] == "schema-history" and history["rows"][0]["version"] == 1
    downstream = api.get("/queries/downstream", params={"node": "s3://acme-ml-data/churn/raw/", "depth": "3"})
    assert downstream.status_code == 200 and downstream.json()["rows"]
    assert api.get("/queries/no-such-query").status_code == 404
    assert api.get("/queries/downstream", params={"node": "s3://nowhere/x/"}).status_code == 404
    bad = api.get("/queries/downstream", params={"node": "s3://acme-ml-data/churn/raw/", "depth": "999"})
    assert bad.status_code == 400 and "depth" in bad.json()["message"]


def test_an_internal_error_is_500_with_a_request_id_in_the_log(api, monkeypatch, caplog):
    def broken(self, regions):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ApiReads, "api_inventory", broken)
    with caplog.at_level(logging.ERROR, logger="lineage.api"):
        response = api.get("/inventory")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message", "requestId"} and body["message"] == "internal error"
    assert "secret" not in response.text
    record = next(r for r in caplog.records if body["requestId"] in r.getMessage())
    assert record.exc_info and "secret internal detail" in str(record.exc_info[1])


def test_tokens_guard_everything_but_health(scanned_env):
    with serving(**neo4j_overrides(scanned_env), api_tokens="token-one,token-two") as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/health").status_code == 200
        for path in ("/inventory", "/openapi.json", "/queries"):
            refused = client.get(path)
            assert refused.status_code == 401 and refused.json() == {"message": "unauthorized"}
        assert client.get("/inventory", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/inventory", headers={"Authorization": "token-two"}).status_code == 401
        assert client.get("/inventory", headers={"Authorization": "Bearer token-two"}).status_code == 200


def test_cors_origins_from_settings(scanned_env):
    with serving(**neo4j_overrides(scanned_env), api_cors_origins="http://ui.example") as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        allowed = client.get("/health", headers={"Origin": "http://ui.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://ui.example"
        other = client.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_unreachable_neo4j_is_503_and_health_degraded():
    with serving(neo4j_uri="bolt://127.0.0.1:1") as base, httpx.Client(base_url=base, timeout=30) as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded" and health.json()["neo4j"] is False
        for path in ("/inventory", "/lineage?pipeline=churn-training", "/queries/runs?pipeline=churn-training"):
            response = client.get(path)
            assert response.status_code == 503 and response.json() == {"message": "Neo4j unavailable"}
        assert client.post("/sql/lineage", json={"sql": "SELECT a FROM b"}).status_code == 200  # parse only


def test_serve_command_listens_on_loopback(scanned_env):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "jobs.cli", "serve", "--port", str(port)],
                               env={**os.environ, **scanned_env}, cwd=os.path.dirname(__file__),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.1)
        assert response.json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(10)


def test_serve_without_the_extra_is_one_line():
    code = ("import sys; sys.modules['fastapi'] = None; from jobs.cli import main; sys.exit(main(['serve']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["lineage-collector: install sagemaker-lineage-collector[api]"]
