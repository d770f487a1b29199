"""Views: graph data rendered as the JSON shapes users already consume. Read from Neo4j only."""
from __future__ import annotations

import json
from typing import Any

from graphstore.reader import Reader


class PipelineNotFound(LookupError):
    pass


FIND_PIPELINE = """
MATCH (p:Pipeline {name: $name})
WHERE coalesce(p.retired, false) = false
  AND ($region IS NULL OR p.region = $region)
  AND ($domain IS NULL OR p.domain_name = $domain OR EXISTS { (p)-[:IN_DOMAIN]->(:Domain {name: $domain}) })
RETURN p {.*} AS p ORDER BY p.last_modified DESC LIMIT 1
"""

STEPS = """
MATCH (:Pipeline {arn: $arn})-[:HAS_STEP]->(s:Step) WHERE coalesce(s.retired, false) = false
CALL (s) {
  OPTIONAL MATCH (d:Dataset)-[f:FEEDS]->(s) WHERE f.definition_hash = s.definition_hash
  RETURN collect(CASE WHEN d IS NULL THEN null ELSE {name: f.name, uri: f.uri, dataset: d.uri} END) AS inputs
}
CALL (s) {
  OPTIONAL MATCH (s)-[w:PRODUCES]->(d:Dataset) WHERE w.definition_hash = s.definition_hash
  RETURN collect(CASE WHEN d IS NULL THEN null ELSE {name: w.name, uri: w.uri, dataset: d.uri} END) AS outputs
}
RETURN s {.*} AS step, inputs, outputs ORDER BY s.order, s.name
"""

EDGES = """
MATCH (:Pipeline {arn: $arn})-[:HAS_STEP]->(a:Step)-[r:PRECEDES]->(b:Step)
WHERE coalesce(a.retired, false) = false AND coalesce(b.retired, false) = false
RETURN a.name AS source, b.name AS target, r.via AS via, r.label AS label
ORDER BY a.order, b.order, via
"""

LATEST_RUN = """
MATCH (e:PipelineExecution)-[:OF]->(:Pipeline {arn: $arn})
WITH e ORDER BY e.start_time DESC LIMIT 1
OPTIONAL MATCH (r:StepRun)-[:IN]->(e)
OPTIONAL MATCH (r)-[:RAN_AS]->(j:Job)
// Concrete data lives on what the run created (job, model, model package), else on the run itself.
CALL (r) {
  OPTIONAL MATCH (r)-[:RAN_AS|PRODUCES]->(h) WHERE h:Job OR h:Model OR h:ModelPackage
  WITH r, collect(h)[0] AS created
  RETURN coalesce(created, r) AS holder
}
CALL (holder) {
  OPTIONAL MATCH (d:Dataset)-[f:FEEDS]->(holder)
  RETURN collect(CASE WHEN d IS NULL THEN null ELSE {name: f.name, uri: f.uri} END) AS inputs
}
CALL (holder) {
  OPTIONAL MATCH (holder)-[w:PRODUCES]->(d:Dataset)
  RETURN collect(CASE WHEN d IS NULL THEN null ELSE {name: w.name, uri: w.uri} END) AS outputs
}
RETURN e {.*} AS execution,
       collect(CASE WHEN r IS NULL THEN null ELSE
         {run: r {.*}, job: j {.arn, .metrics, .billable_seconds}, inputs: inputs, outputs: outputs} END) AS runs
"""

BUCKETS = """
UNWIND $names AS name MATCH (b:Bucket {name: name}) RETURN b {.*} AS bucket
"""


UNKNOWN = "Unknown"
# The graph names a bucket's default encryption as the S3 console does (collector.s3.posture); the earlier
# tools' JSON gave the algorithm as the API names it (SSEAlgorithm), and "None" for no default encryption.
_ENCRYPTION = {"SSE-S3": "AES256", "SSE-KMS": "aws:kms", "DSSE-KMS": "aws:kms:dsse", "none": "None"}
# Blocked, Public and Unknown as stored; "not blocked and nothing grants public access" is NotBlocked.
_PUBLIC_ACCESS = {"NotPublic": "NotBlocked"}


