"""Data queries: a dataset's schema history, schema drift since training, exposure to weak bucket posture."""
from __future__ import annotations

from functools import cache

from graphstore.queries.cypher import START, key, kind, name, status, walk
from graphstore.queries.lineage import KIND, NODE
from graphstore.queries.model import MAX_DEPTH, REQUIRED, Column, Param, Query, depth_param, limit_param

SCHEMA_HISTORY = Query(
    "schema-history",
    "A dataset's schema versions, newest first, each with what changed from the one before and whether it drifted",
    """MATCH (d:Dataset) WHERE d.uri IN [$dataset, $dataset + '/']
MATCH (d)-[h:HAS_SCHEMA]->(v:SchemaVersion)
RETURN d.uri AS dataset, v.version AS version, v.observed_at AS observed_at, coalesce(h.current, false) AS current,
       v.column_count AS columns, v.column_names AS column_names, v.added AS added, v.removed AS removed,
       v.type_changed AS type_changed, v.nullability_changed AS nullability_changed, v.drift AS drift,
       v.drift_kinds AS drift_kinds, v.change_summary AS change, v.object AS revealed_by
ORDER BY version DESC
LIMIT $limit""",
    (Param("dataset", "string", "the dataset's S3 URI (the trailing `/` of a prefix may be left out)", REQUIRED,
           anchor="dataset"),
     limit_param()),
    (Column("dataset", "the dataset URI"),
     Column("version", "the schema version (1 is the first seen)"),
     Column("observed_at", "the time of the object that revealed it"),
     Column("current", "whether it is the dataset's current schema"),
     Column("columns", "how many columns"),
     Column("column_names", "the column names (struct fields as dotted paths)"),
     Column("added", "columns added since the version before"),
     Column("removed", "columns removed"),
     Column("type_changed", "columns whose type changed: [{name, from, to}]", json=True),
     Column("nullability_changed", "columns whose nullability changed", json=True),
     Column("drift", "whether the change can break readers (removed or retyped columns, ...)"),
     Column("drift_kinds", "which kinds of drift"),
     Column("change", "the change in words"),
     Column("revealed_by", "the object whose schema it is")),
    {"dataset": "s3://acme-ml-data/churn/raw/", "limit": 100},
    family="data",
)

_TRAINING = "TrainingJob|TuningJob|AutoMLJob"

def _indent(text: str, by: str = "  ") -> str:
    return text.replace("\n", "\n" + by)


@cache
def _drift(depth: int = MAX_DEPTH) -> str:
    return f"""{START}
CALL (n, kind) {{
  // a dataset or table: the training jobs downstream of it, and its data (a table's: where it is stored)
  WITH n, kind WHERE kind IN ['dataset', 'table']
  {_indent(walk("downstream", "n", f"t:{_TRAINING}", depth=depth, tag="t"))}
  CALL (n) {{
    WITH n WHERE n:Dataset RETURN n AS d
    UNION
    MATCH (n)-[:STORED_AT]->(d:Dataset) RETURN d
  }}
  RETURN t, d, length(pt) AS distance
  UNION
  // anything else (a model, a model package, an endpoint, a job): the training jobs upstream, then their data
  WITH n, kind WHERE NOT kind IN ['dataset', 'table']
  {_indent(walk("upstream", "n", f"t:{_TRAINING}", depth=depth, min_length=0, tag="t"))}
  {_indent(walk("upstream", "t", "d:Dataset", depth=depth, where="NOT coalesce({b}.templated, false)", tag="d"))}
  RETURN t, d, length(pd) AS distance
}}
WITH t, d, min(distance) AS distance
MATCH (d)-[:HAS_SCHEMA]->(v:SchemaVersion)-[:PREVIOUS]->(:SchemaVersion)
WHERE v.observed_at > coalesce(t.end_time, t.start_time, t.created)
CALL (t) {{
  OPTIONAL MATCH (t)-[:PRODUCES]->(:Dataset)-[:FEEDS]->(m) WHERE m:ModelPackage OR m:Model
  RETURN collect(DISTINCT {name('m')}) AS models
}}
RETURN t.name AS training_job, coalesce(t.end_time, t.start_time, t.created) AS trained_at, models,
       d.uri AS dataset, distance, v.version AS version, v.observed_at AS changed_at, v.change_summary AS change,
       v.added AS added, v.removed AS removed, v.type_changed AS type_changed, v.drift AS drift
ORDER BY changed_at DESC, dataset, trained_at DESC, training_job
LIMIT $limit"""


