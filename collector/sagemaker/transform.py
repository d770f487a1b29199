"""SageMaker API responses and parsed definitions -> plain graph data. Pure functions."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from collector.s3uri import guess_format, split
from collector.sagemaker.definition import PipelineDef, StepDef
from collector.sagemaker.feature_store import add_feature_outputs, feature_store_outputs
from collector.sagemaker.io import DataRef, find_data
from graphstore.model import Graph, NodeRef, utc

# Final states of executions (botocore's PipelineExecutionStatus: Succeeded, Failed, Stopped, CompletedWithFailures)
# and step runs, with Completed/Deleted of the other resources. graphstore.state.TERMINAL_* list the same per kind.
TERMINAL = frozenset({"Succeeded", "Failed", "Stopped", "CompletedWithFailures", "Completed", "Deleted"})
JOB_TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


def status_rank(status: str | None) -> int:
    """Orders states of equal time: a terminal state outranks a running one."""
    if status in TERMINAL or status in JOB_TERMINAL:
        return 2
    return 1 if status in ("Stopping",) else 0


def arn_parts(arn: str) -> tuple[str | None, str | None]:
    """(region, account) of an ARN."""
    parts = arn.split(":")
    return (parts[3] or None, parts[4] or None) if len(parts) > 5 else (None, None)


def execution_id(execution_arn: str) -> str:
    return execution_arn.rsplit("/", 1)[-1]


def step_key(pipeline_arn: str, step_name: str) -> str:
    return f"{pipeline_arn}/{step_name}"


def step_run_key(execution_arn: str, step_name: str) -> str:
    return f"{execution_arn}/{step_name}"


def job_key(arn: str) -> str:
    """Job ARNs come back lower-cased from some APIs and not others; the key must not depend on which."""
    return arn.lower()


def pipeline_arn_of_execution(execution_arn: str) -> str:
    return execution_arn.split("/execution/", 1)[0]


def _json(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True, default=str) if value else None


def _elapsed(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from start to end; a naive time is UTC (as graphstore.model has it), so naive and aware mix."""
    return round((utc(end) - utc(start)).total_seconds(), 3) if start and end else None


def add_data(graph: Graph, owner: NodeRef, refs: Iterable[DataRef], **rel_props: Any) -> None:
    """Dataset (and Bucket) nodes for S3 references, linked to the step or job that reads or writes them."""
    for ref in refs:
        dataset = graph.node("Dataset", ref.dataset, {
            "bucket": split(ref.dataset)[0], "templated": ref.templated, "format": guess_format(ref.uri)})
        graph.rel("IN_BUCKET", dataset, graph.node("Bucket", split(ref.dataset)[0]))
        props = {"name": ref.name, "uri": ref.uri, **rel_props}
        if ref.direction == "input":
            graph.rel("FEEDS", dataset, owner, props, merge_on=("name",))
        else:
            graph.rel("PRODUCES", owner, dataset, props, merge_on=("name",))


def domains_graph(domains: Iterable[Mapping[str, Any]], region: str) -> Graph:
    graph = Graph()
    for d in domains:
        graph.node("Domain", d["DomainId"], {
            "name": d.get("DomainName"), "arn": d.get("DomainArn"), "status": d.get("Status"),
            "url": d.get("Url"), "region": region, "created": d.get("CreationTime"),
        })
    return graph


def pipeline_domain(tags: Mapping[str, str], domain_ids: Mapping[str, str]) -> str | None:
    """The Studio domain id a pipeline's tags name (`DomainName`, else `sagemaker:domain-arn`), if any."""
    return domain_ids.get(tags.get("DomainName", "")) or tags.get("sagemaker:domain-arn", "").rsplit("/", 1)[-1] or None


