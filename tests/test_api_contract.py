"""The HTTP API against its own published contract, over the graph of tests/query_graph.py (the demo account
synced, S3 schemas with drift, events, SQL lineage from Git: built by the real collectors):

* schemathesis (its CLI, every phase) generates requests from the live `/openapi.json` served by uvicorn on
  loopback and checks every answer: no 5xx, a documented status code and content type, a body that matches
  the declared schema;
* each pipeline's `/lineage` `graphPipeline`, turned into Cytoscape.js elements as the earlier tool's README
  did, loads into real Cytoscape.js (Node, headless; tests/js), every edge's ends exist and the steps form a DAG.

The Cytoscape test needs Node and npm (it runs `npm ci` into tests/js/node_modules once); without them it
skips, or fails when LINEAGE_REQUIRE_NODE is set (.ci/run sets it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Query

from graphstore.queries import QUERIES
from tests.api_server import neo4j_overrides, serving
from tests.query_graph import module_graph

JS = Path(__file__).parent / "js"
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
MAX_EXAMPLES = 10  # per operation and phase: about 1,400 requests, 30-60 s here
SEED = 20240603
# `depth` and `level` choose the Cypher text of a lineage walk (one text per pair, and the first run of a text
# plans it: 3-6 s each on the test server); fixed, so a run plans a few texts rather than a hundred.
CONFIG = """\
[parameters]
"query.depth" = 4
"query.level" = "all"
"""


@pytest.fixture(scope="module")
def built(neo4j_server, driver, sim_server, tmp_path_factory):
    yield from module_graph(neo4j_server, driver, sim_server, tmp_path_factory.mktemp("api-contract"))


@pytest.fixture(scope="module")
def base(built) -> Iterator[str]:
    with serving(**neo4j_overrides(built[1].env)) as url:
        yield url


def schemathesis_summary(report: dict[str, Any], events: Path) -> dict[str, Any]:
    """Operations, test cases, failures and errors from the JSON report; checks by name and status from the
    NDJSON events (each test case's checks)."""
    checks: dict[str, Counter[str]] = {name: Counter() for name in CHECKS}
    with events.open() as lines:
        for line in lines:
            event = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if not scenario:
                continue
            for results in (scenario.get("recorder", {}).get("checks") or {}).values():
                for check in results:
                    checks.setdefault(check["name"], Counter())[check["status"]] += 1
    return {
        "operations": report["operations"], "test_cases": report["test_cases"],
        "phases": {name: phase["status"] for name, phase in report["phases"].items()},
        "checks": {name: dict(counts) for name, counts in checks.items()},
        "failures": report["failures"], "errors": report["errors"], "exit_code": report["exit_code"],
    }


@pytest.mark.timeout(1200)  # some 200 s of work on an idle 2-core machine; several times that on a loaded one
def test_schemathesis_finds_nothing_against_the_published_schema(base, tmp_path, capsys):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{base}/openapi.json",
               "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
               "--generation-database", "none", "--request-timeout", "30", "--workers", "1", "--no-color",
               "--report", "json,ndjson", "--report-json-path", str(tmp_path / "report.json"),
               "--report-ndjson-path", str(tmp_path / "events.ndjson")]
    began = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=1000, cwd=tmp_path)
    seconds = time.monotonic() - began
    report = json.loads((tmp_path / "report.json").read_text()) if (tmp_path / "report.json").exists() else None
    assert report, f"schemathesis wrote no report (exit {run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    summary = schemathesis_summary(report, tmp_path / "events.ndjson")
    checked = ", ".join(f"{name} {counts.get('success', 0)}/{sum(counts.values())}"
                        for name, counts in summary["checks"].items())
    with capsys.disabled():
        print(f"\nschemathesis {report['schemathesis_version']}: {summary['operations']['tested']} of "
              f"{summary['operations']['total']} operations, {summary['test_cases']['generated']} test cases "
              f"in {seconds:.0f} s; checks passed: {checked}; phases: {summary['phases']}")
        print("schemathesis summary " + json.dumps(summary, sort_keys=True))
    assert run.returncode == 0 and not summary["failures"] and not summary["errors"], run.stdout[-6000:]
    operations = summary["operations"]
    assert operations["tested"] == operations["total"] >= 22  # 10 routes and the 12 queries of the library
    assert summary["test_cases"]["generated"] > 500
    for name in CHECKS:
        counts = summary["checks"][name]
        assert counts.get("success", 0) > 0 and set(counts) == {"success"}, (name, counts)


