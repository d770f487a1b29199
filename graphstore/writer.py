"""The one write path: batched `UNWIND $rows … MERGE` in managed transactions.

Nodes merge on their key alone, then SET; relationships merge between their (already
written) endpoints, plus any identity properties. A state (status-bearing properties) applies only
when it is as of a time not older than the stored one (graphstore.model: an event's own time, or
when a read from AWS was made); a stored state as of a time beyond now plus the allowed clock skew
is void (no accepted event can carry such a time), so any later write replaces it. Labels, types and identities come from code and
must be declared in graphstore.schema (checked once per group, not per row); every value travels
as a parameter.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from neo4j import Driver, ManagedTransaction, unit_of_work

from graphstore.model import Graph, Node, Rel, WriteStats
from graphstore.schema import (
    NODES,
    check_node,
    check_relationship,
    key_of,
    read_state_of,
    schema_statements,
    status_label,
    status_labels_of,
)

log = logging.getLogger(__name__)

_IDENT_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _ident(name: str) -> str:
    if not name or not set(name) <= _IDENT_OK or name[0].isdigit():
        raise ValueError(f"not a safe Cypher identifier: {name!r}")
    return name


def node_statement(label: str, extra_labels: Sequence[str], stateful: bool, relabel: str | None = None) -> str:
    """The MERGE of a group of nodes. `relabel` (rows whose state carries a status): the status label to
    give them, "" for a status without one; either way the node's other status labels go, and only
    where the state itself is applied, so an older status never relabels a node holding a newer one."""
    key = _ident(key_of(label))
    set_extra_labels = "".join(f" SET n:{_ident(x)}" for x in extra_labels)
    cypher = (
        f"UNWIND $rows AS r MERGE (n:{_ident(label)} {{{key}: r.key}}) "
        "ON CREATE SET n.first_seen = $now, n.source = $source "
        f"SET n += r.props, n.last_seen = $now{set_extra_labels}"
    )
    if stateful:
        # An older state never overwrites a newer one; equal time and rank re-apply the same values. "As of":
        # a read's observation time, else the state's own time (graphstore.model.Node.as_of).
        stored = "coalesce(n.state_observed_at, n.state_time)"
        cypher += (
            f" WITH n, r WHERE r.as_of IS NOT NULL AND (n.state_time IS NULL OR {stored} > $void_after"
            f" OR r.as_of > {stored} OR (r.as_of = {stored} AND r.state_rank >= coalesce(n.state_rank, 0)))"
            " SET n += r.state, n.state_time = r.state_time, n.state_rank = r.state_rank,"
            " n.state_observed_at = r.observed_at"
        )
        if relabel is not None:
            stale = [x for x in status_labels_of(label) if x != relabel]
            cypher += f" REMOVE n:{':'.join(_ident(x) for x in stale)}" if stale else ""
            cypher += f" SET n:{_ident(relabel)}" if relabel else ""
    return cypher


def rel_statement(rel_type: str, start_label: str, end_label: str, merge_on: Sequence[str]) -> str:
    skey, ekey = _ident(key_of(start_label)), _ident(key_of(end_label))
    identity = ", ".join(f"{_ident(p)}: r.id.{_ident(p)}" for p in merge_on)
    identity = f" {{{identity}}}" if identity else ""
    # Endpoints are matched, not merged: Graph.rel puts both into the graph, and a write sends every
    # node before any relationship (measured ~10% faster than MERGE with ON CREATE bookkeeping).
    return (
        f"UNWIND $rows AS r "
        f"MATCH (a:{_ident(start_label)} {{{skey}: r.start}}) "
        f"MATCH (b:{_ident(end_label)} {{{ekey}: r.end}}) "
        f"MERGE (a)-[x:{_ident(rel_type)}{identity}]->(b) "
        "ON CREATE SET x.first_seen = $now, x.source = $source "
        "SET x += r.props, x.last_seen = $now"
    )


def _node_row(node: Node) -> dict[str, Any]:
    row: dict[str, Any] = {"key": node.key, "props": node.props}
    if node.state:
        state = node.state
        if node.observed_at is not None:  # a read replaces the whole state: what it does not report is cleared
            cleared = read_state_of(node.label)
            if cleared:
                state = {**dict.fromkeys(cleared), **state}
        row.update(state=state, state_time=node.state_time, state_rank=node.state_rank,
                   observed_at=node.observed_at, as_of=node.as_of)
    return row


def _rel_row(rel: Rel) -> dict[str, Any]:
    return {"start": rel.start[1], "end": rel.end[1], "props": rel.props,
            "id": {p: rel.props.get(p) for p in rel.merge_on}}


def _relabel(node: Node) -> str | None:
    """What node_statement's `relabel` is for this node: None unless its state carries a status its label names."""
    if "status" not in node.state or not status_labels_of(node.label):
        return None
    return status_label(node.label, node.state["status"]) or ""