def pipeline_graph(pipeline: Mapping[str, Any], tags: Mapping[str, str], parsed: PipelineDef | None,
                   domain_ids: Mapping[str, str], definition_text: str | None) -> Graph:
    """The pipeline, its domain link, its steps with their edges and definition-level data."""
    arn = pipeline["PipelineArn"]
    region, account = arn_parts(arn)
    graph = Graph()
    ref = graph.node("Pipeline", arn, {
        "name": pipeline.get("PipelineName"), "display_name": pipeline.get("PipelineDisplayName"),
        "description": pipeline.get("PipelineDescription"), "region": region, "account": account,
        "role_arn": pipeline.get("RoleArn"), "status": pipeline.get("PipelineStatus"),
        "created": pipeline.get("CreationTime"), "last_modified": pipeline.get("LastModifiedTime"),
        "last_execution_time": pipeline.get("LastExecutionTime"), "tags": json.dumps(dict(tags), sort_keys=True),
        "domain_name": tags.get("DomainName"), "retired": False,
        "definition": definition_text,
        "definition_hash": parsed.definition_hash if parsed else None,
        "parameters": _json(parsed.parameter_defaults) if parsed else None,
    })
    domain_id = pipeline_domain(tags, domain_ids)
    if domain_id:
        graph.rel("IN_DOMAIN", ref, graph.node("Domain", domain_id, {"name": tags.get("DomainName")}))
    if parsed:
        for step in parsed.steps:
            add_step(graph, ref, step, parsed.definition_hash)
        for edge in parsed.edges:
            graph.rel("PRECEDES", ("Step", step_key(arn, edge.source)), ("Step", step_key(arn, edge.target)),
                      {"via": edge.via, "label": edge.label, "definition_hash": parsed.definition_hash},
                      merge_on=("via",))
    return graph


def add_step(graph: Graph, pipeline: NodeRef, step: StepDef, definition_hash: str) -> None:
    attrs = dict(step.attrs)
    for name in ("conditions", "property_files"):
        if name in attrs:
            attrs[name] = list(attrs[name])
    ref = graph.node("Step", step_key(pipeline[1], step.name), {
        "name": step.name, "type": step.type, "known_type": step.known_type, "job_kind": step.job_kind,
        "pipeline_arn": pipeline[1], "order": step.order, "parent": step.parent, "branch": step.branch,
        "display_name": step.display_name, "description": step.description,
        "definition_hash": definition_hash, "retired": False, **attrs,
    })
    graph.rel("HAS_STEP", pipeline, ref)
    add_data(graph, ref, step.inputs + step.outputs, definition_hash=definition_hash)
    add_feature_outputs(graph, ref, step.feature_outputs, pipeline[1], definition_hash=definition_hash)


def execution_graph(execution: Mapping[str, Any], pipeline_arn: str,
                    parameters: Mapping[str, str] | None = None) -> Graph:
    """A pipeline execution from ListPipelineExecutions or DescribePipelineExecution."""
    arn = execution["PipelineExecutionArn"]
    status = execution.get("PipelineExecutionStatus")
    start = execution.get("StartTime") or execution.get("CreationTime")
    modified = execution.get("LastModifiedTime")
    end = modified if status in TERMINAL else None
    graph = Graph()
    ref = graph.node("PipelineExecution", arn, {
        "execution_id": execution_id(arn), "pipeline_arn": pipeline_arn,
        "display_name": execution.get("PipelineExecutionDisplayName"),
        "description": execution.get("PipelineExecutionDescription"),
        "start_time": start, "parameters": _json(dict(parameters)) if parameters else None,
    }, state={
        "status": status, "end_time": end, "elapsed_sec": _elapsed(start, end),
        "failure_reason": execution.get("FailureReason") or execution.get("PipelineExecutionFailureReason"),
        "last_modified": modified,
    }, state_time=modified or start, state_rank=status_rank(status))
    graph.rel("OF", ref, graph.node("Pipeline", pipeline_arn))
    return graph


# ListPipelineExecutionSteps Metadata key -> (label, extra label) of what the step created.
_METADATA_TARGETS: dict[str, tuple[str, str | None]] = {
    "ProcessingJob": ("Job", "ProcessingJob"),
    "TrainingJob": ("Job", "TrainingJob"),
    "TransformJob": ("Job", "TransformJob"),
    "TuningJob": ("Job", "TuningJob"),
    "AutoMLJob": ("Job", "AutoMLJob"),
    "Model": ("Model", None),
    "RegisterModel": ("ModelPackage", None),
    "Endpoint": ("Endpoint", None),
}
_CHECK_KEYS = ("QualityCheck", "ClarifyCheck")


def endpoint_name(arn: str) -> str:
    """An endpoint's name as its ARN spells it (SageMaker lowercases it there)."""
    return arn.rsplit("/", 1)[-1]


