"""What the graph already holds for Git/SQL lineage (so a sync parses only changed files), the column
schemas SQL lineage can use, and retirement of a file's edges when it changes or disappears."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from neo4j import Driver

# Lineage edges that a SQL file defines carry `file` (the SqlFile key) and `blob` (the content version).
_FILE_EDGES = ("FEEDS", "STORED_AT")


@dataclass
class RepoState:
    head: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # path -> blob sha of current (not retired) files


class SqlState:
    def __init__(self, driver: Driver, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = self.driver.execute_query(query, params, database_=self.database, routing_="r")
        return [r.data() for r in records]

    def _write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = self.driver.execute_query(query, params, database_=self.database)
        return [r.data() for r in records]

    def repo(self, url: str) -> RepoState:
        rows = self._read(
            "OPTIONAL MATCH (r:Repo {url: $url}) "
            "OPTIONAL MATCH (f:SqlFile {repo: $url}) WHERE coalesce(f.retired, false) = false AND f.blob IS NOT NULL "
            "RETURN r.head AS head, collect([f.path, f.blob]) AS files", url=url)
        row = rows[0] if rows else {}
        return RepoState(row.get("head"), {p: b for p, b in row.get("files") or [] if p is not None})

    def retire_file_edges(self, versions: Iterable[tuple[str, str | None]]) -> int:
        """Delete edges of these files that an older version defined; blob None: the file is gone, all go."""
        rows = [{"key": key, "blob": blob} for key, blob in versions]
        if not rows:
            return 0
        deleted = 0
        for rel_type in _FILE_EDGES:
            deleted += self._write(
                f"UNWIND $rows AS row MATCH ()-[r:{rel_type}]->() WHERE r.file = row.key "
                "AND (row.blob IS NULL OR coalesce(r.blob, '') <> row.blob) "
                "DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]
        deleted += self._write(
            "UNWIND $rows AS row MATCH (:SqlFile {key: row.key})-[r:DEFINES|READS]->() "
            "WHERE row.blob IS NULL OR coalesce(r.blob, '') <> row.blob "
            "DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]
        return deleted

    def table_columns(self, tables: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
        """Known columns per table: Column nodes SQL lineage wrote, and the latest S3 schema of the
        dataset a table is stored at (SchemaVersion `columns`: JSON list of names or {name, type})."""
        names = sorted(set(tables)) if tables is not None else None
        if names == []:
            return {}
        out: dict[str, dict[str, str]] = {}
        where = "WHERE t.name IN $names " if names is not None else ""
        for row in self._read(
                f"MATCH (t:Table) {where}"
                "OPTIONAL MATCH (t)-[:STORED_AT]->(:Dataset)-[:HAS_SCHEMA {current: true}]->(s:SchemaVersion) "
                "WITH t, head(collect(s.columns)) AS stored "
                "OPTIONAL MATCH (c:Column {table: t.name}) "
                "RETURN t.name AS table, stored, collect(c.name) AS columns", names=names or []):
            columns = _decode_columns(row.get("stored"))
            for name in row.get("columns") or []:
                columns.setdefault(name, "")
            if columns:
                out[row["table"]] = columns
        return out

    def pipelines(self) -> list[dict[str, Any]]:
        """Pipelines whose definitions and tags can reference SQL files."""
        return self._read("MATCH (p:Pipeline) WHERE coalesce(p.retired, false) = false "
                          "RETURN p.arn AS arn, p.definition AS definition, p.tags AS tags")

    def sql_files(self) -> list[dict[str, Any]]:
        return self._read("MATCH (f:SqlFile)-[:IN]->(r:Repo) WHERE coalesce(f.retired, false) = false "
                          "RETURN f.key AS key, f.path AS path, r.url AS repo, r.name AS repo_name")

    def retire_step_links(self, keep: Iterable[tuple[str, str]]) -> int:
        """Delete Step -[:RUNS]-> SqlFile links not in `keep` [(step key, file key)]."""
        rows = [{"step": s, "file": f} for s, f in keep]
        return self._write(
            "MATCH (s:Step)-[r:RUNS]->(f:SqlFile) "
            "WHERE NOT {step: s.key, file: f.key} IN $rows DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]


def _decode_columns(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    out: dict[str, str] = {}
    if isinstance(value, dict):
        return {str(k): str(v or "") for k, v in value.items()}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out[item] = ""
        elif isinstance(item, dict) and item.get("name"):
            out[str(item["name"])] = str(item.get("type") or "")
    return out
