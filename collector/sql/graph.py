"""A file's SQL lineage as plain graph data.

Table -[:FEEDS]-> Table and Column -[:FEEDS]-> Column carry the file, statements, commit and
dialect, and are identified by (endpoints, file): one edge per file that defines the flow, so
a file that changes or disappears retires exactly its own edges. Session-temporary tables are
collapsed (their inputs feed their readers directly) because their names are not global.
S3 locations (COPY FROM, UNLOAD, INSERT DIRECTORY) are Dataset nodes; a LOCATION /
external_location in DDL gives Table -[:STORED_AT]-> Dataset.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from collector import s3uri
from collector.sql.extract import collapsed_column_edges, transient_tables
from collector.sql.model import FileLineage
from graphstore.model import Graph, NodeRef


class _TableEdge(TypedDict):
    """The properties of one Table -[:FEEDS]-> Table edge, gathered over the file's statements."""
    statements: list[int]
    sql_kind: str


def _endpoint(graph: Graph, name: str, is_target: bool) -> NodeRef | None:
    if s3uri.is_s3_uri(name):
        uri = s3uri.dataset_uri(name, is_prefix=True if is_target else None)
        return graph.node("Dataset", uri, {"bucket": s3uri.split(uri)[0]})
    if "://" in name or name.startswith("/") or name.startswith("@"):
        return None  # a local path or a stage: not a node of ours
    return graph.node("Table", name)


def sql_file_graph(lineage: FileLineage, file_key: str, commit: str | None = None,
                   dialect: str | None = None) -> Graph:
    graph = Graph()
    file_ref = ("SqlFile", file_key)
    graph.node(*file_ref)
    base: dict[str, str | None] = {"file": file_key, "commit": commit, "dialect": dialect or lineage.dialect}
    temporary = transient_tables(lineage)  # session tables, and tables the file drops or renames away
    held: dict[str, set[str]] = {}  # temporary table -> the real sources it holds
    table_edges: dict[tuple[str, str], _TableEdge] = {}
    written: set[str] = set()
    for statement in lineage.statements:
        if statement.error and not statement.targets:
            continue
        sources: set[str] = set()
        for source in statement.sources:
            sources |= held.get(source, set()) if source in temporary else {source}
        for target in statement.targets:
            if target in temporary:
                held.setdefault(target, set()).update(sources)
                continue
            written.add(target)
            for source in sources:
                edge = table_edges.setdefault((source, target), {"statements": [], "sql_kind": statement.sql_kind})
                edge["statements"].append(statement.index)
        for table, location in statement.locations.items():
            if table not in temporary and s3uri.is_s3_uri(location):
                table_ref = _endpoint(graph, table, True)
                dataset = _endpoint(graph, location, True)
                if table_ref and dataset:
                    graph.rel("STORED_AT", table_ref, dataset, {"via": "sql", **base})
    for (source, target), props in table_edges.items():
        start, end = _endpoint(graph, source, False), _endpoint(graph, target, True)
        if start and end and start != end:
            graph.rel("FEEDS", start, end, {**base, **props}, merge_on=("file",))
    defined: dict[str, list[str]] = {}
    for statement in lineage.statements:
        defined.update({t: c for t, c in statement.defines.items() if t not in temporary})
    for table in written:
        ref = _endpoint(graph, table, True)
        if ref and ref[0] == "Table":
            graph.rel("DEFINES", file_ref, ref, base)
            if table in defined:  # the columns as this file creates the table (read back as a schema)
                graph.node("Table", table, {"columns": defined[table], "columns_from": file_key})
    for table in lineage.sources:
        if table in temporary:
            continue
        ref = _endpoint(graph, table, False)
        if ref and ref[0] == "Table":
            graph.rel("READS", file_ref, ref, base)
    _columns(graph, lineage, temporary, base)
    return graph


def _column(graph: Graph, key: str, tables: set[str]) -> NodeRef | None:
    if key.endswith(".*"):
        return None  # an unexpanded star: reported by the extractor, not a column of the graph
    table = next((t for t in sorted(tables, key=len, reverse=True) if key.startswith(t + ".")), None)
    if table is None:
        table, _, _ = key.rpartition(".")
    if not table or "://" in table:
        return None
    name = key[len(table) + 1:]
    ref = graph.node("Column", key, {"table": table, "name": name})
    graph.rel("OF", ref, graph.node("Table", table))
    return ref


def _columns(graph: Graph, lineage: FileLineage, temporary: set[str], base: Mapping[str, str | None]) -> None:
    tables = {n for s in lineage.statements for n in s.sources + s.targets}
    statements_of: dict[str, list[int]] = {}
    for statement in lineage.statements:
        for column in statement.columns:
            statements_of.setdefault(column.target, []).append(statement.index)
    for target, sources in collapsed_column_edges(lineage, temporary):
        end = _column(graph, target, tables)
        if end is None:
            continue
        for source in sources:
            start = _column(graph, source, tables)
            if start is not None and start != end:
                graph.rel("FEEDS", start, end, {**base, "statements": statements_of.get(target, [])},
                          merge_on=("file",))
