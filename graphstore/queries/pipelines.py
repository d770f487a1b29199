"""Pipeline queries: a pipeline's graph in the three views, the inventory, a domain's pipelines with
their lineage, runs and failures over a time window."""
from __future__ import annotations

from graphstore.queries.cypher import latest_execution
from graphstore.queries.model import REQUIRED, Column, Param, Query, limit_param

PIPELINE = Param("pipeline", "string", "a pipeline name or ARN", REQUIRED, anchor="pipeline")
REGION = Param("region", "string", "only pipelines in this region")
VIEW = Param("view", "choice", "`pipeline`: steps and their order; `data`: steps and the data they read and "
             "write; `both` (as `lineage --view`)", "both", choices=("pipeline", "data", "both"))

PIPELINE_GRAPH = Query(
    "pipeline-graph",
    "A pipeline's definition as a graph: step nodes, data nodes and dependsOn/read/write edges "
    "(the graphPipeline of `lineage --view`)",
    """MATCH (p:Pipeline) WHERE (p.name = $pipeline OR p.arn = $pipeline) AND coalesce(p.retired, false) = false
  AND ($region IS NULL OR p.region = $region)
WITH p ORDER BY p.last_modified DESC LIMIT 1
MATCH (p)-[:HAS_STEP]->(s:Step) WHERE coalesce(s.retired, false) = false
CALL (s) {
  RETURN 'node' AS element, 'process:' + s.name AS id, 'process' AS kind, s.name AS label,
         null AS source, null AS target
  UNION
  MATCH (s)-[:PRECEDES]->(t:Step) WHERE $view IN ['pipeline', 'both'] AND coalesce(t.retired, false) = false
  RETURN 'edge' AS element, null AS id, 'dependsOn' AS kind, null AS label,
         'process:' + s.name AS source, 'process:' + t.name AS target
  UNION
  MATCH (d:Dataset)-[f:FEEDS]->(s) WHERE $view IN ['data', 'both'] AND f.definition_hash = s.definition_hash
  UNWIND [['node', 'data:' + d.uri, 'data', d.uri, null, null],
          ['edge', null, 'read', null, 'data:' + d.uri, 'process:' + s.name]] AS e
  RETURN e[0] AS element, e[1] AS id, e[2] AS kind, e[3] AS label, e[4] AS source, e[5] AS target
  UNION
  MATCH (s)-[w:PRODUCES]->(d:Dataset) WHERE $view IN ['data', 'both'] AND w.definition_hash = s.definition_hash
  UNWIND [['node', 'data:' + d.uri, 'data', d.uri, null, null],
          ['edge', null, 'write', null, 'process:' + s.name, 'data:' + d.uri]] AS e
  RETURN e[0] AS element, e[1] AS id, e[2] AS kind, e[3] AS label, e[4] AS source, e[5] AS target
}
RETURN DISTINCT element, id, kind, label, source, target
ORDER BY element DESC, kind DESC, id, source, target
LIMIT $limit""",
    (PIPELINE, VIEW, REGION, limit_param(1000)),
    (Column("element", "`node` or `edge`"),
     Column("id", "a node's id: `process:<step>` or `data:<uri>`"),
     Column("kind", "a node's kind (`process`, `data`) or an edge's (`dependsOn`, `read`, `write`)"),
     Column("label", "a node's label: the step name or the URI"),
     Column("source", "an edge's source node id"),
     Column("target", "an edge's target node id")),
    {"pipeline": "churn-training", "view": "both", "limit": 1000},
    family="pipelines", graph=True,
)