def test_the_schema_says_what_the_routes_check(base):
    schema = httpx.get(f"{base}/openapi.json", timeout=30).json()
    lineage = schema["paths"]["/lineage"]["get"]
    assert "422" not in lineage["responses"] and {"400", "404", "503", "504"} <= set(lineage["responses"])
    params = {p["name"]: p for p in lineage["parameters"]}
    assert params["pipeline"]["required"] and params["view"]["schema"]["enum"] == ["pipeline", "data", "both"]
    upstream = schema["paths"]["/queries/upstream"]["get"]
    depth = next(p for p in upstream["parameters"] if p["name"] == "depth")
    assert depth["schema"] == {"type": "integer", "minimum": 1, "maximum": 12, "default": 6}
    flow = schema["components"]["schemas"]["FlowEdge"]
    assert flow["additionalProperties"] is False and set(flow["required"]) == {"source", "target", "kind"}


def test_a_time_offset_neo4j_cannot_hold_is_a_400_not_a_500(base):
    # Python reads offsets up to ±23:59:59.999999; Neo4j holds whole minutes within ±18:00 (found by schemathesis)
    for since in ("2024-06-01T00:00:00+22:44", "2024-06-01T00:00:00+05:30:15", "2024-06-01T00:00:00-18:01"):
        response = httpx.get(f"{base}/queries/runs", params={"since": since}, timeout=30)
        assert response.status_code == 400 and "parameter since" in response.json()["message"], since
    assert httpx.get(f"{base}/queries/runs", params={"since": "2024-06-01T00:00:00-18:00"}, timeout=30).status_code == 200


# --- transaction timeouts -------------------------------------------------------------------------------

