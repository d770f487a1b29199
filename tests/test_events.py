"""Envelopes, event parsing and object statistics: pure functions, no services."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from collector.events import CloudEvent, GitPushEvent, Ignored, MalformedMessage, S3ObjectEvent, parse_body
from collector.events.s3 import ObjectStats, apply_object_events, dataset_of, objects_graph
from collector.events.sagemaker import sagemaker_effect, state_time, step_row
from collector.events.times import parse_time
from tests import event_samples as ev

T0 = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training"
EXECUTION = f"{PIPELINE}/execution/p4jn9xou8a8s"
WEIRD_KEYS = ["raw/it's a \"quoted\" `file` name.csv", "raw/ünïcødé/données 2024.parquet", "raw/a+b=c&d.json",
              "raw/percent%20literal.csv", "raw/emoji-🚀.csv"]


def one(body: object) -> object:
    items = parse_body(json.dumps(body) if not isinstance(body, str) else body)
    assert len(items) == 1
    return items[0]


# --- envelopes -----------------------------------------------------------------------------------


def test_eventbridge_event_and_the_same_event_inside_sns():
    event = ev.execution_event(PIPELINE, EXECUTION, "Executing", None, T0, T0)
    direct, wrapped = one(event), one(ev.sns(event))
    assert isinstance(direct, CloudEvent) and direct == wrapped
    assert direct.detail_type == "SageMaker Model Building Pipeline Execution Status Change"
    assert direct.time == T0 and direct.region == "us-east-1" and direct.resources == (PIPELINE, EXECUTION)


@pytest.mark.parametrize("key", WEIRD_KEYS)
def test_s3_notification_keys_are_url_decoded(key):
    record = ev.s3_record("acme-ml-data", key, "ObjectCreated:Put", T0, size=7, sequencer="0055AED6DCD90281E5")
    assert record["s3"]["object"]["key"] != key  # encoded on the wire
    item = one(ev.s3_notification(record))
    assert item == S3ObjectEvent(bucket="acme-ml-data", key=key, action="created", time=T0, size=7,
                                 etag="d41d8cd98f00b204e9800998ecf8427e", sequencer="0055AED6DCD90281E5",
                                 region="us-east-1")


def test_s3_notification_through_sns_and_several_records():
    records = [ev.s3_record("acme-b", "x/1.csv", "ObjectCreated:Put", T0),
               ev.s3_record("acme-b", "x/1.csv", "ObjectRemoved:Delete", T0),
               ev.s3_record("acme-b", "x/2.csv", "ObjectRemoved:DeleteMarkerCreated", T0),
               ev.s3_record("acme-b", "x/3.csv", "ObjectTagging:Put", T0)]
    items = parse_body(json.dumps(ev.sns(ev.s3_notification(*records))))
    assert [getattr(i, "action", None) for i in items] == ["created", "deleted", "deleted", None]
    assert items[3] == Ignored("s3:ObjectTagging:Put")


def test_s3_test_event_and_sns_subscription_confirmation_are_ignored():
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-06-03T12:00:00.000Z",
                  "Bucket": "acme-ml-data", "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3e"}
    assert one(test_event) == Ignored("s3:TestEvent")
    assert one({"Type": "SubscriptionConfirmation", "Token": "x", "TopicArn": "arn"}).kind == "sns:SubscriptionConfirmation"


@pytest.mark.parametrize("key", WEIRD_KEYS)
def test_s3_eventbridge_events_keep_keys_verbatim(key):
    created = one(ev.s3_eventbridge("acme-ml-data", key, "created", T0, size=5, sequencer="617f08299329d189"))
    deleted = one(ev.s3_eventbridge("acme-ml-data", key, "deleted", T0 + timedelta(seconds=1)))
    assert created.key == deleted.key == key
    assert (created.action, created.size, created.sequencer, created.version_id) == (
        "created", 5, "617f08299329d189", "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
    assert deleted.action == "deleted" and deleted.size is None
    other = ev.s3_eventbridge("acme-b", "k", "created", T0)
    other["detail-type"] = "Object Restore Completed"
    assert one(other) == Ignored("aws.s3:Object Restore Completed")


def test_git_pushes():
    github = one(ev.github_push(forced=True))
    assert github == GitPushEvent(provider="github", repo_url="https://github.com/acme/ml-sql.git", ref="refs/heads/main",
                                  branch="main", before="1" * 40, after="2" * 40, forced=True,
                                  time=datetime(2024, 6, 3, 10, tzinfo=timezone.utc), repository_name="acme/ml-sql")
    relayed = one({"headers": {"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e"},
                   "body": json.dumps(ev.github_push())})
    assert relayed.repo_url == github.repo_url and not relayed.forced
    assert one({"headers": {"X-GitHub-Event": "ping"}, "body": "{}"}) == Ignored("github:ping")
    gitlab = one(ev.gitlab_push(ref="refs/tags/v1.2"))
    assert (gitlab.provider, gitlab.repo_url, gitlab.branch, gitlab.repository_name) == (
        "gitlab", "https://gitlab.example.com/data/ml-sql.git", None, "data/ml-sql")
    codecommit = one(ev.codecommit_push())
    assert codecommit == GitPushEvent(
        provider="codecommit", repo_url="https://git-codecommit.us-east-1.amazonaws.com/v1/repos/ml-sql",
        ref="refs/heads/main", branch="main", before="4" * 40, after="3" * 40, forced=False,
        time=datetime(2024, 6, 3, 12, tzinfo=timezone.utc), repository_name="ml-sql")
    created = one(ev.codecommit_push(event="referenceCreated"))
    deleted = one(ev.codecommit_push(event="referenceDeleted"))
    assert created.before is None and deleted.after is None


@pytest.mark.parametrize("body", [
    "{not json", "plain text, not even close", "", "[1, 2, 3]", "42", json.dumps({"hello": "world"}),
    json.dumps(ev.sns("this SNS message is not JSON")), json.dumps({"Records": ["not an object"]}),
    json.dumps({"detail-type": "SageMaker Model Building Pipeline Execution Status Change", "source": "aws.sagemaker",
                "detail": "not an object"}),
    json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}),
    "{" * 100_000, json.dumps({"padding": "x" * 900_000}),
])
def test_unparseable_bodies_raise_malformed_message(body):
    with pytest.raises(MalformedMessage):
        parse_body(body)


def test_sns_envelopes_nested_too_deep_are_malformed():
    body: object = ev.execution_event(PIPELINE, EXECUTION, "Executing", None, T0, T0)
    for _ in range(6):
        body = ev.sns(body)
    with pytest.raises(MalformedMessage, match="too deep"):
        parse_body(json.dumps(body))


# --- times ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("2021-03-15T16:03:13Z", datetime(2021, 3, 15, 16, 3, 13, tzinfo=timezone.utc)),
    ("2021-03-15T16:03:13.250+01:00", datetime(2021, 3, 15, 15, 3, 13, 250000, tzinfo=timezone.utc)),
    ("1583831889050", datetime(2020, 3, 10, 9, 18, 9, 50000, tzinfo=timezone.utc)),
    (1704320746000, datetime(2024, 1, 3, 22, 25, 46, tzinfo=timezone.utc)),
    (1592411992203.0, datetime(2020, 6, 17, 16, 39, 52, 203000, tzinfo=timezone.utc)),
    (1717408800, datetime(2024, 6, 3, 10, 0, tzinfo=timezone.utc)),
    (None, None), ("", None), ("not a time", None), (True, None), (-5, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


# --- SageMaker events -> graph data ----------------------------------------------------------------


def test_step_event_becomes_a_list_pipeline_execution_steps_row():
    row = {"StepName": "TrainChurnModel", "StepType": "Training", "StartTime": T0, "EndTime": T0 + timedelta(minutes=20),
           "Metadata": {"TrainingJob": {
               "Arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-x-TrainChurnModel-a"}},
           "CacheHitResult": {"SourcePipelineExecutionArn": f"{PIPELINE}/execution/older"}}
    event = ev.step_event(PIPELINE, EXECUTION, row, "Succeeded", "Executing", T0 + timedelta(minutes=20, seconds=1))
    assert event["detail"]["metadata"] == {"trainingJob": {"arn": row["Metadata"]["TrainingJob"]["Arn"]}}
    assert step_row(event["detail"]) == {
        "StepName": "TrainChurnModel", "StepStatus": "Succeeded", "StartTime": T0, "EndTime": T0 + timedelta(minutes=20),
        "Metadata": row["Metadata"], "CacheHitResult": row["CacheHitResult"]}
    effect = sagemaker_effect(one(event))
    run = effect.graph.nodes[("StepRun", f"{EXECUTION}/TrainChurnModel")]
    assert run.state["status"] == "Succeeded" and run.props["cache_hit"] is True
    assert run.state_time == T0 + timedelta(minutes=20, seconds=1, microseconds=3)
    assert effect.pipelines == {PIPELINE} and effect.terminal_execution is None


def test_state_times_order_statuses_within_one_second():
    starting, executing = state_time("Starting", T0), state_time("Executing", T0)
    stopping, succeeded = state_time("Stopping", T0), state_time("Succeeded", T0)
    assert starting < executing < stopping < succeeded
    assert state_time("Executing", T0, T0 + timedelta(seconds=5)) == T0 + timedelta(seconds=5, microseconds=1)
    assert state_time("Executing") is None


def test_execution_status_event():
    running = sagemaker_effect(one(ev.execution_event(PIPELINE, EXECUTION, "Executing", None, T0, T0, display_name="nightly")))
    end = T0 + timedelta(minutes=40)
    done = sagemaker_effect(one(ev.execution_event(PIPELINE, EXECUTION, "Failed", "Executing", T0, end + timedelta(seconds=1),
                                                   end=end, failure="Step TrainChurnModel failed")))
    assert running.terminal_execution is None and done.terminal_execution == (PIPELINE, EXECUTION)
    node = done.graph.nodes[("PipelineExecution", EXECUTION)]
    assert node.state == {"status": "Failed", "end_time": end, "elapsed_sec": 2400.0,
                          "failure_reason": "Step TrainChurnModel failed", "last_modified": end}
    assert node.state_rank == 2 and node.state_time > running.graph.nodes[("PipelineExecution", EXECUTION)].state_time
    assert ("OF", ("PipelineExecution", EXECUTION), ("Pipeline", PIPELINE), ()) in done.graph.rels


def test_documented_job_and_model_package_examples():
    processing = {"ProcessingJobArn": "arn:aws:sagemaker:us-west-2:037210630506:processing-job/integ-test-analytics-algo",
                  "ProcessingJobName": "integ-test-analytics-algo", "ProcessingJobStatus": "Failed",
                  "FailureReason": "InternalServerError: We encountered an internal error.",
                  "TrainingJobArn": "arn:aws:sagemaker:us-west-2:037210630506:training-job/launcher",
                  "ProcessingInputs": [{"InputName": "input", "S3Input": {
                      "S3Uri": "s3://input/s3/uri", "LocalPath": "/opt/ml/processing/input"}}],
                  "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {
                      "S3Uri": "s3://output/s3/uri", "LocalPath": "/opt/ml/processing/output"}}]},
                  "ProcessingEndTime": 1704320746000, "ProcessingStartTime": 1704320734000,
                  "LastModifiedTime": 1704320746000, "CreationTime": 1704320199000, "Tags": {}}
    effect = sagemaker_effect(one(ev.eventbridge("SageMaker Processing Job State Change", processing, T0)))
    job = next(n for n in effect.graph.nodes.values() if n.label == "Job")
    assert job.key.endswith("processing-job/integ-test-analytics-algo") and "ProcessingJob" in job.extra_labels
    assert job.state["status"] == "Failed" and job.state["elapsed_sec"] == 12.0
    assert job.state_time == datetime(2024, 1, 3, 22, 25, 46, tzinfo=timezone.utc)
    assert {n.key for n in effect.graph.nodes.values() if n.label == "Dataset"} == {"s3://input/s3/uri/", "s3://output/s3/uri/"}

    package = {"ModelPackageGroupName": "churn-models", "ModelPackageVersion": 2,
               "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/2",
               "CreationTime": "2024-06-03T12:00:14Z", "LastModifiedTime": "2024-06-03T13:00:00Z",
               "InferenceSpecification": {"Containers": [{"Image": "x", "ModelDataUrl": "s3://acme-ml-artifacts/churn/model.tar.gz"}]},
               "ModelPackageStatus": "Completed", "ModelApprovalStatus": "Approved",
               "MetadataProperties": {"GeneratedBy": EXECUTION}}
    effect = sagemaker_effect(one(ev.eventbridge("SageMaker Model Package State Change", package, T0)))
    node = effect.graph.nodes[("ModelPackage", package["ModelPackageArn"])]
    assert node.state == {"status": "Completed", "approval_status": "Approved"}
    assert node.props["model_data_url"] == "s3://acme-ml-artifacts/churn/model.tar.gz"
    assert effect.pipelines == {PIPELINE}
    assert any(r.type == "GENERATED_BY" and r.end == ("PipelineExecution", EXECUTION) for r in effect.graph.rels.values())


def test_unknown_detail_types_have_no_effect_and_missing_fields_are_malformed():
    endpoint = one(ev.eventbridge("SageMaker Image State Change", {"EndpointName": "x"}, T0))
    assert len(sagemaker_effect(endpoint).graph) == 0
    assert sagemaker_effect(endpoint).kind == "aws.sagemaker:SageMaker Image State Change"
    broken = ev.execution_event(PIPELINE, EXECUTION, "Executing", None, T0, T0)
    del broken["detail"]["pipelineExecutionArn"]
    with pytest.raises(MalformedMessage):
        sagemaker_effect(one(broken))


# --- S3 object statistics --------------------------------------------------------------------------


def s3(key: str, action: str, second: int, sequencer: str | None = None, size: int = 100) -> S3ObjectEvent:
    return S3ObjectEvent("acme-ml-data", key, action, T0 + timedelta(seconds=second),
                         size=size if action == "created" else None, sequencer=sequencer)


def history() -> list[S3ObjectEvent]:
    return [s3("features/part-0001.parquet", "created", 1, "0A"), s3("features/part-0002.parquet", "created", 2, "0B"),
            s3("features/part-0001.parquet", "created", 3, "0C"),  # an overwrite
            s3("features/part-0002.parquet", "deleted", 4, "0D"), s3("features/part-0003.parquet", "created", 5, "0E"),
            s3("features/_SUCCESS", "created", 6, "0F"),  # a marker: not data
            s3("features/part-0000.parquet", "deleted", 7, "10")]  # existed before we watched


def test_object_count_is_order_and_duplicate_independent():
    expected = apply_object_events(ObjectStats(object_count_base=5), history())
    # 5 before; +1 (0001) +0 (0002 created then deleted) +1 (0003) -1 (0000 deleted, existed before)
    assert expected.object_count == 6
    assert (expected.last_object_key, expected.last_object_action) == ("features/part-0000.parquet", "deleted")
    assert expected.last_object_size is None
    rng = random.Random(7)
    for _ in range(50):
        events = history() + rng.sample(history(), 4)
        rng.shuffle(events)
        stats = ObjectStats(object_count_base=5)
        for cut in sorted(rng.sample(range(len(events)), 3)) + [len(events)]:  # in several batches
            stats = apply_object_events(stats, events[:cut])
        assert stats == expected


def test_deleting_the_last_object_floors_the_count_at_zero():
    stats = apply_object_events(ObjectStats(), [s3("a.csv", "created", 1, "01"), s3("a.csv", "deleted", 2, "02")])
    assert stats.object_count == 0 and stats.last_object_action == "deleted"
    stats = apply_object_events(stats, [s3("b.csv", "deleted", 3, "03")])
    assert stats.object_count == 0  # never below zero, whatever the base says


def test_window_is_bounded_and_evicted_keys_fold_into_the_base():
    events = [s3(f"k/{i:04d}.csv", "created", i, f"{i:04X}") for i in range(40)]
    stats = apply_object_events(ObjectStats(), events, window=10)
    assert len(stats.object_window) == 10 and stats.object_count == 40 and stats.object_count_base == 30
    again = apply_object_events(stats, events[-10:], window=10)  # replays of keys still in the window
    assert again == stats


def test_object_events_touch_their_dataset_and_bucket():
    events = [s3("features/dt=2024-06-01/part-0001.parquet", "created", 1), s3("models/churn.tar.gz", "created", 2)]
    graph = objects_graph(events)
    assert {n.key for n in graph.nodes.values() if n.label == "Dataset"} == {
        "s3://acme-ml-data/features/", "s3://acme-ml-data/models/churn.tar.gz"}
    assert dataset_of(events[0]) == "s3://acme-ml-data/features/"
    assert ("Bucket", "acme-ml-data") in graph.nodes


def test_documented_transform_and_tuning_job_examples():
    transform = {"TransformJobName": "churn-scoring-2024-06-03", "TransformJobStatus": "Completed",
                 "TransformJobArn": "arn:aws:sagemaker:us-east-1:123456789012:transform-job/churn-scoring-2024-06-03",
                 "ModelName": "churn-model", "TransformInput": {"DataSource": {"S3DataSource": {
                     "S3DataType": "S3Prefix", "S3Uri": "s3://acme-ml-data/scoring/input/"}}, "ContentType": "text/csv"},
                 "TransformOutput": {"S3OutputPath": "s3://acme-ml-data/scoring/output/"},
                 "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                 "CreationTime": "2024-06-03T12:00:00Z", "TransformStartTime": "2024-06-03T12:01:00Z",
                 "TransformEndTime": "2024-06-03T12:09:00Z", "Tags": {}}
    effect = sagemaker_effect(one(ev.eventbridge("SageMaker Transform Job State Change", transform, T0)))
    job = next(n for n in effect.graph.nodes.values() if n.label == "Job")
    assert "TransformJob" in job.extra_labels and job.state["status"] == "Completed" and job.state["elapsed_sec"] == 480.0
    assert job.state_time == datetime(2024, 6, 3, 12, 9, tzinfo=timezone.utc)  # no LastModifiedTime: the end
    assert {r.type for r in effect.graph.rels.values() if r.type in ("FEEDS", "PRODUCES")} == {"FEEDS", "PRODUCES"}

    tuning = {"HyperParameterTuningJobName": "churn-hpo", "HyperParameterTuningJobStatus": "InProgress",
              "HyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-hpo",
              "TrainingJobDefinition": {"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                  "S3DataType": "S3Prefix", "S3Uri": "s3://acme-ml-data/churn/train/"}}}],
                  "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-artifacts/churn/hpo/"}},
              "CreationTime": "1583831889050", "LastModifiedTime": "1583831889050",
              "TrainingJobStatusCounters": {"Completed": 1, "InProgress": 2}, "Tags": {}}
    effect = sagemaker_effect(one(ev.eventbridge("SageMaker HyperParameter Tuning Job State Change", tuning, T0)))
    job = next(n for n in effect.graph.nodes.values() if n.label == "Job")
    assert "TuningJob" in job.extra_labels and job.state["status"] == "InProgress" and job.state_rank == 0
    assert job.state_time == datetime(2020, 3, 10, 9, 18, 9, 50000, tzinfo=timezone.utc)
