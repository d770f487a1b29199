"""Typed models of the documented event shapes (pydantic, strict): a body is validated against them
before anything else reads it, and any mismatch is a MalformedMessage with the field and the reason.

Strict: a status is text, never a list or a number; a time is an ISO 8601 text or an epoch number that
parses; an ARN is an ARN of the service it names; names and keys follow AWS's rules. Fields not modelled
are allowed (extra="allow": AWS adds fields), and their text is still checked by collector.events.document.
The transforms keep reading the original mappings, which these models have checked: strict validation
converts nothing, so what was checked is what is read.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from collector.events.model import MalformedMessage
from collector.events.names import bucket_problem, key_problem, s3_uri_problem
from collector.events.times import parse_time


def short(value: Any, limit: int = 60) -> str:
    """A value for a reason: its repr, shortened, printable whatever text it holds."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _time(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a time (ISO 8601 text or epoch seconds/milliseconds), got {type(value).__name__}")
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"not a time: {short(value)}")
    return parsed


def _bucket(value: str) -> str:
    problem = bucket_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _key(value: str) -> str:
    problem = key_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _s3_uri(value: str) -> str:
    if not value.startswith(("s3://", "s3a://", "s3n://")):
        raise ValueError(f"not an s3:// URI: {short(value)}")
    problem = s3_uri_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _sha(value: str) -> str:
    if len(value) not in (40, 64) or value.strip("0123456789abcdef"):
        raise ValueError(f"not a commit id: {short(value)}")
    return value


Time = Annotated[datetime, PlainValidator(_time)]
Text = Annotated[str, StringConstraints(max_length=16_384)]
NameText = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Status = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z_-]{0,63}$")]
Count = Annotated[int, Field(ge=0, le=1 << 53)]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")]
Account = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Bucket = Annotated[str, AfterValidator(_bucket)]
Key = Annotated[str, AfterValidator(_key)]
S3Location = Annotated[str, AfterValidator(_s3_uri)]
Sha = Annotated[str, AfterValidator(_sha)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^\S+$")]
Sequencer = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{1,64}$")]
_SM = r"^arn:aws[a-z-]*:sagemaker:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:"
SageMakerArn = Annotated[str, StringConstraints(max_length=2048, pattern=_SM + r"[a-z-]+/\S+$")]
PipelineArn = Annotated[str, StringConstraints(max_length=2048, pattern=_SM + r"pipeline/[A-Za-z0-9-]{1,256}$")]
ExecutionArn = Annotated[str, StringConstraints(
    max_length=2048, pattern=_SM + r"pipeline/[A-Za-z0-9-]{1,256}/execution/[A-Za-z0-9-]{1,128}$")]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, what: str) -> M:
    """`data` as `model`; raises MalformedMessage naming `what`, the field and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedMessage(f"{what}: {reason(exc)}") from None


def reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "value"
    text = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") in ("string_type", "int_type", "float_type", "dict_type", "list_type", "bool_type",
                             "model_type", "datetime_type"):
        text += f", got {type(first.get('input')).__name__}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {text}{more}".encode("utf-8", "backslashreplace").decode("utf-8")


def s3_uris(doc: Any, what: str) -> None:
    """Every S3 URI anywhere in `doc` names a valid bucket and key (they become Dataset and Bucket nodes, and
    later S3 calls); raises MalformedMessage."""
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if value.startswith(("s3://", "s3a://", "s3n://")) and len(value) > 5:
                problem = s3_uri_problem(value)
                if problem:
                    raise MalformedMessage(f"{what}: {problem}")
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def top_level_times(data: Mapping[str, Any], what: str) -> None:
    """Every top-level `*Time` field (job and model package events carry epoch milliseconds or ISO text) is a
    time; raises ValueError (inside a validator) naming the field."""
    for name, value in data.items():
        if isinstance(name, str) and name.endswith("Time") and value is not None:
            try:
                _time(value)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None


# --- envelopes -----------------------------------------------------------------------------------------


class EventBridgeEnvelope(Strict):
    source: NameText
    detail_type: NameText = Field(alias="detail-type")
    detail: dict[str, Any]
    time: Time | None = None
    id: Text | None = None
    region: Region | None = None
    account: Account | None = None
    resources: list[Text] = Field(default_factory=list)


class SnsNotification(Strict):
    Message: str


class WebhookRelay(Strict):
    headers: dict[str, Any]
    body: str | dict[str, Any]

    @field_validator("headers")
    @classmethod
    def _event_headers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, header in value.items():
            if name.lower() in ("x-github-event", "x-gitlab-event") and not isinstance(header, str):
                raise ValueError(f"{name} is not text")
        return value


# --- SageMaker ---------------------------------------------------------------------------------------


class ArnRef(Strict):
    Arn: SageMakerArn | None = None


class CheckRef(Strict):
    CheckJobArn: SageMakerArn | None = None


class Outcome(Strict):
    Outcome: Text | None = None


class FailMetadata(Strict):
    ErrorMessage: Text | None = None


class OutputParameter(Strict):
    Name: NameText
    Value: Text | None = None


class Parameters(Strict):
    OutputParameters: list[OutputParameter] | None = None


class StepMetadata(Strict):
    """`metadata` of a step status event, after its camelCase keys became the API's PascalCase."""

    TrainingJob: ArnRef | None = None
    ProcessingJob: ArnRef | None = None
    TransformJob: ArnRef | None = None
    TuningJob: ArnRef | None = None
    AutoMLJob: ArnRef | None = None
    Model: ArnRef | None = None
    RegisterModel: ArnRef | None = None
    Endpoint: ArnRef | None = None
    QualityCheck: CheckRef | None = None
    ClarifyCheck: CheckRef | None = None
    Condition: Outcome | None = None
    Fail: FailMetadata | None = None
    Lambda: Parameters | None = None
    Callback: Parameters | None = None