def created_resources(metadata: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    """(label, extra label, arn) of every resource a step run created, from its Metadata."""
    found = []
    for key, (label, extra) in _METADATA_TARGETS.items():
        arn = (metadata.get(key) or {}).get("Arn")
        if arn:
            found.append((label, extra, arn))
    for key in _CHECK_KEYS:
        arn = (metadata.get(key) or {}).get("CheckJobArn")
        if arn:
            found.append(("Job", "ProcessingJob", arn))
    return found


def step_run_graph(execution_arn: str, row: Mapping[str, Any]) -> Graph:
    """One ListPipelineExecutionSteps row (events produce rows of the same shape)."""
    pipeline_arn = pipeline_arn_of_execution(execution_arn)
    name = row["StepName"]
    status = row.get("StepStatus")
    start, end = row.get("StartTime"), row.get("EndTime")
    metadata = row.get("Metadata") or {}
    resources = created_resources(metadata)
    cache = row.get("CacheHitResult") or {}
    graph = Graph()
    ref = graph.node("StepRun", step_run_key(execution_arn, name), {
        "name": name, "execution_arn": execution_arn, "pipeline_arn": pipeline_arn,
        "display_name": row.get("StepDisplayName"), "start_time": start,
        "cache_hit": bool(cache.get("SourcePipelineExecutionArn")),
        "cache_source_execution": cache.get("SourcePipelineExecutionArn"),
        "attempt_count": row.get("AttemptCount"),
        "job_arn": next((arn for label, _, arn in resources if label == "Job"), None),
        "condition_outcome": (metadata.get("Condition") or {}).get("Outcome"),
        "error_message": (metadata.get("Fail") or {}).get("ErrorMessage"),
        "output_parameters": _json({p["Name"]: p.get("Value") for p in
                                    (metadata.get("Lambda") or metadata.get("Callback") or {}).get("OutputParameters", [])}),
    }, state={
        "status": status, "end_time": end, "elapsed_sec": _elapsed(start, end),
        "failure_reason": row.get("FailureReason"),
    }, state_time=end or start, state_rank=status_rank(status))
    graph.rel("IN", ref, graph.node("PipelineExecution", execution_arn))
    graph.rel("RUN_OF", ref, graph.node("Step", step_key(pipeline_arn, name)))
    for label, extra, arn in resources:
        # Job ARNs and endpoint ARNs (SageMaker lower-cases endpoint names in them) key lower-cased.
        key = job_key(arn) if label in ("Job", "Endpoint") else arn
        props = {"name": endpoint_name(arn)} if label == "Endpoint" else None
        target = graph.node(label, key, props, extra_labels=(extra,) if extra else ())
        graph.rel("RAN_AS" if label == "Job" else "PRODUCES", ref, target)
    return graph


def step_run_data_graph(execution_arn: str, step: StepDef) -> Graph:
    """A step run's data as resolved with its execution's parameters and variables."""
    graph = Graph()
    ref = graph.node("StepRun", step_run_key(execution_arn, step.name))
    add_data(graph, ref, step.inputs + step.outputs)
    add_feature_outputs(graph, ref, step.feature_outputs, execution_arn)
    return graph


# Describe*Job fields per kind: (start, end). DescribeHyperParameterTuningJob has no start time of its own
# (CreationTime, HyperParameterTuningEndTime, LastModifiedTime), nor has DescribeAutoMLJob(V2).
_JOB_TIMES = {
    "TrainingJob": ("TrainingStartTime", "TrainingEndTime"),
    "ProcessingJob": ("ProcessingStartTime", "ProcessingEndTime"),
    "TransformJob": ("TransformStartTime", "TransformEndTime"),
    "TuningJob": ("CreationTime", "HyperParameterTuningEndTime"),
    "AutoMLJob": ("CreationTime", "EndTime"),
}
# Describe*Job fields per kind: (ARN, status, name). A processing job's response can also carry a
# TrainingJobArn (the job that launched it), so the fields are chosen by kind, never by search.
_JOB_FIELDS = {
    "TrainingJob": ("TrainingJobArn", "TrainingJobStatus", "TrainingJobName"),
    "ProcessingJob": ("ProcessingJobArn", "ProcessingJobStatus", "ProcessingJobName"),
    "TransformJob": ("TransformJobArn", "TransformJobStatus", "TransformJobName"),
    "TuningJob": ("HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "HyperParameterTuningJobName"),
    "AutoMLJob": ("AutoMLJobArn", "AutoMLJobStatus", "AutoMLJobName"),
}


def job_metrics(kind: str, job: Mapping[str, Any]) -> dict[str, float]:
    metrics = {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", []) or []
               if "MetricName" in m and "Value" in m}
    if kind == "TuningJob":
        best = (job.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        if "MetricName" in best:
            metrics[best["MetricName"]] = best.get("Value")
    return metrics


def job_graph(kind: str, job: Mapping[str, Any]) -> Graph:
    """A Describe*Job response: the job and the concrete S3 data it read and wrote."""
    arn_field, status_field, name_field = _JOB_FIELDS[kind]
    arn, status = job[arn_field], job.get(status_field)
    start_field, end_field = _JOB_TIMES[kind]
    start, end = job.get(start_field), job.get(end_field)
    modified = job.get("LastModifiedTime") or end or start
    graph = Graph()
    ref = graph.node("Job", job_key(arn), {
        "arn_as_given": arn if arn != job_key(arn) else None,
        "name": job.get(name_field), "kind": kind,
        "created": job.get("CreationTime"), "start_time": start,
        "billable_seconds": job.get("BillableTimeInSeconds"),
        "model_artifacts": (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        "best_training_job": (job.get("BestTrainingJob") or {}).get("TrainingJobName"),
    }, extra_labels=(kind,), state={
        "status": status, "end_time": end, "elapsed_sec": _elapsed(start, end),
        "failure_reason": job.get("FailureReason"), "metrics": _json(job_metrics(kind, job)),
    }, state_time=modified, state_rank=status_rank(status))
    skip = {"OutputDataConfig"} if (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts") else set()
    refs = find_data({k: v for k, v in job.items() if k not in skip})
    model = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        refs.append(DataRef("model", model, "output"))
    add_data(graph, ref, refs)
    if kind == "ProcessingJob":
        add_feature_outputs(graph, ref, feature_store_outputs(job), arn)
    return graph


def model_data_of(containers: Iterable[Mapping[str, Any] | None]) -> str | None:
    """The first container's model data: its ModelDataUrl (a model.tar.gz), or for an uncompressed model
    (DescribeModel and DescribeModelPackage containers alike) its ModelDataSource.S3DataSource.S3Uri."""
    for container in containers:
        container = container or {}
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        uri = container.get("ModelDataUrl") or source.get("S3Uri")
        if isinstance(uri, str) and uri:
            return uri
    return None


def model_package_graph(package: Mapping[str, Any]) -> Graph:
    arn = package["ModelPackageArn"]
    group = package.get("ModelPackageGroupName")
    status = package.get("ModelPackageStatus")
    modified = package.get("LastModifiedTime") or package.get("CreationTime")
    model_data = model_data_of((package.get("InferenceSpecification") or {}).get("Containers") or [])
    graph = Graph()
    ref = graph.node("ModelPackage", arn, {
        "name": package.get("ModelPackageName"), "group": group, "version": package.get("ModelPackageVersion"),
        "created": package.get("CreationTime"), "model_data_url": model_data,
        "generated_by": (package.get("MetadataProperties") or {}).get("GeneratedBy"),
        "description": package.get("ModelPackageDescription"),
    }, state={"status": status, "approval_status": package.get("ModelApprovalStatus")},
        state_time=modified, state_rank=status_rank(status))
    if group:
        region, account = arn_parts(arn)
        group_arn = f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}"
        graph.rel("IN", ref, graph.node("ModelPackageGroup", group_arn, {"name": group}))
    add_data(graph, ref, [DataRef("model", model_data, "input")] if model_data else [])
    generated_by = (package.get("MetadataProperties") or {}).get("GeneratedBy") or ""
    if "/execution/" in generated_by:
        graph.rel("GENERATED_BY", ref, graph.node("PipelineExecution", generated_by))
    return graph


def model_graph(model: Mapping[str, Any]) -> Graph:
    arn = model["ModelArn"]
    model_data = model_data_of([model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])])
    graph = Graph()
    ref = graph.node("Model", arn, {"name": model.get("ModelName"), "created": model.get("CreationTime"),
                                    "model_data_url": model_data})
    add_data(graph, ref, [DataRef("model", model_data, "input")] if model_data else [])
    return graph
