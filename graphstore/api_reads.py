"""The reads of the HTTP API (jobs/api): the views with a transaction timeout on every read, and the
inventory, pipeline pages, domain members and dataset schemas in the shapes the earlier tools' API gave.

Reads only, from Neo4j only.
"""
from __future__ import annotations

import json
from typing import Any

from neo4j import READ_ACCESS, Driver, Query, RoutingControl
from neo4j.exceptions import ClientError

from graphstore.connection import as_outage
from graphstore.queries.library import plain
from graphstore.views import Views


class ReadTimeout(TimeoutError):
    """A read ran past its transaction timeout."""


_LIVE = "coalesce(p.retired, false) = false"

DOMAINS = """
MATCH (d:Domain) WHERE $regions IS NULL OR d.region IN $regions
RETURN d.region AS region, d.id AS id, d.name AS name ORDER BY region, name, id
"""

PIPELINES = f"""
MATCH (p:Pipeline) WHERE {_LIVE} AND ($regions IS NULL OR p.region IN $regions)
OPTIONAL CALL (p) {{ MATCH (p)-[:IN_DOMAIN]->(d:Domain) RETURN d.name AS domain LIMIT 1 }}
RETURN p.region AS region, p.name AS name, p.arn AS arn, p.last_modified AS last_modified, p.tags AS tags,
       coalesce(domain, p.domain_name) AS domain
ORDER BY region, name, arn SKIP $offset LIMIT $limit
"""

PIPELINE_COUNT = f"""
MATCH (p:Pipeline) WHERE {_LIVE} AND ($regions IS NULL OR p.region IN $regions) RETURN count(p) AS total
"""

DOMAIN_PIPELINES = f"""
MATCH (p:Pipeline) WHERE {_LIVE} AND ($region IS NULL OR p.region = $region)
  AND (p.domain_name = $domain OR EXISTS {{ (p)-[:IN_DOMAIN]->(d:Domain) WHERE d.name = $domain OR d.id = $domain }})
RETURN p.name AS name, p.region AS region ORDER BY name, region
"""

SCHEMA_VERSIONS = """
MATCH (d:Dataset) WHERE d.uri IN [$uri, $uri + '/']
OPTIONAL MATCH (d)-[h:HAS_SCHEMA]->(v:SchemaVersion)
WITH d, h, v ORDER BY v.version DESC
RETURN d.uri AS dataset, d.schema_id AS current,
       collect(CASE WHEN v IS NULL THEN null ELSE v {.id, .version, .fingerprint, .format, .columns, .column_count,
         .observed_at, .object, .row_count, .drift, .drift_kinds, .added, .removed, .change_summary,
         current: coalesce(h.current, false)} END) AS versions
LIMIT 1
"""


def _loads(text: Any, empty: Any) -> Any:
    if not text:
        return empty
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return empty


class ApiReads(Views):
    """Views whose every read runs in a read transaction with `timeout` seconds at most."""

    def __init__(self, driver: Driver, database: str | None = None, timeout: float = 15.0) -> None:
        super().__init__(driver, database)
        self.timeout = timeout

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        try:
            with as_outage():
                records, _, _ = self.driver.execute_query(Query(query, timeout=self.timeout), params,
                                                          database_=self.database, routing_=RoutingControl.READ)
        except ClientError as exc:
            if "TransactionTimedOut" in (exc.code or ""):
                raise ReadTimeout(f"read timed out after {self.timeout:g} s") from None
            raise
        return [r.data() for r in records]

    def ping(self) -> None:
        """`RETURN 1` in one auto-commit read within the timeout, no retries (fails fast); raises when Neo4j
        does not answer."""
        with self.driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            session.run(Query("RETURN 1", timeout=self.timeout)).consume()

    def _pipeline_json(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"name": row["name"], "arn": row["arn"], "lastModifiedTime": plain(row["last_modified"]),
                "tags": _loads(row["tags"], {}), "matchedDomain": row["domain"]}

    def api_inventory(self, regions: list[str] | None) -> dict[str, Any]:
        """{"regions": [{"region", "domains": [{"DomainId", "DomainName"}], "pipelines": [...]}]}"""
        wanted = regions or None
        out: dict[str, dict[str, Any]] = {r: {"region": r, "domains": [], "pipelines": []} for r in regions or []}
        for d in self._read(DOMAINS, regions=wanted):
            region = out.setdefault(d["region"] or "unknown", {"region": d["region"] or "unknown", "domains": [],
                                                               "pipelines": []})
            region["domains"].append({"DomainId": d["id"], "DomainName": d["name"]})
        for p in self._read(PIPELINES, regions=wanted, offset=0, limit=1_000_000):
            region = out.setdefault(p["region"] or "unknown", {"region": p["region"] or "unknown", "domains": [],
                                                               "pipelines": []})
            region["pipelines"].append(self._pipeline_json(p))
        return {"regions": [out[r] for r in sorted(out)]}

    def pipeline_page(self, region: str | None, limit: int, offset: int) -> dict[str, Any]:
        regions = [region] if region else None
        total = self._read(PIPELINE_COUNT, regions=regions)[0]["total"]
        rows = self._read(PIPELINES, regions=regions, offset=offset, limit=limit)
        following = offset + len(rows)
        return {"region": region, "total": total, "limit": limit, "offset": offset,
                "nextOffset": following if following < total else None,
                "pipelines": [{**self._pipeline_json(r), "region": r["region"]} for r in rows]}

    def domain_pipelines(self, region: str | None, domain: str) -> list[dict[str, Any]]:
        return self._read(DOMAIN_PIPELINES, region=region, domain=domain)

    def schema_versions(self, uri: str) -> dict[str, Any] | None:
        """The dataset (its URI as stored, the current schema's id) and its schema versions, newest first;
        None when the graph holds no such dataset."""
        rows = self._read(SCHEMA_VERSIONS, uri=uri)
        if not rows:
            return None
        row = rows[0]
        versions = []
        for v in row["versions"]:
            versions.append({
                "id": v["id"], "version": v["version"], "current": v["current"], "fingerprint": v["fingerprint"],
                "format": v["format"], "columns": _loads(v["columns"], []), "columnCount": v["column_count"],
                "observedAt": plain(v["observed_at"]), "object": v["object"], "rowCount": v["row_count"],
                "drift": v["drift"], "driftKinds": v["drift_kinds"], "added": v["added"], "removed": v["removed"],
                "change": v["change_summary"],
            })
        return {"dataset": row["dataset"], "current": row["current"], "versions": versions}
