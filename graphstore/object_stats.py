"""Dataset object statistics: the read-modify-write statements the batched MERGE path cannot express.

Each runs inside a caller's write transaction (so the statistics commit with the graph write that
made their Dataset nodes). A writer locks the nodes first (`object_stats_lock`), so the fingerprint it
compares is read after any other writer committed; `object_stats_hash` stamps what was written last.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from neo4j import Driver, ManagedTransaction

from graphstore.connection import as_outage

T = TypeVar("T")

STATS_PROPERTIES = ("object_count", "object_count_base", "object_window", "last_modified", "last_object_key",
                    "last_object_size", "last_object_action")

_APPLY_IF_UNCHANGED = (
    "UNWIND $rows AS r MATCH (d:Dataset {uri: r.uri}) "
    "SET d.object_stats_lock = true "
    "WITH d, r, d.object_stats_hash = r.expected AS unchanged "
    "REMOVE d.object_stats_lock "
    "WITH d, r, unchanged WHERE unchanged "
    "SET d += r.props RETURN d.uri AS uri"
)
_READ_LOCKED = (
    "UNWIND $uris AS u MATCH (d:Dataset {uri: u}) SET d.object_stats_lock = true "
    "RETURN d.uri AS uri, d.object_count AS object_count, d.object_count_base AS object_count_base, "
    "d.object_window AS object_window, d.last_modified AS last_modified, d.last_object_key AS last_object_key, "
    "d.last_object_size AS last_object_size, d.last_object_action AS last_object_action"
)
_WRITE = "UNWIND $rows AS r MATCH (d:Dataset {uri: r.uri}) SET d += r.props REMOVE d.object_stats_lock"


def apply_if_unchanged(tx: ManagedTransaction, rows: list[dict[str, Any]]) -> list[str]:
    """Rows {uri, expected (fingerprint), props}: set props where the node still holds `expected`;
    returns the URIs written."""
    return [record["uri"] for record in tx.run(_APPLY_IF_UNCHANGED, rows=rows)]


def read_locked(tx: ManagedTransaction, uris: list[str]) -> dict[str, dict[str, Any]]:
    """Lock these Dataset nodes and read their statistics (datetimes as Python datetimes)."""
    out = {}
    for row in tx.run(_READ_LOCKED, uris=uris).data():
        modified = row.get("last_modified")
        row["last_modified"] = modified.to_native() if modified is not None and hasattr(modified, "to_native") else modified
        out[row["uri"]] = row
    return out


def write_unlock(tx: ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Rows {uri, props}: set props (may be empty) and release the lock `read_locked` took."""
    tx.run(_WRITE, rows=rows).consume()


def in_write_transaction(driver: Driver, database: str | None, work: Callable[[ManagedTransaction], T]) -> T:
    with as_outage(), driver.session(database=database) as session:
        return session.execute_write(work)
