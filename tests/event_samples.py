"""Realistic event payloads, in the shapes AWS documents for each detail-type, for the event tests.

`execution_events(sim, execution_arn)` replays what SageMaker would have emitted for an execution
the simulator ran: step status changes (Starting, Executing, then the final status), the
execution's status changes, job state changes for the jobs the steps ran, and model package state
changes. The other helpers build single payloads: S3 notifications and EventBridge S3 events, SNS
envelopes, GitHub / GitLab / CodeCommit pushes.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote_plus

ACCOUNT = "123456789012"
REGION = "us-east-1"

_JOB_DETAIL_TYPES = {
    "TrainingJob": ("SageMaker Training Job State Change", "describe_training_job", "TrainingJobName"),
    "ProcessingJob": ("SageMaker Processing Job State Change", "describe_processing_job", "ProcessingJobName"),
    "TransformJob": ("SageMaker Transform Job State Change", "describe_transform_job", "TransformJobName"),
    "TuningJob": ("SageMaker HyperParameter Tuning Job State Change", "describe_hyper_parameter_tuning_job",
                  "HyperParameterTuningJobName"),
}
_STATUS_FIELD = {"TrainingJob": "TrainingJobStatus", "ProcessingJob": "ProcessingJobStatus",
                 "TransformJob": "TransformJobStatus", "TuningJob": "HyperParameterTuningJobStatus"}


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def utc(when: datetime) -> datetime:
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def eventbridge(detail_type: str, detail: dict[str, Any], time: datetime, *, source: str = "aws.sagemaker",
                resources: list[str] | None = None, region: str = REGION) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": ACCOUNT, "time": iso(time), "region": region, "resources": resources or [],
            "detail": detail}


def camel(value: Any) -> Any:
    """The API's PascalCase -> the camelCase SageMaker pipeline events use (Metadata.TrainingJob.Arn -> ...arn)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def step_event(pipeline_arn: str, execution_arn: str, row: dict[str, Any], status: str, previous: str | None,
               time: datetime) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "metadata": camel(row.get("Metadata") or {}), "stepName": row["StepName"],
        "stepType": row.get("StepType", "Processing"), "currentStepStatus": status,
        "pipelineArn": pipeline_arn, "pipelineExecutionArn": execution_arn,
    }
    if previous:
        detail["previousStepStatus"] = previous
    if row.get("StartTime"):
        detail["stepStartTime"] = iso(utc(row["StartTime"]))
    if status in ("Succeeded", "Failed", "Stopped") and row.get("EndTime"):
        detail["stepEndTime"] = iso(utc(row["EndTime"]))
    if status == "Failed" and row.get("FailureReason"):
        detail["failureReason"] = row["FailureReason"]
    if row.get("CacheHitResult"):
        detail["cacheHitResult"] = camel(row["CacheHitResult"])
    return eventbridge("SageMaker Model Building Pipeline Execution Step Status Change", detail, time,
                       resources=[pipeline_arn, execution_arn])


def execution_event(pipeline_arn: str, execution_arn: str, status: str, previous: str | None, start: datetime,
                    time: datetime, *, end: datetime | None = None, display_name: str | None = None,
                    failure: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"currentPipelineExecutionStatus": status, "executionStartTime": iso(start),
                              "pipelineArn": pipeline_arn, "pipelineExecutionArn": execution_arn}
    if previous:
        detail["previousPipelineExecutionStatus"] = previous
    if display_name:
        detail["pipelineExecutionDisplayName"] = display_name
    if end:
        detail["executionEndTime"] = iso(end)
    if failure:
        detail["failureReason"] = failure
    return eventbridge("SageMaker Model Building Pipeline Execution Status Change", detail, time,
                       resources=[pipeline_arn, execution_arn])


