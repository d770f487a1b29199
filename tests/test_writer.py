"""The one write path against a real Neo4j: idempotent MERGE, ordered state, batching, safe values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from graphstore.model import Graph
from graphstore.writer import GraphWriter

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def one(driver, query, **params):
    records, _, _ = driver.execute_query(query, params)
    return records[0].data() if records else None


def test_merge_is_idempotent_and_tracks_first_and_last_seen(neo4j):
    writer = GraphWriter(neo4j)
    g = Graph()
    p = g.node("Pipeline", "arn:p", {"name": "p"})
    s = g.node("Step", "arn:p/a", {"name": "a"})
    g.rel("HAS_STEP", p, s)
    g.rel("PRECEDES", s, g.node("Step", "arn:p/b"), {"via": "dependsOn"}, merge_on=("via",))
    g.rel("PRECEDES", s, ("Step", "arn:p/b"), {"via": "ref:Get"}, merge_on=("via",))
    writer.write(g, source="test", now=T0)
    writer.write(g, source="test", now=T0 + timedelta(hours=1))
    counts = one(neo4j, "MATCH (n) WITH count(n) AS n MATCH ()-[r]->() RETURN n, count(r) AS r")
    assert counts == {"n": 3, "r": 3}
    node = one(neo4j, "MATCH (p:Pipeline) RETURN p.first_seen AS f, p.last_seen AS l, p.source AS s")
    assert node["f"].to_native() == T0 and node["l"].to_native() == T0 + timedelta(hours=1)
    assert node["s"] == "test"
    rel = one(neo4j, "MATCH ()-[r:HAS_STEP]->() RETURN r.first_seen AS f, r.last_seen AS l")
    assert rel["f"].to_native() == T0 and rel["l"].to_native() == T0 + timedelta(hours=1)


def _execution(status: str, at: datetime, rank: int) -> Graph:
    g = Graph()
    g.node("PipelineExecution", "arn:e", {"pipeline_arn": "arn:p"}, state={"status": status},
           state_time=at, state_rank=rank)
    return g


def test_an_older_state_never_overwrites_a_newer_one(neo4j):
    writer = GraphWriter(neo4j)
    writer.write(_execution("Succeeded", T0 + timedelta(minutes=5), 2))
    writer.write(_execution("Executing", T0, 0))  # late, older event
    assert one(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s")["s"] == "Succeeded"
    writer.write(_execution("Executing", T0 + timedelta(minutes=5), 0))  # same time, lower rank
    assert one(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s")["s"] == "Succeeded"
    writer.write(_execution("Executing", T0 + timedelta(minutes=9), 0))  # genuinely newer (a retry)
    assert one(neo4j, "MATCH (e:PipelineExecution) RETURN e.status AS s")["s"] == "Executing"


def test_keys_with_odd_characters_are_stored_verbatim(neo4j):
    weird = "s3://bucket/it's `odd` {x} $y \\ 名前/ space/"
    g = Graph()
    g.node("Dataset", weird, {"note": "' OR 1=1 //"})
    GraphWriter(neo4j).write(g)
    assert one(neo4j, "MATCH (d:Dataset) RETURN d.uri AS u, d.note AS n") == {"u": weird, "n": "' OR 1=1 //"}


def test_batches_split_into_transactions(neo4j):
    g = Graph()
    for i in range(2500):
        g.node("Dataset", f"s3://b/{i}/")
    stats = GraphWriter(neo4j, batch_size=1000).write(g)
    assert stats.transactions == 3 and stats.nodes == 2500
    assert one(neo4j, "MATCH (d:Dataset) RETURN count(d) AS n")["n"] == 2500


def test_labels_must_be_in_the_schema(neo4j):
    g = Graph()
    g.node("Evil`) DETACH DELETE n //", "x")
    with pytest.raises(ValueError):
        GraphWriter(neo4j).write(g)


def test_schema_is_idempotent(neo4j):
    writer = GraphWriter(neo4j)
    writer.ensure_schema()
    writer.ensure_schema()
    constraints = one(neo4j, "SHOW CONSTRAINTS YIELD name RETURN count(name) AS n")["n"]
    from graphstore.schema import NODE_KEYS

    assert constraints == len(NODE_KEYS)
