"""The runner: validates parameters, finds the node a query starts from, runs the constant text with a
transaction timeout, and returns columns and rows with Neo4j temporal values as ISO strings."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neo4j import READ_ACCESS, Driver, Query, RoutingControl
from neo4j.exceptions import ClientError
from neo4j.time import Date, DateTime, Duration, Time

from graphstore.connection import Neo4jOutage, as_outage
from graphstore.queries import data, endpoints, lineage, pipelines
from graphstore.queries.cypher import RESOLVE, RESOLVE_DOMAIN
from graphstore.queries.model import (
    AmbiguousNode,
    NodeNotFound,
    ParameterError,
    QueryError,
    QueryTimeout,
    UnknownQuery,
)
from graphstore.queries.model import Query as LibraryQuery
from graphstore.reader import Reader
from graphstore.views import Views

QUERIES: tuple[LibraryQuery, ...] = lineage.QUERIES + pipelines.QUERIES + data.QUERIES + endpoints.QUERIES
_BY_NAME = {q.name: q for q in QUERIES}
DEFAULT_TIMEOUT = 30.0

# Anchored parameters other than `node`: the one node each names must exist.
_ANCHORS = {
    "pipeline": """CALL () {
  MATCH (p:Pipeline {name: $node}) RETURN p
  UNION
  MATCH (p:Pipeline {arn: $node}) RETURN p
}
WITH p WHERE coalesce(p.retired, false) = false
RETURN 'pipeline' AS kind, 'Pipeline:' + p.arn AS id, 'Pipeline' AS node_kind, p.name AS label, null AS status""",
    "dataset": """MATCH (d:Dataset) WHERE d.uri IN [$node, $node + '/']
RETURN 'dataset' AS kind, 'Dataset:' + d.uri AS id, 'Dataset' AS node_kind, d.uri AS label, null AS status""",
    "column": """MATCH (c:Column {key: $node})