DRIFT_SINCE_TRAINING = Query(
    "drift-since-training",
    "Schema changes of a model's training data since its training job ran (for a dataset or table: since "
    "each training job it fed ran)",
    _drift(),
    (NODE, KIND, depth_param(12), limit_param()),
    (Column("training_job", "the training (or tuning, AutoML) job"),
     Column("trained_at", "when it ended (or started)"),
     Column("models", "the model packages and models made from its output"),
     Column("dataset", "training data (at any depth upstream of the job) whose schema changed since"),
     Column("distance", "relationships from the dataset to the job"),
     Column("version", "the schema version that came after training"),
     Column("changed_at", "when that version was observed"),
     Column("change", "the change in words"),
     Column("added", "columns added"),
     Column("removed", "columns removed"),
     Column("type_changed", "columns whose type changed: [{name, from, to}]", json=True),
     Column("drift", "whether the change can break readers")),
    {"node": "churn-models/1", "kind": "auto", "depth": 12, "limit": 100},
    family="data", build=_drift,
)

POSTURE = Param("posture", "choice", "which buckets: `unencrypted` (no default encryption), `public` "
                "(a policy or ACL grants public access and nothing blocks it), `unknown` (posture never fetched, "
                "or a field denied), or `any` of these", "any", choices=("any", "unencrypted", "public", "unknown"))

@cache
def _exposure(depth: int = MAX_DEPTH) -> str:
    return f"""MATCH (b:Bucket) WHERE b.name IS NOT NULL
WITH b, [risk IN [
    CASE WHEN b.encryption = 'none' THEN 'unencrypted' END,
    CASE WHEN b.public_access = 'Public' THEN 'public' END,
    CASE WHEN b.posture_checked_at IS NULL OR b.encryption = 'Unknown' OR b.public_access = 'Unknown'
         THEN 'unknown' END] WHERE risk IS NOT NULL] AS risks
WHERE size(risks) > 0 AND ($posture = 'any' OR $posture IN risks)
MATCH (b)<-[:IN_BUCKET]-(d:Dataset)
{walk("downstream", "d", "m:ModelPackage|Model|Endpoint", depth=depth)}
WITH m, b, risks, min(length(p)) AS distance, collect(DISTINCT d.uri) AS datasets
RETURN {kind('m')} AS kind, {name('m')} AS name, {key('m')} AS key, {status('m')} AS status, b.name AS bucket,
       risks, b.encryption AS encryption, b.public_access AS public_access, datasets[..5] AS datasets,
       size(datasets) AS dataset_count, distance
ORDER BY kind, name, bucket
LIMIT $limit"""


EXPOSURE = Query(
    "exposure",
    "Model packages, models and endpoints fed (at any depth) by data in buckets that are unencrypted, public, "
    "or of unknown posture",
    _exposure(),
    (POSTURE, depth_param(12), limit_param()),
    (Column("kind", "ModelPackage, Model or Endpoint"),
     Column("name", "its usual name"),
     Column("key", "its ARN"),
     Column("status", "a model package's approval status"),
     Column("bucket", "a bucket whose data feeds it"),
     Column("risks", "what is wrong with the bucket: unencrypted, public, unknown"),
     Column("encryption", "the bucket's default encryption (`none`, `SSE-S3`, `SSE-KMS`, `Unknown`)"),
     Column("public_access", "`Blocked`, `Public`, `NotPublic` or `Unknown`"),
     Column("datasets", "up to five datasets of the bucket that feed it"),
     Column("dataset_count", "how many datasets of the bucket feed it"),
     Column("distance", "relationships from the nearest of them")),
    {"posture": "any", "depth": 12, "limit": 100},
    family="data", build=_exposure,
    index_scans={"Bucket(name)": "every bucket's posture is judged, including buckets whose posture was never "
                                 "fetched (nothing to seek on); the key index is read once, one entry per bucket"},
)

QUERIES = (SCHEMA_HISTORY, DRIFT_SINCE_TRAINING, EXPOSURE)
