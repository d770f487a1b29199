"""The schema declares every node label and relationship; the writer refuses the rest; the doc is generated."""
from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from collector.sagemaker.transform import step_run_graph
from collector.sql.extract import extract_sql
from collector.sql.graph import sql_file_graph
from graphstore import schema
from graphstore.model import Graph
from graphstore.schema_doc import generated_section, graph_model_tables
from graphstore.writer import plan

DOC = Path(__file__).resolve().parents[1] / "docs" / "graph-model.md"


def _rel_graph(rel_type: str, start: str, end: str, merge_on: tuple[str, ...] = (), props=None) -> Graph:
    g = Graph()
    g.rel(rel_type, (start, "a"), (end, "b"), props or {p: "x" for p in merge_on}, merge_on=merge_on)
    return g


def test_every_declared_relationship_plans():
    g = Graph()
    for r in schema.RELATIONSHIPS:
        for start, end in product(r.start, r.end):
            g.rel(r.type, (start, "a"), (end, "b"), {p: "x" for p in r.identity}, merge_on=r.identity)
    assert len(plan(g)) == len({n.label for n in g.nodes.values()}) + len(g.rels)


@pytest.mark.parametrize("dialect, sql, pairing", [
    ("redshift", "UNLOAD ('SELECT a FROM t') TO 's3://out/u/' IAM_ROLE 'r'", ("Table", "Dataset")),
    ("snowflake", "COPY INTO t FROM 's3://in/c/'", ("Dataset", "Table")),
    ("spark", "INSERT OVERWRITE DIRECTORY 's3://out/d/' SELECT * FROM parquet.`s3://in/d/`", ("Dataset", "Dataset")),
])
def test_sql_lineage_through_s3_locations_is_declared(dialect, sql, pairing):
    graph = sql_file_graph(extract_sql(sql, dialect=dialect), "repo:f.sql")
    assert ("FEEDS",) + pairing in {(r.type, r.start[0], r.end[0]) for r in graph.rels.values()}
    plan(graph)


def test_an_endpoint_a_step_run_created_is_declared():
    execution = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/p/execution/e1"
    graph = step_run_graph(execution, {"StepName": "deploy", "StepStatus": "Succeeded", "Metadata": {
        "Endpoint": {"Arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn"}}})
    assert ("PRODUCES", "StepRun", "Endpoint") in {(r.type, r.start[0], r.end[0]) for r in graph.rels.values()}
    plan(graph)


def test_an_undeclared_relationship_type_is_rejected():
    with pytest.raises(ValueError, match=r"\(:Step\)-\[:CALLS\]->\(:Step\) is not declared.*no CALLS is declared"):
        plan(_rel_graph("CALLS", "Step", "Step"))


def test_a_declared_type_between_wrong_labels_is_rejected():
    with pytest.raises(ValueError, match=r"\(:Step\)-\[:HAS_STEP\]->\(:Pipeline\) is not declared"):
        plan(_rel_graph("HAS_STEP", "Step", "Pipeline"))  # reversed
    with pytest.raises(ValueError, match=r"declared FEEDS: .*\(:Column\)-\[:FEEDS \{file\}\]->\(:Column\)"):
        plan(_rel_graph("FEEDS", "Column", "Table", ("file",)))


@pytest.mark.parametrize("merge_on", [(), ("file",), ("name", "uri")])
def test_wrong_identity_properties_are_rejected(merge_on):
    with pytest.raises(ValueError, match=r"\(:Dataset\)-\[:FEEDS.*\]->\(:Step\) is not declared"):
        plan(_rel_graph("FEEDS", "Dataset", "Step", merge_on))


def test_undeclared_node_labels_are_rejected():
    g = Graph()
    g.node("Notebook", "n")
    with pytest.raises(ValueError, match="'Notebook' is not declared"):
        plan(g)
    g = Graph()
    g.node("Job", "arn:j", extra_labels=("LabelingJob",))
    with pytest.raises(ValueError, match="LabelingJob"):
        plan(g)


def test_declarations_are_consistent():
    labels = [n.label for n in schema.NODES]
    assert len(labels) == len(set(labels))
    for r in schema.RELATIONSHIPS:
        assert set(r.start) <= set(labels) and set(r.end) <= set(labels), r
        assert r.description and r.type.isupper(), r
    pairings = [(r.type, s, e) for r in schema.RELATIONSHIPS for s, e in product(r.start, r.end)]
    assert len(pairings) == len(set(pairings)), "a pairing is declared twice"
    assert {n.label: n.key for n in schema.NODES} == schema.NODE_KEYS
    assert ("FEEDS", "file") in schema.REL_INDEXES and len(schema.REL_INDEXES) == len(set(schema.REL_INDEXES))


def test_the_graph_model_doc_holds_the_generated_tables():
    section = generated_section(DOC.read_text())
    assert section == graph_model_tables(), (
        "docs/graph-model.md is out of step with graphstore/schema.py; "
        "regenerate it with `python -m graphstore.schema_doc docs/graph-model.md`")


def test_the_graph_model_doc_lists_properties_of_every_label():
    doc = DOC.read_text()
    properties = doc[doc.index("## Node properties"):].split("\n## ")[0]
    missing = [n.label for n in schema.NODES if f"| `{n.label}` |" not in properties]
    assert not missing, f"docs/graph-model.md, Node properties: no row for {missing}"
