"""Column-level lineage of one query: each output column with the table columns it is computed from.

sqlglot's optimizer qualifies the query (every column gets its table; `*` expands where the
schema is known), then a memoised walk over sqlglot's scopes follows each projection through
aliases, expressions, CTEs, derived tables, scalar subqueries, set operations and UDTFs
(lateral views, UNNEST, FLATTEN) down to real tables. Each (scope, column) is resolved once,
so the work is linear in the query's size; a deadline stops pathological statements.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from collector.sql.names import Namer, location_of

Schema = dict[str, dict[str, str]]  # table name -> {column: type ("" when unknown)}


class BudgetExceeded(Exception):
    pass


@dataclass
class QueryColumns:
    outputs: list[tuple[str, list[str]]] = field(default_factory=list)  # (output column, sorted sources)
    unresolved: list[str] = field(default_factory=list)  # output columns with a source we could not place
    error: str | None = None


def _synthetic(query: exp.Expr, namer: Namer, ctes: set[str]) -> dict[str, str]:
    """Rename real tables to one-part quoted placeholders (keeping their aliases) so one flat schema
    serves names of any depth; returns placeholder -> real name."""
    names: dict[str, str] = {}
    by_real: dict[str, str] = {}
    for table in list(query.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or location_of(table):
            continue
        if not table.args.get("db") and table.name in ctes:
            continue
        real = namer.name(table)
        if not real:
            continue
        placeholder = by_real.setdefault(real, f"__lt{len(by_real)}")
        names[placeholder] = real
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name, quoted=True)))
        table.set("catalog", None)
        table.set("db", None)
        table.set("this", exp.to_identifier(placeholder, quoted=True))
    return names


def query_columns(query: exp.Expr, namer: Namer, schema: Schema, ctes: set[str],
                  budget_seconds: float = 2.0) -> QueryColumns:
    deadline = time.perf_counter() + budget_seconds
    dialect: Dialect = namer.dialect
    query = query.copy()
    names = _synthetic(query, namer, ctes)
    flat: dict[str, object] = {ph: {c: (t or "UNKNOWN") for c, t in schema[real].items()}
                               for ph, real in names.items() if schema.get(real)}
    result = QueryColumns()
    written = _expression_names(query, dialect)
    query = _qualified(query, dialect, flat)
    try:
        root = build_scope(query)
    except Exception as exc:
        result.error = f"no column lineage: {type(exc).__name__}: {exc}"
        return result
    if root is None:
        return result
    resolver = _Resolver(names, deadline)
    try:
        for position, (name, projection) in enumerate(_projections(root)):
            name = written.get(position, name) if written is not None else name
            sources = resolver.output(root, position)
            result.outputs.append((name, sorted(sources)))
            if resolver.unresolved_hit or isinstance(projection, exp.Star) or (
                    isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                result.unresolved.append(name)
                resolver.unresolved_hit = False
    except BudgetExceeded:
        result.error = f"column lineage stopped after {budget_seconds:g}s (statement too complex)"
    except RecursionError:
        result.error = "column lineage stopped: query nested too deeply"
    except Exception as exc:  # a construct the scope walk does not know: keep what was resolved
        result.error = f"column lineage incomplete: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return result


def _expression_names(query: exp.Expr, dialect: Dialect) -> dict[int, str] | None:
    """Names for output columns that are expressions without an alias: the expression as sqlglot
    writes it in the dialect (`a + b`, `MAX(c)`), in place of the optimizer's `_col_N`. None when a
    star makes positions unknowable before expansion."""
    select = query
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this
    if not isinstance(select, exp.Select):
        return {}
    names: dict[int, str] = {}
    for position, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column)
                                                and isinstance(projection.this, exp.Star)):
            return None
        if not isinstance(projection, (exp.Alias, exp.Column)) and not projection.alias:
            names[position] = projection.sql(dialect=dialect)
    return names


def _qualified(query: exp.Expr, dialect: Dialect, flat: dict[str, object]) -> exp.Expr:
    """Qualify columns; when sqlglot cannot (unknown schemas with ambiguous names), retry more
    leniently, and in the end keep the query as it is: columns with one possible source still resolve,
    the others are reported as unresolved."""
    mapping = MappingSchema(flat, dialect=dialect, normalize=False) if flat else None
    for expand_alias_refs in (True, False):
        try:
            return qualify(query.copy(), dialect=dialect, schema=mapping, validate_qualify_columns=False,
                           quote_identifiers=False, identify=False, allow_partial_qualification=True,
                           expand_alias_refs=expand_alias_refs)
        except Exception:
            continue
    return query


def _left_select(scope: Scope) -> exp.Expr:
    node = scope.expression
    while isinstance(node, exp.SetOperation):
        node = node.this
    while isinstance(node, exp.Subquery):
        node = node.this
    return node


def _projections(scope: Scope) -> list[tuple[str, exp.Expr]]:
    select = _left_select(scope)
    if not isinstance(select, exp.Select):
        return []
    out: list[tuple[str, exp.Expr]] = []
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Star) or (isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)):
            table = inner.table if isinstance(inner, exp.Column) else ""
            out.append((f"{table}.*" if table else "*", inner))
        else:
            out.append((projection.alias_or_name, projection))
    return out


_UDTF = (exp.Unnest, exp.Lateral, exp.UDTF)


def _udtf_outputs(source: exp.Table | Scope) -> set[str] | None:
    """Column names a UNNEST / LATERAL VIEW / FLATTEN source produces; None for other sources."""
    if not isinstance(source, Scope) or not isinstance(source.expression, _UDTF):
        return None
    alias = source.expression.args.get("alias")
    if not isinstance(alias, exp.TableAlias):
        return set()
    names = {c.name for c in alias.columns}
    return names or {alias.name}  # BigQuery `UNNEST(arr) AS e`: e is the element


def _only_source(scope: Scope, name: str) -> exp.Table | Scope | None:
    """The one source an unqualified column can come from when sqlglot could not qualify it: the UDTF
    that produces it, else the single source that is not a UDTF."""
    candidates = [source for _, source in scope.selected_sources.values()]
    if len(candidates) == 1:
        return candidates[0]
    producing = [s for s in candidates if name in (_udtf_outputs(s) or set())]
    if len(producing) == 1:
        return producing[0]
    others = [s for s in candidates if _udtf_outputs(s) is None]
    return others[0] if len(others) == 1 else None


class _Resolver:
    def __init__(self, names: dict[str, str], deadline: float) -> None:
        self.names = names
        self.deadline = deadline
        self.memo: dict[tuple[int, str | int], frozenset[str]] = {}
        self.unresolved_hit = False

    def output(self, scope: Scope, key: str | int) -> frozenset[str]:
        memo_key = (id(scope), key)
        cached = self.memo.get(memo_key)
        if cached is not None:
            return cached
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded
        self.memo[memo_key] = frozenset()  # a recursive CTE reaching itself adds nothing new
        result = frozenset(self._output(scope, key))
        self.memo[memo_key] = result
        return result

    def _output(self, scope: Scope, key: str | int) -> set[str]:
        node = scope.expression
        if isinstance(node, exp.SetOperation) or scope.set_operation_scopes:
            position = key if isinstance(key, int) else self._position(scope, key)
            if position is None:
                return set()
            out: set[str] = set()
            for branch in scope.set_operation_scopes:
                out |= self.output(branch, position)
            return out
        if not isinstance(node, exp.Select):  # a UDTF scope: LATERAL VIEW, UNNEST, FLATTEN ...
            return self.expression(scope, node)
        projections = _projections(scope)
        if isinstance(key, int):
            if key >= len(projections):
                return set()
            _, projection = projections[key]
        else:
            match = [p for n, p in projections if n == key]
            if not match:
                stars = [p for n, p in projections if n.endswith("*")]
                if stars:  # the column comes through an unexpanded star
                    return self.star(scope, stars[0], key)
                return set()
            projection = match[0]
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column)
                                                and isinstance(projection.this, exp.Star)):
            return self.star(scope, projection, None)
        return self.expression(scope, projection)

    def _position(self, scope: Scope, name: str) -> int | None:
        for position, (n, _) in enumerate(_projections(scope)):
            if n == name:
                return position
        return None

    def expression(self, scope: Scope, node: exp.Expr) -> set[str]:
        subqueries = {id(s.expression): s for s in scope.subquery_scopes}
        out: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, exp.Column):
                if not isinstance(current.this, exp.Star):
                    out |= self.column(scope, current)
                continue
            inner = current.this if isinstance(current, exp.Subquery) else current
            if current is not node and isinstance(inner, (exp.Select, exp.SetOperation)):
                sub = subqueries.get(id(inner)) or subqueries.get(id(current))
                if sub is not None:
                    out |= self.output(sub, 0)
                continue
            stack.extend(current.iter_expressions())
        return out

    def column(self, scope: Scope, column: exp.Column) -> set[str]:
        table = column.table
        source = None
        current: Scope | None = scope
        if table:
            while current is not None and source is None:
                source = current.sources.get(table)
                if source is None:
                    current = current.parent
        else:
            source = _only_source(scope, column.name)
            if source is None and not isinstance(scope.expression, exp.Select) and scope.parent is not None:
                return self.column(scope.parent, column)  # inside UNNEST(...) / LATERAL VIEW explode(...)
            current = scope
        if source is None or current is None:
            self.unresolved_hit = True
            return set()
        return self.source_column(current, source, column.name)

    def source_column(self, scope: Scope, source: exp.Table | Scope, name: str) -> set[str]:
        if isinstance(source, Scope):
            return set(self.output(source, name))
        if isinstance(source, exp.Table):
            real = self.names.get(source.name)
            if real:
                return {f"{real}.{name}"}
        return set()

    def star(self, scope: Scope, star: exp.Expr, column: str | None) -> set[str]:
        """Sources of an unexpanded `*` / `t.*` (or of one named column that flows through it)."""
        table = star.table if isinstance(star, exp.Column) else ""
        selected = scope.selected_sources
        chosen = [selected[table][1]] if table and table in selected else [s for _, s in selected.values()]
        out: set[str] = set()
        for source in chosen:
            if column is not None:
                out |= self.source_column(scope, source, column)
            elif isinstance(source, Scope):
                for position, _ in enumerate(_projections(source)):
                    out |= self.output(source, position)
            elif isinstance(source, exp.Table) and source.name in self.names:
                out.add(f"{self.names[source.name]}.*")
        return out
