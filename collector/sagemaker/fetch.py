"""SageMaker API reads (the 'get' edge). Each function is one logical read; pagination included."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_DESCRIBE_JOB = {
    "ProcessingJob": ("describe_processing_job", "ProcessingJobName"),
    "TrainingJob": ("describe_training_job", "TrainingJobName"),
    "TransformJob": ("describe_transform_job", "TransformJobName"),
    "TuningJob": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
    "AutoMLJob": ("describe_auto_ml_job_v2", "AutoMLJobName"),
}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def list_pipelines(client: Any) -> list[dict[str, Any]]:
    return list(_pages(client, "list_pipelines", "PipelineSummaries"))


def describe_pipeline(client: Any, name: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_pipeline(PipelineName=name)
    return response


def list_tags(client: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _pages(client, "list_tags", "Tags", ResourceArn=arn)}


def list_domains(client: Any) -> list[dict[str, Any]]:
    return list(_pages(client, "list_domains", "Domains"))


def list_recent_executions(client: Any, pipeline_name: str, limit: int) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    response = client.list_pipeline_executions(
        PipelineName=pipeline_name, SortBy="CreationTime", SortOrder="Descending",
        MaxResults=min(limit, 100))
    summaries: list[dict[str, Any]] = response.get("PipelineExecutionSummaries", [])
    return summaries[:limit]


def describe_execution(client: Any, arn: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_pipeline_execution(PipelineExecutionArn=arn)
    return response


def execution_parameters(client: Any, arn: str) -> dict[str, str]:
    rows = _pages(client, "list_pipeline_parameters_for_execution", "PipelineParameters",
                  PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in rows}


def execution_steps(client: Any, arn: str) -> list[dict[str, Any]]:
    return list(_pages(client, "list_pipeline_execution_steps", "PipelineExecutionSteps",
                       PipelineExecutionArn=arn, SortOrder="Ascending"))


def describe_job(client: Any, kind: str, arn: str) -> dict[str, Any]:
    operation, name_field = _DESCRIBE_JOB[kind]
    response: dict[str, Any] = getattr(client, operation)(**{name_field: arn.rsplit("/", 1)[-1]})
    return response


def describe_model_package(client: Any, arn: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_model_package(ModelPackageName=arn)
    return response


def describe_model(client: Any, arn: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_model(ModelName=arn.rsplit("/", 1)[-1])
    return response
