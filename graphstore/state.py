"""What the graph already knows, read so that syncs fetch only what changed; and retirement."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from neo4j import Driver

TERMINAL_EXECUTION = ["Succeeded", "Failed", "Stopped"]
TERMINAL_JOB = ["Completed", "Failed", "Stopped"]
TERMINAL_STEP = ["Succeeded", "Failed", "Stopped"]


@dataclass
class PipelineState:
    last_modified: datetime | None = None
    definition: str | None = None
    terminal_executions: set[str] = field(default_factory=set)


class GraphState:
    def __init__(self, driver: Driver, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    def _read(self, query: str, **params: object) -> list[dict]:
        records, _, _ = self.driver.execute_query(query, params, database_=self.database,
                                                  routing_="r")
        return [r.data() for r in records]

    def pipeline(self, arn: str) -> PipelineState:
        rows = self._read(
            "OPTIONAL MATCH (p:Pipeline {arn: $arn}) "
            "OPTIONAL MATCH (e:PipelineExecution)-[:OF]->(p) WHERE e.status IN $terminal "
            "RETURN p.last_modified AS last_modified, p.definition AS definition, collect(e.arn) AS done",
            arn=arn, terminal=TERMINAL_EXECUTION)
        row = rows[0] if rows else {}
        modified = row.get("last_modified")
        return PipelineState(modified.to_native() if modified is not None else None,
                             row.get("definition"), set(row.get("done") or []))

    def terminal(self, label: str, arns: Iterable[str]) -> set[str]:
        """Which of these Job / ModelPackage / Model ARNs are stored complete (never change again)."""
        arns = list(arns)
        if not arns:
            return set()
        if label == "Job":
            query = "UNWIND $arns AS a MATCH (n:Job {arn: a}) WHERE n.status IN $terminal RETURN n.arn AS arn"
        elif label == "Model":
            query = "UNWIND $arns AS a MATCH (n:Model {arn: a}) WHERE n.created IS NOT NULL RETURN n.arn AS arn"
        else:  # model packages change approval status; refresh them while their execution is fresh
            return set()
        return {r["arn"] for r in self._read(query, arns=arns, terminal=TERMINAL_JOB)}

    def retire_missing_pipelines(self, region: str, account: str, present: list[str]) -> int:
        records, _, _ = self.driver.execute_query(
            "MATCH (p:Pipeline {region: $region, account: $account}) "
            "WHERE NOT p.arn IN $present AND coalesce(p.retired, false) = false "
            "SET p.retired = true RETURN count(p) AS n",
            {"region": region, "account": account, "present": present},
            database_=self.database)
        return records[0]["n"]

    def retire_stale_definition(self, pipeline_arn: str, definition_hash: str) -> int:
        """Steps and definition-level edges the current definition no longer has stop being current."""
        records, _, _ = self.driver.execute_query(
            "MATCH (p:Pipeline {arn: $arn})-[:HAS_STEP]->(s:Step) "
            "WHERE s.definition_hash <> $hash "
            "SET s.retired = true "
            "WITH count(s) AS retired "
            "OPTIONAL MATCH (:Pipeline {arn: $arn})-[:HAS_STEP]->(:Step)-[r]-() "
            "WHERE r.definition_hash IS NOT NULL AND r.definition_hash <> $hash "
            "DELETE r RETURN retired, count(r) AS edges",
            {"arn": pipeline_arn, "hash": definition_hash}, database_=self.database)
        return records[0]["retired"] if records else 0

