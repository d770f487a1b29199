"""What the OpenLineage export reads: pipeline executions with their step runs and data, and SQL files
with their table and column lineage, as plain rows (collector/openlineage turns them into events).

Every query is bounded and seeks an index: pages of keys come from the uniqueness constraints' range
indexes in key order (`arn > $after ORDER BY arn LIMIT n`), or, for `--since`, from the `state_time`
indexes of PipelineExecution and StepRun and the `time` index of Commit, keyset-paged on (time, key);
details are then read for one page of keys at a time by key lookups.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from graphstore.reader import Reader

EXECUTION_PAGE = """
MATCH (e:PipelineExecution) WHERE e.arn > $after
RETURN e.arn AS key ORDER BY key LIMIT $limit
"""

EXECUTION_PAGE_OF_PIPELINE = """
MATCH (:Pipeline {name: $pipeline})<-[:OF]-(e:PipelineExecution) WHERE e.arn > $after
RETURN DISTINCT e.arn AS key ORDER BY key LIMIT $limit
"""

# Keyset pages on (state_time, key): first page t = since, after = ''. The hint keeps the planner on the
# time index, read in order from t (without it, it may union a seek on the key's index instead).
EXECUTIONS_CHANGED = """
MATCH (e:PipelineExecution) USING INDEX e:PipelineExecution(state_time)
WHERE e.state_time >= $t AND (e.state_time > $t OR e.arn > $after)
  AND ($pipeline IS NULL OR EXISTS { (e)-[:OF]->(:Pipeline {name: $pipeline}) })
RETURN e.state_time AS t, e.arn AS key, e.arn AS execution ORDER BY t, key LIMIT $limit
"""

STEP_RUNS_CHANGED = """
MATCH (r:StepRun) USING INDEX r:StepRun(state_time)
WHERE r.state_time >= $t AND (r.state_time > $t OR r.key > $after)
  AND ($pipeline IS NULL OR EXISTS { (r)-[:IN]->(:PipelineExecution)-[:OF]->(:Pipeline {name: $pipeline}) })
WITH r ORDER BY r.state_time, r.key LIMIT $limit
OPTIONAL MATCH (r)-[:IN]->(e:PipelineExecution)
RETURN r.state_time AS t, r.key AS key, coalesce(e.arn, r.execution_arn) AS execution ORDER BY t, key
"""

EXECUTIONS = """
UNWIND $keys AS key
MATCH (e:PipelineExecution {arn: key})
OPTIONAL MATCH (e)-[:OF]->(p:Pipeline)
RETURN e {.arn, .status, .start_time, .end_time, .last_modified, .state_time, .failure_reason, .display_name,
          .pipeline_arn} AS execution,
       p {.arn, .name, .region, .account} AS pipeline,
       COLLECT {
         MATCH (r:StepRun)-[:IN]->(e)
         OPTIONAL MATCH (r)-[:RUN_OF]->(s:Step)
         OPTIONAL MATCH (r)-[:RAN_AS]->(j:Job)
         RETURN r {.key, .name, .status, .start_time, .end_time, .state_time, .failure_reason, .cache_hit,
                   .job_arn, step_type: s.type, job_kind: j.kind} AS run ORDER BY run.key
       } AS runs
