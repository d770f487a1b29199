"""Graph rows -> OpenLineage events (openlineage-python's classes). Pure: no I/O, no clock.

The rows are what graphstore.openlineage_reads returns: one pipeline execution with its step runs and
their concrete S3 data, or one SQL file with its table and column lineage. docs/openlineage.md has
the mapping; the choices in short:

* a pipeline execution is a run of the job `{pipeline}` and each step run a run of `{pipeline}.{step}`
  with a parent facet naming the execution's run; both jobs in the namespace of the pipeline's
  scheduler instance, the ARN prefix `arn:{partition}:sagemaker:{region}:{account}`;
* run ids are UUIDv5 of the execution ARN / step run key: the same run always has the same id;
* S3 locations are datasets named per the naming spec: namespace `s3://{bucket}`, name the key or
  prefix without leading or trailing `/` (`/` for a whole bucket);
* a SQL file is a job (namespace the repository URL, name the file's path) told by a JobEvent: the
  graph holds what the branch head defines, not runs of it; its tables are datasets in the
  namespace configured for the warehouse, else the SQL dialect.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    parent_run,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

Event = RunEvent | JobEvent

# uuid5 namespace of run ids (a constant: changing it changes every run id ever exported).
RUN_ID_NAMESPACE = uuid.UUID("5d1b2a44-6c1e-5a7e-9f3e-2f7c1d0b8a61")
INTEGRATION = "SAGEMAKER"
SQL_INTEGRATION = "SQL"

# SageMaker statuses -> the event that ends a run (none: still running, only START is known).
EXECUTION_END: dict[str, RunState] = {
    "Succeeded": RunState.COMPLETE, "Failed": RunState.FAIL, "CompletedWithFailures": RunState.FAIL,
    "Stopped": RunState.ABORT,
}
STEP_END: dict[str, RunState] = {"Succeeded": RunState.COMPLETE, "Failed": RunState.FAIL, "Stopped": RunState.ABORT}


@dataclass(frozen=True)
class Naming:
    producer: str  # URI of this producer, on every event and facet
    table_namespace: str | None = None  # namespace of SQL tables; None: the file's dialect ("sql" without one)


# --- names and ids --------------------------------------------------------------------------------


def run_id(key: str) -> str:
    """The run id of an execution (its ARN) or a step run (its key): a UUIDv5, stable across exports."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, key))


def job_namespace(arn: str) -> str:
    """'arn:aws:sagemaker:eu-west-1:111122223333:pipeline/x/...' -> 'arn:aws:sagemaker:eu-west-1:111122223333'."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return ":".join(parts[:5])


def pipeline_name_of(execution_arn: str) -> str:
    """The pipeline name in an execution ARN (…:pipeline/{name}/execution/{id})."""
    resource = execution_arn.split(":", 5)[5]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "pipeline" else resource


def s3_dataset_name(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b/' -> ('s3://bucket', 'a/b'); 's3://bucket/' -> ('s3://bucket', '/')."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return f"s3://{bucket}", key.strip("/") or "/"


def job_type_of(step_type: str | None) -> str:
    """A step's type as an upper-case job type: Training -> TRAINING, RegisterModel -> REGISTER_MODEL."""
    if not step_type:
        return "STEP"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", step_type).upper()


def event_time(when: datetime) -> str:
    when = when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_json(event: Event) -> str:
    return Serde.to_json(event)


def event_id(event: Event) -> str:
    """A hash of the event's JSON: equal events have equal ids (what the live emission de-duplicates on)."""
    return hashlib.sha256(to_json(event).encode()).hexdigest()[:32]


# --- pipeline executions ----------------------------------------------------------------------------


