"""The query library (graphstore.queries) and `lineage-collector query`, on one graph the real collectors
built (tests/query_graph.py: the demo account, S3 schemas, events, a SQL repo in Git, bucket posture)."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from graphstore.queries import (
    LINEAGE_TYPES,
    MAX_LIMIT,
    NODE_KINDS,
    QUERIES,
    REQUIRED,
    AmbiguousNode,
    NodeNotFound,
    ParameterError,
    QueryError,
    QueryLibrary,
    QueryTimeout,
    UnknownQuery,
    detect_kind,
    query,
)
from graphstore.queries.doc import DEFAULT_DOC, regenerate
from graphstore.views import Views
from tests.query_graph import ENDPOINT_ARN, LAKE_CUSTOMERS, RAW_CHURN, module_graph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def built(neo4j_server, driver, sim_server, tmp_path_factory):
    yield from module_graph(neo4j_server, driver, sim_server, tmp_path_factory.mktemp("query-graph"))


@pytest.fixture(scope="module")
def library(built, driver):
    return QueryLibrary(driver, timeout=120)  # the first run of a text plans it: generous on a busy machine


@pytest.fixture(scope="module")
def graph(built):
    return built[1]


def rows(library, name, **params):
    return library.run(name, params).rows


def by_kind(result_rows, kind):
    return {r["name"] for r in result_rows if r["kind"] == kind}


def cypher(driver, text, **params):
    return [r.data() for r in driver.execute_query(text, params).records]


# --- the declarations ---------------------------------------------------------------------------------


def test_every_query_is_declared_completely():
    names = [q.name for q in QUERIES]
    assert len(names) == len(set(names)) >= 12
    for q in QUERIES:
        assert q.description and q.cypher.strip() and q.columns and q.family
        assert q.params[-1].name == "limit" and q.param("limit").maximum == MAX_LIMIT
        assert "LIMIT $limit" in q.cypher, q.name
        for p in q.params:
            assert p.type in ("string", "integer", "datetime", "choice") and p.description
            assert p.type != "choice" or p.choices
            assert p.type != "integer" or (p.minimum is not None and p.maximum is not None)
        q.validate(q.example_params)  # the example set is valid as it is
        assert set(q.example_params) <= {p.name for p in q.params}
        assert all(p.name in q.example_params for p in q.params if p.required)
        for p in q.params:  # values only as parameters: each appears in the text as $name (or shapes it)
            assert f"${p.name}" in q.cypher or p.name in ("depth", "level", "view") or p.anchor, (q.name, p.name)


def test_texts_are_constants_bounded_by_depth():
    for q in QUERIES:
        if q.build is None:
            continue
        assert q.text({"depth": 12, "level": "all"}) == q.cypher
        shallow = q.text({"depth": 3, "level": "all"})
        bounded = ",3}" in shallow and ",12}" not in shallow          # a shortest-path search
        levels = "// hop 3 of 3" in shallow and "hop 4" not in shallow  # a breadth-first walk, level by level
        assert bounded or levels, q.name
        if "node" in q.example_params:
            params = {**q.example_params, "node": "s3://no/such/value"}
            assert "s3://no/such/value" not in q.text(q.validate(params))


@pytest.mark.parametrize("value, kind", [
    ("s3://acme-ml-data/churn/raw/", "dataset"),
    ("arn:aws:sagemaker:us-east-1:1:pipeline/churn-training", "pipeline"),
    ("arn:aws:sagemaker:us-east-1:1:pipeline/churn-training/TrainChurnModel", "step"),
    ("arn:aws:sagemaker:us-east-1:1:pipeline/churn-training/execution/abc123", "execution"),
    ("arn:aws:sagemaker:us-east-1:1:training-job/Train-1", "job"),
    ("arn:aws:sagemaker:us-east-1:1:hyper-parameter-tuning-job/t", "job"),
    ("arn:aws:sagemaker:us-east-1:1:model-package/churn-models/3", "model-package"),
    ("arn:aws:sagemaker:us-east-1:1:model/m", "model"),
    ("arn:aws:sagemaker:us-east-1:1:endpoint/churn-prod", "endpoint"),
    ("arn:aws:sagemaker:US-EAST-1:1:Training-Job/T", "job"), ("arn:aws:sagemaker:us-east-1:1:notebook-instance/n", None),
    ("arn:aws:s3:::bucket/key", None),
    ("churn-models/3", "model-package"),
    ("churn-training/TrainChurnModel", "step"),
    ("churn-training", None), ("stg.orders", None), ("stg.orders.amount", None),
])
def test_the_kind_of_a_node_is_told_from_its_shape(value, kind):
    assert detect_kind(value) == kind


@pytest.mark.parametrize("name, params, fragment", [
    ("downstream", {"node": "x", "depth": "13"}, "parameter depth must be an integer between 1 and 12"),
    ("downstream", {"node": "x", "depth": "0"}, "parameter depth must be an integer between 1 and 12"),
    ("downstream", {"node": "x", "depth": "two"}, "parameter depth must be an integer between 1 and 12"),
    ("downstream", {"node": "x", "depth": True}, "parameter depth must be an integer"),
    ("downstream", {"node": "x", "limit": 10_001}, "parameter limit must be an integer between 1 and 10000"),
    ("downstream", {"node": "x", "kind": "table-ish"}, "parameter kind must be one of auto, dataset, table"),
    ("downstream", {}, "parameter node is required"),
    ("downstream", {"node": "  "}, "parameter node is required"),
    ("downstream", {"node": "x", "dept": 3}, "unknown parameter dept"),
    ("runs", {"since": "last week"}, "parameter since must be an ISO 8601 date-time"),
    ("exposure", {"posture": "bad"}, "parameter posture must be one of any, unencrypted, public, unknown"),
    ("pipeline-graph", {"pipeline": "p", "view": "graph"}, "parameter view must be one of pipeline, data, both"),
])
def test_bad_parameters_are_named_before_anything_runs(name, params, fragment):
    with pytest.raises(ParameterError) as raised:
        query(name).validate(params)
    assert str(raised.value).startswith(f"query {name}: ") and fragment in str(raised.value)


def test_parameters_are_coerced():
    got = query("runs").validate({"since": "2024-06-01", "until": "2024-06-02T10:00:00Z", "limit": "5"})
    assert got == {"pipeline": None, "since": "2024-06-01T00:00:00+00:00", "until": "2024-06-02T10:00:00+00:00",
                   "status": None, "limit": 5}
    assert query("downstream").validate({"node": "x"}) == {"node": "x", "kind": "auto", "depth": 6, "level": "all",
                                                           "limit": 100}
    assert query("downstream").param("node").default is REQUIRED
    with pytest.raises(UnknownQuery, match="unknown query"):
        query("sideways")


# --- answers on the built graph -------------------------------------------------------------------------


@pytest.mark.parametrize("spec", QUERIES, ids=lambda q: q.name)
def test_every_query_answers_its_example(library, spec):
    result = library.run(spec.name, spec.example_params)
    assert result.rows, f"{spec.name} gave no rows on the test graph"
    assert result.columns == [c.name for c in spec.columns]
    assert all(list(row) == result.columns for row in result.rows)
    json.loads(result.to_json())  # temporal values are ISO strings: all of it is JSON


def test_downstream_of_raw_data_reaches_jobs_data_packages_models_and_the_endpoint(library):
    got = rows(library, "downstream", node=RAW_CHURN, depth=8)
    kinds = {r["kind"] for r in got}
    assert {"ProcessingJob", "TrainingJob", "Dataset", "Step", "StepRun", "ModelPackage", "Model", "Endpoint",
            "Table"} <= kinds
    assert {"churn-models/1", "churn-models/2", "churn-models/3"} <= by_kind(got, "ModelPackage")
    assert by_kind(got, "Endpoint") == {"churn-prod", "churn-scoring"}  # a step deployed one; the other serves a package
    assert "ml.churn_features" in by_kind(got, "Table")  # the table stored at the raw data
    assert all(r["pipeline"] == "churn-training" for r in got if r["kind"] in ("TrainingJob", "ModelPackage"))
    training = [r for r in got if r["kind"] == "TrainingJob"]
    assert training and all(r["distance"] == 3 and r["via"] == ["FEEDS", "PRODUCES", "FEEDS"] for r in training)
    package = next(r for r in got if r["name"] == "churn-models/1")
    assert package["status"] == "PendingManualApproval" and package["via"] == ["FEEDS", "PRODUCES", "FEEDS",
                                                                               "PRODUCES", "FEEDS"]
    assert package["path"][0] == f"Dataset:{RAW_CHURN}" and package["path"][-1] == f"ModelPackage:{package['key']}"
    assert len({r["key"] for r in got}) == len(got) and RAW_CHURN not in {r["key"] for r in got}  # de-duplicated
    assert [r["distance"] for r in got] == sorted(r["distance"] for r in got)
    assert "credit-risk-models/1" not in by_kind(got, "ModelPackage")


def test_depth_and_level_bound_the_walk(library):
    near = rows(library, "downstream", node=RAW_CHURN, depth=2)
    assert near and max(r["distance"] for r in near) == 2 and "TrainingJob" not in {r["kind"] for r in near}
    run = rows(library, "downstream", node=RAW_CHURN, depth=8, level="run")
    assert not [r for r in run if r["kind"] == "Step" or "{" in r["key"]]
    assert {"churn-models/1", "churn-models/3"} <= by_kind(run, "ModelPackage")
    # churn-prod is reached only through the deploy step's definition; churn-scoring through run-level data
    # (model.tar.gz -> package -> model -> endpoint config -> endpoint)
    assert by_kind(run, "Endpoint") == {"churn-scoring"}
    definition = rows(library, "downstream", node=RAW_CHURN, depth=8, level="definition")
    assert {r["kind"] for r in definition} <= {"Step", "Dataset", "Table"} and by_kind(definition, "Step")
    limited = library.run("downstream", {"node": RAW_CHURN, "depth": 8, "limit": 5})
    assert len(limited.rows) == 5 and limited.truncated and [r["distance"] for r in limited.rows] == [1] * 5


def test_upstream_of_a_model_reaches_its_training_data_and_the_sql_tables_behind_it(library, driver):
    model = cypher(driver, "MATCH (m:Model)<-[:PRODUCES]-(r:StepRun) WHERE r.pipeline_arn ENDS WITH '/churn-training' "
                           "RETURN m.name AS name ORDER BY name LIMIT 1")[0]["name"]
    got = rows(library, "upstream", node=model, depth=12)
    assert {"ml.churn_features", "stg.customers", "raw.customers", "raw.billing"} <= by_kind(got, "Table")
    datasets = by_kind(got, "Dataset")
    assert {RAW_CHURN, LAKE_CUSTOMERS} <= datasets
    assert by_kind(got, "TrainingJob") and by_kind(got, "ProcessingJob")
    table = next(r for r in got if r["name"] == "ml.churn_features")
    assert table["via"][-1] == "STORED_AT" and table["path"][-2] == f"Dataset:{RAW_CHURN}"
    assert library.run("upstream", {"node": model, "depth": 12}).params["kind"] == "model"


def test_a_node_is_named_many_ways(library, graph):
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1"
    by_arn = rows(library, "upstream", node=package, depth=8)
    assert by_arn == rows(library, "upstream", node="churn-models/1", depth=8)
    group = library.run("upstream", {"node": "churn-models", "depth": 2})  # a group: every version
    assert group.params["kind"] == "model-package" and group.rows
    pipeline_arn = graph.seeded["pipelines"]["churn-training"]
    assert rows(library, "downstream", node="churn-training") == rows(library, "downstream", node=pipeline_arn)
    endpoint = rows(library, "upstream", node="churn-prod", depth=12)  # by name: the ARN index is scanned
    assert endpoint == rows(library, "upstream", node=ENDPOINT_ARN, depth=12)
    assert "churn-training/DeployChurnEndpoint" in by_kind(endpoint, "Step") and RAW_CHURN in by_kind(endpoint, "Dataset")
    step = library.run("downstream", {"node": "churn-training/TrainChurnModel", "depth": 3})
    assert step.params["kind"] == "step" and "churn-training/EvaluateChurnModel" in by_kind(step.rows, "Step")
    job = next(r for r in rows(library, "downstream", node=RAW_CHURN, depth=3) if r["kind"] == "TrainingJob")
    as_given = job["key"].replace("trainchurnmodel", "TrainChurnModel")  # keys are lower-cased ARNs
    assert as_given != job["key"]
    assert rows(library, "downstream", node=as_given, depth=2) == rows(library, "downstream", node=job["name"], depth=2)
    execution = library.run("downstream", {"node": graph.endpoint_execution, "depth": 1})
    assert execution.params["kind"] == "execution" and by_kind(execution.rows, "Endpoint") == {"churn-prod"}
    assert rows(library, "downstream", node=RAW_CHURN.rstrip("/"), depth=1) == rows(library, "downstream",
                                                                                    node=RAW_CHURN, depth=1)
    column = library.run("downstream", {"node": "raw.customers.tenure_months"})
    assert column.params["kind"] == "column" and by_kind(column.rows, "Column") == {
        "stg.customers.tenure_months", "ml.churn_features.tenure_months"}


def test_unknown_and_ambiguous_nodes_are_errors(library, built):
    app = built[0]
    with pytest.raises(NodeNotFound, match="query downstream: no node matches node=no-such-thing"):
        library.run("downstream", {"node": "no-such-thing"})
    with pytest.raises(NodeNotFound, match="no table matches node=churn-training"):
        library.run("downstream", {"node": "churn-training", "kind": "table"})
    with pytest.raises(ParameterError, match="ARN of no lineage node kind"):
        library.run("downstream", {"node": "arn:aws:sagemaker:us-east-1:1:notebook-instance/x"})
    from graphstore.model import Graph

    stray = Graph()
    stray.node("Table", "churn-training", {"columns": ["x"]})
    app.writer.write(stray, source="test")
    try:
        with pytest.raises(AmbiguousNode, match=r"names more than one kind of node \(pipeline, table\)"):
            library.run("downstream", {"node": "churn-training"})
        assert library.run("downstream", {"node": "churn-training", "kind": "pipeline"}).rows
    finally:
        app.driver.execute_query("MATCH (t:Table {name: 'churn-training'}) DETACH DELETE t")


def test_impact_of_a_table_groups_what_it_reaches_with_latest_statuses(library):
    got = rows(library, "impact", node="ml.churn_features", depth=10)
    groups: dict[str, dict[str, dict]] = {}
    for row in got:
        groups.setdefault(row["category"], {})[row["name"]] = row
    assert set(groups) >= {"endpoint", "model", "model_package", "pipeline", "dataset"}
    assert set(groups["endpoint"]) == {"churn-prod", "churn-scoring"}
    assert {"churn-models/1", "churn-models/2", "churn-models/3"} == set(groups["model_package"])
    assert all(r["status"] == "PendingManualApproval" for r in groups["model_package"].values())
    assert set(groups["pipeline"]) == {"churn-training"}
    assert groups["pipeline"]["churn-training"]["status"] == "Failed"  # the run told by events, the latest
    assert RAW_CHURN in groups["dataset"] and groups["dataset"][RAW_CHURN]["distance"] == 1
    assert not [name for name in groups["dataset"] if "{" in name]  # concrete data only
    order = [r["category"] for r in got]
    assert order.index("endpoint") < order.index("model") < order.index("model_package") < order.index("pipeline")
    upstream_table = rows(library, "impact", node="raw.customers", depth=12)
    assert {"churn-models/1"} <= {r["name"] for r in upstream_table if r["category"] == "model_package"}
    assert "stg.customers" in {r["name"] for r in upstream_table if r["category"] == "table"}


def test_column_usage_follows_sql_into_data_steps_and_models(library):
    got = rows(library, "column-usage", column="raw.customers.tenure_months", depth=12)
    assert {"stg.customers.tenure_months", "ml.churn_features.tenure_months"} == by_kind(got, "Column")
    assert {"raw.customers", "stg.customers", "ml.churn_features"} == by_kind(got, "Table")
    assert RAW_CHURN in by_kind(got, "Dataset")
    assert by_kind(got, "TrainingJob") and {"churn-models/1"} <= by_kind(got, "ModelPackage")
    assert by_kind(got, "Endpoint") == {"churn-prod", "churn-scoring"}  # a step deployed one; the other serves a package
    raw = next(r for r in got if r["key"] == RAW_CHURN)
    assert raw["via"][:3] == ["raw.customers.tenure_months", "stg.customers.tenure_months",
                              "ml.churn_features.tenure_months"] and raw["distance"] == 3
    billing = rows(library, "column-usage", column="raw.billing.monthly_charges", depth=2)
    assert by_kind(billing, "Column") == {"ml.churn_features.monthly_charges"}
    with pytest.raises(NodeNotFound, match=r"no column matches column=raw\.customers\.nope"):
        library.run("column-usage", {"column": "raw.customers.nope"})


def _graph_set(graph_pipeline):
    return ({(n["id"], n["kind"], n["label"]) for n in graph_pipeline["nodes"]},
            {(e["source"], e["target"], e["kind"]) for e in graph_pipeline["edges"]})


@pytest.mark.parametrize("pipeline", ["churn-training", "feature-pipeline"])
@pytest.mark.parametrize("view", ["pipeline", "data", "both"])
def test_pipeline_graph_is_the_lineage_views_graph(library, driver, pipeline, view):
    views = Views(driver).lineage(pipeline, view=view)["graphPipeline"]
    got = rows(library, "pipeline-graph", pipeline=pipeline, view=view)
    nodes = {(r["id"], r["kind"], r["label"]) for r in got if r["element"] == "node"}
    edges = {(r["source"], r["target"], r["kind"]) for r in got if r["element"] == "edge"}
    assert (nodes, edges) == _graph_set(views)
    picture = library.subgraph("pipeline-graph", {"pipeline": pipeline, "view": view})
    assert _graph_set(picture) == _graph_set(views)
    if pipeline == "churn-training":
        statuses = {n["id"]: n.get("status") for n in picture["nodes"]}
        assert statuses["process:TrainChurnModel"] == "Failed"  # the latest run's


def test_inventory_and_a_domain_with_a_failing_pipeline(library, monkeypatch):
    inventory = rows(library, "inventory")
    assert len(inventory) == 7 and sum(r["domain"] == "ml-platform" for r in inventory) == 6
    churn = next(r for r in inventory if r["pipeline"] == "churn-training")
    assert churn["latest_status"] == "Failed" and churn["executions"] >= 4 and churn["steps"] == 8
    assert rows(library, "inventory", region="eu-west-1") == []

    domain = rows(library, "by-domain", domain="ml-platform")
    assert len(domain) == 6 and all(r["ok"] and r["error"] is None for r in domain)
    churn = next(r for r in domain if r["pipeline"] == "churn-training")
    assert churn["lineage"]["pipeline"]["name"] == "churn-training" and churn["lineage"]["graphPipeline"]["edges"]
    assert churn["lineage"]["summary"]["overallStatus"] == "Failed"

    original = Views.lineage

    def broken(self, name, **kwargs):
        if name == "daily-scoring":
            raise RuntimeError("definition could not be decoded")
        return original(self, name, **kwargs)

    monkeypatch.setattr(Views, "lineage", broken)
    domain = {r["pipeline"]: r for r in rows(library, "by-domain", domain="d-ml-platform")}
    assert len(domain) == 6
    assert domain["daily-scoring"]["ok"] is False
    assert domain["daily-scoring"]["error"] == "RuntimeError: definition could not be decoded"
    assert all(r["ok"] for name, r in domain.items() if name != "daily-scoring")
    with pytest.raises(NodeNotFound, match="no domain matches domain=nowhere"):
        library.run("by-domain", {"domain": "nowhere"})


def test_runs_per_pipeline_and_account_wide_in_a_window(library, graph):
    churn_runs = len(graph.seeded["executions"]["churn-training"]) + 1  # and the failed one told by events
    since, until = (graph.now - timedelta(days=10)).isoformat(), (graph.now + timedelta(hours=1)).isoformat()
    got = rows(library, "runs", pipeline="churn-training", since=since, until=until)
    assert len(got) == churn_runs and {r["pipeline"] for r in got} == {"churn-training"}
    assert [r["started"] for r in got] == sorted((r["started"] for r in got), reverse=True)
    latest = got[0]
    assert latest["status"] == "Failed" and latest["failure_reason"] and "Failed: 1" in latest["steps"]
    datetime.fromisoformat(latest["started"])  # ISO strings
    assert rows(library, "runs", pipeline="churn-training") == got  # the default window: the last 7 days
    everything = rows(library, "runs", since=since, until=until, limit=1000)
    total = sum(len(runs) for runs in graph.seeded["executions"].values()) + 1
    assert len(everything) == total and len({r["pipeline"] for r in everything}) == 7
    failed = rows(library, "runs", since=since, until=until, status="Failed")
    assert {r["pipeline"] for r in failed} == {"churn-training", "automl-and-notebook"}
    later = (graph.now + timedelta(days=1)).isoformat()
    assert rows(library, "runs", since=later) == []
    with pytest.raises(NodeNotFound, match="no pipeline matches pipeline=nope"):
        library.run("runs", {"pipeline": "nope"})


def test_failures_carry_the_reasons_of_executions_step_runs_and_jobs(library, graph):
    got = rows(library, "failures", since=(graph.now - timedelta(days=10)).isoformat())
    churn = [r for r in got if r["pipeline"] == "churn-training"]
    levels = {r["level"]: r for r in churn}
    assert set(levels) == {"execution", "step", "job"}
    assert levels["execution"]["reason"] and levels["execution"]["status"] == "Failed"
    assert levels["step"]["name"] == "TrainChurnModel" and levels["step"]["reason"]
    assert levels["step"]["job"] == levels["job"]["job"] and levels["job"]["reason"]
    assert {r["pipeline"] for r in got} == {"churn-training", "automl-and-notebook"}
    only = rows(library, "failures", pipeline="automl-and-notebook", since=(graph.now - timedelta(days=10)).isoformat())
    assert {r["pipeline"] for r in only} == {"automl-and-notebook"}


def test_schema_history_and_drift_since_training(library):
    history = rows(library, "schema-history", dataset=RAW_CHURN.rstrip("/"))
    assert [r["version"] for r in history] == [2, 1] and history[0]["current"] and not history[1]["current"]
    assert history[0]["removed"] == ["monthly_charges"] and history[0]["drift"] is True
    assert history[0]["type_changed"] == [] and "monthly_charges" in history[1]["column_names"]

    drift = rows(library, "drift-since-training", node="churn-models/1")
    assert drift and {r["dataset"] for r in drift} == {RAW_CHURN}
    assert all(r["version"] == 2 and r["removed"] == ["monthly_charges"] and r["drift"] for r in drift)
    assert all(r["changed_at"] > r["trained_at"] for r in drift) and "churn-models/1" in drift[0]["models"]
    by_data = rows(library, "drift-since-training", node=RAW_CHURN)
    jobs = {r["training_job"] for r in by_data}
    assert len(jobs) >= 3 and {r["dataset"] for r in by_data} == {RAW_CHURN}  # every churn training job
    by_table = rows(library, "drift-since-training", node="ml.churn_features")  # a table: where it is stored
    assert {r["training_job"] for r in by_table} == jobs
    assert rows(library, "drift-since-training", node="credit-risk-models/1") == []


def test_exposure_lists_what_unencrypted_data_feeds_and_nothing_else(library):
    got = rows(library, "exposure")
    assert {r["bucket"] for r in got} == {"acme-lake"} and all(r["risks"] == ["unencrypted"] for r in got)
    packages = by_kind(got, "ModelPackage")
    assert {"churn-models/1", "churn-models/2", "churn-models/3"} == packages  # trained on acme-lake data
    assert by_kind(got, "Endpoint") == {"churn-prod", "churn-scoring"}  # a step deployed one; the other serves a package
    assert not [p for p in packages if not p.startswith("churn-models/")]  # credit, demand, ...: encrypted data
    assert all(r["datasets"] == [LAKE_CUSTOMERS] and r["encryption"] == "none" for r in got)
    assert rows(library, "exposure", posture="public") == [] and rows(library, "exposure", posture="unknown") == []
    assert rows(library, "exposure", depth=3) == []  # acme-lake data is 6 and more relationships away


# --- pictures -----------------------------------------------------------------------------------------


def _check_picture(picture):
    ids = [n["id"] for n in picture["nodes"]]
    assert len(ids) == len(set(ids)) and all(set(n) >= {"id", "label", "kind"} for n in picture["nodes"])
    assert all(e["source"] in ids and e["target"] in ids for e in picture["edges"])
    return {n["id"]: n for n in picture["nodes"]}, {(e["source"], e["target"], e["kind"]) for e in picture["edges"]}


def test_subgraphs_of_downstream_upstream_and_impact(library):
    nodes, edges = _check_picture(library.subgraph("downstream", {"node": RAW_CHURN, "depth": 8}))
    answer = rows(library, "downstream", node=RAW_CHURN, depth=8)
    assert len(nodes) == len(answer) + 1 and len(edges) == len(answer)  # a shortest-path tree from the start
    assert {kind for _, _, kind in edges} <= set(LINEAGE_TYPES)
    package = next(i for i, n in nodes.items() if n["label"] == "churn-models/1")
    assert nodes[package]["status"] == "PendingManualApproval"
    assert any(t == package and k == "FEEDS" and s.startswith("Dataset:") for s, t, k in edges)
    # Drawn the way data flows: steps to their runs, tables to their datasets.
    assert any(s.startswith("Step:") and t.startswith("StepRun:") and k == "RUN_OF" for s, t, k in edges)
    assert ("Table:ml.churn_features", f"Dataset:{RAW_CHURN}", "STORED_AT") in edges

    up_nodes, up_edges = _check_picture(library.subgraph("upstream", {"node": "churn-models/1", "depth": 12}))
    assert ("Table:raw.customers", "Table:stg.customers", "FEEDS") in up_edges
    assert ("Table:ml.churn_features", f"Dataset:{RAW_CHURN}", "STORED_AT") in up_edges
    assert up_nodes["ModelPackage:arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1"]

    impact_nodes, impact_edges = _check_picture(library.subgraph("impact", {"node": "ml.churn_features", "depth": 8}))
    pipeline = next(n for n in impact_nodes.values() if n["kind"] == "Pipeline")
    assert pipeline["label"] == "churn-training" and pipeline["status"] == "Failed"
    assert any(s == pipeline["id"] and k == "HAS_STEP" for s, _, k in impact_edges)
    with pytest.raises(QueryError, match="has no subgraph form"):
        library.subgraph("runs", {})


# --- the runner ---------------------------------------------------------------------------------------


def test_a_query_past_its_timeout_is_a_query_timeout(driver):
    slow = QueryLibrary(driver, timeout=0.5)
    with pytest.raises(QueryTimeout, match=r"query slow: timed out after 0\.5 s"):
        slow._fetch("slow", "UNWIND range(1, 400000000) AS x RETURN count(x) AS n", {})


def test_results_as_json_csv_and_table_cells(library):
    result = library.run("schema-history", {"dataset": RAW_CHURN})
    assert json.loads(result.to_json())["rows"][0]["version"] == 2
    parsed = list(csv.reader(io.StringIO(result.to_csv())))
    assert parsed[0] == result.columns and len(parsed) == 3
    assert json.loads(parsed[1][result.columns.index("removed")]) == ["monthly_charges"]
    cells = library.run("downstream", {"node": RAW_CHURN, "depth": 1}).cells(20)
    assert all(len(c) <= 20 for row in cells for c in row)


def test_the_queries_doc_is_in_step_with_the_library():
    with open(os.path.join(ROOT, DEFAULT_DOC)) as f:
        doc = f.read()
    assert regenerate(doc) == doc, "docs/queries.md is stale: run python -m graphstore.queries.doc"
    for q in QUERIES:
        shown = q.text({**q.example_params, "depth": 2}) if q.build and "// hop " in q.cypher else q.cypher
        assert f"### `{q.name}`" in doc and shown in doc
        example = doc.split(f"<!-- example:{q.name}:begin -->")[1].split(f"<!-- example:{q.name}:end -->")[0]
        assert example.strip(), f"docs/queries.md has no example result for {q.name}"


# --- the command line ---------------------------------------------------------------------------------


def cli(env, *args, timeout: float = 180):
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout, cwd=os.path.dirname(__file__))


def test_cli_lists_the_queries(graph):
    result = cli(graph.env, "query", "--list")
    assert result.returncode == 0, result.stderr
    for q in QUERIES:
        assert q.name in result.stdout
    assert "node (required), kind=auto, depth=6" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["query", "sideways"], "lineage-collector: query sideways: unknown query (queries: upstream, downstream"),
    (["query", "downstream"], "lineage-collector: query downstream: parameter node is required"),
    (["query", "downstream", "--param", f"node={RAW_CHURN}", "--param", "depth=13"],
     "lineage-collector: query downstream: parameter depth must be an integer between 1 and 12"),
    (["query", "downstream", "--param", "node"], "lineage-collector: query downstream: --param node is not NAME=VALUE"),
    (["query", "downstream", "--param", f"node={RAW_CHURN}", "--limit", "many"],
     "lineage-collector: query downstream: parameter limit must be an integer between 1 and 10000"),
    (["query", "runs", "--param", "since=yesterday"], "lineage-collector: query runs: parameter since must be"),
    (["query", "downstream", "--param", "node=no-such-node"],
     "lineage-collector: query downstream: no node matches node=no-such-node"),
    (["query", "downstream", "--param", f"node={RAW_CHURN}", "--format", "xml"],
     "lineage-collector: query downstream: --format must be table, json or csv"),
    (["query"], "lineage-collector: query: name a query"),
])
def test_cli_bad_input_exits_2_with_one_line(graph, args, message):
    result = cli(graph.env, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message) and "Traceback" not in result.stderr


def test_cli_json_is_stable_and_csv_and_table_read_back(graph):
    args = ["query", "downstream", "--param", f"node={RAW_CHURN}", "--param", "depth=8", "--format", "json"]
    first, second = cli(graph.env, *args), cli(graph.env, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    out = json.loads(first.stdout)
    assert list(out) == sorted(out) and out["query"] == "downstream" and out["params"]["kind"] == "dataset"
    assert {"churn-models/1"} <= {r["name"] for r in out["rows"] if r["kind"] == "ModelPackage"}
    runs = json.loads(cli(graph.env, "query", "runs", "--param", "pipeline=churn-training", "--format", "json").stdout)
    datetime.fromisoformat(runs["rows"][0]["started"])
    as_csv = cli(graph.env, "query", "exposure", "--format", "csv", "--limit", "2")
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(parsed) == 2 and parsed[0]["bucket"] == "acme-lake"
    table = cli(graph.env, "query", "schema-history", "--param", f"dataset={RAW_CHURN}")
    assert table.returncode == 0 and table.stdout.startswith("dataset") and table.stdout.rstrip().endswith("2 rows")
    assert "path" not in cli(graph.env, "query", "upstream", "--param", "node=churn-models/1", "--limit", "3").stdout


def test_node_kinds_are_documented():
    from graphstore.queries import KIND_HELP

    assert set(KIND_HELP) == set(NODE_KINDS) and query("downstream").param("kind").choices == ("auto", *NODE_KINDS)
