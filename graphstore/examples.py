"""Example Cypher queries: shown by the demo, listed in the README, run by the tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Example:
    title: str
    cypher: str
    params: dict[str, Any] = field(default_factory=dict)


EXAMPLES: list[Example] = [
    Example(
        "Latest run of every pipeline, with its step statuses",
        """MATCH (p:Pipeline)<-[:OF]-(e:PipelineExecution)
WITH p, e ORDER BY e.start_time DESC
WITH p, collect(e)[0] AS latest
OPTIONAL MATCH (r:StepRun)-[:IN]->(latest)
WITH p, latest, r.status AS status, count(r) AS steps ORDER BY status
RETURN p.name AS pipeline, latest.status AS status, latest.start_time AS started,
       collect(status + ': ' + steps) AS steps
ORDER BY pipeline""",
    ),
    Example(
        "Which run produced which model package, trained on which data",
        """MATCH (mp:ModelPackage)<-[:PRODUCES]-(:StepRun)-[:IN]->(e:PipelineExecution)-[:OF]->(p:Pipeline)
OPTIONAL MATCH (e)<-[:IN]-(:StepRun)-[:RAN_AS]->(j:TrainingJob)<-[:FEEDS]-(d:Dataset)
RETURN p.name AS pipeline, e.execution_id AS execution, mp.group + ' v' + mp.version AS model_package,
       mp.approval_status AS approval, collect(DISTINCT d.uri) AS training_data
ORDER BY pipeline, execution""",
    ),
    Example(
        "What is downstream of a raw dataset (what breaks if it changes)",
        """MATCH (raw:Dataset {uri: $uri})-[:FEEDS|PRODUCES*1..12]->(x)
WHERE (x:Dataset AND NOT x.templated) OR x:ModelPackage OR x:Model
RETURN DISTINCT labels(x)[0] AS kind, coalesce(x.uri, x.group + ' v' + x.version, x.name) AS affected
ORDER BY kind, affected LIMIT 25""",
        {"uri": "s3://acme-ml-data/churn/raw/"},
    ),
    Example(
        "Schema history of a dataset (newest first, with what changed)",
        """MATCH (d:Dataset {uri: $uri})-[h:HAS_SCHEMA]->(v:SchemaVersion)
RETURN v.version AS version, v.observed_at AS observed, h.current AS current, v.column_count AS columns,
       v.added AS added, v.removed AS removed, v.type_changed AS type_changed, v.drift AS drift,
       v.object AS revealed_by
ORDER BY version DESC""",
        {"uri": "s3://acme-ml-data/churn/raw/"},
    ),
    Example(
        "Training data whose schema drifted since the model was trained (any dataset upstream)",
        """MATCH (m)<-[:FEEDS]-(:Dataset)<-[:PRODUCES]-(t:Job)
WHERE (m:ModelPackage OR m:Model) AND (t:TrainingJob OR t:TuningJob)
  AND ($model IS NULL OR m.group = $model OR m.name = $model OR m.arn = $model)
MATCH (d:Dataset)-[:FEEDS|PRODUCES*1..8]->(t)
MATCH (d)-[:HAS_SCHEMA]->(v:SchemaVersion)
WHERE v.drift AND v.observed_at > coalesce(t.end_time, t.start_time)
RETURN DISTINCT coalesce(m.group + ' v' + m.version, m.name) AS model, t.name AS training_job, d.uri AS dataset,
       v.version AS version, v.observed_at AS changed, v.removed AS removed, v.type_changed AS type_changed
ORDER BY model, dataset, version""",
        {"model": "churn-models"},
    ),
    Example(
        "Models trained on data in a bucket without encryption or with public access",
        """MATCH (b:Bucket)<-[:IN_BUCKET]-(d:Dataset)-[:FEEDS]->(t:Job)-[:PRODUCES]->(:Dataset)-[:FEEDS]->(m)
WHERE (t:TrainingJob OR t:TuningJob) AND (m:ModelPackage OR m:Model)
  AND (b.encryption = 'none' OR b.public_access = 'Public')
OPTIONAL MATCH (m)--(ep:Endpoint)
RETURN coalesce(m.group + ' v' + m.version, m.name) AS model, b.name AS bucket, b.encryption AS encryption,
       b.public_access AS public_access, collect(DISTINCT d.uri) AS training_data,
       collect(DISTINCT ep.name) AS endpoints
ORDER BY model, bucket""",
    ),
]
