"""One simulated pipeline execution: its parameters and the state its steps share.

`Run` resolves {"Get": ...} / {"Std:Join": ...} / {"Std:JsonGet": ...} expressions,
generates SageMaker-style job names and job times, writes step outputs to S3 and
keeps the step-run records ListPipelineExecutionSteps returns.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lineage_dev.sim.moto_sagemaker import compact
from lineage_dev.sim.schedule import Slot
from lineage_dev.sim.server import SimAws
from lineage_dev.sim.values import as_text, lookup, metric_value, stable_id, typed

ARTIFACT_BUCKET = "acme-ml-artifacts"  # where steps without an output location write

# A step handler's result: the step run's Metadata, and the properties {"Get": "Steps.X..."} reads.
Outcome = tuple[dict[str, Any] | None, dict[str, Any]]


@dataclass
class Run:
    """The execution being simulated; step handlers read and extend it."""

    sim: SimAws
    region: str | None
    pipeline_arn: str
    pipeline_name: str
    arn: str
    start: datetime
    declared: dict[str, dict[str, Any]]
    given: dict[str, str]
    rng: random.Random = field(default_factory=random.Random)
    props: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    buckets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sm = self.sim.client("sagemaker", self.region)
        self.s3 = self.sim.client("s3", self.region)
        self.backend = self.sim.sagemaker_backend(self.region)
        self.id = self.arn.rsplit("/", 1)[-1]
        self.params = {
            n: typed(p.get("Type", "String"), self.given.get(n, p.get("DefaultValue")))
            for n, p in self.declared.items()
        }
        self.experiment: dict[str, Any] | None = None
        self.outcomes: dict[str, bool] = {}
        self.json_paths: dict[tuple[str, str], set[str]] = {}

    # expressions
    def resolve(self, value: Any, step: str = "") -> Any:
        if isinstance(value, list):
            return [self.resolve(v, step) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(value["Get"], step)
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return str(join.get("On", "")).join(as_text(self.resolve(v, step)) for v in join.get("Values", []))
        if set(value) == {"Std:JsonGet"}:
            json_get = value["Std:JsonGet"]
            found = lookup(self.resolve(json_get.get("PropertyFile"), step), str(json_get.get("Path", "")))
            return found if found is not None else metric_value(self.rng, str(json_get.get("Path", "")))
        if len(value) == 1 and next(iter(value)).startswith("Std:"):
            return f"sim-unresolved:{next(iter(value))}"
        return {k: self.resolve(v, step) for k, v in value.items()}

    def get(self, expr: str, step: str) -> Any:
        head, _, rest = expr.partition(".")
        if head == "Parameters" and rest in self.params:
            return self.params[rest]
        if head == "Execution":
            variables = {
                "PipelineExecutionId": self.id, "PipelineExecutionArn": self.arn,
                "PipelineName": self.pipeline_name, "PipelineArn": self.pipeline_arn,
                "StartDateTime": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "CurrentDateTime": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "TrainingJobName": self.job_name(step), "ProcessingJobName": self.job_name(step),
            }
            if rest in variables:
                return variables[rest]
        if head == "Steps":
            name, _, path = rest.partition(".")
            found = lookup(self.props.get(name), path)
            if found is not None:
                return found
        return f"sim-unresolved:{expr}"

    def job_name(self, step: str, limit: int = 63, prefix: Any = None) -> str:
        """SageMaker-style generated name; a name in the definition is a custom prefix."""
        if isinstance(prefix, str) and prefix:
            base = prefix
        else:
            base = f"pipelines-{self.id}-{_slug(step)}" if limit > 32 else f"{self.id}-{_slug(step)}"
        return f"{base[: limit - 11].rstrip('-')}-{stable_id(self.arn + step, 10)}"

    def times(self, slot: Slot) -> tuple[datetime, datetime, datetime | None]:
        """(created, started, ended) of the job behind a step run."""
        created = slot.start + timedelta(seconds=2)
        started = created + timedelta(seconds=self.rng.randint(30, 90))
        ended = slot.end - timedelta(seconds=1) if slot.end else None
        if ended and ended < started:
            started = created
        return created, started, ended

    # step runs
    def record(self, slot: Slot, step: dict[str, Any], meta: dict[str, Any] | None, cache_source: Any) -> None:
        """Append the step run ListPipelineExecutionSteps returns (`cache_source`: the execution it reused)."""
        cache_hit = {"SourcePipelineExecutionArn": cache_source.arn} if cache_source else None
        self.records.append(compact({
            "StepName": slot.name,
            "StepDisplayName": step.get("DisplayName"),
            "StepDescription": step.get("Description"),
            "StartTime": slot.start,
            "EndTime": slot.end,
            "StepStatus": slot.status,
            "AttemptCount": 1,
            "FailureReason": slot.failure,
            "CacheHitResult": cache_hit,
            "Metadata": meta or None,
        }))

    def touch(self, uri: str, body: bytes = b"placeholder written by the SageMaker simulator\n") -> None:
        """Put a small object at (or under) an s3:// URI produced by a step."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return
        bucket, _, key = uri[5:].partition("/")
        if "." not in key.rsplit("/", 1)[-1]:
            key = f"{key.rstrip('/')}/part-00000".lstrip("/")
        if bucket not in self.buckets:
            ensure_bucket(self.s3, bucket, self.region or self.sim.region)
            self.buckets.add(bucket)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "step"


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)
