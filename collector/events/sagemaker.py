"""EventBridge SageMaker events (source aws.sagemaker) -> plain graph data. Pure functions.

Each event is normalised into the shape the API returns (ListPipelineExecutionSteps row,
DescribePipelineExecution, Describe*Job, DescribeModelPackage), so the same transform functions
serve the sync and the events. A status-bearing write carries the time of the state it reports:
the latest of the event's `time` and the detail's own times (EventBridge times have one-second
precision, so within a second Starting < Executing < Stopping < a terminal state). Details reach these
functions validated against their models (collector.events.schema, in parse_body).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collector.events.model import CloudEvent, MalformedMessage
from collector.events.schema import pascal_case
from collector.events.times import parse_time
from collector.sagemaker.transform import (
    TERMINAL,
    execution_graph,
    job_graph,
    model_package_graph,
    pipeline_arn_of_execution,
    step_run_graph,
    step_run_key,
)
from graphstore.model import Graph

SOURCE = "aws.sagemaker"
EXECUTION_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS = "SageMaker Model Building Pipeline Execution Step Status Change"
MODEL_PACKAGE_STATE = "SageMaker Model Package State Change"
JOB_STATES = {
    "SageMaker Training Job State Change": "TrainingJob",
    "SageMaker Processing Job State Change": "ProcessingJob",
    "SageMaker Transform Job State Change": "TransformJob",
    "SageMaker HyperParameter Tuning Job State Change": "TuningJob",
}
_OWN_ARN = {"TrainingJob": "TrainingJobArn", "ProcessingJob": "ProcessingJobArn",
            "TransformJob": "TransformJobArn", "TuningJob": "HyperParameterTuningJobArn"}
_OTHER_ARNS = ("TrainingJobArn", "ProcessingJobArn", "TransformJobArn", "HyperParameterTuningJobArn", "AutoMLJobArn")
_PROGRESS = {"Starting": 0, "Executing": 1, "InProgress": 1, "Stopping": 2}


@dataclass
class SageMakerEffect:
    """What one event means for the graph, and what the consumer should fetch because of it."""

    kind: str
    graph: Graph = field(default_factory=Graph)
    pipelines: set[str] = field(default_factory=set)          # pipeline ARNs to have in the graph
    terminal_execution: tuple[str, str] | None = None          # (pipeline ARN, execution ARN) to enrich


def kind_of(event: CloudEvent) -> str:
    return f"{event.source}:{event.detail_type}"


def detail_types() -> list[str]:
    """The detail-types of source aws.sagemaker that sagemaker_effect takes."""
    return list(_HANDLERS)


def is_known(event: CloudEvent) -> bool:
    return event.source == SOURCE and event.detail_type in _HANDLERS


def sagemaker_effect(event: CloudEvent) -> SageMakerEffect:
    """Graph data for a known SageMaker event; raises MalformedMessage when a required field is missing."""
    handler = _HANDLERS.get(event.detail_type) if event.source == SOURCE else None
    if handler is None:
        return SageMakerEffect(kind=kind_of(event))
    return handler(event)


def state_time(status: str | None, *times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    if not known:
        return None
    return max(known) + timedelta(microseconds=_PROGRESS.get(status or "", 3))


def _arn(detail: Mapping[str, Any], name: str, what: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or ":" not in value:
        raise MalformedMessage(f"{what} event without {name}")
    return value


def _set_state_time(graph: Graph, label: str, key: str, when: datetime | None) -> None:
    node = graph.nodes.get((label, key))
    if node is not None and node.state and when is not None:
        node.state_time = when


def _pipeline_arn(detail: Mapping[str, Any], execution_arn: str) -> str:
    """The event's pipelineArn, else the one the execution ARN names."""
    given = detail.get("pipelineArn")
    return given if isinstance(given, str) else pipeline_arn_of_execution(execution_arn)