INVENTORY = Query(
    "inventory",
    "Every pipeline by region and domain, with its latest execution",
    """MATCH (p:Pipeline) WHERE p.name IS NOT NULL AND coalesce(p.retired, false) = false
  AND ($region IS NULL OR p.region = $region)
OPTIONAL MATCH (p)-[:IN_DOMAIN]->(d:Domain)
WITH p, d, {LATEST} AS latest
RETURN p.region AS region, coalesce(d.name, p.domain_name) AS domain, d.id AS domain_id, p.name AS pipeline,
       p.arn AS arn, latest.status AS latest_status, latest.start_time AS last_run,
       COUNT { (p)<-[:OF]-(:PipelineExecution) } AS executions, COUNT { (p)-[:HAS_STEP]->(:Step) } AS steps
ORDER BY region, domain, pipeline
LIMIT $limit""".replace("{LATEST}", latest_execution("p")),
    (REGION, limit_param(1000)),
    (Column("region", "the pipeline's region"),
     Column("domain", "its Studio domain (from the DomainName tag), if any"),
     Column("domain_id", "the domain's id (d-xxxx) when the domain is known"),
     Column("pipeline", "the pipeline name"),
     Column("arn", "the pipeline ARN"),
     Column("latest_status", "the status of its latest execution"),
     Column("last_run", "when its latest execution started"),
     Column("executions", "executions in the graph"),
     Column("steps", "steps of the definitions seen (retired ones included)")),
    {"limit": 1000},
    family="pipelines",
    index_scans={"Pipeline(name)": "listing every pipeline is the point: the name index is read once, "
                                   "one entry per pipeline"},
)

BY_DOMAIN = Query(
    "by-domain",
    "Every pipeline of a Studio domain with its lineage; a pipeline whose lineage cannot be read is an "
    "error entry (ok false) and the others still answer",
    """CALL () {
  MATCH (:Domain {name: $domain})<-[:IN_DOMAIN]-(p:Pipeline) RETURN p
  UNION
  MATCH (:Domain {id: $domain})<-[:IN_DOMAIN]-(p:Pipeline) RETURN p
  UNION
  MATCH (p:Pipeline {domain_name: $domain}) RETURN p
}
WITH p WHERE coalesce(p.retired, false) = false
WITH p, {LATEST} AS latest
RETURN p.name AS pipeline, p.arn AS arn, p.region AS region, latest.status AS latest_status,
       latest.start_time AS last_run, COUNT { (p)-[:HAS_STEP]->(:Step) } AS steps
ORDER BY pipeline, region
LIMIT $limit""".replace("{LATEST}", latest_execution("p")),
    (Param("domain", "string", "a Studio domain name or id (d-xxxx)", REQUIRED, anchor="domain"), VIEW,
     limit_param()),
    (Column("pipeline", "the pipeline name"),
     Column("arn", "the pipeline ARN"),
     Column("region", "its region"),
     Column("latest_status", "the status of its latest execution"),
     Column("last_run", "when its latest execution started"),
     Column("steps", "steps of the definitions seen"),
     Column("ok", "whether its lineage was read (added by the library, not the Cypher)"),
     Column("error", "why not, when ok is false"),
     Column("lineage", "its lineage JSON, as `lineage --pipeline` prints it (added by the library)",
            in_table=False)),
    {"domain": "ml-platform", "view": "both", "limit": 100},
    family="pipelines",
)

SINCE = Param("since", "datetime", "from (inclusive); default: 7 days before `until`")
UNTIL = Param("until", "datetime", "to (exclusive); default: now")
OPTIONAL_PIPELINE = Param("pipeline", "string", "only this pipeline (a name or ARN); default: every pipeline",
                          anchor="pipeline")

# Executions of the window, of one pipeline (from its name or ARN) or of all (the start_time index).
_WINDOW = """WITH coalesce(datetime($until), datetime()) AS until
WITH until, coalesce(datetime($since), until - duration({days: 7})) AS since
CALL (since, until) {
  MATCH (:Pipeline {name: $pipeline})<-[:OF]-(e:PipelineExecution)
  WHERE e.start_time >= since AND e.start_time < until
  RETURN e
  UNION
  MATCH (:Pipeline {arn: $pipeline})<-[:OF]-(e:PipelineExecution)
  WHERE e.start_time >= since AND e.start_time < until
  RETURN e
  UNION
  // every pipeline: a null bound (a pipeline was named) makes this range empty
  MATCH (e:PipelineExecution)
  WHERE e.start_time >= since AND e.start_time < CASE WHEN $pipeline IS NULL THEN until END
  RETURN e
}
MATCH (e)-[:OF]->(p:Pipeline)"""

