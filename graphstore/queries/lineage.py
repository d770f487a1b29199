"""Lineage queries: upstream, downstream, impact and column usage (see graphstore.queries.cypher for
which relationships count as lineage and which way)."""
from __future__ import annotations

from functools import cache

from graphstore.queries.cypher import (
    ENDPOINT_SCAN,
    KIND_HELP,
    NODE_KINDS,
    START,
    key,
    kind,
    latest_execution,
    name,
    node_id,
    pipeline,
    status,
    walk,
)
from graphstore.queries.model import MAX_DEPTH, REQUIRED, Column, Param, Query, depth_param, limit_param

NODE = Param("node", "string", "the node, by its natural key (see `kind`)", REQUIRED)
KIND = Param("kind", "choice", "what `node` names; `auto` tells it from the value's shape "
             "(`s3://` a dataset, a SageMaker ARN by its resource type, `group/3` a model package, "
             "`pipeline/step` a step) or, for a plain name, from the one kind of node the graph has by that name",
             "auto", choices=("auto", *NODE_KINDS))
LEVEL = Param("level", "choice", "`run`: concrete data, step runs and jobs only; `definition`: pipeline "
              "definitions (steps, templated data) only; `all`: both", "all", choices=("all", "run", "definition"))


def _traversal(direction: str, depth: int, level: str) -> str:
    """Every node `x` reached from the start nodes, with its shortest path `p`."""
    return f"""{START}
WITH collect(n) AS starts
UNWIND starts AS s
{walk(direction, "s", "x", depth=depth, level=level)}
WITH x, p WHERE NOT x IN starts
WITH x, p ORDER BY length(p)
WITH x, collect(p)[0] AS p"""


@cache
def _walk(direction: str, depth: int = MAX_DEPTH, level: str = "all") -> str:
    return f"""{_traversal(direction, depth, level)}
RETURN {kind('x')} AS kind, {key('x')} AS key, {name('x')} AS name, {status('x')} AS status,
       {pipeline('x')} AS pipeline, length(p) AS distance, [r IN relationships(p) | type(r)] AS via,
       [v IN nodes(p) | {node_id('v')}] AS path
ORDER BY distance, kind, key
LIMIT $limit"""


def _upstream(depth: int = MAX_DEPTH, level: str = "all") -> str:
    return _walk("upstream", depth, level)


def _downstream(depth: int = MAX_DEPTH, level: str = "all") -> str:
    return _walk("downstream", depth, level)


_WALK_COLUMNS = (
    Column("kind", "the node's kind: Dataset, Table, Column, Step, StepRun, TrainingJob (a job's kind), "
                   "ModelPackage, Model, Endpoint, ..."),
    Column("key", "its key in the graph (URI, ARN, step key, table name, `table.column`)"),
    Column("name", "its usual name (`pipeline/step`, `group/version`, job or model name, URI)"),
    Column("status", "a run's or job's status, a model package's approval status"),
    Column("pipeline", "the pipeline of a step, a step run, or of the run that ran a job or created a model"),
    Column("distance", "relationships on the shortest path from the start"),
    Column("via", "the relationship types along that path, from the start"),
    Column("path", "the ids (`Label:key`) of the nodes along that path, from a start node to this one",
           in_table=False),
)

UPSTREAM = Query(
    "upstream",
    "Everything a node's data comes from, nearest first: the data, SQL tables, jobs and steps behind it",
    _upstream(),
    (NODE, KIND, depth_param(), LEVEL, limit_param()),
    _WALK_COLUMNS,
    {"node": "churn-models/1", "kind": "auto", "depth": 8, "level": "all", "limit": 100},
    family="lineage", graph=True, index_scans=ENDPOINT_SCAN, build=_upstream,
)

DOWNSTREAM = Query(
    "downstream",
    "Everything fed by a node's data, nearest first: the steps, jobs, datasets, models and endpoints after it",
    _downstream(),
    (NODE, KIND, depth_param(), LEVEL, limit_param()),
    _WALK_COLUMNS,
    {"node": "s3://acme-ml-data/churn/raw/", "kind": "auto", "depth": 6, "level": "all", "limit": 100},
    family="lineage", graph=True, index_scans=ENDPOINT_SCAN, build=_downstream,
)

_CATEGORY_ORDER = ("CASE category WHEN 'endpoint' THEN 0 WHEN 'model' THEN 1 WHEN 'model_package' THEN 2 "
                   "WHEN 'pipeline' THEN 3 WHEN 'table' THEN 4 ELSE 5 END")

