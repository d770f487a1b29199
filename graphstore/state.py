"""What the graph already knows, read so that syncs fetch only what changed; and stale definitions.

"Stored terminal" means terminal *as read from AWS* (`state_observed_at` set: the state came from a
Describe/List call, graphstore.model.observed): a terminal state only an event reported is fetched
once more, so a forged or mistaken event cannot make the sync skip what it would correct.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from graphstore.reader import Reader

# Final states in botocore's PipelineExecutionStatus, *JobStatus and StepStatus enums; kept equal to
# collector.sagemaker.transform.TERMINAL / JOB_TERMINAL (graphstore does not import collector).
TERMINAL_EXECUTION = ["Succeeded", "Failed", "Stopped", "CompletedWithFailures"]
TERMINAL_JOB = ["Completed", "Failed", "Stopped"]
TERMINAL_STEP = ["Succeeded", "Failed", "Stopped"]


@dataclass
class PipelineState:
    last_modified: datetime | None = None
    definition: str | None = None
    terminal_executions: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)  # ids of the domains it is linked to (IN_DOMAIN)


class GraphState(Reader):
    def pipeline(self, arn: str) -> PipelineState:
        rows = self._read(
            "OPTIONAL MATCH (p:Pipeline {arn: $arn}) "
            "OPTIONAL MATCH (e:PipelineExecution)-[:OF]->(p) WHERE e.status IN $terminal AND e.state_observed_at IS NOT NULL "
            "RETURN p.last_modified AS last_modified, p.definition AS definition, "
            "coalesce([(p)-[:IN_DOMAIN]->(d:Domain) | d.id], []) AS domains, collect(e.arn) AS done",
            arn=arn, terminal=TERMINAL_EXECUTION)
        row = rows[0] if rows else {}
        modified = row.get("last_modified")
        return PipelineState(modified.to_native() if modified is not None else None,
                             row.get("definition"), set(row.get("done") or []), set(row.get("domains") or []))

    def terminal(self, label: str, arns: Iterable[str]) -> set[str]:
        """Which of these Job / ModelPackage / Model ARNs are stored complete (never change again)."""
        arns = list(arns)
        if not arns:
            return set()
        if label == "Job":
            query = ("UNWIND $arns AS a MATCH (n:Job {arn: a}) WHERE n.status IN $terminal "
                     "AND n.state_observed_at IS NOT NULL RETURN n.arn AS arn")
        elif label == "Model":
            query = "UNWIND $arns AS a MATCH (n:Model {arn: a}) WHERE n.created IS NOT NULL RETURN n.arn AS arn"
        else:  # model packages change approval status; refresh them while their execution is fresh
            return set()
        return {r["arn"] for r in self._read(query, arns=arns, terminal=TERMINAL_JOB)}

    def retire_stale_definition(self, pipeline_arn: str, definition_hash: str) -> int:
        """Steps and definition-level edges the current definition no longer has stop being current."""
        rows = self._write(
            "MATCH (p:Pipeline {arn: $arn})-[:HAS_STEP]->(s:Step) "
            "WHERE s.definition_hash <> $hash "
            "SET s.retired_at = CASE WHEN s.retired THEN coalesce(s.retired_at, datetime()) ELSE datetime() END, "
            "s.retired = true "
            "WITH count(s) AS retired "
            "OPTIONAL MATCH (:Pipeline {arn: $arn})-[:HAS_STEP]->(:Step)-[r]-() "
            "WHERE r.definition_hash IS NOT NULL AND r.definition_hash <> $hash "
            "DELETE r RETURN retired, count(r) AS edges",
            arn=pipeline_arn, hash=definition_hash)
        return int(rows[0]["retired"]) if rows else 0

    def retire_domain_links(self, pipeline_arn: str, keep: str | None, domain_name: str | None) -> int:
        """The pipeline's tags no longer name these domains: its other IN_DOMAIN edges go, and `domain_name`
        follows the tags (removed with the tag)."""
        rows = self._write(
            "MATCH (p:Pipeline {arn: $arn}) SET p.domain_name = $name "
            "WITH p OPTIONAL MATCH (p)-[r:IN_DOMAIN]->(d:Domain) WHERE $keep IS NULL OR d.id <> $keep "
            "DELETE r RETURN count(r) AS n", arn=pipeline_arn, keep=keep, name=domain_name)
        return int(rows[0]["n"]) if rows else 0

    # --- what the event path asks -------------------------------------------------------------

    def pipelines_with_definition(self, arns: Iterable[str]) -> dict[str, str | None]:
        """ARN -> name of those of these pipelines whose definition the graph holds."""
        rows = self._read("UNWIND $arns AS a MATCH (p:Pipeline {arn: a}) WHERE p.definition IS NOT NULL "
                          "RETURN p.arn AS arn, p.name AS name", arns=sorted(set(arns)))
        return {r["arn"]: r["name"] for r in rows}

    def pipeline_name(self, arn: str) -> str | None:
        rows = self._read("MATCH (p:Pipeline {arn: $arn}) RETURN p.name AS name", arn=arn)
        return rows[0]["name"] if rows else None

    def executions_stored_terminal(self, executions: dict[str, str]) -> dict[str, tuple[bool, str | None]]:
        """execution ARN -> (stored in a terminal state, its pipeline's name) for {execution ARN: pipeline ARN}."""
        rows = self._read(
            "UNWIND $rows AS r OPTIONAL MATCH (e:PipelineExecution {arn: r.e}) OPTIONAL MATCH (p:Pipeline {arn: r.p}) "
            "RETURN r.e AS execution, coalesce(e.status IN $terminal AND e.state_observed_at IS NOT NULL, false) AS done, "
            "p.name AS name",
            rows=[{"e": e, "p": p} for e, p in executions.items()], terminal=TERMINAL_EXECUTION)
        return {r["execution"]: (bool(r["done"]), r["name"]) for r in rows}