class CacheHit(Strict):
    SourcePipelineExecutionArn: ExecutionArn | None = None


def pascal_case(value: Any) -> Any:
    """camelCase event fields -> the API's PascalCase (metadata.trainingJob.arn -> Metadata.TrainingJob.Arn)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]) if isinstance(k, str) else k: pascal_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal_case(v) for v in value]
    return value


def _same_pipeline(pipeline_arn: str | None, execution_arn: str) -> None:
    if pipeline_arn is not None and execution_arn.split("/execution/", 1)[0].lower() != pipeline_arn.lower():
        raise ValueError(f"pipelineArn {short(pipeline_arn)} is not the pipeline of {short(execution_arn)}")


class ExecutionStatus(Strict):
    pipelineExecutionArn: ExecutionArn
    pipelineArn: PipelineArn | None = None
    currentPipelineExecutionStatus: Status
    previousPipelineExecutionStatus: Status | None = None
    executionStartTime: Time | None = None
    executionEndTime: Time | None = None
    pipelineExecutionDisplayName: Text | None = None
    pipelineExecutionDescription: Text | None = None
    failureReason: Text | None = None

    @model_validator(mode="after")
    def _pipeline(self) -> ExecutionStatus:
        _same_pipeline(self.pipelineArn, self.pipelineExecutionArn)
        return self


class StepStatus(Strict):
    pipelineExecutionArn: ExecutionArn
    pipelineArn: PipelineArn | None = None
    stepName: NameText
    stepDisplayName: Text | None = None
    stepDescription: Text | None = None
    stepType: NameText | None = None
    currentStepStatus: Status
    previousStepStatus: Status | None = None
    stepStartTime: Time | None = None
    stepEndTime: Time | None = None
    failureReason: Text | None = None
    attemptCount: Count | None = None
    metadata: dict[str, Any] | None = None
    cacheHitResult: dict[str, Any] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            StepMetadata.model_validate(pascal_case(value))
        return value

    @field_validator("cacheHitResult")
    @classmethod
    def _cache_hit(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            CacheHit.model_validate(pascal_case(value))
        return value

    @model_validator(mode="after")
    def _pipeline(self) -> StepStatus:
        _same_pipeline(self.pipelineArn, self.pipelineExecutionArn)
        return self


class Metric(Strict):
    MetricName: NameText
    Value: float


class BestJob(Strict):
    TrainingJobName: NameText | None = None
    FinalHyperParameterTuningJobObjectiveMetric: Metric | None = None


class Artifacts(Strict):
    S3ModelArtifacts: S3Location | None = None


class JobDetail(Strict):
    """What job_graph reads of a Describe*Job-shaped event detail (the own ARN, status and name per kind)."""

    FailureReason: Text | None = None
    BillableTimeInSeconds: Count | None = None
    ModelArtifacts: Artifacts | None = None
    BestTrainingJob: BestJob | None = None
    FinalMetricDataList: list[Metric] | None = None
    TrainingJobArn: SageMakerArn | None = None
    ProcessingJobArn: SageMakerArn | None = None
    TransformJobArn: SageMakerArn | None = None
    HyperParameterTuningJobArn: SageMakerArn | None = None
    AutoMLJobArn: SageMakerArn | None = None

    @model_validator(mode="before")
    @classmethod
    def _times(cls, data: Any) -> Any:
        if isinstance(data, dict):
            top_level_times(data, "job")
        return data


# detail-type -> (own ARN, status, name) fields, as in Describe*Job
JOB_FIELDS = {
    "SageMaker Training Job State Change": ("TrainingJobArn", "TrainingJobStatus", "TrainingJobName"),
    "SageMaker Processing Job State Change": ("ProcessingJobArn", "ProcessingJobStatus", "ProcessingJobName"),
    "SageMaker Transform Job State Change": ("TransformJobArn", "TransformJobStatus", "TransformJobName"),
    "SageMaker HyperParameter Tuning Job State Change": ("HyperParameterTuningJobArn", "HyperParameterTuningJobStatus",
                                                         "HyperParameterTuningJobName"),
}


def _job_model(detail_type: str, arn: str, status: str, name: str) -> type[Strict]:
    fields: dict[str, Any] = {arn: (SageMakerArn, ...), status: (Status | None, None), name: (NameText | None, None)}
    model: type[Strict] = create_model(detail_type.replace(" ", ""), __base__=JobDetail, **fields)
    return model


JOB_MODELS: dict[str, type[Strict]] = {
    detail_type: _job_model(detail_type, *fields) for detail_type, fields in JOB_FIELDS.items()}


class S3Source(Strict):
    S3Uri: S3Location | None = None


class DataSource(Strict):
    S3DataSource: S3Source | None = None


class Container(Strict):
    ModelDataUrl: S3Location | None = None
    ModelDataSource: DataSource | None = None


class Inference(Strict):
    Containers: list[Container] | None = None


class MetadataProps(Strict):
    GeneratedBy: Text | None = None

    @field_validator("GeneratedBy")
    @classmethod
    def _execution(cls, value: str | None) -> str | None:
        if value is not None and "/execution/" in value:
            validated(_ExecutionRef, {"arn": value}, "GeneratedBy")
        return value


class _ExecutionRef(Strict):
    arn: ExecutionArn


class ModelPackageState(Strict):
    ModelPackageArn: SageMakerArn
    ModelPackageGroupName: NameText | None = None
    ModelPackageName: NameText | None = None
    ModelPackageVersion: Count | None = None
    ModelPackageStatus: Status | None = None
    ModelApprovalStatus: Status | None = None
    ModelPackageDescription: Text | None = None
    InferenceSpecification: Inference | None = None
    MetadataProperties: MetadataProps | None = None

    @model_validator(mode="before")
    @classmethod
    def _times(cls, data: Any) -> Any:
        if isinstance(data, dict):
            top_level_times(data, "model package")
        return data


FeatureGroupArnText = Annotated[str, StringConstraints(max_length=256, pattern=_SM + r"feature-group/\S+$")]
FeatureNameText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StatusText = Status  # a model below has a field named Status


class FeatureDefinition(Strict):
    FeatureName: FeatureNameText
    FeatureType: Status | None = None
    CollectionType: Status | None = None


class FeatureS3Storage(Strict):
    S3Uri: S3Location | None = None
    ResolvedOutputS3Uri: S3Location | None = None


class FeatureDataCatalog(Strict):
    TableName: NameText | None = None
    Database: NameText | None = None
    Catalog: NameText | None = None


class FeatureOfflineStore(Strict):
    S3StorageConfig: FeatureS3Storage | None = None
    DataCatalogConfig: FeatureDataCatalog | None = None
    DisableGlueTableCreation: bool | None = None
    TableFormat: Status | None = None


class FeatureOnlineStore(Strict):
    EnableOnlineStore: bool | None = None


class FeatureOfflineStatus(Strict):
    Status: StatusText | None = None
    BlockedReason: Text | None = None


class FeatureGroupState(Strict):
    """The detail of a SageMaker Feature Group State Change: DescribeFeatureGroup's fields (docs/events.md)."""

    FeatureGroupArn: FeatureGroupArnText
    FeatureGroupName: FeatureNameText | None = None
    FeatureGroupStatus: Status | None = None
    OfflineStoreStatus: FeatureOfflineStatus | None = None
    RecordIdentifierFeatureName: FeatureNameText | None = None
    EventTimeFeatureName: FeatureNameText | None = None
    FeatureDefinitions: list[FeatureDefinition] | None = None
    OnlineStoreConfig: FeatureOnlineStore | None = None
    OfflineStoreConfig: FeatureOfflineStore | None = None
    RoleArn: Text | None = None
    Description: Text | None = None
    FailureReason: Text | None = None