"""

# Concrete data of a step run: on the run itself (steps without a job), on its job, and on the models
# and model packages it created (their model data); never the definition's templates.
RUN_DATA = """
UNWIND $keys AS key
MATCH (r:StepRun {key: key})
OPTIONAL MATCH (r)-[:RAN_AS|PRODUCES]->(h) WHERE h:Job OR h:Model OR h:ModelPackage
WITH r, [r] + collect(h) AS holders
UNWIND holders AS h
CALL (h) {
  MATCH (d:Dataset)-[:FEEDS]->(h) RETURN d, 'input' AS direction
  UNION
  MATCH (h)-[:PRODUCES]->(d:Dataset) RETURN d, 'output' AS direction
}
WITH r, d, direction WHERE NOT coalesce(d.templated, false)
RETURN DISTINCT r.key AS run, direction, d.uri AS uri ORDER BY run, direction, uri
"""

SCHEMAS = """
UNWIND $uris AS uri
MATCH (d:Dataset {uri: uri})-[h:HAS_SCHEMA]->(v:SchemaVersion) WHERE h.current = true
RETURN d.uri AS uri, v.id AS id, v.columns AS columns, v.version AS version
"""

SQL_FILE_PAGE = """
MATCH (f:SqlFile) WHERE f.key > $after AND NOT coalesce(f.retired, false)
RETURN f.key AS key ORDER BY key LIMIT $limit
"""

SQL_FILES_OF_PIPELINE = """
MATCH (:Pipeline {name: $pipeline})-[:HAS_STEP]->(:Step)-[:RUNS]->(f:SqlFile)
WHERE f.key > $after AND NOT coalesce(f.retired, false)
RETURN DISTINCT f.key AS key ORDER BY key LIMIT $limit
"""

COMMITS_SINCE = """
MATCH (c:Commit) USING INDEX c:Commit(time)
WHERE c.time >= $t AND (c.time > $t OR c.sha > $after)
WITH c ORDER BY c.time, c.sha LIMIT $limit
RETURN c.time AS t, c.sha AS key,
       COLLECT { MATCH (c)-[:CHANGED]->(f:SqlFile) WHERE NOT coalesce(f.retired, false) RETURN f.key } AS files
ORDER BY t, key
"""

SQL_FILES = """
UNWIND $keys AS key
MATCH (f:SqlFile {key: key})
OPTIONAL MATCH (f)-[:IN]->(repo:Repo)
OPTIONAL MATCH (c:Commit {sha: f.commit})
RETURN f {.key, .path, .repo, .blob, .commit, .dialect, .statements, .error_count} AS file,
       repo {.url, .name, .branch} AS repo, c.time AS commit_time, f.last_seen AS last_seen,
       COLLECT { MATCH (f)-[:DEFINES]->(t:Table)
                 RETURN {name: t.name, columns: CASE WHEN t.columns_from = f.key THEN t.columns END} AS t
                 ORDER BY t.name } AS defines,
       COLLECT { MATCH (f)-[:READS]->(t:Table) RETURN t.name AS name ORDER BY name } AS reads,
       COLLECT { MATCH (a)-[x:FEEDS {file: f.key}]->(b)
                 WHERE (a:Table OR a:Dataset) AND (b:Table OR b:Dataset)
                 RETURN {source: coalesce(a.name, a.uri), source_is_dataset: a:Dataset,
                         target: coalesce(b.name, b.uri), target_is_dataset: b:Dataset,
                         sql_kind: x.sql_kind, statements: x.statements} AS flow
                 ORDER BY flow.target, flow.source } AS flows,
       COLLECT { MATCH (a:Column)-[x:FEEDS {file: f.key}]->(b:Column)
                 RETURN {source_table: a.table, source: a.name, target_table: b.table, target: b.name} AS col
                 ORDER BY col.target_table, col.target, col.source_table, col.source } AS columns
