"""Cypher fragments the library's queries share: how a node is found from its natural key, which
relationships are lineage and which way they count, and how a node is shown (kind, key, name).

Every fragment is constant text; labels and relationship types come from here or graphstore.schema,
never from input.

Lineage (the direction data flows; `downstream` follows it, `upstream` goes against it):

* `FEEDS`, `PRODUCES`, `PRECEDES`, `RAN_AS` as stored: `Dataset -FEEDS-> Step|StepRun|Job|ModelPackage|Model`,
  `Step|StepRun|Job -PRODUCES-> Dataset`, `StepRun -PRODUCES-> ModelPackage|Model|Endpoint`,
  `Step -PRECEDES-> Step`, `StepRun -RAN_AS-> Job` (a run's work is its job), SQL `Table|Dataset -FEEDS->
  Table|Dataset` and `Column -FEEDS-> Column`.
* Deployment as stored: `ModelPackage -INSTANTIATED_AS-> Model -DEPLOYED_AS-> EndpointConfig|InferenceComponent
  -DEPLOYED_TO-> Endpoint` (every period, past ones too: what an endpoint served is downstream of the model),
  and `Endpoint -PRODUCES-> Dataset` (its data capture).
* `RUN_OF` against its stored direction: a step's runs are downstream of the step (`Step -> StepRun`), so
  data a definition reads reaches what each run made, and what a run made has the definition upstream.
* `STORED_AT` both ways: a table and the S3 data it is stored at are the same data; so are a feature group
  and its offline store (`FeatureGroup -STORED_AT-> Dataset`), which a processing job writes into
  (`Step|StepRun|Job -PRODUCES-> FeatureGroup`): upstream of a model trained on the offline store is the
  group, the job ingesting into it and that job's inputs.
* Not lineage: structure (`HAS_STEP`, `IN`, `OF`, `IN_DOMAIN`, `GENERATED_BY`, `IN_BUCKET`, `HAS_SCHEMA`,
  `PREVIOUS`), Git (`DEFINES`, `READS`, `CHANGED`, `RUNS`) and `Column -OF-> Table` (a column's lineage stays
  at column level; `column-usage` goes on from the tables the column reaches).
"""
from __future__ import annotations

import re

from graphstore.queries.model import MAX_DEPTH
from graphstore.schema import JOB_KINDS, NODES, key_of

LINEAGE_TYPES = ("FEEDS", "PRODUCES", "PRECEDES", "RAN_AS", "RUN_OF", "STORED_AT",
                 "INSTANTIATED_AS", "DEPLOYED_AS", "DEPLOYED_TO")
# A path follows the stored direction of these ...
_ALONG = "FEEDS|PRODUCES|PRECEDES|RAN_AS|STORED_AT|INSTANTIATED_AS|DEPLOYED_AS|DEPLOYED_TO"
# ... and turns against it on these: a step to its runs (RUN_OF), S3 data to the table stored there (STORED_AT).
_TURN = "RUN_OF|STORED_AT"
MAX_TURNS = 3

# `level`: every node; run level only (no definition steps, no templated data); definition level only.
LEVELS = {
    "all": "",
    "run": "NOT {b}:Step AND NOT coalesce({b}.templated, false)",
    "definition": "NOT ({b}:StepRun OR {b}:Job OR {b}:ModelPackage OR {b}:Model OR {b}:Endpoint "
                  "OR {b}:EndpointConfig OR {b}:InferenceComponent)",
}


_VARIABLE = re.compile(r"[A-Za-z_]\w*")
_PATTERN_NODE = re.compile(r"[A-Za-z_]\w*(?::[A-Za-z_]\w*(?:\|[A-Za-z_]\w*)*)?")


