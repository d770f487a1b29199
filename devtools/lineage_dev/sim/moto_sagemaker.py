"""SageMaker extensions for moto's server: what moto lacks or gets wrong for pipelines.

`install()` patches `moto.sagemaker.responses.SageMakerResponse` (moto's JSON
protocol dispatches ``X-Amz-Target: SageMaker.<Action>`` to the snake_case
method of that name). Every response produced by a method installed here is
checked with botocore's `ParamValidator` against the operation's output shape
before moto serializes it; an invalid response is logged, recorded in
`INVALID_RESPONSES` and returned to the client as a `SimInvalidResponse` error.

Simulator state that moto has no field for lives on moto's own objects, so
moto's reset clears it too:
  * ``FakePipelineExecution.sim_steps``: list of PipelineExecutionStep dicts
  * ``FakePipelineExecution.sim_step_props``: step name -> properties, for cache hits
  * ``FakePipelineExecution.sim_experiment_config``: resolved PipelineExperimentConfig
  * ``FakeTrainingJob.tuning_job_arn`` / ``.tuned_hyper_parameters``: set on tuning trials
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores, utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    FakePipeline,
    FakePipelineExecution,
    SageMakerModelBackend,
)
from moto.sagemaker.responses import SageMakerResponse

log = logging.getLogger(__name__)

SERVICE_MODEL = botocore.session.get_session().get_service_model("sagemaker")
INVALID_RESPONSES: list[str] = []

Handler = Callable[[SageMakerResponse], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {}
_ORIGINALS: dict[str, Callable[[SageMakerResponse], Any]] = {}


class SimInvalidResponse(ServiceException):
    code = "SimInvalidResponse"


# moto warns that this code is not in the SageMaker model; the error is reported loudly anyway.
warnings.filterwarnings("ignore", message=r"Exception\(SimInvalidResponse\)")


# --- validation -----------------------------------------------------------------


def compact(value: Any) -> Any:
    """Drop None and "" values recursively (AWS omits absent fields)."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [compact(v) for v in value if v is not None]
    return value


def validate_output(operation: str, payload: dict[str, Any]) -> None:
    """Raise SimInvalidResponse unless `payload` is a valid `operation` output."""
    shape = SERVICE_MODEL.operation_model(operation).output_shape
    report = ParamValidator().validate(payload, shape)
    if report.has_errors():
        problem = f"sim response for sagemaker.{operation} is invalid:\n{report.generate_report()}"
        log.error(problem)
        INVALID_RESPONSES.append(problem)
        raise SimInvalidResponse(problem)