def aws_encryption(stored: Any) -> str:
    """`aws:kms`, `AES256`, `aws:kms:dsse`, `None` (no default encryption) or `Unknown` (denied or never checked)."""
    if stored is None:
        return UNKNOWN
    return _ENCRYPTION.get(str(stored), str(stored))


def aws_public_access(stored: Any) -> str:
    """`Blocked` (the public access block blocks everything), `Public` (a policy or ACL grants public access),
    `NotBlocked`, or `Unknown` (a deciding call was denied, or the bucket was never checked)."""
    if stored is None:
        return UNKNOWN
    return _PUBLIC_ACCESS.get(str(stored), str(stored))


def _iso(value: Any) -> Any:
    return value.to_native().isoformat() if hasattr(value, "to_native") else value


def _data(refs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return sorted(({"name": r["name"], "uri": r["uri"]} for r in refs), key=lambda d: (d["name"], d["uri"]))


def _loads(text: Any) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return {}


class Views(Reader):
    def lineage(self, name: str, *, region: str | None = None, domain: str | None = None,
                include_latest_exec: bool = True, view: str = "both") -> dict[str, Any]:
        found = self._read(FIND_PIPELINE, name=name, region=region, domain=domain)
        if not found:
            raise PipelineNotFound(name)
        pipeline = found[0]["p"]
        arn = pipeline["arn"]
        steps = self._read(STEPS, arn=arn)
        edges = self._read(EDGES, arn=arn)
        latest = self._read(LATEST_RUN, arn=arn) if include_latest_exec else []
        execution = latest[0]["execution"] if latest else None
        runs = {r["run"]["name"]: r for r in (latest[0]["runs"] if latest else [])}

        nodes = []
        datasets: dict[str, None] = {}  # ordered set
        for row in steps:
            step = row["step"]
            inputs, outputs = _data(row["inputs"]), _data(row["outputs"])
            for ref in row["inputs"] + row["outputs"]:
                datasets[ref["dataset"]] = None
            node: dict[str, Any] = {"id": step["name"], "type": step["type"], "inputs": inputs, "outputs": outputs}
            for prop in ("parent", "branch", "conditions", "error_message", "job_kind"):
                if step.get(prop) is not None:
                    node[prop] = step[prop]
            if include_latest_exec and step["name"] in runs:
                node["run"] = _run_json(runs[step["name"]])
            nodes.append(node)

        result: dict[str, Any] = {
            "pipeline": {"name": pipeline["name"], "arn": arn,
                         "lastModifiedTime": _iso(pipeline.get("last_modified"))},
            "summary": _summary(execution, runs, nodes) if include_latest_exec else None,
            "graph": {
                "nodes": nodes,
                "edges": [{"from": e["source"], "to": e["target"], "via": e["via"], "label": e["label"]}
                          for e in edges],
                "artifacts": self._artifacts(list(datasets)),
            },
            "graphPipeline": _graph_pipeline(steps, edges, view),
        }
        if not include_latest_exec:
            del result["summary"]
        elif execution:
            result["latestExecution"] = {
                "arn": execution["arn"], "status": execution.get("status"),
                "startTime": _iso(execution.get("start_time")), "endTime": _iso(execution.get("end_time")),
                "parameters": _loads(execution.get("parameters")),
            }
        return result

    def _artifacts(self, uris: list[str]) -> list[dict[str, Any]]:
        buckets = {split(u)[0] for u in uris}
        posture = {r["bucket"]["name"]: r["bucket"] for r in self._read(BUCKETS, names=sorted(buckets))}
        artifacts = []
        for uri in uris:
            bucket, key = split(uri)
            b = posture.get(bucket, {})
            artifacts.append({"id": uri, "uri": uri, "bucket": bucket, "key": key, "s3": {
                "encryption": aws_encryption(b.get("encryption")), "versioning": b.get("versioning") or UNKNOWN,
                "publicAccess": aws_public_access(b.get("public_access")), "tags": _loads(b.get("tags")),
            }})
        return artifacts

    def inventory(self, regions: list[str] | None = None) -> dict[str, Any]:
        rows = self._read(
            "MATCH (p:Pipeline) WHERE coalesce(p.retired, false) = false "
            "AND ($regions IS NULL OR p.region IN $regions) "
            "OPTIONAL MATCH (p)-[:IN_DOMAIN]->(d:Domain) "
            "OPTIONAL MATCH (e:PipelineExecution)-[:OF]->(p) "
            "WITH p, d, e ORDER BY e.start_time DESC "
            "WITH p, d, collect(e)[0] AS latest "
            "RETURN p.region AS region, d.name AS domain, d.id AS domain_id, p.name AS name, p.arn AS arn, "
            "latest.status AS status, latest.start_time AS last_run ORDER BY region, domain, name",
            regions=regions or None)
        out: dict[str, Any] = {}
        for r in rows:
            region = out.setdefault(r["region"] or "unknown", {"domains": {}})
            domain = region["domains"].setdefault(r["domain"] or "(no domain)", {"id": r["domain_id"], "pipelines": []})
            domain["pipelines"].append({"name": r["name"], "arn": r["arn"], "latestStatus": r["status"],
                                        "lastRun": _iso(r["last_run"])})
        return {"regions": out}


def _run_json(entry: dict[str, Any]) -> dict[str, Any]:
    run, job = entry["run"], entry.get("job") or {}
    metrics = {**_loads(job.get("metrics")), **_loads(run.get("metrics"))}
    out = {
        "status": run.get("status"), "startTime": _iso(run.get("start_time")), "endTime": _iso(run.get("end_time")),
        "elapsedSec": run.get("elapsed_sec"), "jobArn": run.get("job_arn"), "metrics": metrics,
        "cacheHit": run.get("cache_hit"), "failureReason": run.get("failure_reason"),
        "inputs": _data(entry["inputs"]), "outputs": _data(entry["outputs"]),
    }
    if run.get("condition_outcome"):
        out["conditionOutcome"] = run["condition_outcome"]
    return out


def _summary(execution: dict[str, Any] | None, runs: dict[str, Any], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for node in nodes:
        status = node.get("run", {}).get("status") or "NotStarted"
        counts[status] = counts.get(status, 0) + 1
    return {
        "overallStatus": (execution or {}).get("status") or "NotExecuted",
        "nodeStatus": dict(sorted(counts.items())),
        "elapsedSec": (execution or {}).get("elapsed_sec"),
    }


def _graph_pipeline(steps: list[dict[str, Any]], edges: list[dict[str, Any]], view: str) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    for row in steps:
        name = row["step"]["name"]
        nodes[f"process:{name}"] = {"id": f"process:{name}", "kind": "process", "label": name}
    if view in ("pipeline", "both"):
        for e in edges:
            link = {"source": f"process:{e['source']}", "target": f"process:{e['target']}", "kind": "dependsOn"}
            if link not in links:
                links.append(link)
    if view in ("data", "both"):
        for row in steps:
            process = f"process:{row['step']['name']}"
            for kind, refs in (("read", row["inputs"]), ("write", row["outputs"])):
                for ref in refs:
                    data = f"data:{ref['dataset']}"
                    nodes.setdefault(data, {"id": data, "kind": "data", "label": ref["dataset"]})
                    pair = (data, process) if kind == "read" else (process, data)
                    link = {"source": pair[0], "target": pair[1], "kind": kind}
                    if link not in links:
                        links.append(link)
    return {"nodes": list(nodes.values()), "edges": links}


def split(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key
