"""The one base of every graph reader: read queries on a read replica, small writes on the leader.

Cypher text is constant; values travel as parameters. A Neo4j outage surfaces as `Neo4jOutage`
(graphstore.connection), so callers can tell "the store is down, hold and retry" from a bad query.
"""
from __future__ import annotations

from typing import Any

from neo4j import Driver

from graphstore.connection import as_outage


class Reader:
    def __init__(self, driver: Driver, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with as_outage():
            records, _, _ = self.driver.execute_query(query, params, database_=self.database, routing_="r")
        return [r.data() for r in records]

    def _write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with as_outage():
            records, _, _ = self.driver.execute_query(query, params, database_=self.database)
        return [r.data() for r in records]
