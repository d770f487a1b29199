"""Schemas as plain data: columns from Arrow schemas, a canonical fingerprint, and diffs. Pure."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str  # nested struct fields as dotted paths: address.zip
    type: str  # Arrow's type string: int64, string, timestamp[ms, tz=UTC], list<element: int64>
    nullable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


def columns_of(schema: pa.Schema) -> list[Column]:
    """Leaf columns in order; struct children flatten to dotted paths (lists and maps stay whole)."""
    out: list[Column] = []

    def visit(f: pa.Field, prefix: str, parent_nullable: bool) -> None:
        name = f"{prefix}{f.name}"
        nullable = f.nullable or parent_nullable
        if pa.types.is_struct(f.type) and f.type.num_fields:
            for i in range(f.type.num_fields):
                visit(f.type.field(i), f"{name}.", nullable)
        else:
            out.append(Column(name, str(f.type), nullable))

    for f in schema:
        visit(f, "", False)
    return out


def fingerprint(columns: Iterable[Column]) -> str:
    """Canonical: (name, type, nullable) in order. 16 hex digits (64 bits) keep keys readable."""
    canonical = json.dumps([[c.name, c.type, c.nullable] for c in columns], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def columns_json(columns: Iterable[Column]) -> str:
    return json.dumps([c.as_dict() for c in columns], separators=(",", ":"))


def columns_from_json(text: str | None) -> list[Column]:
    if not text:
        return []
    try:
        return [Column(c["name"], c["type"], bool(c.get("nullable", True))) for c in json.loads(text)]
    except (TypeError, ValueError, KeyError):
        return []


@dataclass
class SchemaDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    type_changed: list[dict[str, str]] = field(default_factory=list)  # {name, from, to}
    nullability_changed: list[dict[str, Any]] = field(default_factory=list)  # {name, from, to}
    reordered: bool = False

    @property
    def drift_kinds(self) -> list[str]:
        """Changes that break readers: a removed column, or a type change other than from `null`
        (a column that was all empty in the older sample and got a type once values arrived)."""
        kinds = []
        if self.removed:
            kinds.append("removed")
        if any(change["from"] != "null" for change in self.type_changed):
            kinds.append("type_changed")
        return kinds

    @property
    def drift(self) -> bool:
        return bool(self.drift_kinds)

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        for change in self.type_changed:
            parts.append(f"{change['name']}: {change['from']} -> {change['to']}")
        for change in self.nullability_changed:
            parts.append(f"{change['name']}: {'nullable' if change['to'] else 'required'}")
        if self.reordered:
            parts.append("columns reordered")
        return "; ".join(parts) or "no change"


def diff(old: list[Column], new: list[Column]) -> SchemaDiff:
    before = {c.name: c for c in old}
    after = {c.name: c for c in new}
    result = SchemaDiff(
        added=[c.name for c in new if c.name not in before],
        removed=[c.name for c in old if c.name not in after],
    )
    for c in new:
        prior = before.get(c.name)
        if prior is None:
            continue
        if prior.type != c.type:
            result.type_changed.append({"name": c.name, "from": prior.type, "to": c.type})
        if prior.nullable != c.nullable:
            result.nullability_changed.append({"name": c.name, "from": prior.nullable, "to": c.nullable})
    common_before = [c.name for c in old if c.name in after]
    common_after = [c.name for c in new if c.name in before]
    result.reordered = common_before != common_after
    return result