def walk(direction: str, start: str, end: str, *, depth: int = MAX_DEPTH, level: str = "all", where: str = "",
         min_length: int = 1, tag: str = "") -> str:
    """`CALL (start) {...}` yielding each node `end` reached from `start` with `p<tag>`, one shortest
    lineage path to it of at most `$depth` relationships (and at most `depth` in the text's patterns).

    Shortest-path search is only fast when every predicate of the pattern is on one relationship or one
    node (the planner inlines them; a predicate relating a relationship to the node it leaves, such as
    `startNode(r) = a`, makes it enumerate paths). So direction lives in the pattern: a path is runs of
    relationships along their direction, joined by at most MAX_TURNS turns against it (RUN_OF, STORED_AT),
    one branch per number of turns. `where` is a further condition on every node after the start, with
    `{b}` for the node.
    """
    # Only code builds these texts: variable names, labels and the bound are checked, values stay parameters.
    if direction not in ("upstream", "downstream") or level not in LEVELS or not isinstance(depth, int) \
            or not 0 < depth <= MAX_DEPTH or not _PATTERN_NODE.fullmatch(start) or not _PATTERN_NODE.fullmatch(end) \
            or not re.fullmatch(r"\w*", tag) or "$" in where:
        raise ValueError(f"walk: not a query the library builds: {direction} {start} -> {end} depth={depth!r}")
    along, turn = (f"-[:{_ALONG}]->", f"<-[:{_TURN}]-") if direction == "downstream" else (
        f"<-[:{_ALONG}]-", f"-[:{_TURN}]->")
    conditions = [c for c in (LEVELS[level], where) if c]

    def cond(var: str) -> str:
        return " AND ".join(c.format(b=var) for c in conditions)

    def run(i: int, low: int) -> str:
        test = cond(f"b{tag}{i}")
        return f"((a{tag}{i}){along}(b{tag}{i}{' WHERE ' + test if test else ''})){{{low},{depth}}}"

    path, end_var = f"p{tag}", end.split(":")[0]
    branches = []
    for turns in range(MAX_TURNS + 1):
        parts = [f"({start})", run(0, min_length if turns == 0 else 0)]
        for i in range(1, turns + 1):
            test = cond(f"n{tag}{i}")
            parts += [f"(m{tag}{i}){turn}(n{tag}{i}{' WHERE ' + test if test else ''})", run(i, 0)]
        branches.append(f"  MATCH {path} = SHORTEST 1 {''.join(parts)}({end})\n"
                        f"  WHERE length({path}) <= $depth\n  RETURN {end_var}, {path}")
    return f"CALL ({start}) {{\n" + "\n  UNION\n".join(branches) + "\n}"