RUNS = Query(
    "runs",
    "Pipeline executions in a time window, newest first, with their step statuses and failure reason",
    f"""{_WINDOW}
WHERE $status IS NULL OR e.status = $status
CALL (e) {{
  OPTIONAL MATCH (r:StepRun)-[:IN]->(e)
  WITH r.status AS state, count(r) AS runs ORDER BY state
  RETURN collect(state + ': ' + runs) AS steps
}}
RETURN p.name AS pipeline, e.execution_id AS execution, e.status AS status, e.start_time AS started,
       e.end_time AS ended, e.elapsed_sec AS elapsed_sec, steps, e.failure_reason AS failure_reason, e.arn AS arn
ORDER BY started DESC, pipeline
LIMIT $limit""",
    (OPTIONAL_PIPELINE, SINCE, UNTIL,
     Param("status", "choice", "only executions in this status",
           choices=("Executing", "Stopping", "Stopped", "Failed", "Succeeded")),
     limit_param()),
    (Column("pipeline", "the pipeline name"),
     Column("execution", "the execution id"),
     Column("status", "its status"),
     Column("started", "its start"),
     Column("ended", "its end (terminal executions)"),
     Column("elapsed_sec", "seconds from start to end"),
     Column("steps", "its step runs by status (`Succeeded: 5`)"),
     Column("failure_reason", "SageMaker's FailureReason of the execution"),
     Column("arn", "the execution ARN")),
    {"pipeline": "churn-training", "limit": 100},
    family="runs",
)

FAILURES = Query(
    "failures",
    "What failed in a time window: failed or stopped executions, their failed step runs and jobs, "
    "with each FailureReason",
    f"""{_WINDOW}
CALL (e) {{
  WITH e WHERE e.status IN ['Failed', 'Stopped']
  RETURN 'execution' AS level, e.execution_id AS name, e.status AS status,
         coalesce(e.end_time, e.start_time) AS at, e.failure_reason AS reason, null AS job
  UNION
  MATCH (r:StepRun)-[:IN]->(e) WHERE r.status IN ['Failed', 'Stopped'] OR r.failure_reason IS NOT NULL
  OPTIONAL MATCH (r)-[:RAN_AS]->(j:Job)
  RETURN 'step' AS level, r.name AS name, r.status AS status, coalesce(r.end_time, r.start_time) AS at,
         r.failure_reason AS reason, j.arn AS job
  UNION
  MATCH (j:Job)<-[:RAN_AS]-(:StepRun)-[:IN]->(e)
  WHERE j.status IN ['Failed', 'Stopped'] OR j.failure_reason IS NOT NULL
  RETURN DISTINCT 'job' AS level, j.name AS name, j.status AS status, coalesce(j.end_time, j.start_time) AS at,
         j.failure_reason AS reason, j.arn AS job
}}
RETURN p.name AS pipeline, e.execution_id AS execution, e.start_time AS started, level, name, status, at,
       reason, job
ORDER BY started DESC, pipeline, execution, CASE level WHEN 'execution' THEN 0 WHEN 'step' THEN 1 ELSE 2 END, name
LIMIT $limit""",
    (OPTIONAL_PIPELINE, SINCE, UNTIL, limit_param()),
    (Column("pipeline", "the pipeline name"),
     Column("execution", "the execution id"),
     Column("started", "the execution's start"),
     Column("level", "`execution`, `step` (a step run) or `job`"),
     Column("name", "the execution id, step name or job name"),
     Column("status", "its status"),
     Column("at", "when it ended (or started)"),
     Column("reason", "its FailureReason"),
     Column("job", "the job ARN (of a step run that ran one, or of the job)")),
    {"limit": 100},
    family="runs",
)

QUERIES = (PIPELINE_GRAPH, INVENTORY, BY_DOMAIN, RUNS, FAILURES)