def plan(graph: Graph) -> list[tuple[str, list[dict[str, Any]]]]:
    """Group a graph into (statement, rows) pairs: all nodes first, then relationships.

    Nodes group by label, extra labels, whether they hold a state and the status label it gives (one
    statement per status present, never per row). Raises ValueError for a node label or relationship
    not declared in graphstore.schema.
    """
    node_groups: dict[tuple[str, tuple[str, ...], bool, str | None], list[dict[str, Any]]] = defaultdict(list)
    for node in graph.nodes.values():
        node_groups[(node.label, node.extra_labels, bool(node.state), _relabel(node))].append(_node_row(node))
    rel_groups: dict[tuple[str, str, str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    for rel in graph.rels.values():
        rel_groups[(rel.type, rel.start[0], rel.end[0], rel.merge_on)].append(_rel_row(rel))
    for label, extra_labels, _, _ in node_groups:
        check_node(label, extra_labels)
    for group in rel_groups:
        check_relationship(*group)
    work = [(node_statement(*k), rows) for k, rows in node_groups.items()]
    work += [(rel_statement(*k), rows) for k, rows in rel_groups.items()]
    return work


def status_label_backfill() -> list[str]:
    """Idempotent statements giving a status label to each node whose status has one but that has none:
    graphs written before status labels existed (a stored terminal run is never written again)."""
    statements = []
    for node in NODES:
        if not node.status_labels:
            continue
        labels = [_ident(x) for x in node.status_labels]
        statuses = ", ".join(f"'{x}'" for x in labels)
        unlabelled = " OR ".join(f"n:{x}" for x in labels)
        set_one = " ".join(f"FOREACH (_ IN CASE WHEN n.status = '{x}' THEN [1] ELSE [] END | SET n:{x})" for x in labels)
        statements.append(f"MATCH (n:{_ident(node.label)}) WHERE n.status IN [{statuses}] AND NOT ({unlabelled}) "
                          f"CALL (n) {{ {set_one} }} IN TRANSACTIONS OF 10000 ROWS")
    # Endpoints written before they had a name (the name index finds an endpoint by name)
    statements.append("MATCH (n:Endpoint) WHERE n.name IS NULL CALL (n) { SET n.name = last(split(n.arn, '/')) } "
                      "IN TRANSACTIONS OF 10000 ROWS")
    return statements


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


class GraphWriter:
    """Writes Graph objects to Neo4j. One instance per process; thread-safe (the driver is)."""

    def __init__(self, driver: Driver, database: str | None = None, batch_size: int = 1000,
                 max_clock_skew_seconds: float = 300.0, timeout_seconds: float | None = None) -> None:
        self.driver = driver
        self.database = database
        self.batch_size = batch_size
        # Stored states as of a time beyond now plus this are void (LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS).
        self.max_clock_skew = timedelta(seconds=max_clock_skew_seconds)
        # Each write transaction is ended by the server after this (LINEAGE_WRITE_TIMEOUT_SECONDS): a hung
        # write fails as an outage, to be retried, instead of holding its messages for ever.
        self._run_batch = unit_of_work(timeout=timeout_seconds)(_run_batch) if timeout_seconds else _run_batch

    def ensure_schema(self) -> int:
        """Constraints and indexes (returns how many), then status labels on nodes written before they existed."""
        statements = schema_statements()
        with self.driver.session(database=self.database) as session:
            for statement in statements:
                session.run(statement).consume()
            for statement in status_label_backfill():
                session.run(statement).consume()
        return len(statements)

    def write(self, graph: Graph, source: str | None = None, now: datetime | None = None, *,
              finish: Callable[[ManagedTransaction], Any] | None = None) -> WriteStats:
        """Write a graph in as few transactions as the batch size allows (one when it fits).

        `finish` runs at the end of the last transaction, after the graph's rows, so dependent
        updates (read-modify-write on nodes just merged) commit atomically with them.
        """
        started = time.perf_counter()
        stats = WriteStats()
        if not len(graph) and finish is None:
            return stats
        void_after = datetime.now(timezone.utc) + self.max_clock_skew  # the real clock, whatever `now` says
        now = now or datetime.now(timezone.utc)
        work = plan(graph)
        # Pack statements into transactions of about batch_size rows each; nodes stay before relationships.
        tx_batches: list[list[tuple[str, list[dict[str, Any]]]]] = [[]]
        filled = 0
        for statement, rows in work:
            for chunk in _chunks(rows, self.batch_size):
                if filled and filled + len(chunk) > self.batch_size:
                    tx_batches.append([])
                    filled = 0
                tx_batches[-1].append((statement, chunk))
                filled += len(chunk)
        with self.driver.session(database=self.database) as session:
            for i, batch in enumerate(tx_batches):
                last = i == len(tx_batches) - 1
                stats.finish_result = session.execute_write(self._run_batch, batch, now, source, void_after,
                                                            finish if last else None)
                stats.transactions += 1
        stats.nodes = len(graph.nodes)
        stats.relationships = len(graph.rels)
        for node in graph.nodes.values():
            stats.by_label[node.label] += 1
        stats.seconds = time.perf_counter() - started
        return stats



def _run_batch(tx: ManagedTransaction, batch: list[tuple[str, list[dict[str, Any]]]], now: datetime,
               source: str | None, void_after: datetime, finish: Callable[[ManagedTransaction], Any] | None) -> Any:
    for statement, rows in batch:
        tx.run(statement, rows=rows, now=now, source=source, void_after=void_after).consume()
    return finish(tx) if finish else None