def reach(direction: str, starts: str, *, depth: int = MAX_DEPTH, level: str = "all", where: str = "",
          stop: str | None = "$limit", paths: bool = True, carry: tuple[str, ...] = (), tag: str = "") -> str:
    """Breadth-first lineage from the nodes of the list `starts`, one level per hop.

    With `paths`, leaves `found{tag}`: one map per node reached (never a start), at its shortest distance `d`,
    with `via`, the relationship types, and `path`, the nodes from a start, of one shortest path. Without,
    leaves `levels{tag}`: the list of the nodes first reached at each distance (1, 2, ...). `carry` are the
    other variables kept.

    The levels are written out (`depth` of them); each expands only the previous level's new nodes, skipping
    those already seen. With `stop` (`$limit`), a level takes at most that many new nodes (the first the
    expansion meets: a streaming DISTINCT ... LIMIT, so a hub's thousands of neighbours never become rows)
    and no level runs once that many are found: a hub costs its nearest level, not all it reaches, and which
    of a truncated level's nodes come back is not defined. Without `stop`, everything within `depth`.
    The relationships and their directions are `walk`'s, with any number of turns. `where` is a further
    condition on every node reached, with `{b}` for the node.
    """
    if direction not in ("upstream", "downstream") or level not in LEVELS or not isinstance(depth, int) \
            or not 0 < depth <= MAX_DEPTH or not _VARIABLE.fullmatch(starts) or not re.fullmatch(r"\w*", tag) \
            or "$" in where or not all(_VARIABLE.fullmatch(v) for v in carry) or stop not in (None, "$limit") \
            or (stop and not paths):
        raise ValueError(f"reach: not a query the library builds: {direction} from {starts} depth={depth!r}")
    # The turns only from the nodes that can take them (reading another node's relationships for nothing
    # would double the cost of a level): a step to its runs, data to its tables (upstream: the reverse).
    along, turns = (f"-[r:{_ALONG}]->", (("Step", "<-[r:RUN_OF]-"), ("Dataset", "<-[r:STORED_AT]-"))) \
        if direction == "downstream" else (f"<-[r:{_ALONG}]-", (("StepRun", "-[r:RUN_OF]->"), ("Table", "-[r:STORED_AT]->")))
    test = " AND ".join(c.format(b="b") for c in (LEVELS[level], where) if c)
    seen = f"seen{tag}"
    new_node = f"NOT b IN {seen}" + (f" AND {test}" if test else "")
    frontier, out = f"frontier{tag}", f"found{tag}" if paths else f"levels{tag}"
    kept = "".join(f"{v}, " for v in carry)
    state = f"{seen}, {frontier}, {out}"

    def expand(rows: bool) -> list[str]:
        """One hop from every node of the frontier, along the flow and on the turns against it: one Union
        per level (a union per frontier node would cost an Apply per row). With `rows`, the frontier's maps
        and the hop's relationship type and weight too: of the shortest paths to a node, the one with the
        fewest hops that are not data flow is kept (a turn weighs 1, PRECEDES, step order, 2)."""
        src, a = ("f", "f.n") if paths else ("a", "a")
        ret = ("f, type(r) AS t, CASE type(r) WHEN 'PRECEDES' THEN 2 ELSE 0 END AS w, b", "f, type(r) AS t, 1 AS w, b") \
            if rows else ("b", "b")
        bind = f"UNWIND {frontier} AS {src} " + ("" if a == src else f"WITH {src}, {a} AS a ")
        keep = "f, a" if paths else "a"
        lines = [f"  CALL ({frontier}) {{", f"    {bind}MATCH (a){along}(b) RETURN {ret[0]}"]
        for label, pattern in turns:
            lines += ["    UNION ALL", f"    {bind}WITH {keep} WHERE a:{label} MATCH (a){pattern}(b) RETURN {ret[1]}"]
        return lines + ["  }"]

    start = f"[s IN {starts} | {{n: s, via: [], path: [s], w: 0}}]" if paths else starts
    lines = [f"WITH {kept}{starts} AS {seen}, {start} AS {frontier}, [] AS {out}"]
    for hop in range(1, depth + 1):
        guard = f"{hop} <= $depth AND size({frontier}) > 0" + (f" AND size({out}) < {stop}" if stop else "")
        lines += [f"CALL ({state}) {{ // hop {hop} of {depth}", f"  WITH {state} WHERE {guard}"]
        if not paths:
            lines += [*expand(False), f"  WITH {seen}, b WHERE {new_node}", "  RETURN collect(DISTINCT b) AS next", "}",
                      f"WITH {kept}{seen} + next AS {seen}, next AS {frontier}, {out} + [next] AS {out}"]
            continue
        wanted = new_node
        if stop:  # which new nodes this level takes, stopping the expansion at `stop` of them, then the way to each
            lines += [f"  CALL ({seen}, {frontier}) {{", *("  " + e for e in expand(False)),
                      f"    WITH {seen}, b WHERE {new_node}", f"    WITH DISTINCT b LIMIT {stop}",
                      "    RETURN collect(b) AS taken", "  }"]
            wanted = "b IN taken"
        lines += [*expand(True), f"  WITH {'taken' if stop else seen}, f, t, w, b WHERE {wanted}",
                  "  WITH f, t, b, f.w + w AS w ORDER BY w",
                  f"  WITH b, head(collect({{n: b, d: {hop}, via: f.via + t, path: f.path + b, w: w}})) AS hit",
                  "  RETURN collect(hit) AS next", "}",
                  f"WITH {kept}{seen} + [h IN next | h.n] AS {seen}, next AS {frontier}, {out} + next AS {out}"]
    return "\n".join(lines)


# How a node is shown. Keys: the first of these properties a node has is its key (graphstore.schema:
# Domain/SchemaVersion `id`, Dataset `uri`, Step/StepRun/SqlFile/Column `key`, Commit `sha`,
# Pipeline/execution/Job/registry/Model/Endpoint `arn`, Repo `url`, Table/Bucket `name`).
_KEY_ORDER = ("id", "uri", "key", "sha", "arn", "url", "name")
assert {key_of(label) for label in ("Dataset", "Table", "Column", "Step", "Job", "Model")} <= set(_KEY_ORDER)
_JOB_KINDS = ", ".join(f"'{k}'" for k in JOB_KINDS)
# A node also carries its kind (jobs) and its status (runs, jobs) as labels: the declared label is the one of these.
_LABELS = ", ".join(f"'{n.label}'" for n in NODES)


def label(v: str) -> str:
    """The node's declared label (graphstore.schema NODES), whatever other labels it carries."""
    return f"[l IN labels({v}) WHERE l IN [{_LABELS}]][0]"


def key(v: str) -> str:
    return "coalesce(" + ", ".join(f"{v}.{p}" for p in _KEY_ORDER) + ")"


def kind(v: str) -> str:
    """Dataset, Table, Column, Pipeline, Step, StepRun, PipelineExecution, TrainingJob (the job's kind), ..."""
    return f"coalesce([l IN labels({v}) WHERE l IN [{_JOB_KINDS}]][0], {label(v)})"


