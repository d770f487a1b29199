"""Every library query, as the library runs it, starts from an index or constraint seek and is bounded:
EXPLAIN on the test graph (tests/query_graph.py), then a walk of the plan's operators."""
from __future__ import annotations

import re

import pytest

from graphstore.queries import MAX_DEPTH, QUERIES, QueryLibrary
from tests.query_graph import module_graph

SEEKS = {"NodeUniqueIndexSeek", "NodeIndexSeek", "NodeIndexSeekByRange", "NodeUniqueIndexSeekByRange",
         "MultiNodeIndexSeek"}
# Leaves that start from something already found (an outer row, a subquery's argument).
NEUTRAL = {"Argument", "Projection"}  # Projection as a leaf: one row of constants (`WITH ... AS until`)
# Allowed only where a query declares why (Query.index_scans): a whole index read.
SCANS = {"NodeIndexScan", "NodeIndexContainsScan", "NodeIndexEndsWithScan"}
BOUNDED = ("StatefulShortestPath", "VarLengthExpand", "Trail", "Repeat", "ShortestPath", "BFSPruningVarExpand")


@pytest.fixture(scope="module")
def library(neo4j_server, driver, sim_server, tmp_path_factory):
    for _ in module_graph(neo4j_server, driver, sim_server, tmp_path_factory.mktemp("plan-graph")):
        # Plans as a graph in service gets them: index statistics sampled after the load, no plan cached
        # from the empty database of an earlier test.
        with driver.session() as session:
            session.run("CALL db.prepareForReplanning()").consume()
        yield QueryLibrary(driver, timeout=120)


def operators(plan):
    yield plan
    for child in plan.get("children", []):
        yield from operators(child)


def op_type(plan) -> str:
    return plan["operatorType"].split("@")[0]


def details(plan) -> str:
    return str((plan.get("args") or plan.get("arguments") or {}).get("Details", ""))


def variants(spec):
    """The example parameters, and for lineage texts every level at the least and the greatest depth."""
    yield dict(spec.example_params)
    names = {p.name for p in spec.params}
    if "depth" in names:
        for depth in (1, MAX_DEPTH):
            for level in (("all", "run", "definition") if "level" in names else (None,)):
                extra = {"depth": depth, **({"level": level} if level else {})}
                yield {**spec.example_params, **extra}
    if "pipeline" in names and not spec.param("pipeline").required:
        yield {**spec.example_params, "pipeline": None}
        yield {**spec.example_params, "pipeline": "churn-training"}


@pytest.mark.parametrize("spec", QUERIES, ids=lambda q: q.name)
def test_every_query_starts_from_an_index_seek_and_is_bounded(library, spec):
    scans_seen = set()
    for params in variants(spec):
        plan = library.explain(spec.name, params)
        leaves = [p for p in operators(plan) if not p.get("children")]
        kinds = {op_type(p) for p in leaves}
        assert kinds & (SEEKS | SCANS), f"{spec.name} {params}: no index read in {sorted(kinds)}"
        for leaf in leaves:
            kind = op_type(leaf)
            if kind in SEEKS or kind in NEUTRAL:
                continue
            assert kind in SCANS, f"{spec.name} {params}: starts from {kind} {details(leaf)}"
            index = re.search(r":(\w+)\((\w+)\)", details(leaf))
            assert index, details(leaf)
            name = f"{index[1]}({index[2]})"
            assert name in spec.index_scans, f"{spec.name}: undocumented {kind} of {name}"
            scans_seen.add(name)
        depth = params.get("depth") or MAX_DEPTH
        for op in operators(plan):
            if op_type(op).startswith(BOUNDED):
                text = details(op)
                bounds = [int(b) for b in re.findall(r"\{\d+, (\d+)\}", text) + re.findall(r"\*\d*\.\.(\d+)", text)]
                assert bounds, f"{spec.name}: {op_type(op)} without an upper bound: {details(op)[:200]}"
                assert max(bounds) <= depth, f"{spec.name} depth {depth}: {details(op)[:200]}"
    assert scans_seen == set(spec.index_scans), f"{spec.name}: documented scans not in the plan"


def test_the_walks_stop_at_the_depth_asked(library):
    """The variant for a depth has that literal bound: the search never goes deeper than asked."""
    plan = library.explain("exposure", {"depth": 3})
    searches = [details(op) for op in operators(plan) if op_type(op).startswith("StatefulShortestPath")]
    assert len(searches) == 4  # along the flow, then with one, two and three turns against it
    assert all(re.findall(r"\{\d+, (\d+)\}", d) and set(re.findall(r"\{\d+, (\d+)\}", d)) == {"3"}
               for d in searches)
    # Every predicate inlined: a non-inlined one would make the search enumerate paths.
    assert not [d for d in searches if "non-inlined" in d]


def test_the_breadth_first_walks_expand_one_level_per_hop(library):
    """downstream at depth 3: three levels, each expanding the previous level's nodes one relationship
    (never a variable-length expansion), each skipped once the limit is found."""
    plan = library.explain("downstream", {"node": "s3://acme-ml-data/churn/raw/", "depth": 3})
    ops = list(operators(plan))
    assert not [op for op in ops if op_type(op).startswith(("StatefulShortestPath", "VarLengthExpand"))]
    expands = [op for op in ops if op_type(op).startswith("Expand(All)")
               and re.search(r"FEEDS\|PRODUCES|RUN_OF\|STORED_AT", details(op))]
    assert len(expands) == 3 * 2  # per level: along the flow, and the turns against it
    text = library.prepare("downstream", {"node": "s3://acme-ml-data/churn/raw/", "depth": 3})[0].text(
        {"depth": 3, "level": "all"})
    assert text.count("size(found) < $limit") == 3
