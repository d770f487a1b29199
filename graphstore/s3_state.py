"""What the graph knows about S3 datasets, schemas, buckets and report-bearing step runs.

Reads only; every write goes through graphstore.writer.GraphWriter.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphstore.reader import Reader
from graphstore.state import TERMINAL_STEP


def _native(value: Any) -> Any:
    return value.to_native() if hasattr(value, "to_native") else value


@dataclass
class RescanTarget:
    uri: str
    newest_object: str | None = None
    newest_object_etag: str | None = None
    newest_object_time: datetime | None = None


@dataclass
class ReportCandidate:
    step_run: str
    status: str | None
    metrics: dict[str, Any]
    has_property_files: bool
    outputs: list[dict[str, str]] = field(default_factory=list)  # {name, uri, dataset}


class S3State(Reader):
    def lineage_datasets(self, uris: Iterable[str]) -> set[str]:
        """Which of these URIs are datasets a step or job reads or writes (exact key lookups)."""
        uris = sorted(set(uris))
        if not uris:
            return set()
        rows = self._read("UNWIND $uris AS u MATCH (d:Dataset {uri: u}) "
                          "WHERE EXISTS { (d)-[:FEEDS|PRODUCES]-() } RETURN d.uri AS uri", uris=uris)
        return {r["uri"] for r in rows}

    def schemas(self, uris: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Dataset URI -> {uri, current (schema id), newest, etag, time, format, versions: [{id, fingerprint,
        version, columns, observed_at, object, first_seen_object}]} for the datasets the graph holds."""
        rows = self._read(
            "UNWIND $uris AS u MATCH (d:Dataset {uri: u}) "
            "OPTIONAL MATCH (d)-[:HAS_SCHEMA]->(v:SchemaVersion) "
            "WITH d, collect(v {.id, .fingerprint, .version, .columns, .observed_at, .object, .first_seen_object}) AS versions "
            "RETURN d.uri AS uri, d.schema_id AS current, d.newest_object AS newest, d.newest_object_etag AS etag, "
            "d.newest_object_time AS time, d.format AS format, versions", uris=sorted(set(uris)))
        for row in rows:
            row["time"] = _native(row["time"])
            for version in row["versions"]:
                version["observed_at"] = _native(version.get("observed_at"))
        return {row["uri"]: row for row in rows}

    def posture_checked(self, buckets: Iterable[str]) -> dict[str, datetime | None]:
        rows = self._read("UNWIND $names AS n OPTIONAL MATCH (b:Bucket {name: n}) "
                          "RETURN n AS name, b.posture_checked_at AS checked", names=sorted(set(buckets)))
        return {r["name"]: _native(r["checked"]) for r in rows}

    def stale_buckets(self, cutoff: datetime, limit: int = 1000) -> list[str]:
        rows = self._read("MATCH (b:Bucket) WHERE b.posture_checked_at IS NULL OR b.posture_checked_at < $cutoff "
                          "RETURN b.name AS name ORDER BY b.name LIMIT $limit", cutoff=cutoff, limit=limit)
        return [r["name"] for r in rows]

    def datasets_to_rescan(self, cutoff: datetime, limit: int) -> list[RescanTarget]:
        """Concrete datasets not looked at since `cutoff`: first those never scanned or handed back by a stopping
        worker since their last scan (`schema_read_due`), then the longest unscanned."""
        rows = self._read(
            "MATCH (d:Dataset) WHERE NOT d.uri CONTAINS '{' AND coalesce(d.templated, false) = false "
            "WITH d, d.scanned_at IS NULL OR coalesce(d.scanned_at < d.schema_read_due, false) AS due "
            "WHERE due OR d.scanned_at < $cutoff "
            "RETURN d.uri AS uri, d.newest_object AS newest, d.newest_object_etag AS etag, d.newest_object_time AS time "
            "ORDER BY due DESC, d.scanned_at, d.uri LIMIT $limit", cutoff=cutoff, limit=limit)
        return [RescanTarget(r["uri"], r["newest"], r["etag"], _native(r["time"])) for r in rows]

    def report_candidates(self, execution_arns: list[str] | None, limit: int) -> list[ReportCandidate]:
        """Terminal step runs not yet checked for evaluation reports, with the data they wrote."""
        rows = self._read(
            "MATCH (r:StepRun) WHERE ($arns IS NULL OR r.execution_arn IN $arns) "
            "AND r.status IN $terminal AND r.reports_checked_at IS NULL "
            "WITH r LIMIT $limit "
            "OPTIONAL MATCH (r)-[:RUN_OF]->(s:Step) "
            "OPTIONAL MATCH (r)-[:RAN_AS]->(j:Job) "
            "OPTIONAL CALL (r, j) { "
            "  MATCH (r)-[p:PRODUCES]->(d:Dataset) RETURN p.name AS name, p.uri AS uri, d.uri AS dataset "
            "  UNION MATCH (j)-[p:PRODUCES]->(d:Dataset) RETURN p.name AS name, p.uri AS uri, d.uri AS dataset } "
            "RETURN r.key AS key, r.status AS status, r.metrics AS metrics, "
            "s.property_files IS NOT NULL AS has_property_files, "
            "collect({name: name, uri: uri, dataset: dataset}) AS outputs",
            arns=execution_arns, terminal=TERMINAL_STEP, limit=limit)
        return [ReportCandidate(r["key"], r["status"], _loads(r["metrics"]), r["has_property_files"],
                                [o for o in r["outputs"] if o.get("uri")]) for r in rows]

    def producers(self, dataset_uris: Iterable[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Dataset -> the step runs that wrote it (directly or through their job), with their metrics."""
        rows = self._read(
            "UNWIND $uris AS u MATCH (d:Dataset {uri: u})<-[:PRODUCES]-(x) WHERE x:StepRun OR x:Job "
            "OPTIONAL MATCH (viaJob:StepRun)-[:RAN_AS]->(x) "
            "WITH u, CASE WHEN x:StepRun THEN x ELSE viaJob END AS r WHERE r IS NOT NULL "
            "RETURN DISTINCT u AS dataset, r.key AS key, r.metrics AS metrics", uris=sorted(set(dataset_uris)))
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for r in rows:
            out.setdefault(r["dataset"], []).append((r["key"], _loads(r["metrics"])))
        return out


def _loads(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