RETURN 'column' AS kind, 'Column:' + c.key AS id, 'Column' AS node_kind, c.key AS label, null AS status""",
    "domain": RESOLVE_DOMAIN,
}

_SAGEMAKER_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]*:[^:]*:(?P<type>[a-z-]+)/(?P<rest>.+)$", re.IGNORECASE)
_JOB_TYPES = {"training-job", "processing-job", "transform-job", "hyper-parameter-tuning-job", "automl-job"}


def query(name: str) -> LibraryQuery:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownQuery(name, f"unknown query (queries: {', '.join(q.name for q in QUERIES)})") from None


def detect_kind(value: str) -> str | None:
    """The kind of node a value names by its shape, or None for a plain name (the graph decides).

    `s3://...` a dataset; a SageMaker ARN by its resource type (`pipeline/p` a pipeline, `pipeline/p/step`
    a step, `pipeline/p/execution/id` an execution, `*-job/...` a job, `model-package/...`, `model/...`,
    `endpoint/...`); `name/3` a model package (group/version); `a/b` a step (pipeline/step).
    """
    if value.startswith("s3://"):
        return "dataset"
    arn = _SAGEMAKER_ARN.match(value)
    if arn:
        kind, parts = arn["type"].lower(), arn["rest"].split("/")
        if kind == "pipeline":
            if len(parts) >= 3 and parts[1] == "execution":
                return "execution"
            return "pipeline" if len(parts) == 1 else "step"
        if kind in _JOB_TYPES:
            return "job"
        if kind in ("model-package", "model", "endpoint"):
            return kind
        return None
    if value.startswith("arn:"):
        return None
    if re.fullmatch(r"[^/]+/\d+", value):
        return "model-package"
    if re.fullmatch(r"[^/]+/[^/]+", value):
        return "step"
    return None


def plain(value: Any) -> Any:
    """Neo4j temporal values as ISO 8601 strings (recursively); everything else as it is."""
    if isinstance(value, (DateTime, Date, Time)):
        try:
            return value.to_native().isoformat()
        except (ValueError, OverflowError):
            return value.iso_format()
    if isinstance(value, Duration):
        return value.iso_format()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@dataclass
class QueryResult:
    query: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]

    @property
    def truncated(self) -> bool:
        """Whether the limit cut the answer (as many rows as the limit)."""
        limit = self.params.get("limit")
        return isinstance(limit, int) and len(self.rows) >= limit

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "params": self.params, "columns": self.columns, "rows": self.rows,
                "truncated": self.truncated}

    def to_json(self) -> str:
        """Stable JSON: sorted keys, ISO times."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, default=str)

    def to_csv(self) -> str:
        """A header of the columns, then the rows; lists and maps as JSON text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else _text(row.get(c), compact=False) for c in self.columns])
        return out.getvalue()

    def table_columns(self) -> list[str]:
        """The columns a table on a terminal shows (long ones such as `path` only in json and csv)."""
        hidden = {c.name for c in query(self.query).columns if not c.in_table}
        return [c for c in self.columns if c not in hidden]

    def cells(self, width: int = 60) -> list[list[str]]:
        """The rows of `table_columns` as short strings, for a terminal (lists joined, long text cut)."""
        columns = self.table_columns()
        return [[_cut(_text(row.get(c)), width) for c in columns] for row in self.rows]


def _text(value: Any, compact: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and compact and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class QueryLibrary(Reader):
    """Runs the library's queries. `subgraph(name, params)` gives the picture form of the graph queries."""

    def __init__(self, driver: Driver, database: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(driver, database)
        self.timeout = timeout

    # --- running ---------------------------------------------------------------------------------------

    def prepare(self, name: str, params: Mapping[str, Any] | None = None) -> tuple[LibraryQuery, dict[str, Any],
                                                                                   list[dict[str, Any]]]:
        """The query, its validated parameters (with `kind` resolved) and the start nodes it names."""
        spec = query(name)
        values = spec.validate(params or {})
        starts: list[dict[str, Any]] = []
        for param in spec.params:
            value = values.get(param.name)
            if value is None:
                continue
            if param.name == "node":
                starts = self._resolve_node(spec, values)
            elif param.anchor:
                found = self._fetch(spec.name, _ANCHORS[param.anchor], {"node": value})
                if not found:
                    raise NodeNotFound(spec.name, f"no {param.anchor} matches {param.name}={value}")
                starts = found
        return spec, values, starts

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        spec, values, _ = self.prepare(name, params)
        rows = self._fetch(spec.name, spec.text(values), values)
        json_columns = {c.name for c in spec.columns if c.json}
        rows = [{k: _decoded(v) if k in json_columns else v for k, v in row.items()} for row in rows]
        if spec.name == "by-domain":
            rows = [self._with_lineage(row, values["view"]) for row in rows]
        columns = [c.name for c in spec.columns]
        return QueryResult(spec.name, values, columns, [{c: row.get(c) for c in columns} for row in rows])

    def explain(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The plan of the text `run` would run with these parameters (EXPLAIN: nothing is executed)."""
        spec, values, _ = self.prepare(name, params)
        with as_outage(), self.driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            summary = session.run("EXPLAIN " + spec.text(values), values).consume()
        plan: dict[str, Any] = summary.plan or {}
        return plan

    def _fetch(self, name: str, text: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [plain(row) for row in self._records(name, text, params)]

    def _records(self, name: str, text: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of one read transaction with the library's timeout, values as the driver gives them."""
        try:
            with as_outage():
                records, _, _ = self.driver.execute_query(Query(text, timeout=self.timeout), dict(params),
                                                          database_=self.database, routing_=RoutingControl.READ)
        except ClientError as exc:
            if "TransactionTimedOut" in (exc.code or ""):
                raise QueryTimeout(name, f"timed out after {self.timeout:g} s (lower depth or limit, or allow "
                                         "more time)") from None
            raise
        return [r.data() for r in records]

    def _resolve_node(self, spec: LibraryQuery, values: dict[str, Any]) -> list[dict[str, Any]]:
        node, kind = values["node"], values.get("kind") or "auto"
        if kind == "auto":
            if node.startswith("arn:") and detect_kind(node) is None:
                raise ParameterError(spec.name, f"parameter node is an ARN of no lineage node kind ({node})")
            kind = detect_kind(node) or "auto"
        found = self._fetch(spec.name, RESOLVE, {"node": node, "kind": kind})
        if not found:
            what = "node" if kind == "auto" else kind
            raise NodeNotFound(spec.name, f"no {what} matches node={node}")
        kinds = sorted({r["kind"] for r in found})
        if len(kinds) > 1:
            raise AmbiguousNode(spec.name, f"node={node} names more than one kind of node ({', '.join(kinds)}): "
                                           f"pass kind={kinds[0]} (or another)")
        values["kind"] = kinds[0]
        return found

    def _with_lineage(self, row: dict[str, Any], view: str) -> dict[str, Any]:
        """A domain's pipeline with its lineage, or an error entry for it: one pipeline never fails the answer."""
        try:
            lineage_json = _TimedViews(self, "by-domain").lineage(row["pipeline"], region=row.get("region"), view=view)
        except (Neo4jOutage, QueryTimeout):
            raise
        except Exception as exc:  # whatever one pipeline's lineage meets, the others still answer
            return {"pipeline": row["pipeline"], "arn": row.get("arn"), "region": row.get("region"), "ok": False,
                    "error": f"{type(exc).__name__}: {exc}"}
        return {**row, "ok": True, "error": None, "lineage": plain(lineage_json)}

    # --- pictures --------------------------------------------------------------------------------------

    def subgraph(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
        """`{"nodes": [{id, label, kind, status?}], "edges": [{source, target, kind}]}` of a graph query
        (upstream, downstream, impact, pipeline-graph), in the shape of views' `graphPipeline`."""
        spec = query(name)
        if not spec.graph:
            graphs = ", ".join(q.name for q in QUERIES if q.graph)
            raise QueryError(name, f"has no subgraph form (queries that have one: {graphs})")
        if name == "pipeline-graph":
            return self._pipeline_picture(params or {})
        walk = "downstream" if name == "impact" else name
        spec, values, starts = self.prepare(walk, params)
        rows = self._fetch(walk, spec.text(values), values)
        nodes: dict[str, dict[str, Any]] = {}
        for start in starts:
            nodes[start["id"]] = _node(start["id"], start["label"], start["node_kind"], start["status"])
        edges: list[dict[str, Any]] = []
        for row in rows:
            path, via = row["path"], row["via"]
            nodes.setdefault(path[-1], _node(path[-1], row["name"], row["kind"], row["status"]))
            edges.append(_flow_edge(path[-2], path[-1], via[-1], upstream=(walk == "upstream")))
        if name == "impact":
            self._add_pipelines(nodes, edges, rows, values)
        return {"nodes": list(nodes.values()), "edges": edges}

    def _add_pipelines(self, nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]],
                       rows: list[dict[str, Any]], values: dict[str, Any]) -> None:
        impact = self.run("impact", values)
        for item in impact.rows:
            if item["category"] != "pipeline":
                continue
            pid = f"Pipeline:{item['key']}"
            nodes[pid] = _node(pid, item["name"], "Pipeline", item["status"])
            for row in rows:
                if row["kind"] == "Step" and row["pipeline"] == item["name"]:
                    edges.append({"source": pid, "target": row["path"][-1], "kind": "HAS_STEP"})

    def _pipeline_picture(self, params: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        _, values, _ = self.prepare("pipeline-graph", params)
        found = _TimedViews(self, "pipeline-graph").lineage(values["pipeline"], region=values["region"],
                                                            view=values["view"])
        picture: dict[str, list[dict[str, Any]]] = found["graphPipeline"]
        runs = {f"process:{n['id']}": n.get("run", {}).get("status") for n in found["graph"]["nodes"]}
        for node in picture["nodes"]:
            if runs.get(node["id"]):
                node["status"] = runs[node["id"]]
        return picture


def _node(node_id: str, label: Any, kind: Any, status: Any) -> dict[str, Any]:
    node = {"id": node_id, "label": label, "kind": kind}
    if status is not None:
        node["status"] = status
    return node


def _flow_edge(nearer: str, farther: str, rel_type: str, *, upstream: bool) -> dict[str, Any]:
    """The hop between two nodes of a path, drawn the way data flows (STORED_AT: table to dataset)."""
    source, target = (farther, nearer) if upstream else (nearer, farther)
    if rel_type == "STORED_AT" and not source.startswith("Table:"):
        source, target = target, source
    return {"source": source, "target": target, "kind": rel_type}


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _TimedViews(Views):
    """The views whose every read is one of the library's: in a read transaction with its timeout."""

    def __init__(self, library: QueryLibrary, name: str) -> None:
        super().__init__(library.driver, library.database)
        self.library = library
        self.name = name

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return self.library._records(self.name, query, params)