"""


EXECUTIONS_OF_JOBS = """
UNWIND $arns AS arn
MATCH (j:Job {arn: arn})<-[:RAN_AS]-(:StepRun)-[:IN]->(e:PipelineExecution)
RETURN DISTINCT e.arn AS arn
"""


def native(value: Any) -> Any:
    """Neo4j temporal values as Python datetimes, recursively through lists and maps."""
    if hasattr(value, "to_native"):
        return value.to_native()
    if isinstance(value, dict):
        return {k: native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [native(v) for v in value]
    return value


class OpenLineageReads(Reader):
    page_size = 200

    # --- which executions ----------------------------------------------------------------------

    def execution_keys(self, pipeline: str | None = None, since: datetime | None = None) -> Iterator[str]:
        """Execution ARNs to export, page by page: all (in ARN order), one pipeline's, or those whose own
        state or one of whose step runs' state is at or after `since` (each ARN once)."""
        if since is None:
            after = ""
            query = EXECUTION_PAGE if pipeline is None else EXECUTION_PAGE_OF_PIPELINE
            while True:
                rows = self._read(query, after=after, limit=self.page_size, pipeline=pipeline)
                yield from (r["key"] for r in rows)
                if len(rows) < self.page_size:
                    return
                after = rows[-1]["key"]
        seen: set[str] = set()
        for query in (EXECUTIONS_CHANGED, STEP_RUNS_CHANGED):
            for row in self._keyset(query, since, pipeline=pipeline):
                arn = row["execution"]
                if arn and arn not in seen:
                    seen.add(arn)
                    yield arn

    def _keyset(self, query: str, since: datetime, **params: Any) -> Iterator[dict[str, Any]]:
        t: Any = since
        after = ""
        while True:
            rows = self._read(query, t=t, after=after, limit=self.page_size, **params)
            yield from rows
            if len(rows) < self.page_size:
                return
            t, after = rows[-1]["t"], rows[-1]["key"]

    def executions_of_jobs(self, arns: Iterable[str]) -> list[str]:
        """The executions whose step runs ran these jobs (ARNs lower-cased, as Job keys are)."""
        keys = sorted({a.lower() for a in arns})
        return [r["arn"] for r in self._read(EXECUTIONS_OF_JOBS, arns=keys)] if keys else []

    # --- what an execution holds -----------------------------------------------------------------

    def executions(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """Per execution: {execution, pipeline, runs: [{..., inputs: [uri], outputs: [uri]}]} and the
        current schema of every dataset named, under `schemas` ({uri: {id, version, columns (JSON)}})."""
        rows = [native(r) for r in self._read(EXECUTIONS, keys=list(keys))]
        run_keys = [run["key"] for row in rows for run in row["runs"]]
        data: dict[str, dict[str, list[str]]] = {}
        for start in range(0, len(run_keys), 500):
            for r in self._read(RUN_DATA, keys=run_keys[start:start + 500]):
                data.setdefault(r["run"], {"input": [], "output": []})[r["direction"]].append(r["uri"])
        uris = sorted({u for d in data.values() for side in d.values() for u in side})
        schemas = self.schemas(uris)
        for row in rows:
            for run in row["runs"]:
                found = data.get(run["key"], {})
                run["inputs"], run["outputs"] = found.get("input", []), found.get("output", [])
            row["schemas"] = {u: schemas[u] for r in row["runs"] for u in r["inputs"] + r["outputs"] if u in schemas}
        return rows

    def schemas(self, uris: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(uris), 500):
            for r in self._read(SCHEMAS, uris=uris[start:start + 500]):
                out[r["uri"]] = {"id": r["id"], "version": r["version"], "columns": r["columns"]}
        return out

    # --- SQL files -------------------------------------------------------------------------------

    def sql_file_keys(self, pipeline: str | None = None, since: datetime | None = None) -> Iterator[str]:
        """SqlFile keys to export: every current file, those a pipeline's steps run, or those changed by a
        commit at or after `since` (each once)."""
        if since is not None and pipeline is None:
            seen: set[str] = set()
            for row in self._keyset(COMMITS_SINCE, since):
                for key in row["files"] or []:
                    if key not in seen:
                        seen.add(key)
                        yield key
            return
        after = ""
        query = SQL_FILE_PAGE if pipeline is None else SQL_FILES_OF_PIPELINE
        while True:
            rows = self._read(query, after=after, limit=self.page_size, pipeline=pipeline)
            yield from (r["key"] for r in rows)
            if len(rows) < self.page_size:
                return
            after = rows[-1]["key"]

    def sql_files(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """Per SQL file: {file, repo, commit_time, last_seen, defines: [{name, columns}], reads: [name],
        flows: [{source, source_is_dataset, target, target_is_dataset, sql_kind, statements}],
        columns: [{source_table, source, target_table, target}]} and the current schema of each S3
        location it names, under `schemas`."""
        rows = [native(r) for r in self._read(SQL_FILES, keys=list(keys))]
        uris = sorted({f[side] for r in rows for f in r["flows"] for side in ("source", "target")
                       if f[f"{side}_is_dataset"]})
        schemas = self.schemas(uris) if uris else {}
        for row in rows:
            named = {f[side] for f in row["flows"] for side in ("source", "target") if f[f"{side}_is_dataset"]}
            row["schemas"] = {u: schemas[u] for u in named if u in schemas}
        return rows

