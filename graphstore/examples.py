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
]
