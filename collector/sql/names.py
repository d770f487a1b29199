"""Table names as graph keys: the dialect's case rules, qualified as far as the file says
(`USE db` qualifies later unqualified names; session-temporary tables stay unqualified)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers


def dialect_of(name: str | None) -> Dialect:
    return Dialect.get_or_raise(name or "")


def unknown_dialect(name: str | None) -> str | None:
    """None for a dialect sqlglot knows; else one line naming the closest known dialects."""
    if not name:
        return None
    try:
        Dialect.get_or_raise(name)
        return None
    except ValueError:
        known = sorted(str(d) for d in Dialect.classes if d)
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
        return f"unknown SQL dialect {name!r}; {hint}"


def normalize_name(name: str, dialect: Dialect) -> str:
    """One identifier (a column or a name part) by the dialect's case rules, as written when quoted."""
    ident = exp.to_identifier(name)
    return dialect.normalize_identifier(ident).name if ident is not None else name


def normalize_dotted(name: str, dialect: Dialect) -> str:
    """A table name from settings or --schema ("Db.Orders") in the dialect's case rules."""
    try:
        table = exp.to_table(name, dialect=dialect)
    except Exception:
        return name
    parts = [p for p in table.parts if isinstance(p, exp.Identifier)]
    return ".".join(dialect.normalize_identifier(p.copy()).name for p in parts) or name


@dataclass
class Namer:
    """Turns exp.Table nodes into graph names for one file (one SQL session)."""

    dialect: Dialect
    catalog: str | None = None
    db: str | None = None
    temporary: set[str] = field(default_factory=set)

    def use(self, node: exp.Use) -> None:
        target = node.this
        if not isinstance(target, exp.Table):
            return
        parts = [self.dialect.normalize_identifier(p.copy()).name for p in target.parts]
        kind = node.args.get("kind")
        kind = kind.name.upper() if isinstance(kind, exp.Expression) else ""
        if kind in ("WAREHOUSE", "ROLE", "SECONDARY ROLES"):
            return
        snowflake_database = kind == "DATABASE" and "snowflake" in type(self.dialect).__name__.lower()
        if kind == "CATALOG" or snowflake_database:
            self.catalog, self.db = parts[-1], None
        elif len(parts) >= 2:
            self.catalog, self.db = parts[-2], parts[-1]
        else:
            self.db = parts[0]

    def snapshot(self) -> Namer:
        return Namer(self.dialect, self.catalog, self.db, set(self.temporary))

    def name(self, table: exp.Table) -> str | None:
        """The graph name of a real table; None for a function, a location or an unnamed table."""
        if not isinstance(table.this, exp.Identifier):
            return None
        parts = [self.dialect.normalize_identifier(p.copy()).name
                 for p in (table.args.get("catalog"), table.args.get("db"), table.this)
                 if isinstance(p, exp.Identifier)]
        if not parts or not parts[-1]:
            return None
        if len(parts) == 1:
            if table.this.args.get("temporary"):  # T-SQL #name
                return "#" + parts[0]
            if parts[0] in self.temporary or parts[0].startswith("#"):
                return parts[0]
            if self.db:
                parts = [self.db] + parts
                if self.catalog:
                    parts = [self.catalog] + parts
        elif len(parts) == 2 and self.catalog and self.db:
            pass  # db.table is what the file says; a USE of another db does not change it
        return ".".join(parts)


def location_of(node: exp.Expr | None) -> str | None:
    """A storage location literal ('s3://...', a path) from a COPY/UNLOAD/INSERT DIRECTORY target."""
    if node is None:
        return None
    if isinstance(node, exp.Directory):
        node = node.this
    if isinstance(node, exp.Table):
        if isinstance(node.this, exp.Var) and node.this.name.startswith("@"):
            return node.this.name  # a Snowflake stage
        if isinstance(node.this, exp.Identifier) and node.this.quoted and \
                ("://" in node.this.name or node.this.name.startswith("/")):
            return node.this.name  # Spark/Databricks path tables: parquet.`s3://...`, delta.`/mnt/...`
        if isinstance(node.this, exp.Literal):
            node = node.this
    if isinstance(node, exp.Literal) and node.is_string:
        value = node.name.strip()
        return value or None
    return None


def normalized(expression: exp.Expr, dialect: Dialect) -> exp.Expr:
    return normalize_identifiers(expression, dialect=dialect)
