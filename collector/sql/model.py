"""What the SQL extractor returns: plain data, JSON-ready through `as_dict`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ColumnLineage:
    target: str  # "table.column"
    sources: list[str]  # ["table.column", ...]; "table.*" when a star could not be expanded

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "sources": self.sources}


@dataclass
class StatementLineage:
    index: int
    sql_kind: str  # "create_table_as", "insert", "merge", ... or "none" for statements without lineage
    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    error: str | None = None
    line: int = 1  # first line of the statement in the file
    temporary: list[str] = field(default_factory=list)  # targets that live only in the session
    locations: dict[str, str] = field(default_factory=dict)  # table -> storage location given in the SQL
    unresolved: list[str] = field(default_factory=list)  # columns whose source tables are unknown
    defines: dict[str, list[str]] = field(default_factory=dict)  # table -> the columns this statement gives it
    dropped: list[str] = field(default_factory=list)  # DROP TABLE/VIEW names

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index, "sql_kind": self.sql_kind, "sources": self.sources,
            "targets": self.targets, "columns": [c.as_dict() for c in self.columns], "error": self.error,
            "line": self.line,
        }
        if self.locations:
            out["locations"] = self.locations
        if self.unresolved:
            out["unresolved"] = self.unresolved
        if self.dropped:
            out["dropped"] = self.dropped
        return out


@dataclass
class FileLineage:
    path: str
    dialect: str | None
    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    intermediates: list[str] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    statements: list[StatementLineage] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the file as a whole (e.g. templating) failed

    @property
    def errors(self) -> list[str]:
        found = [f"statement {s.index} (line {s.line}): {s.error}" for s in self.statements if s.error]
        return ([self.error] if self.error else []) + found

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "sources": self.sources, "targets": self.targets,
            "intermediates": self.intermediates, "columns": [c.as_dict() for c in self.columns],
            "statements": [s.as_dict() for s in self.statements],
        }
        if self.locations:
            out["locations"] = self.locations
        if self.error:
            out["error"] = self.error
        return out
