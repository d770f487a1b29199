"""The Cypher query library: named, constant queries with declared, typed parameters and result columns.

    from graphstore.queries import QUERIES, QueryLibrary
    library = QueryLibrary(driver, database, timeout=30)
    result = library.run("downstream", {"node": "s3://acme-ml-data/churn/raw/", "depth": 4})
    result.columns, result.rows        # rows: dicts keyed by the declared columns, times as ISO strings
    library.subgraph("downstream", {"node": "s3://acme-ml-data/churn/raw/"})

`QUERIES` (also `query(name)`) holds each `Query`: `name`, `description`, `cypher` (the constant text;
values only as `$parameters`), `params` (each `Param`: `name`, `type` — string, integer, datetime or
choice —, `description`, `default` (`REQUIRED` when it must be given, None when optional), `minimum`/
`maximum`, `choices`), `columns` (each `Column`: `name`, `description`), `example_params` (a parameter
set that answers on the demo graph: the Neo4j Browser guide runs `cypher` with them) and `family`.
Every query ends in `LIMIT $limit` (default 100 or 1,000, at most 10,000). Variable-length patterns carry
the maximum depth as a literal (`{1,12}`) and filter `length(p) <= $depth`, so `cypher` runs as it is at
any depth; `Query.text(params)` is the constant variant whose patterns stop at `depth` (a shortest-path
search is bounded by the literal only), and is what `QueryLibrary` runs.

`QueryLibrary.run(name, params)` validates the parameters (`ParameterError` names the bad one), checks
the node a query starts from exists (`NodeNotFound`; `AmbiguousNode` for a plain name that names two kinds
of node), runs the text in a read transaction with a timeout (`QueryTimeout`) and returns a `QueryResult`
(`columns`, `rows`, `params` as run, `truncated`; `to_json()`, `to_csv()`, `cells()`). All these errors are
`QueryError`s whose message starts `query NAME: `.

`QueryLibrary.subgraph(name, params)` is the picture form of the queries that give a graph (`upstream`,
`downstream`, `impact`, `pipeline-graph`; `Query.graph` is True for them): the same parameters, and

    {"nodes": [{"id": "Dataset:s3://...", "label": "...", "kind": "Dataset", "status": "..."}],  # status optional
     "edges": [{"source": "<node id>", "target": "<node id>", "kind": "FEEDS"}]}

the shape of `graphPipeline` in graphstore.views. For upstream and downstream the nodes are the start
nodes and every node of the answer (ids `Label:key`, kind as the `kind` column), the edges each node's
last hop on its shortest path from the start (a shortest-path tree), drawn the way data flows (`source`
feeds `target`; `STORED_AT` from the table to its dataset) with the relationship type as `kind`. `impact`
is the downstream picture plus a `Pipeline` node per pipeline affected (status: its latest execution's)
with `HAS_STEP` edges to its steps in the picture. `pipeline-graph` is views' `graphPipeline` itself
(`process:`/`data:` ids, `dependsOn`/`read`/`write` edges), process nodes with their latest run's status.

The node a `node` parameter names (`kind`, or auto-detected): see graphstore.queries.cypher.KIND_HELP.
"""
from __future__ import annotations

from graphstore.queries.cypher import KIND_HELP, LINEAGE_TYPES, NODE_KINDS
from graphstore.queries.library import DEFAULT_TIMEOUT, QUERIES, QueryLibrary, QueryResult, detect_kind, plain, query
from graphstore.queries.model import (
    MAX_DEPTH,
    MAX_LIMIT,
    REQUIRED,
    AmbiguousNode,
    Column,
    NodeNotFound,
    Param,
    ParameterError,
    Query,
    QueryError,
    QueryTimeout,
    UnknownQuery,
)

__all__ = [
    "DEFAULT_TIMEOUT", "KIND_HELP", "LINEAGE_TYPES", "MAX_DEPTH", "MAX_LIMIT", "NODE_KINDS", "QUERIES", "REQUIRED",
    "AmbiguousNode", "Column", "NodeNotFound", "Param", "ParameterError", "Query", "QueryError", "QueryLibrary",
    "QueryResult", "QueryTimeout", "UnknownQuery", "detect_kind", "plain", "query",
]