@cache
def _impact(depth: int = MAX_DEPTH, level: str = "all") -> str:
    return f"""{_traversal("downstream", depth, level)}
WITH x, length(p) AS hops
CALL (x, hops) {{
  WITH x, hops WHERE x:Step OR x:StepRun OR x:Job
  WITH hops, CASE WHEN x:Job THEN head([(x)<-[:RAN_AS]-(run:StepRun) | run.pipeline_arn])
                  ELSE x.pipeline_arn END AS arn
  MATCH (item:Pipeline {{arn: arn}})
  RETURN 'pipeline' AS category, item, hops AS distance
  UNION
  WITH x, hops WHERE x:Endpoint RETURN 'endpoint' AS category, x AS item, hops AS distance
  UNION
  WITH x, hops WHERE x:Model RETURN 'model' AS category, x AS item, hops AS distance
  UNION
  WITH x, hops WHERE x:ModelPackage RETURN 'model_package' AS category, x AS item, hops AS distance
  UNION
  WITH x, hops WHERE x:Table RETURN 'table' AS category, x AS item, hops AS distance
  UNION
  WITH x, hops WHERE x:Dataset AND NOT coalesce(x.templated, false)
  RETURN 'dataset' AS category, x AS item, hops AS distance
}}
WITH category, item, min(distance) AS distance
WITH category, item, distance, CASE category WHEN 'pipeline' THEN {latest_execution('item')} END AS run
WITH category, item, distance, run.status AS run_status, run.start_time AS run_started
RETURN category, {name('item')} AS name, {key('item')} AS key,
       CASE category WHEN 'pipeline' THEN run_status WHEN 'dataset' THEN item.schema_status
                     ELSE {status('item')} END AS status,
       CASE category WHEN 'pipeline' THEN run_started WHEN 'dataset' THEN item.newest_object_time
                     ELSE item.created END AS as_of,
       distance
ORDER BY {_CATEGORY_ORDER}, distance, name
LIMIT $limit"""


IMPACT = Query(
    "impact",
    "What a change to a table or dataset affects downstream: endpoints, models, model packages, pipelines, "
    "tables and datasets, each with its latest status",
    _impact(),
    (NODE, KIND, depth_param(), LEVEL, limit_param()),
    (Column("category", "endpoint, model, model_package, pipeline, table or dataset (concrete data only)"),
     Column("name", "its usual name"),
     Column("key", "its key in the graph"),
     Column("status", "a pipeline's latest execution status, a model package's approval status, a dataset's "
                      "schema status"),
     Column("as_of", "when: the latest execution's start, the dataset's newest object, or the creation time"),
     Column("distance", "relationships from the table or dataset to the nearest node of it")),
    {"node": "ml.churn_features", "kind": "auto", "depth": 8, "level": "all", "limit": 100},
    family="lineage", graph=True, index_scans=ENDPOINT_SCAN, build=_impact,
)

@cache
def _column_usage(depth: int = MAX_DEPTH) -> str:
    return f"""MATCH (c:Column {{key: $column}})
MATCH p = SHORTEST 1 (c)-[:FEEDS]->{{0,{depth}}}(c2)
WHERE length(p) <= $depth
WITH c2, length(p) AS hops, [v IN nodes(p) | v.key] AS columns
CALL (c2, hops, columns) {{
  WITH c2, hops, columns WHERE hops > 0
  RETURN 'Column' AS kind, c2.key AS key, c2.key AS name, null AS status, hops AS distance, columns AS via
  UNION
  MATCH (c2)-[:OF]->(t:Table)
  RETURN 'Table' AS kind, t.name AS key, t.name AS name, null AS status, hops AS distance, columns AS via
  UNION
  MATCH (c2)-[:OF]->(t:Table)
  {walk("downstream", "t", "x", depth=depth, where="NOT ({b}:Table OR {b}:Column)", tag="q").replace(chr(10), chr(10) + "  ")}
  WITH c2, hops, columns, x, pq AS q
  RETURN {kind('x')} AS kind, {key('x')} AS key, {name('x')} AS name, {status('x')} AS status,
         hops + length(q) AS distance, columns + [v IN tail(nodes(q)) | {name('v')}] AS via
}}
WITH kind, key, name, status, distance, via ORDER BY distance, size(via)
WITH kind, key, name, status, collect({{distance: distance, via: via}})[0] AS nearest
RETURN kind, key, name, status, nearest.distance AS distance, nearest.via AS via
ORDER BY distance, kind, key
LIMIT $limit"""


COLUMN_USAGE = Query(
    "column-usage",
    "Where a table column flows: the columns SQL derives from it, their tables, and the datasets, steps, "
    "jobs, models and endpoints those tables feed",
    _column_usage(),
    (Param("column", "string", "the column as `table.column` (`stg.orders.amount`)", REQUIRED, anchor="column"),
     depth_param(description="how far at most: SQL column hops, then relationships from each table reached "
                             "(each leg 1 to 12)"),
     limit_param()),
    (Column("kind", "Column, Table, Dataset, Step, StepRun, a job's kind, ModelPackage, Model, Endpoint"),
     Column("key", "its key in the graph"),
     Column("name", "its usual name"),
     Column("status", "a run's or job's status, a model package's approval status"),
     Column("distance", "SQL column hops to the column (its table: the same), then relationships from the table"),
     Column("via", "the columns, then the nodes, from the column to this one")),
    {"column": "raw.customers.tenure_months", "depth": 6, "limit": 100},
    family="lineage", build=_column_usage,
)

QUERIES = (UPSTREAM, DOWNSTREAM, IMPACT, COLUMN_USAGE)
KIND_DESCRIPTIONS = KIND_HELP