def execution_events(row: Mapping[str, Any], naming: Naming) -> list[RunEvent]:
    """The run events of one execution and its step runs, in the order they happened: the execution's
    START, each step run's START and end, the execution's end (when it ended). A run without any time
    is left out (nothing is known of when it happened)."""
    execution = row["execution"]
    pipeline = row.get("pipeline") or {}
    arn = execution["arn"]
    name = pipeline.get("name") or pipeline_name_of(arn)
    namespace = job_namespace(pipeline.get("arn") or execution.get("pipeline_arn") or arn)
    producer = naming.producer
    schemas = row.get("schemas") or {}
    parent_job = Job(namespace=namespace, name=name, facets={"jobType": _job_type(producer, "PIPELINE")})
    parent_id = run_id(arn)
    timed: list[tuple[datetime, int, int, RunEvent]] = []

    start, end = _times(execution)
    if start is None:
        return []
    timed.append((start, 0, 0, RunEvent(eventType=RunState.START, eventTime=event_time(start),
                                         run=Run(runId=parent_id), job=parent_job, producer=producer)))
    for i, run in enumerate(row.get("runs") or []):
        run_start, run_end = _times(run)
        if run_start is None:
            continue
        job = Job(namespace=namespace, name=f"{name}.{run['name']}",
                  facets={"jobType": _job_type(producer, job_type_of(run.get("step_type")))})
        inputs = [InputDataset(namespace=ns, name=n, facets=_schema_facets(schemas.get(u), producer))
                  for u in run.get("inputs") or [] for ns, n in [s3_dataset_name(u)]]
        outputs = [OutputDataset(namespace=ns, name=n, facets=_schema_facets(schemas.get(u), producer))
                   for u in run.get("outputs") or [] for ns, n in [s3_dataset_name(u)]]
        facets: dict[str, Any] = {"parent": _parent(producer, parent_id, namespace, name)}
        rid = run_id(run["key"])
        timed.append((run_start, 1, i, RunEvent(eventType=RunState.START, eventTime=event_time(run_start),
                                                run=Run(runId=rid, facets=facets), job=job, inputs=inputs,
                                                outputs=outputs, producer=producer)))
        state = STEP_END.get(run.get("status") or "")
        if state is not None and run_end is not None:
            end_facets = dict(facets)
            if state is RunState.FAIL and run.get("failure_reason"):
                end_facets["errorMessage"] = _error(producer, run["failure_reason"])
            timed.append((run_end, 2, i, RunEvent(eventType=state, eventTime=event_time(run_end),
                                                  run=Run(runId=rid, facets=end_facets), job=job, inputs=inputs,
                                                  outputs=outputs, producer=producer)))
    state = EXECUTION_END.get(execution.get("status") or "")
    if state is not None and end is not None:
        facets = {}
        if state is RunState.FAIL and execution.get("failure_reason"):
            facets["errorMessage"] = _error(producer, execution["failure_reason"])
        last = max([end] + [t for t, *_ in timed])  # the parent ends after its children
        timed.append((last, 3, 0, RunEvent(eventType=state, eventTime=event_time(last),
                                           run=Run(runId=parent_id, facets=facets), job=parent_job,
                                           producer=producer)))
    timed.sort(key=lambda item: (item[0], item[1], item[2]))
    return [event for *_, event in timed]