# --- endpoints (collector/events/endpoints.py) ---


class EndpointVariant(Strict):
    VariantName: NameText | None = None


class EndpointStateDetail(Strict):
    """What endpoint_description reads of a "SageMaker Endpoint State Change" detail."""

    EndpointArn: SageMakerArn
    EndpointName: NameText | None = None
    EndpointConfigName: NameText | None = None
    EndpointStatus: Status | None = None
    FailureReason: Text | None = None
    ProductionVariants: list[EndpointVariant] | None = None

    @model_validator(mode="before")
    @classmethod
    def _times(cls, data: Any) -> Any:
        if isinstance(data, dict):
            top_level_times(data, "feature group")


            top_level_times(data, "endpoint")
        return data


SAGEMAKER_DETAILS: dict[str, type[Strict]] = {
    "SageMaker Endpoint State Change": EndpointStateDetail,
    "SageMaker Model Building Pipeline Execution Status Change": ExecutionStatus,
    "SageMaker Model Building Pipeline Execution Step Status Change": StepStatus,
    "SageMaker Model Package State Change": ModelPackageState,
    **JOB_MODELS,
    "SageMaker Feature Group State Change": FeatureGroupState,
}


# --- S3 -------------------------------------------------------------------------------------------------


class S3Bucket(Strict):
    name: Bucket