def _project(operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Keep the output shape's top-level members; drop empty values moto leaves in."""
    members = SERVICE_MODEL.operation_model(operation).output_shape.members
    return {k: v for k, v in compact(payload).items() if k in members and v != {}}


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register a handler that builds the full response dict for `name`."""

    def register(handler: Handler) -> Handler:
        _HANDLERS[name] = handler
        return handler

    return register


def _make_method(op: str, handler: Handler) -> Callable[[SageMakerResponse], ActionResult]:
    def method(self: SageMakerResponse) -> ActionResult:
        payload = handler(self)
        validate_output(op, payload)
        return ActionResult(payload)

    method.__name__ = camelcase_to_underscores(op)
    return method


def install() -> None:
    """Patch SageMakerResponse with every handler in this module (idempotent)."""
    _install_handlers()
    _install_captures()


def _install_handlers() -> None:
    for op, handler in _HANDLERS.items():
        attr = camelcase_to_underscores(op)
        if op not in _ORIGINALS:
            _ORIGINALS[op] = getattr(SageMakerResponse, attr, None)  # type: ignore[assignment]
        setattr(SageMakerResponse, attr, _make_method(op, handler))


def _native(response: SageMakerResponse, op: str) -> dict[str, Any]:
    original = _ORIGINALS.get(op)
    if original is None:
        raise NotImplementedError(f"moto has no {op}")
    result = original(response)
    return _project(op, dict(result.result or {}))


# --- pagination ------------------------------------------------------------------


def paginate(
    items: list[Any], token: str | None, max_results: int | None, default: int = 50
) -> tuple[list[Any], str | None]:
    """Slice `items` with an opaque offset token, like the real service."""
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ValidationError(message="Invalid pagination token.") from None
    end = start + (max_results or default)
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], next_token


def _sorted(items: Iterable[Any], key: Callable[[Any], Any], order: str | None) -> list[Any]:
    return sorted(items, key=key, reverse=(order or "Descending") == "Descending")


def _created_between(when: datetime, after: datetime | None, before: datetime | None) -> bool:
    naive = _naive(when)
    if after is not None and naive <= _naive(after):
        return False
    return before is None or naive < _naive(before)


def _naive(when: datetime) -> datetime:
    """moto keeps naive UTC datetimes."""
    return when if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None)


# --- lookups ---------------------------------------------------------------------


def backend(response: SageMakerResponse) -> SageMakerModelBackend:
    return response.sagemaker_backend


def find_pipeline(sm: SageMakerModelBackend, name_or_arn: str) -> FakePipeline:
    name = name_or_arn.split(":pipeline/")[-1].split("/")[0]
    if name not in sm.pipelines:
        raise ValidationError(message=f"Pipeline '{name_or_arn}' does not exist.")
    return sm.pipelines[name]


def find_execution(sm: SageMakerModelBackend, arn: str) -> FakePipelineExecution:
    pipeline = find_pipeline(sm, arn)
    if arn not in pipeline.pipeline_executions:
        raise ValidationError(message=f"Pipeline execution '{arn}' does not exist.")
    return pipeline.pipeline_executions[arn]


def execution_failure(execution: FakePipelineExecution) -> str | None:
    if execution.pipeline_execution_status not in ("Failed", "Stopped"):
        return None
    return execution.pipeline_execution_failure_reason or None


# --- pipelines -------------------------------------------------------------------


@operation("ListPipelines")
def list_pipelines(r: SageMakerResponse) -> dict[str, Any]:
    prefix = r._get_param("PipelineNamePrefix") or ""
    candidates = [
        p
        for p in backend(r).pipelines.values()
        if p.pipeline_name.startswith(prefix)
        and _created_between(p.creation_time, r._get_param("CreatedAfter"), r._get_param("CreatedBefore"))
    ]
    by_name = r._get_param("SortBy") == "Name"
    ordered = _sorted(
        candidates,
        key=lambda p: (p.pipeline_name if by_name else p.creation_time, p.pipeline_name),
        order=r._get_param("SortOrder"),
    )
    page, token = paginate(ordered, r._get_param("NextToken"), r._get_param("MaxResults"))
    summaries = [
        {
            "PipelineArn": p.arn,
            "PipelineName": p.pipeline_name,
            "PipelineDisplayName": p.pipeline_display_name,
            "PipelineDescription": p.pipeline_description,
            "RoleArn": p.role_arn,
            "CreationTime": p.creation_time,
            "LastModifiedTime": p.last_modified_time,
            "LastExecutionTime": p.last_execution_time,
        }
        for p in page
    ]
    return compact({"PipelineSummaries": summaries, "NextToken": token})


@operation("DescribePipeline")
def describe_pipeline(r: SageMakerResponse) -> dict[str, Any]:
    p = find_pipeline(backend(r), r._get_param("PipelineName"))
    return _project(
        "DescribePipeline",
        {
            "PipelineArn": p.arn,
            "PipelineName": p.pipeline_name,
            "PipelineDisplayName": p.pipeline_display_name,
            "PipelineDescription": p.pipeline_description,
            "PipelineDefinition": p.pipeline_definition,
            "RoleArn": p.role_arn,
            "PipelineStatus": p.pipeline_status,
            "CreationTime": p.creation_time,
            "LastModifiedTime": p.last_modified_time,
            "LastRunTime": p.last_execution_time,
            "CreatedBy": p.created_by,
            "LastModifiedBy": p.last_modified_by,
            "ParallelismConfiguration": p.parallelism_configuration,
        },
    )


@operation("UpdatePipeline")
def update_pipeline(r: SageMakerResponse) -> dict[str, Any]:
    """moto keeps LastModifiedTime at creation; AWS moves it on every update."""
    payload = _native(r, "UpdatePipeline")
    find_pipeline(backend(r), r._get_param("PipelineName")).last_modified_time = utcnow()
    return payload


@operation("ListPipelineExecutions")
def list_pipeline_executions(r: SageMakerResponse) -> dict[str, Any]:
    pipeline = find_pipeline(backend(r), r._get_param("PipelineName"))
    after, before = r._get_param("CreatedAfter"), r._get_param("CreatedBefore")
    candidates = [
        e for e in pipeline.pipeline_executions.values() if _created_between(e.creation_time, after, before)
    ]
    by_arn = r._get_param("SortBy") == "PipelineExecutionArn"
    ordered = _sorted(
        candidates,
        key=lambda e: (e.arn,) if by_arn else (e.creation_time, e.arn),
        order=r._get_param("SortOrder"),
    )
    page, token = paginate(ordered, r._get_param("NextToken"), r._get_param("MaxResults"))
    summaries = [
        {
            "PipelineExecutionArn": e.arn,
            "StartTime": e.start_time,
            "PipelineExecutionStatus": e.pipeline_execution_status,
            "PipelineExecutionDescription": e.pipeline_execution_description,
            "PipelineExecutionDisplayName": e.pipeline_execution_display_name,
            "PipelineExecutionFailureReason": execution_failure(e),
        }
        for e in page
    ]
    return compact({"PipelineExecutionSummaries": summaries, "NextToken": token})


@operation("DescribePipelineExecution")
def describe_pipeline_execution(r: SageMakerResponse) -> dict[str, Any]:
    sm = backend(r)
    e = find_execution(sm, r._get_param("PipelineExecutionArn"))
    pipeline = find_pipeline(sm, e.arn)
    return _project(
        "DescribePipelineExecution",
        {
            "PipelineArn": pipeline.arn,
            "PipelineExecutionArn": e.arn,
            "PipelineExecutionDisplayName": e.pipeline_execution_display_name,
            "PipelineExecutionStatus": e.pipeline_execution_status,
            "PipelineExecutionDescription": e.pipeline_execution_description,
            "PipelineExperimentConfig": getattr(e, "sim_experiment_config", None),
            "FailureReason": execution_failure(e),
            "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified_time,
            "CreatedBy": e.created_by,
            "LastModifiedBy": e.last_modified_by,
            "ParallelismConfiguration": e.parallelism_configuration,
        },
    )


@operation("ListPipelineExecutionSteps")
def list_pipeline_execution_steps(r: SageMakerResponse) -> dict[str, Any]:
    e = find_execution(backend(r), r._get_param("PipelineExecutionArn"))
    steps = getattr(e, "sim_steps", [])
    ordered = _sorted(steps, key=lambda s: (s["StartTime"], s["StepName"]), order=r._get_param("SortOrder"))
    page, token = paginate(ordered, r._get_param("NextToken"), r._get_param("MaxResults"))
    return compact({"PipelineExecutionSteps": page, "NextToken": token})


@operation("ListPipelineParametersForExecution")
def list_pipeline_parameters_for_execution(r: SageMakerResponse) -> dict[str, Any]:
    e = find_execution(backend(r), r._get_param("PipelineExecutionArn"))
    params = [{"Name": p["Name"], "Value": str(p["Value"])} for p in e.pipeline_parameters or []]
    page, token = paginate(params, r._get_param("NextToken"), r._get_param("MaxResults"))
    return compact({"PipelineParameters": page, "NextToken": token})


@operation("DescribePipelineDefinitionForExecution")
def describe_pipeline_definition_for_execution(r: SageMakerResponse) -> dict[str, Any]:
    e = find_execution(backend(r), r._get_param("PipelineExecutionArn"))
    definition = e.pipeline_definition_for_execution
    if not isinstance(definition, str):  # moto keeps a dict when the definition came from S3
        definition = json.dumps(definition)
    return {"PipelineDefinition": definition, "CreationTime": e.creation_time}


# --- tags ------------------------------------------------------------------------


@operation("AddTags")
def add_tags(r: SageMakerResponse) -> dict[str, Any]:
    """Upsert by key (moto appends duplicates)."""
    resource = backend(r)._get_resource_from_arn(r._get_param("ResourceArn"))
    merged = {t["Key"]: t["Value"] for t in resource.tags or []}
    merged.update({t["Key"]: t.get("Value", "") for t in r._get_param("Tags") or []})
    resource.tags = [{"Key": k, "Value": v} for k, v in merged.items()]
    return {"Tags": resource.tags}


@operation("ListTags")
def list_tags(r: SageMakerResponse) -> dict[str, Any]:
    return _native(r, "ListTags")


# --- domains, models, jobs: moto's output, projected and validated ----------------


def _validated_native(op: str, fix: Callable[[SageMakerResponse, dict[str, Any]], None] | None = None) -> None:
    def handler(r: SageMakerResponse) -> dict[str, Any]:
        payload = _native(r, op)
        if fix:
            fix(r, payload)
        return payload

    operation(op)(handler)


def _fix_model_package(r: SageMakerResponse, payload: dict[str, Any]) -> None:
    # moto drops ModelPackageName for versioned packages; AWS returns the group name there.
    package = backend(r).describe_model_package(r._get_param("ModelPackageName"))
    payload.setdefault("ModelPackageName", package.model_package_name)


for _op in (
    "ListDomains",
    "DescribeDomain",
    "DescribeModel",
    "DescribeProcessingJob",
    "DescribeTrainingJob",
    "DescribeTransformJob",
    "DescribeHyperParameterTuningJob",
):
    _validated_native(_op)


def _fix_automl_job(r: SageMakerResponse, payload: dict[str, Any]) -> None:
    # moto writes TabularResolvedAttributes.TabularProblemType; the shape calls it ProblemType.
    resolved = payload.get("ResolvedAttributes", {}).get("AutoMLProblemTypeResolvedAttributes", {})
    tabular = resolved.get("TabularResolvedAttributes")
    if tabular and "TabularProblemType" in tabular:
        tabular["ProblemType"] = tabular.pop("TabularProblemType")


_validated_native("DescribeModelPackage", _fix_model_package)
_validated_native("DescribeAutoMLJobV2", _fix_automl_job)


@operation("ListTrainingJobsForHyperParameterTuningJob")
def list_training_jobs_for_tuning_job(r: SageMakerResponse) -> dict[str, Any]:
    sm = backend(r)
    tuning = sm.hyper_parameter_tuning_jobs.get(r._get_param("HyperParameterTuningJobName"))
    if tuning is None:
        raise ValidationError(message="Tuning job not found.")
    jobs = [j for j in sm.training_jobs.values() if getattr(j, "tuning_job_arn", None) == tuning.arn]
    status = r._get_param("StatusEquals")
    summaries = [tuning_summary(j, tuning.hyper_parameter_tuning_job_config) for j in jobs]
    summaries = [s for s in summaries if not status or s["TrainingJobStatus"] == status]
    sort_key = {
        "Name": lambda s: s["TrainingJobName"],
        "CreationTime": lambda s: s["CreationTime"],
        "Status": lambda s: s["TrainingJobStatus"],
        "FinalObjectiveMetricValue": lambda s: s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value", 0),
    }[r._get_param("SortBy") or "Name"]
    ordered = _sorted(summaries, key=sort_key, order=r._get_param("SortOrder"))
    page, token = paginate(ordered, r._get_param("NextToken"), r._get_param("MaxResults"), default=10)
    return compact({"TrainingJobSummaries": page, "NextToken": token})


def tuning_summary(job: Any, tuning_config: dict[str, Any]) -> dict[str, Any]:
    """HyperParameterTrainingJobSummary for a training job launched by a tuning job."""
    objective = tuning_config.get("HyperParameterTuningJobObjective") or {}
    metrics = {m["MetricName"]: m["Value"] for m in job.final_metric_data_list or []}
    summary: dict[str, Any] = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TuningJobName": getattr(job, "tuning_job_arn", "").split("/")[-1] or None,
        "CreationTime": job.creation_time,
        "TrainingStartTime": job.training_start_time,
        "TrainingEndTime": getattr(job, "training_end_time", None),
        "TrainingJobStatus": job.training_job_status,
        "TunedHyperParameters": getattr(job, "tuned_hyper_parameters", None) or {},
        "FailureReason": getattr(job, "failure_reason", None),
    }
    if objective.get("MetricName") in metrics:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.get("Type", "Maximize"),
            "MetricName": objective["MetricName"],
            "Value": metrics[objective["MetricName"]],
        }
        summary["ObjectiveStatus"] = "Succeeded"
    return compact(summary)


# --- creates: keep request fields moto drops --------------------------------------


def _capture(op: str, name_param: str, store: str) -> None:
    """Wrap Create*Job so every request field the describe shape knows is kept on moto's object.

    moto drops e.g. ProcessingResources/Environment and overwrites the training job's
    AlgorithmSpecification; its describe dumps the object's attributes, so setting
    them makes DescribeX return what was sent.
    """
    original = getattr(SageMakerResponse, camelcase_to_underscores(op))
    describe_members = SERVICE_MODEL.operation_model(op.replace("Create", "Describe", 1)).output_shape.members

    def method(self: SageMakerResponse) -> Any:
        request = copy.deepcopy(dict(self.params or {}))  # moto mutates what it is given
        result = original(self)
        obj = getattr(self.sagemaker_backend, store)[self._get_param(name_param)]
        for key, value in request.items():
            attr = camelcase_to_underscores(key)
            if key in describe_members and obj.camelCase(attr) == key:
                setattr(obj, attr, value)
        return result

    method.__name__ = camelcase_to_underscores(op)
    method.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(SageMakerResponse, camelcase_to_underscores(op), method)


def _install_captures() -> None:
    for op, name_param, store in (
        ("CreateProcessingJob", "ProcessingJobName", "processing_jobs"),
        ("CreateTrainingJob", "TrainingJobName", "training_jobs"),
        ("CreateTransformJob", "TransformJobName", "transform_jobs"),
    ):
        current = getattr(SageMakerResponse, camelcase_to_underscores(op))
        if not hasattr(current, "__wrapped__"):
            _capture(op, name_param, store)