class RecordingDriver:
    """The test's Neo4j driver, noting each query it is given (execute_query and session.run) on its way."""

    def __init__(self, driver: Any) -> None:
        self.driver, self.queries = driver, []

    def execute_query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        self.queries.append(query)
        return self.driver.execute_query(query, *args, **kwargs)

    def session(self, **kwargs: Any) -> Any:
        driver = self

        class Session:
            def __init__(self, session: Any) -> None:
                self.session = session

            def __enter__(self) -> Session:
                return self

            def __exit__(self, *exc: Any) -> None:
                self.session.close()

            def run(self, query: Any, *args: Any, **kw: Any) -> Any:
                driver.queries.append(query)
                return self.session.run(query, *args, **kw)

        return Session(self.driver.session(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)


def test_every_neo4j_read_of_the_api_has_the_transaction_timeout(built, driver):
    recording = RecordingDriver(driver)
    paths = ["/health", "/inventory", "/sagemaker/pipelines", "/lineage?pipeline=churn-training",
             "/lineage/by-domain?domain=ml-platform", "/datasets/acme-ml-data/churn/raw/schema",
             "/datasets/acme-ml-data/churn/raw/schema/versions"]
    paths += [f"/queries/{q.name}" for q in QUERIES]  # each with the library's example parameters
    timeout = 97  # generous (the first run of a text plans it, seconds on a busy machine), and recognisable
    with serving(recording, **neo4j_overrides(built[1].env), api_neo4j_timeout_seconds=timeout) as url, \
            httpx.Client(base_url=url, timeout=120) as client:
        for path in paths:
            name = path.removeprefix("/queries/")
            params = next((dict(q.example_params) for q in QUERIES if q.name == name), None)
            if params and "depth" in params:  # the walk texts the schemathesis run planned
                params["depth"] = 4
                if "level" in params:
                    params["level"] = "all"
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            if name == "by-domain":
                assert response.json()["rows"] and all(r["ok"] for r in response.json()["rows"])
    untimed = [q for q in recording.queries if not (isinstance(q, Query) and q.timeout == timeout)]
    assert len(recording.queries) > 50 and untimed == []


# --- Cytoscape.js -----------------------------------------------------------------------------------------

def _node_and_modules() -> str:
    """The `node` executable, with tests/js/node_modules installed as package-lock.json pins it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        reason = "the Cytoscape.js test needs Node.js and npm (apt-get install nodejs npm)"
        if os.environ.get("LINEAGE_REQUIRE_NODE"):
            pytest.fail(reason + " (LINEAGE_REQUIRE_NODE is set)")
        pytest.skip(reason)
    pinned = json.loads((JS / "package-lock.json").read_text())["packages"]["node_modules/cytoscape"]["version"]
    installed = JS / "node_modules" / "cytoscape" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        done = subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=JS, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"npm ci in {JS} failed:\n{done.stdout}\n{done.stderr}"
    return node


def cytoscape_check(node: str, graph: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([node, str(JS / "cytoscape_contract.mjs")], input=json.dumps(graph), capture_output=True,
                          text=True, timeout=60, cwd=JS)
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def test_graph_pipeline_loads_into_cytoscape_as_a_dag(base, capsys):
    node = _node_and_modules()
    with httpx.Client(base_url=base, timeout=60) as client:
        names = [p["name"] for p in client.get("/sagemaker/pipelines", params={"limit": 100}).json()["pipelines"]]
        assert "churn-training" in names and len(names) >= 7
        for name in names:
            graph = client.get("/lineage", params={"pipeline": name}).json()["graphPipeline"]
            summary = cytoscape_check(node, graph)
            assert summary["loaded"] and summary["error"] is None and summary["missingEnds"] == [], (name, summary)
            assert (summary["nodes"], summary["edges"]) == (len(graph["nodes"]), len(graph["edges"])), name
            assert summary["dag"] and summary["onCycle"] == [], (name, summary)
            order = {step: i for i, step in enumerate(summary["topologicalOrder"])}
            assert len(order) == summary["kinds"]["process"] == sum(n["kind"] == "process" for n in graph["nodes"])
            for edge in graph["edges"]:
                if edge["kind"] == "dependsOn":
                    assert order[edge["source"]] < order[edge["target"]], (name, edge)
            if name == "churn-training":
                churn = summary
    assert churn["roots"] == ["process:PreprocessChurnData"] and churn["flowAcyclic"]
    assert churn["kinds"]["process"] == 8 and churn["kinds"]["read"] > 0 and churn["kinds"]["write"] > 0
    assert churn["components"] == 1
    with capsys.disabled():
        print("\ncytoscape churn-training " + json.dumps(churn, sort_keys=True))


def test_cytoscape_check_reports_a_missing_end_and_a_cycle():
    node = _node_and_modules()
    step = {"id": "process:a", "kind": "process", "label": "a"}
    dangling = cytoscape_check(node, {"nodes": [step], "edges": [
        {"source": "process:a", "target": "process:gone", "kind": "dependsOn"}]})
    assert not dangling["loaded"] and "nonexistent target `process:gone`" in dangling["error"]
    assert [m["id"] for m in dangling["missingEnds"]] == ["process:gone"]
    other = {"id": "process:b", "kind": "process", "label": "b"}
    cycle = cytoscape_check(node, {"nodes": [step, other], "edges": [
        {"source": "process:a", "target": "process:b", "kind": "dependsOn"},
        {"source": "process:b", "target": "process:a", "kind": "dependsOn"}]})
    assert cycle["loaded"] and not cycle["dag"] and sorted(cycle["onCycle"]) == ["process:a", "process:b"]
