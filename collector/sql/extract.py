"""SQL text -> table- and column-level lineage, per statement and per file.

A file is one SQL session: statements run in order, `USE` qualifies later names, temporary
tables live only inside it. Several files (a folder, a dbt project, a repo) are processed in
dependency order so that the columns a model creates are known when a later model reads it
with `SELECT *`. A statement that does not parse is reported with its error; the rest go on.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import ErrorLevel

from collector.sql.columns import Schema, query_columns
from collector.sql.model import ColumnLineage, FileLineage, StatementLineage
from collector.sql.names import Namer, dialect_of, normalize_dotted, normalize_name, normalized
from collector.sql.split import Chunk, resplit, split_statements
from collector.sql.statements import Analysis, Target, _cte_names, analyze
from collector.sql.template import needs_rendering, render

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is reported per statement

CREATES = {"create_table_as", "create_view", "select_into", "dbt_model", "cache_table_as"}


@dataclass
class SqlSource:
    path: str
    text: str


@dataclass
class _Statement:
    index: int
    line: int
    tree: exp.Expr | None
    analysis: Analysis | None
    error: str | None = None
    namer: Namer | None = None  # the session's naming state right after this statement


@dataclass
class Prepared:
    """A file parsed and analysed at table level; column lineage comes later, in dependency order."""
    path: str
    namer: Namer
    statements: list[_Statement] = field(default_factory=list)
    error: str | None = None

    def writes(self) -> set[str]:
        return {t.name for s in self.statements if s.analysis for t in s.analysis.targets if not t.temporary}

    def reads(self) -> set[str]:
        return {n for s in self.statements if s.analysis for n in s.analysis.sources}


def _parse(chunk: Chunk, text: str, dialect: Dialect) -> exp.Expr | None:
    try:
        if chunk.tokens is not None:
            trees = dialect.parser(error_level=ErrorLevel.RAISE).parse(chunk.tokens, text)
        else:
            trees = sqlglot.parse(chunk.sql, read=dialect, error_level=ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as first_error:
        if isinstance(dialect, TSQL) and _COMPOUND_ASSIGNMENT.search(chunk.sql):
            return _parse_compound_assignments(chunk, dialect, first_error)
        if not isinstance(dialect, Athena):
            raise
        return _parse_as_hive(chunk, first_error)
    trees = [t for t in trees if t is not None]
    if trees and isinstance(dialect, Athena) and isinstance(trees[0], exp.Command):
        try:
            return _parse_as_hive(chunk, None) or trees[0]
        except sqlglot.errors.ParseError:
            return trees[0]
    return trees[0] if trees else None


# T-SQL's `SET col += expr` (and -=, *=, /=, %=, &=, |=, ^=), which sqlglot does not parse: a name, then the
# operator and `=` (not `==`); `<=`, `>=` and `!=` are not matched.
_COMPOUND_ASSIGNMENT = re.compile(r"((?:\[[^\]]*\]|[\w@#$.\"])+)\s*([-+*/%&|^])=(?!=)")


def _parse_compound_assignments(chunk: Chunk, dialect: Dialect, error: Exception) -> exp.Expr | None:
    """`SET a += b` read as `SET a = a + b`, which is what it does; the first error when that fails too."""
    try:
        trees = sqlglot.parse(_COMPOUND_ASSIGNMENT.sub(r"\1 = \1 \2", chunk.sql), read=dialect,
                              error_level=ErrorLevel.RAISE)
    except sqlglot.errors.ParseError:
        raise error from None
    trees = [t for t in trees if t is not None]
    return trees[0] if trees else None


def _parse_as_hive(chunk: Chunk, error: Exception | None) -> exp.Expr | None:
    """Athena runs queries on Trino and DDL on Hive, and Hive-style SQL (backquoted names) is common in Athena
    repositories: what Trino's grammar rejects, or takes only as a command, is read with Hive's before it
    counts as an error (the Trino error, when Hive fails too)."""
    try:
        trees = [t for t in sqlglot.parse(chunk.sql, read="hive", error_level=ErrorLevel.RAISE) if t is not None]
    except sqlglot.errors.ParseError:
        if error is not None:
            raise error from None
        raise
    if not trees or isinstance(trees[0], exp.Command):
        if error is not None:
            raise error
        return None
    return trees[0]


def _parses(tokens: list[Any], text: str, dialect: Dialect) -> str:
    try:
        trees = dialect.parser(error_level=ErrorLevel.RAISE).parse(tokens, text)
    except Exception:
        return "fail"
    if len(trees) != 1:
        return "fail"
    return "command" if isinstance(trees[0], exp.Command) else "ok"


def _error_text(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {message[:300]}"


def prepare(source: SqlSource, dialect: str | None = None, variables: Mapping[str, Any] | None = None) -> Prepared:
    d = dialect_of(dialect)
    prepared = Prepared(source.path, Namer(d))
    text = source.text
    model = None
    if needs_rendering(text):
        rendered = render(text, model_name=PurePosixPath(source.path).stem, variables=dict(variables or {}))
        text, model, prepared.error = rendered.sql, rendered.model, rendered.error
    dbt_model_used = False
    pending = split_statements(text, d)
    pending.reverse()
    while pending:
        chunk = pending.pop()
        statement = _Statement(len(prepared.statements), chunk.line, None, None)
        try:
            try:
                tree = _parse(chunk, text, d)
                failure: Exception | None = None
            except Exception as exc:
                tree, failure = None, exc
            if failure is not None or isinstance(tree, exp.Command):
                pieces = resplit(chunk, text, lambda tokens: _parses(tokens, text, d))
                if len(pieces) > 1:
                    pending.extend(reversed(pieces))  # statements of a T-SQL batch without semicolons
                    continue
                if failure is not None:
                    raise failure
            if tree is None:
                continue
            tree = normalized(tree, d)
            statement.tree = tree
            use_model = model if (model and not dbt_model_used) else None
            statement.analysis = analyze(tree, prepared.namer, use_model)
            if statement.analysis.kind == "command":
                statement.error = f"unsupported statement in dialect {dialect or 'sqlglot'}: {chunk.sql[:80]!r}"
            statement.namer = prepared.namer.snapshot()
            if statement.analysis.kind == "dbt_model":
                dbt_model_used = True
        except Exception as exc:  # a statement that does not parse must not stop the file
            statement.error = _error_text(exc)
        prepared.statements.append(statement)
    return prepared


def normalize_schema(raw: Mapping[str, Any] | None, dialect: str | None) -> Schema:
    """--schema JSON: {table: [columns]} or {table: {column: type}} (nested {db: {table: ...}} too)."""
    d = dialect_of(dialect)
    out: Schema = {}

    def visit(prefix: list[str], value: Any) -> None:
        if isinstance(value, list):
            out[normalize_dotted(".".join(prefix), d)] = {normalize_name(str(c), d): "" for c in value}
        elif isinstance(value, Mapping):
            if value and all(isinstance(v, str) for v in value.values()):
                out[normalize_dotted(".".join(prefix), d)] = {normalize_name(str(c), d): str(t)
                                                             for c, t in value.items()}
            else:
                for name, inner in value.items():
                    visit(prefix + [str(name)], inner)

    for name, value in (raw or {}).items():
        visit([str(name)], value)
    return out


def finish(prepared: Prepared, schema: Schema, column_lineage: bool = True,
           budget_seconds: float = 2.0) -> FileLineage:
    """Column lineage (using and extending `schema`) and the file-level view."""
    namer = prepared.namer
    result = FileLineage(prepared.path, namer.dialect.__class__.__name__.lower(), error=prepared.error)
    for statement in prepared.statements:
        lineage = StatementLineage(statement.index, "none", line=statement.line, error=statement.error)
        analysis = statement.analysis
        if analysis is not None:
            lineage.sql_kind = analysis.kind
            lineage.sources = list(analysis.sources)
            lineage.targets = [t.name for t in analysis.targets]
            lineage.temporary = [t.name for t in analysis.targets if t.temporary]
            lineage.locations = {t.name: t.location for t in analysis.targets if t.location}
            lineage.dropped = list(analysis.dropped)
            _update_schema(analysis, schema, lineage)
            if analysis.renamed and column_lineage:
                _renamed_columns(analysis.renamed, schema, lineage)
            parts = analysis.column_parts or ([(analysis.targets[0], analysis.query)]
                                              if analysis.query is not None and analysis.targets else [])
            tree = statement.tree
            if column_lineage and tree is not None:
                for target, query in parts:
                    if target.is_location:
                        continue
                    try:
                        _columns(lineage, analysis, target, query, tree, statement.namer or namer, schema,
                                 budget_seconds)
                    except Exception as exc:  # never lose the table-level lineage to a column-level failure
                        lineage.error = lineage.error or f"column lineage failed: {_error_text(exc)}"
        result.statements.append(lineage)
    _file_view(result)
    return result


def _update_schema(analysis: Analysis, schema: Schema, lineage: StatementLineage) -> None:
    for target in analysis.targets:
        if target.defined_columns:
            schema[target.name] = {c: "" for c in target.defined_columns}
        elif analysis.like and schema.get(analysis.like):
            schema[target.name] = dict(schema[analysis.like])
        else:
            continue
        lineage.defines[target.name] = list(schema[target.name])


def _renamed_columns(renamed: tuple[str, str], schema: Schema, lineage: StatementLineage) -> None:
    old, new = renamed
    if schema.get(old):
        schema[new] = dict(schema[old])
        lineage.defines[new] = list(schema[new])
        lineage.columns = [ColumnLineage(f"{new}.{c}", [f"{old}.{c}"]) for c in schema[new]]


def _columns(lineage: StatementLineage, analysis: Analysis, target: Target, query: exp.Expr,
             tree: exp.Expr, namer: Namer, schema: Schema, budget_seconds: float) -> None:
    found = query_columns(query, namer, schema, _cte_names(tree, namer), budget_seconds)
    if found.error and not found.outputs:
        lineage.error = lineage.error or found.error
        return
    if found.error:
        lineage.error = lineage.error or found.error
    outputs = found.outputs
    names = [name for name, _ in outputs]
    known = list(schema.get(target.name, {}))
    if target.columns:
        names = target.columns[: len(outputs)]
    elif analysis.kind in ("insert", "insert_overwrite") and not analysis.by_name and known \
            and not any(n.endswith("*") for n in names) and len(known) == len(outputs):
        names = known  # INSERT without a column list fills the table's columns by position
    for name, (output, sources) in zip(names, outputs, strict=False):  # fewer names than outputs: the rest unnamed
        column = f"{target.name}.{name}" if not name.startswith(("*", ".")) else f"{target.name}.*"
        if output.endswith("*"):
            column = f"{target.name}.*"
        lineage.columns.append(ColumnLineage(column, [s for s in sources if s != column]))
    lineage.unresolved += found.unresolved
    if analysis.kind in CREATES and not any(n.endswith("*") for n in names):
        schema[target.name] = {n: "" for n in names}
        lineage.defines[target.name] = list(names)


# Statements whose reads are the other side of a write (each table both gives and takes rows): at file
# level their tables are targets, never sources or intermediates.
_BOTH_WAYS = {"swap", "exchange_partition"}


def transient_tables(result: FileLineage) -> set[str]:
    """Tables that do not outlive the file: session-temporary ones, and tables the file writes and
    then drops or renames away. Their columns are collapsed into what reads them."""
    transient = {t for s in result.statements for t in s.temporary}
    written: set[str] = set()
    for statement in result.statements:
        if statement.sql_kind == "rename" and statement.sources and statement.sources[0] in written:
            transient.add(statement.sources[0])
        transient.update(t for t in statement.dropped if t in written)
        written.update(statement.targets)
    return transient


def _file_view(result: FileLineage) -> None:
    """File-level sources/targets/intermediates, and column lineage with transient tables collapsed
    (what a transient table's column held is substituted where it is read)."""
    written: dict[str, None] = {}
    sources: dict[str, None] = {}
    intermediates: dict[str, None] = {}
    for statement in result.statements:
        for name in [] if statement.sql_kind in _BOTH_WAYS else statement.sources:
            if name in written:
                intermediates[name] = None
            else:
                sources[name] = None
        for name in statement.targets:
            written[name] = None
        for name in statement.dropped:
            if name in written:
                intermediates[name] = None  # created here and dropped: a working table
        result.locations.update(statement.locations)
    result.sources = list(sources)
    result.intermediates = list(intermediates)
    result.targets = [t for t in written if t not in intermediates]
    transient = transient_tables(result)
    columns: dict[str, dict[str, None]] = {}
    for edge_target, edge_sources in collapsed_column_edges(result, transient):
        columns.setdefault(edge_target, {}).update(dict.fromkeys(edge_sources))
    for statement in result.statements:  # a temporary table nothing reads back is itself a target
        for column in statement.columns:
            if _table_of(column.target, result.targets) in transient and column.target not in columns:
                columns[column.target] = dict.fromkeys(column.sources)
    result.columns = [ColumnLineage(t, sorted(s)) for t, s in columns.items()]


def _table_of(column: str, tables: Iterable[str]) -> str | None:
    for table in tables:
        if column.startswith(table + "."):
            return table
    return None


def collapsed_column_edges(result: FileLineage, temporary: set[str]) -> list[tuple[str, list[str]]]:
    """(target column, source columns) per statement in order, with temporary tables' columns
    replaced by what they were computed from at that point of the file."""
    defined: dict[str, set[str]] = {}  # temp column -> its (already collapsed) sources
    edges: list[tuple[str, list[str]]] = []
    temps = sorted(temporary, key=len, reverse=True)
    for statement in result.statements:
        for column in statement.columns:
            expanded: set[str] = set()
            for source in column.sources:
                table = _table_of(source, temps)
                if table is None:
                    expanded.add(source)
                elif source.endswith(".*"):
                    expanded |= {s for c, srcs in defined.items() if c.startswith(table + ".") for s in srcs}
                else:
                    expanded |= defined.get(source, set()) or defined.get(f"{table}.*", set())
            target_table = _table_of(column.target, temps)
            if target_table is not None:
                defined[column.target] = expanded
            else:
                edges.append((column.target, sorted(expanded)))
    return edges


def extract_sources(sources: Iterable[SqlSource], dialect: str | None = None, schema: Schema | None = None,
                    column_lineage: bool = True, budget_seconds: float = 2.0,
                    variables: Mapping[str, Any] | None = None,
                    schema_for: Callable[[set[str]], Schema] | None = None) -> list[FileLineage]:
    """Several files, column lineage in dependency order; results in the input order.
    `schema_for(tables read)` supplies known columns (e.g. from the graph) for tables not in `schema`."""
    schema = schema if schema is not None else {}
    prepared = [prepare(s, dialect, variables) for s in sources]
    if schema_for is not None and column_lineage:
        wanted = {t for p in prepared for t in p.reads() if t not in schema and "://" not in t}
        for table, columns in (schema_for(wanted) if wanted else {}).items():
            schema.setdefault(table, columns)
    results: dict[int, FileLineage] = {}
    for position in dependency_order(prepared):
        results[position] = finish(prepared[position], schema, column_lineage, budget_seconds)
    return [results[i] for i in range(len(prepared))]


def extract_sql(text: str, dialect: str | None = None, schema: Schema | None = None, path: str = "<sql>",
                column_lineage: bool = True, budget_seconds: float = 2.0) -> FileLineage:
    return extract_sources([SqlSource(path, text)], dialect, schema, column_lineage, budget_seconds)[0]


def dependency_order(prepared: list[Prepared]) -> list[int]:
    """Writers before readers (a stable topological order; cycles keep input order)."""
    writers: dict[str, list[int]] = {}
    for i, p in enumerate(prepared):
        for table in p.writes():
            writers.setdefault(table, []).append(i)
    order: list[int] = []
    state: dict[int, int] = {}  # 1 visiting, 2 done

    def visit(i: int) -> None:
        stack = [(i, iter(sorted({w for t in prepared[i].reads() for w in writers.get(t, ()) if w != i})))]
        state[i] = 1
        while stack:
            node, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state.get(nxt) is None:
                state[nxt] = 1
                stack.append((nxt, iter(sorted({w for t in prepared[nxt].reads()
                                                 for w in writers.get(t, ()) if w != nxt}))))

    for i in range(len(prepared)):
        if i not in state:
            visit(i)
    return order
