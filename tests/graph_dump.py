"""A canonical dump of the whole graph, for comparing two graphs apart from bookkeeping times."""
from __future__ import annotations

from typing import Any

from neo4j import Driver

from graphstore.schema import NODE_KEYS

VOLATILE = {"last_seen", "first_seen", "state_observed_at", "listed_at"}  # when a read from AWS was made


def _plain(value: Any) -> Any:
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _props(props: dict[str, Any], ignore: set[str]) -> tuple:
    return tuple(sorted((k, repr(_plain(v))) for k, v in props.items() if k not in ignore))


def _key(labels: list[str], props: dict[str, Any]) -> tuple[str, str]:
    label = next(name for name in sorted(labels) if name in NODE_KEYS)
    return label, str(props.get(NODE_KEYS[label]))


def dump(driver: Driver, ignore: set[str] = VOLATILE) -> tuple[list, list]:
    nodes, _, _ = driver.execute_query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN labels(a) AS al, properties(a) AS ap, type(r) AS type, "
        "properties(r) AS rp, labels(b) AS bl, properties(b) AS bp")
    node_rows = sorted((tuple(sorted(r["labels"])), _key(r["labels"], r["props"]), _props(r["props"], ignore))
                       for r in nodes)
    rel_rows = sorted((_key(r["al"], r["ap"]), r["type"], _key(r["bl"], r["bp"]), _props(r["rp"], ignore))
                      for r in rels)
    return node_rows, rel_rows


def counts(driver: Driver) -> dict[str, int]:
    records, _, _ = driver.execute_query(
        "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n ORDER BY label")
    return {r["label"]: r["n"] for r in records}