def _times(node: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a run: its start time (else the time of its state), and its end time (else the
    time of its state, else its start), never before the start."""
    start = node.get("start_time") or node.get("end_time") or node.get("state_time")
    if start is None:
        return None, None
    end = node.get("end_time") or node.get("last_modified") or node.get("state_time") or start
    return start, max(start, end)


def _job_type(producer: str, job_type: str, integration: str = INTEGRATION) -> job_type_job.JobTypeJobFacet:
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration=integration, jobType=job_type,
                                        producer=producer)


def _parent(producer: str, parent: str, namespace: str, name: str) -> parent_run.ParentRunFacet:
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent), job=parent_run.Job(namespace=namespace, name=name),
        root=parent_run.Root(run=parent_run.RootRun(runId=parent),
                             job=parent_run.RootJob(namespace=namespace, name=name)),
        producer=producer)


def _error(producer: str, message: str) -> error_message_run.ErrorMessageRunFacet:
    # SageMaker says what failed, not in which language: the facet requires one, "unknown" it is.
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="unknown", producer=producer)


def schema_fields(columns_json: str | None) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """A SchemaVersion's columns (JSON [{name, type, nullable}], struct fields as dotted paths) as schema
    facet fields, in order, with 1-based ordinal positions."""
    try:
        columns = json.loads(columns_json) if columns_json else []
    except ValueError:
        return []
    return [schema_dataset.SchemaDatasetFacetFields(name=str(c["name"]), type=c.get("type"), ordinal_position=i,
                                                    fields=None)
            for i, c in enumerate(columns, 1) if isinstance(c, dict) and c.get("name")]


def _schema_facets(schema: Mapping[str, Any] | None, producer: str) -> dict[str, Any]:
    fields = schema_fields(schema.get("columns")) if schema else []
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=producer)} if fields else {}


# --- SQL files ----------------------------------------------------------------------------------------


def sql_file_event(row: Mapping[str, Any], naming: Naming) -> JobEvent | None:
    """One SQL file as a job with its SQL, its tables (and S3 locations) as inputs and outputs, each output
    with the columns the file gives it and their column lineage. None when nothing dates it."""
    file = row["file"]
    when = row.get("commit_time") or row.get("last_seen")
    if when is None:
        return None
    producer = naming.producer
    dialect = file.get("dialect")
    table_ns = naming.table_namespace or dialect or "sql"
    schemas = row.get("schemas") or {}
    flows = row.get("flows") or []

    def dataset(name: str, is_dataset: bool) -> tuple[str, str]:
        return s3_dataset_name(name) if is_dataset else (table_ns, name)

    sources = {(f["source"], bool(f["source_is_dataset"])) for f in flows}
    sources |= {(t, False) for t in row.get("reads") or []}
    targets = {(f["target"], bool(f["target_is_dataset"])) for f in flows}
    defined = {d["name"]: d.get("columns") for d in row.get("defines") or []}
    targets |= {(t, False) for t in defined}

    inputs = []
    for name, is_dataset in sorted(sources):
        ns, n = dataset(name, is_dataset)
        facets = _schema_facets(schemas.get(name), producer) if is_dataset else {}
        inputs.append(InputDataset(namespace=ns, name=n, facets=facets))
    lineage = _column_lineage(row.get("columns") or [], table_ns)
    outputs = []
    for name, is_dataset in sorted(targets):
        ns, n = dataset(name, is_dataset)
        facets = _schema_facets(schemas.get(name), producer) if is_dataset else {}
        columns = defined.get(name)
        if columns and not is_dataset:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=c, ordinal_position=i, fields=None)
                        for i, c in enumerate(columns, 1)], producer=producer)
        if name in lineage and not is_dataset:
            facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(
                fields=lineage[name], dataset=None, producer=producer)
        outputs.append(OutputDataset(namespace=ns, name=n, facets=facets))
    job = Job(namespace=(row.get("repo") or {}).get("url") or file["repo"], name=file["path"], facets={
        "jobType": _job_type(producer, "QUERY", SQL_INTEGRATION),
        "sql": sql_job.SQLJobFacet(query=statements_summary(file, flows), dialect=dialect,
                                   producer=producer),
    })
    return JobEvent(eventTime=event_time(when), job=job, inputs=inputs, outputs=outputs, producer=producer)


def _column_lineage(columns: Iterable[Mapping[str, Any]], namespace: str
                    ) -> dict[str, dict[str, column_lineage_dataset.Fields]]:
    """Column -[:FEEDS]-> Column rows -> {target table: {target column: Fields(inputFields)}}."""
    grouped: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for c in columns:
        grouped.setdefault(c["target_table"], {}).setdefault(c["target"], []).append((c["source_table"], c["source"]))
    return {table: {column: column_lineage_dataset.Fields(inputFields=[
        column_lineage_dataset.InputField(namespace=namespace, name=t, field=f, transformations=None)
        for t, f in sorted(set(sources))])
        for column, sources in sorted(by_column.items())} for table, by_column in grouped.items()}


def statements_summary(file: Mapping[str, Any], flows: Iterable[Mapping[str, Any]]) -> str:
    """What the graph knows of a file's statements, as SQL comments, when its text is not stored."""
    by_statement: dict[int, tuple[str, set[str], set[str]]] = {}
    for f in flows:
        for index in f.get("statements") or []:
            _, srcs, tgts = by_statement.setdefault(int(index), (f.get("sql_kind") or "statement", set(), set()))
            srcs.add(f["source"])
            tgts.add(f["target"])
    head = (f"-- {file.get('path')} at commit {file.get('commit') or '?'} (blob {file.get('blob') or '?'}): "
            f"{file.get('statements') or 0} statement(s); the SQL text is not stored in the graph")
    lines = [head] + [f"-- statement {i} ({kind}): {', '.join(sorted(srcs))} -> {', '.join(sorted(tgts))}"
                      for i, (kind, srcs, tgts) in sorted(by_statement.items())]
    return "\n".join(lines) + "\n"