def node_id(v: str) -> str:
    """`Label:key`, unique in the graph: the ids of subgraph nodes and of `path` columns."""
    return f"{label(v)} + ':' + {key(v)}"


def name(v: str) -> str:
    """What people call the node: `pipeline/step`, `group/version`, a job or model name, a URI, ..."""
    return (f"CASE WHEN {v}:Step THEN coalesce(last(split({v}.pipeline_arn, '/')) + '/', '') + {v}.name "
            f"WHEN {v}:StepRun THEN coalesce(split({v}.execution_arn, '/')[1] + '/' + last(split({v}.execution_arn, '/'))"
            f" + '/', '') + {v}.name "
            f"WHEN {v}:PipelineExecution THEN split({v}.arn, '/')[1] + '/' + last(split({v}.arn, '/')) "
            f"WHEN {v}:ModelPackage THEN coalesce({v}.group + '/' + {v}.version, {v}.arn) "
            f"WHEN {v}:Endpoint THEN last(split({v}.arn, '/')) "
            f"WHEN {v}:Column THEN {v}.key "
            f"ELSE coalesce({v}.name, {key(v)}) END")


def status(v: str) -> str:
    """A run's or job's status; a model package's approval status."""
    return f"CASE WHEN {v}:ModelPackage THEN coalesce({v}.approval_status, {v}.status) ELSE {v}.status END"


def pipeline(v: str) -> str:
    """The pipeline name of a step, a step run, or of the run that ran a job or created a model."""
    return (f"CASE WHEN {v}:Step OR {v}:StepRun THEN last(split({v}.pipeline_arn, '/')) "
            f"WHEN {v}:Job OR {v}:ModelPackage OR {v}:Model OR {v}:Endpoint "
            f"THEN last(split(head([({v})<-[:RAN_AS|PRODUCES]-(run:StepRun) | run.pipeline_arn]), '/')) END")


# The node kinds a `node` parameter can name, and how each is found. Every branch starts from a
# uniqueness constraint or an index (graphstore.schema NODES).
NODE_KINDS = ("dataset", "table", "column", "pipeline", "step", "execution", "job", "model-package", "model",
              "endpoint", "feature-group")
KIND_HELP = {
    "dataset": "an S3 URI (`s3://bucket/prefix/`; the trailing `/` may be left out)",
    "table": "a table name as SQL names it (`stg.orders`)",
    "column": "`table.column` (`stg.orders.amount`)",
    "pipeline": "a pipeline name or ARN: its current steps and the step runs and jobs of its latest execution",
    "step": "`pipeline/step` or the step key (pipeline ARN + `/` + step): the step, its latest run and job",
    "execution": "a pipeline execution ARN: its step runs and their jobs",
    "job": "a job ARN (any casing) or job name",
    "model-package": "a model package ARN, `group/version`, or a group name (all its versions)",
    "model": "a model ARN or name",
    "endpoint": "an endpoint ARN or name",
    "feature-group": "a feature group ARN (any casing) or name",
}


def newest(pattern: str, var: str) -> str:
    """The node of a pattern comprehension with the latest `start_time` (null if none). A comprehension
    always expands from its bound node, whatever the planner thinks of the statistics."""
    return (f"reduce(latest = null, {var} IN [{pattern} | {var}] | CASE WHEN latest IS NULL "
            f"OR {var}.start_time > latest.start_time THEN {var} ELSE latest END)")


def latest_execution(pipeline_var: str) -> str:
    return newest(f"({pipeline_var})<-[:OF]-(x:PipelineExecution)", "x")


def _guard(kind_name: str) -> str:
    return f"$kind IN ['auto', '{kind_name}']"


def _run_and_job(run: str) -> str:
    return (f"OPTIONAL MATCH ({run})-[:RAN_AS]->(j:Job) "
            f"UNWIND [{run}, j] AS n WITH n WHERE n IS NOT NULL RETURN n")