def execution_status(event: CloudEvent) -> SageMakerEffect:
    d = event.detail
    arn = _arn(d, "pipelineExecutionArn", "execution status")
    pipeline_arn = _pipeline_arn(d, arn)
    status = d.get("currentPipelineExecutionStatus")
    start, end = parse_time(d.get("executionStartTime")), parse_time(d.get("executionEndTime"))
    terminal = status in TERMINAL
    execution = {
        "PipelineExecutionArn": arn, "PipelineExecutionStatus": status,
        "PipelineExecutionDisplayName": d.get("pipelineExecutionDisplayName"),
        "PipelineExecutionDescription": d.get("pipelineExecutionDescription"),
        "StartTime": start, "FailureReason": d.get("failureReason"),
        # execution_graph takes a terminal execution's end from LastModifiedTime
        "LastModifiedTime": (end or event.time) if terminal else event.time,
    }
    graph = execution_graph(execution, pipeline_arn)
    _set_state_time(graph, "PipelineExecution", arn, state_time(status, event.time, start, end))
    return SageMakerEffect(kind=kind_of(event), graph=graph, pipelines={pipeline_arn},
                           terminal_execution=(pipeline_arn, arn) if terminal else None)


def step_row(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A step status event's detail as a ListPipelineExecutionSteps row."""
    name = detail.get("stepName")
    if not isinstance(name, str) or not name:
        raise MalformedMessage("step status event without stepName")
    row: dict[str, Any] = {
        "StepName": name, "StepDisplayName": detail.get("stepDisplayName"),
        "StepDescription": detail.get("stepDescription"), "StepStatus": detail.get("currentStepStatus"),
        "StartTime": parse_time(detail.get("stepStartTime")), "EndTime": parse_time(detail.get("stepEndTime")),
        "FailureReason": detail.get("failureReason"), "AttemptCount": detail.get("attemptCount"),
        "Metadata": pascal_case(detail.get("metadata") or {}),
    }
    if isinstance(detail.get("cacheHitResult"), dict):
        row["CacheHitResult"] = pascal_case(detail["cacheHitResult"])
    return {k: v for k, v in row.items() if v is not None}


def step_status(event: CloudEvent) -> SageMakerEffect:
    d = event.detail
    arn = _arn(d, "pipelineExecutionArn", "step status")
    pipeline_arn = _pipeline_arn(d, arn)
    row = step_row(d)
    graph = step_run_graph(arn, row)
    when = state_time(row.get("StepStatus"), event.time, row.get("StartTime"), row.get("EndTime"))
    _set_state_time(graph, "StepRun", step_run_key(arn, row["StepName"]), when)
    return SageMakerEffect(kind=kind_of(event), graph=graph, pipelines={pipeline_arn})


def _with_times(detail: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level *Time fields as datetimes (events carry epoch milliseconds or ISO text)."""
    out = dict(detail)
    for name, value in detail.items():
        if name.endswith("Time") and not isinstance(value, (dict, list)):
            out[name] = parse_time(value)
    return out


def _only_node_with_state(graph: Graph, label: str) -> Any:
    return next((n for n in graph.nodes.values() if n.label == label and n.state), None)


def job_state(event: CloudEvent) -> SageMakerEffect:
    kind = JOB_STATES[event.detail_type]
    own = _OWN_ARN[kind]
    _arn(event.detail, own, event.detail_type)
    # A processing job's detail may name the training or AutoML job that launched it: the job is this one.
    job = {k: v for k, v in _with_times(event.detail).items() if k == own or k not in _OTHER_ARNS}
    job.pop("Tags", None)  # a map in events, a list in the API; not lineage
    graph = job_graph(kind, job)
    node = _only_node_with_state(graph, "Job")
    if node is not None and node.state_time is None:
        node.state_time = event.time
    return SageMakerEffect(kind=kind_of(event), graph=graph)


def model_package_state(event: CloudEvent) -> SageMakerEffect:
    package = _with_times(event.detail)
    _arn(package, "ModelPackageArn", "model package state")
    graph = model_package_graph(package)
    node = _only_node_with_state(graph, "ModelPackage")
    if node is not None and node.state_time is None:
        node.state_time = event.time
    generated_by = (package.get("MetadataProperties") or {}).get("GeneratedBy") or ""
    pipelines = {pipeline_arn_of_execution(generated_by)} if "/execution/" in generated_by else set()
    return SageMakerEffect(kind=kind_of(event), graph=graph, pipelines=pipelines)


_HANDLERS: dict[str, Callable[[CloudEvent], SageMakerEffect]] = {
    EXECUTION_STATUS: execution_status,
    STEP_STATUS: step_status,
    MODEL_PACKAGE_STATE: model_package_state,
    **{detail_type: job_state for detail_type in JOB_STATES},
}
