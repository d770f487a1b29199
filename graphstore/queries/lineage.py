"""Lineage queries: upstream, downstream, impact and column usage (see graphstore.queries.cypher for
which relationships count as lineage and which way)."""
from __future__ import annotations

from functools import cache

from graphstore.queries.cypher import (
    KIND_HELP,
    NODE_KINDS,
    START,
    key,
    kind,
    latest_execution,
    name,
    node_id,
    pipeline,
    reach,
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
    """The nodes `x` nearest the start nodes, at most $limit of them (breadth first), each at its distance
    `hops` with one shortest path's relationship types `via` and nodes `path`."""
    return f"""{START}
WITH collect(n) AS starts
{reach(direction, "starts", depth=depth, level=level)}
UNWIND found AS hit
// a new row per node (grouping): rows that still held the lists would each count their size against the
// transaction's memory when sorted
WITH hit.n AS x, head(collect(hit)) AS hit
WITH x, hit.d AS hops, hit.via AS via, hit.path AS path"""


@cache
def _walk(direction: str, depth: int = MAX_DEPTH, level: str = "all") -> str:
    return f"""{_traversal(direction, depth, level)}
WITH x, hops, via, path, {kind('x')} AS kind, {key('x')} AS key
ORDER BY hops, kind, key
LIMIT $limit
RETURN kind, key, {name('x')} AS name, {status('x')} AS status, {pipeline('x')} AS pipeline, hops AS distance,
       via, [v IN path | {node_id('v')}] AS path
ORDER BY distance, kind, key"""


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
    family="lineage", graph=True, build=_upstream,
)

DOWNSTREAM = Query(
    "downstream",
    "Everything fed by a node's data, nearest first: the steps, jobs, datasets, models and endpoints after it",
    _downstream(),
    (NODE, KIND, depth_param(), LEVEL, limit_param()),
    _WALK_COLUMNS,
    {"node": "s3://acme-ml-data/churn/raw/", "kind": "auto", "depth": 6, "level": "all", "limit": 100},
    family="lineage", graph=True, build=_downstream,
)


_CATEGORIES = ("endpoint", "model", "model_package", "pipeline", "table", "dataset")


@cache
def _impact(depth: int = MAX_DEPTH, level: str = "all") -> str:
    # Categories by rank (their order in the answer); a step, a step run or a job stands for its pipeline.
    # A hub reaches a good part of the account, so per node only its labels and a property are read; names
    # are made only for the nearest groups (rank, distance) that fill the limit.
    category = "CASE rank " + " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(_CATEGORIES)) + " END"
    return f"""{START}
WITH collect(n) AS starts
{reach("downstream", "starts", depth=depth, level=level, paths=False, stop=None)}
UNWIND range(1, size(levels)) AS hops
UNWIND levels[hops - 1] AS x
WITH x, hops, labels(x) AS ls
WITH x, hops, CASE WHEN 'Endpoint' IN ls THEN 0 WHEN 'Model' IN ls THEN 1 WHEN 'ModelPackage' IN ls THEN 2
                   WHEN 'Step' IN ls OR 'StepRun' IN ls OR 'Job' IN ls THEN 3 WHEN 'Table' IN ls THEN 4
                   WHEN 'Dataset' IN ls AND NOT coalesce(x.templated, false) THEN 5 END AS rank,
     'Job' IN ls AS job
WHERE rank IS NOT NULL
// grouping makes new rows without the levels' lists (rows holding them would each count their size)
WITH rank, CASE rank WHEN 3 THEN CASE WHEN job THEN head([(x)<-[:RAN_AS]-(run:StepRun) | run.pipeline_arn])
                                     ELSE x.pipeline_arn END ELSE x END AS member, min(hops) AS distance
WHERE member IS NOT NULL
WITH rank, distance, collect(member) AS members ORDER BY rank, distance
WITH collect({{rank: rank, distance: distance, members: members}}) AS groups
UNWIND reduce(acc = {{n: 0, keep: []}}, g IN groups | CASE WHEN acc.n >= $limit THEN acc
              ELSE {{n: acc.n + size(g.members), keep: acc.keep + [g]}} END).keep AS g
UNWIND g.members AS member
WITH g.rank AS rank, g.distance AS distance, member, count(*) AS once
CALL (rank, member) {{
  WITH rank, member WHERE rank = 3 MATCH (item:Pipeline {{arn: member}}) RETURN item
  UNION
  WITH rank, member WHERE rank <> 3 RETURN member AS item
}}
WITH rank, item, distance, {name('item')} AS name
ORDER BY rank, distance, name
LIMIT $limit
WITH rank, {category} AS category, item, distance, name,
     CASE rank WHEN 3 THEN {latest_execution('item')} END AS run
RETURN category, name, {key('item')} AS key,
       CASE category WHEN 'pipeline' THEN run.status WHEN 'dataset' THEN item.schema_status
                     ELSE {status('item')} END AS status,
       CASE category WHEN 'pipeline' THEN run.start_time WHEN 'dataset' THEN item.newest_object_time
                     ELSE item.created END AS as_of,
       distance
ORDER BY rank, distance, name"""


# Raw data -> step -> run -> job -> model package -> model -> endpoint config -> endpoint is 8 hops: the
# default reaches the endpoints a change affects, where upstream/downstream keep the shorter default.
IMPACT_DEPTH = depth_param(8, f"how many relationships away at most (1 to {MAX_DEPTH}); 8 reaches endpoints "
                              "from the raw data of the pipeline that trained their model")

IMPACT = Query(
    "impact",
    "What a change to a table or dataset affects downstream: endpoints, models, model packages, pipelines, "
    "tables and datasets, each with its latest status",
    _impact(),
    (NODE, KIND, IMPACT_DEPTH, LEVEL, limit_param()),
    (Column("category", "endpoint, model, model_package, pipeline, table or dataset (concrete data only)"),
     Column("name", "its usual name"),
     Column("key", "its key in the graph"),
     Column("status", "a pipeline's latest execution status, a model package's approval status, a dataset's "
                      "schema status"),
     Column("as_of", "when: the latest execution's start, the dataset's newest object, or the creation time"),
     Column("distance", "relationships from the table or dataset to the nearest node of it")),
    {"node": "ml.churn_features", "kind": "auto", "depth": 8, "level": "all", "limit": 100},
    family="lineage", graph=True, build=_impact,
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