# `CALL () {{ ... }}` yielding the start nodes `n` with the `kind` that matched `$node`.
START = f"""CALL () {{
  MATCH (n:Dataset) WHERE {_guard('dataset')} AND n.uri IN [$node, $node + '/']
  RETURN n, 'dataset' AS kind
  UNION
  MATCH (n:Table {{name: $node}}) WHERE {_guard('table')}
  RETURN n, 'table' AS kind
  UNION
  MATCH (n:Column {{key: $node}}) WHERE {_guard('column')}
  RETURN n, 'column' AS kind
  UNION
  CALL () {{
    MATCH (p:Pipeline {{name: $node}}) WHERE {_guard('pipeline')} RETURN p
    UNION
    MATCH (p:Pipeline {{arn: $node}}) WHERE {_guard('pipeline')} RETURN p
  }}
  WITH p WHERE coalesce(p.retired, false) = false
  CALL (p) {{
    MATCH (p)-[:HAS_STEP]->(n:Step) WHERE coalesce(n.retired, false) = false RETURN n
    UNION
    WITH {latest_execution('p')} AS e
    UNWIND [(r:StepRun)-[:IN]->(e) | r] AS r {_run_and_job('r')}
  }}
  RETURN n, 'pipeline' AS kind
  UNION
  CALL () {{
    MATCH (p:Pipeline {{name: split($node, '/')[0]}}) WHERE {_guard('step')} AND size(split($node, '/')) = 2
    MATCH (s:Step {{key: p.arn + '/' + split($node, '/')[1]}})
    RETURN s
    UNION
    MATCH (s:Step {{key: $node}}) WHERE {_guard('step')} RETURN s
  }}
  CALL (s) {{
    RETURN s AS n
    UNION
    WITH {newest("(x:StepRun)-[:RUN_OF]->(s)", "x")} AS r WHERE r IS NOT NULL
    {_run_and_job('r')}
  }}
  RETURN n, 'step' AS kind
  UNION
  MATCH (e:PipelineExecution {{arn: $node}}) WHERE {_guard('execution')}
  UNWIND [(r:StepRun)-[:IN]->(e) | r] AS r
  OPTIONAL MATCH (r)-[:RAN_AS]->(j:Job)
  UNWIND [r, j] AS n WITH n WHERE n IS NOT NULL
  RETURN n, 'execution' AS kind
  UNION
  MATCH (n:Job {{arn: toLower($node)}}) WHERE {_guard('job')}
  RETURN n, 'job' AS kind
  UNION
  MATCH (n:Job {{name: $node}}) WHERE {_guard('job')}
  RETURN n, 'job' AS kind
  UNION
  MATCH (n:ModelPackage {{arn: $node}}) WHERE {_guard('model-package')}
  RETURN n, 'model-package' AS kind
  UNION
  MATCH (n:ModelPackage {{group: split($node, '/')[0]}})
  WHERE {_guard('model-package')} AND size(split($node, '/')) = 2 AND toString(n.version) = split($node, '/')[1]
  RETURN n, 'model-package' AS kind
  UNION
  MATCH (n:ModelPackage {{group: $node}}) WHERE {_guard('model-package')}
  RETURN n, 'model-package' AS kind
  UNION
  MATCH (n:Model {{arn: $node}}) WHERE {_guard('model')}
  RETURN n, 'model' AS kind
  UNION
  MATCH (n:Model {{name: $node}}) WHERE {_guard('model')}
  RETURN n, 'model' AS kind
  UNION
  MATCH (n:Endpoint {{arn: $node}}) WHERE {_guard('endpoint')}
  RETURN n, 'endpoint' AS kind
  UNION
  MATCH (n:Endpoint {{name: toLower($node)}}) WHERE {_guard('endpoint')}
  RETURN n, 'endpoint' AS kind
  UNION
  MATCH (n:FeatureGroup {{arn: toLower($node)}}) WHERE {_guard('feature-group')}
  RETURN n, 'feature-group' AS kind
  UNION
  MATCH (n:FeatureGroup {{name: $node}}) WHERE {_guard('feature-group')}
  RETURN n, 'feature-group' AS kind
}}"""


# The start nodes a node parameter names (the runner's check that it exists, and the starts of subgraphs).
RESOLVE = f"""{START}
RETURN kind, {node_id('n')} AS id, {kind('n')} AS node_kind, {name('n')} AS label, {status('n')} AS status
ORDER BY kind, id LIMIT 1000"""

RESOLVE_DOMAIN = """CALL () {
  MATCH (d:Domain {name: $node}) RETURN d.id AS id
  UNION
  MATCH (d:Domain {id: $node}) RETURN d.id AS id
  UNION
  MATCH (p:Pipeline {domain_name: $node}) RETURN p.domain_name AS id
}
RETURN 'domain' AS kind, id, 'Domain' AS node_kind, $node AS label, null AS status"""


def shown(v: str, prefix: str = "") -> str:
    """`kind, key, name, status` of a node, as result columns."""
    return (f"{kind(v)} AS {prefix}kind, {key(v)} AS {prefix}key, {name(v)} AS {prefix}name, "
            f"{status(v)} AS {prefix}status")