def _jsonable(value: Any) -> Any:
    """A boto3 response as an event detail: datetimes as epoch milliseconds, as SageMaker job events carry them."""
    if isinstance(value, datetime):
        return millis(utc(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def job_events(sm: Any, kind: str, arn: str) -> list[dict[str, Any]]:
    """InProgress at its start, then its final state, as the job's EventBridge events."""
    detail_type, operation, name_field = _JOB_DETAIL_TYPES[kind]
    job = getattr(sm, operation)(**{name_field: arn.rsplit("/", 1)[-1]})
    final = _jsonable(job)
    created = utc(job["CreationTime"])
    modified = utc(job.get("LastModifiedTime") or job["CreationTime"])
    running = {k: v for k, v in final.items() if not k.endswith("EndTime") and k not in (
        "FinalMetricDataList", "ModelArtifacts", "BillableTimeInSeconds", "BestTrainingJob", "FailureReason")}
    running[_STATUS_FIELD[kind]] = "InProgress"
    running["LastModifiedTime"] = millis(created + timedelta(seconds=30))
    return [eventbridge(detail_type, running, created + timedelta(seconds=30), resources=[arn]),
            eventbridge(detail_type, final, modified, resources=[arn])]


def model_package_events(sm: Any, arn: str) -> list[dict[str, Any]]:
    package = sm.describe_model_package(ModelPackageName=arn)
    detail = {k: (iso(utc(v)) if isinstance(v, datetime) else v) for k, v in package.items()
              if k != "ResponseMetadata"}
    created = utc(package["CreationTime"])
    return [eventbridge("SageMaker Model Package State Change", detail, created, resources=[arn])]


def execution_events(sim: Any, execution_arn: str, *, with_jobs: bool = True) -> list[dict[str, Any]]:
    """Every event SageMaker emits for one execution the simulator ran, in the order it emits them."""
    sm = sim.client("sagemaker")
    execution = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    pipeline_arn = execution["PipelineArn"]
    start, modified = utc(execution["CreationTime"]), utc(execution["LastModifiedTime"])
    status = execution["PipelineExecutionStatus"]
    rows = sm.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn, SortOrder="Ascending")
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    n = 0

    def emit(when: datetime, event: dict[str, Any]) -> None:
        nonlocal n
        timed.append((when, n, event))
        n += 1

    emit(start, execution_event(pipeline_arn, execution_arn, "Executing", None, start, start,
                                display_name=execution.get("PipelineExecutionDisplayName")))
    for row in rows["PipelineExecutionSteps"]:
        step_start = utc(row["StartTime"])
        emit(step_start, step_event(pipeline_arn, execution_arn, row, "Starting", None, step_start))
        emit(step_start + timedelta(seconds=1),
             step_event(pipeline_arn, execution_arn, row, "Executing", "Starting", step_start + timedelta(seconds=1)))
        if row["StepStatus"] != "Executing":
            end = utc(row.get("EndTime") or row["StartTime"]) + timedelta(seconds=1)
            emit(end, step_event(pipeline_arn, execution_arn, row, row["StepStatus"], "Executing", end))
        if not with_jobs:
            continue
        for key, kind in (("TrainingJob", "TrainingJob"), ("ProcessingJob", "ProcessingJob"),
                          ("TransformJob", "TransformJob"), ("TuningJob", "TuningJob")):
            job_arn = (row.get("Metadata") or {}).get(key, {}).get("Arn")
            if job_arn:
                for event in job_events(sm, kind, job_arn):
                    emit(datetime.fromisoformat(event["time"].replace("Z", "+00:00")), event)
        package_arn = (row.get("Metadata") or {}).get("RegisterModel", {}).get("Arn")
        if package_arn:
            for event in model_package_events(sm, package_arn):
                emit(datetime.fromisoformat(event["time"].replace("Z", "+00:00")), event)
    if status != "Executing":
        end_time = modified + timedelta(seconds=1)
        emit(end_time, execution_event(pipeline_arn, execution_arn, status, "Executing", start, end_time,
                                       end=modified, display_name=execution.get("PipelineExecutionDisplayName"),
                                       failure=execution.get("FailureReason")))
    return [event for _, _, event in sorted(timed, key=lambda t: (t[0], t[1]))]


# --- S3 ------------------------------------------------------------------------------------------


def s3_record(bucket: str, key: str, event_name: str, time: datetime, *, size: int | None = 1024,
              sequencer: str | None = None, region: str = REGION) -> dict[str, Any]:
    """One Records[] entry as S3 event notifications send it (the key URL-encoded, spaces as '+')."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "eTag": "d41d8cd98f00b204e9800998ecf8427e"}
    if event_name.startswith("ObjectCreated"):
        obj["size"] = size
    if sequencer:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
        "eventTime": time.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": event_name, "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810",
                             "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "lineage-collector",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }


def s3_notification(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def s3_eventbridge(bucket: str, key: str, action: str, time: datetime, *, size: int | None = 1024,
                   sequencer: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key, "etag": "b1946ac92492d2347c6235b4d2611184",
                           "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"}
    if sequencer:
        obj["sequencer"] = sequencer
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket}, "object": obj,
                              "request-id": "N4N7GDK58NMKJ12R", "requester": ACCOUNT, "source-ip-address": "1.2.3.4"}
    if action == "created":
        obj["size"] = size
        detail["reason"] = "PutObject"
        detail_type = "Object Created"
    else:
        detail["reason"] = "DeleteObject"
        detail["deletion-type"] = "Permanently Deleted"
        detail_type = "Object Deleted"
    return eventbridge(detail_type, detail, time, source="aws.s3", resources=[f"arn:aws:s3:::{bucket}"])


def sns(message: dict[str, Any] | str, topic: str = "lineage-events") -> dict[str, Any]:
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()),
            "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2024-06-03T12:00:00.000Z", "SignatureVersion": "1", "Signature": "EXAMPLE==",
            "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe"}


# --- Git -----------------------------------------------------------------------------------------


def github_push(repo: str = "acme/ml-sql", ref: str = "refs/heads/main", before: str = "1" * 40,
                after: str = "2" * 40, forced: bool = False) -> dict[str, Any]:
    return {
        "ref": ref, "before": before, "after": after, "created": False, "deleted": False, "forced": forced,
        "base_ref": None, "compare": f"https://github.com/{repo}/compare/{before[:12]}...{after[:12]}",
        "commits": [{"id": after, "message": "Update churn features", "timestamp": "2024-06-03T12:00:00+02:00",
                     "added": [], "removed": [], "modified": ["sql/churn_features.sql"]}],
        "head_commit": {"id": after, "timestamp": "2024-06-03T12:00:00+02:00", "message": "Update churn features"},
        "repository": {"id": 123456, "name": repo.split("/")[1], "full_name": repo,
                       "clone_url": f"https://github.com/{repo}.git", "ssh_url": f"git@github.com:{repo}.git",
                       "html_url": f"https://github.com/{repo}", "default_branch": "main", "pushed_at": 1717408800},
        "pusher": {"name": "octocat", "email": "octocat@example.com"}, "sender": {"login": "octocat"},
    }


def gitlab_push(project: str = "data/ml-sql", ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "object_kind": "push", "event_name": "push", "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "ref": ref,
        "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "user_name": "John Smith",
        "project": {"name": project.split("/")[-1], "path_with_namespace": project,
                    "git_http_url": f"https://gitlab.example.com/{project}.git",
                    "git_ssh_url": f"git@gitlab.example.com:{project}.git",
                    "web_url": f"https://gitlab.example.com/{project}", "default_branch": "main"},
        "repository": {"name": project.split("/")[-1], "url": f"git@gitlab.example.com:{project}.git",
                       "git_http_url": f"https://gitlab.example.com/{project}.git"},
        "commits": [{"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme",
                     "timestamp": "2024-06-03T09:00:00+00:00"}],
        "total_commits_count": 1,
    }


def codecommit_push(repository: str = "ml-sql", event: str = "referenceUpdated") -> dict[str, Any]:
    detail = {"callerUserArn": f"arn:aws:iam::{ACCOUNT}:user/dev", "commitId": "3" * 40, "event": event,
              "oldCommitId": "4" * 40, "referenceFullName": "refs/heads/main", "referenceName": "main",
              "referenceType": "branch", "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
              "repositoryName": repository}
    return eventbridge("CodeCommit Repository State Change", detail, datetime(2024, 6, 3, 12, tzinfo=timezone.utc),
                       source="aws.codecommit", resources=[f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{repository}"])