class NotificationObject(Strict):
    key: NameText         # URL-encoded: checked again once decoded
    size: Count | None = None
    eTag: Text | None = None
    versionId: Text | None = None
    sequencer: Sequencer | None = None


class NotificationEntity(Strict):
    bucket: S3Bucket
    object: NotificationObject


class NotificationRecord(Strict):
    eventName: NameText
    eventTime: Time
    awsRegion: Region | None = None
    s3: NotificationEntity


class EventBridgeObject(Strict):
    key: Key
    size: Count | None = None
    etag: Text | None = None
    eTag: Text | None = None
    version_id: Text | None = Field(None, alias="version-id")
    sequencer: Sequencer | None = None


class EventBridgeObjectDetail(Strict):
    bucket: S3Bucket
    object: EventBridgeObject


# --- Git ------------------------------------------------------------------------------------------------


class GitHubRepository(Strict):
    clone_url: Text | None = None
    ssh_url: Text | None = None
    git_url: Text | None = None
    html_url: Text | None = None
    full_name: Text | None = None
    name: Text | None = None
    pushed_at: Time | None = None


class GitHubCommit(Strict):
    timestamp: Time | None = None


class GitHubPush(Strict):
    ref: Ref
    before: Sha | None = None
    after: Sha | None = None
    forced: bool | None = None
    repository: GitHubRepository
    head_commit: GitHubCommit | None = None


class GitLabProject(Strict):
    git_http_url: Text | None = None
    git_ssh_url: Text | None = None
    path_with_namespace: Text | None = None


class GitLabRepository(Strict):
    git_http_url: Text | None = None
    git_ssh_url: Text | None = None
    url: Text | None = None
    name: Text | None = None


class GitLabCommit(Strict):
    timestamp: Time | None = None


class GitLabPush(Strict):
    ref: Ref
    before: Sha | None = None
    after: Sha | None = None
    project: GitLabProject | None = None
    repository: GitLabRepository | None = None
    commits: list[GitLabCommit] | None = None


class CodeCommitChange(Strict):
    event: NameText | None = None
    repositoryName: NameText | None = None
    referenceFullName: Ref | None = None
    referenceName: NameText | None = None
    commitId: Sha | None = None
    oldCommitId: Sha | None = None
