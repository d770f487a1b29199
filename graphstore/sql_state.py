"""What the graph already holds for Git/SQL lineage (so a sync parses only changed files), the column
schemas SQL lineage can use, and retirement of a file's edges when it changes or disappears."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphstore.reader import Reader

# Lineage edges that a SQL file defines carry `file` (the SqlFile key) and `parsed_at` (the head sha
# of the sync that parsed the file): a later parse retires the edges it did not write again.
_FILE_EDGES = ("FEEDS", "STORED_AT")


@dataclass
class RepoState:
    head: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # path -> blob sha of current (not retired) files
    commits: dict[str, str] = field(default_factory=dict)  # path -> the last commit that changed it


class SqlState(Reader):
    def repo(self, url: str) -> RepoState:
        rows = self._read(
            "OPTIONAL MATCH (r:Repo {url: $url}) "
            "OPTIONAL MATCH (f:SqlFile {repo: $url}) WHERE coalesce(f.retired, false) = false AND f.blob IS NOT NULL "
            "RETURN r.head AS head, collect([f.path, f.blob, f.commit]) AS files", url=url)
        row = rows[0] if rows else {}
        files = [f for f in row.get("files") or [] if f[0] is not None]
        return RepoState(row.get("head"), {p: b for p, b, _ in files}, {p: c for p, _, c in files if c})

    def files_reading(self, url: str, tables: Iterable[str]) -> list[str]:
        """Paths of current files of a repository that read any of these tables."""
        names = sorted(set(tables))
        if not names:
            return []
        return [r["path"] for r in self._read(
            "MATCH (f:SqlFile {repo: $url})-[:READS]->(t:Table) WHERE t.name IN $names "
            "AND coalesce(f.retired, false) = false RETURN DISTINCT f.path AS path", url=url, names=names)]

    def retire_file_edges(self, versions: Iterable[tuple[str, str | None]]) -> int:
        """Delete edges of these files not written by the parse at `parsed_at`; None: the file is gone."""
        rows = [{"key": key, "parsed": parsed} for key, parsed in versions]
        if not rows:
            return 0
        deleted: int = 0  # Cypher count(): an int
        for rel_type in _FILE_EDGES:
            deleted += self._write(
                f"UNWIND $rows AS row MATCH ()-[r:{rel_type}]->() WHERE r.file = row.key "
                "AND (row.parsed IS NULL OR coalesce(r.parsed_at, '') <> row.parsed) "
                "DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]
        deleted += self._write(
            "UNWIND $rows AS row MATCH (:SqlFile {key: row.key})-[r:DEFINES|READS]->() "
            "WHERE row.parsed IS NULL OR coalesce(r.parsed_at, '') <> row.parsed "
            "DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]
        return deleted

    def retire_moved_locations(self, current: Iterable[tuple[str, str]]) -> int:
        """(table, dataset URI) pairs just read from the settings or Glue: the table's earlier STORED_AT edges of
        those origins to other datasets go (a table whose location changed moves)."""
        rows = [{"table": table, "dataset": uri} for table, uri in current]
        if not rows:
            return 0
        found = self._write(
            "UNWIND $rows AS row MATCH (:Table {name: row.table})-[r:STORED_AT]->(d:Dataset) "
            "WHERE r.via IN ['settings', 'glue'] AND d.uri <> row.dataset DELETE r RETURN count(r) AS n", rows=rows)
        return int(found[0]["n"]) if found else 0

    def table_columns(self, tables: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
        """Known columns per table: Column nodes SQL lineage wrote, and the latest S3 schema of the
        dataset a table is stored at (SchemaVersion `columns`: JSON list of names or {name, type})."""
        names = sorted(set(tables)) if tables is not None else None
        if names == []:
            return {}
        out: dict[str, dict[str, str]] = {}
        for row in self._read(
                "MATCH (t:Table) WHERE $all OR t.name IN $names "
                "OPTIONAL MATCH (t)-[:STORED_AT]->(:Dataset)-[:HAS_SCHEMA {current: true}]->(s:SchemaVersion) "
                "WITH t, head(collect(s.columns)) AS stored "
                "OPTIONAL MATCH (c:Column {table: t.name}) "
                "RETURN t.name AS table, t.columns AS defined, stored, collect(c.name) AS seen",
                names=names or [], all=names is None):
            # The columns SQL created the table with; else the stored data's schema; else columns seen in lineage.
            columns = {c: "" for c in row.get("defined") or []} or _decode_columns(row.get("stored")) \
                or {c: "" for c in row.get("seen") or []}
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
        deleted: int = self._write(
            "MATCH (s:Step)-[r:RUNS]->(f:SqlFile) "
            "WHERE NOT {step: s.key, file: f.key} IN $rows DELETE r RETURN count(r) AS n", rows=rows)[0]["n"]
        return deleted


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
