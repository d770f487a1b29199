"""collector.events on SQS bodies (tests/data/transform/events): parse_body -> sagemaker_effect / objects_graph."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from collector.events import CloudEvent, Ignored, S3ObjectEvent, parse_body
from collector.events.s3 import dataset_of, objects_graph
from collector.events.sagemaker import sagemaker_effect
from collector.sagemaker.transform import job_graph, model_package_graph
from graphstore.model import Graph
from tests.transform_data import (
    api,
    assert_graph,
    canonical,
    default_dataset_rules,  # noqa: F401 (a fixture)
    text,
)

pytestmark = pytest.mark.usefixtures("default_dataset_rules")

SM = "arn:aws:sagemaker:eu-west-1:111122223333"
PIPE = f"{SM}:pipeline/credit-risk"
EXEC = f"{PIPE}/execution/k2x7q9w1m4ab"
TRAINING_JOB = f"{SM}:training-job/pipelines-k2x7q9w1m4ab-traincredit-hd72ks01qe"


def items(name: str) -> list:
    return parse_body(text(f"events/{name}.json").encode())


def one(name: str):
    (item,) = items(name)
    return item


def effect(name: str):
    return sagemaker_effect(one(name))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- SageMaker ---------------------------------------------------------------------------------------


def test_execution_succeeded():
    event = one("execution_succeeded")
    assert isinstance(event, CloudEvent) and event.time == utc(2024, 6, 3, 8, 41, 38) and event.region == "eu-west-1"
    result = sagemaker_effect(event)
    assert (result.kind, result.pipelines, result.terminal_execution) == (
        "aws.sagemaker:SageMaker Model Building Pipeline Execution Status Change", {PIPE}, (PIPE, EXEC))
    assert_graph(result.graph, {"nodes": {
        "PipelineExecution": {EXEC: {
            "execution_id": "k2x7q9w1m4ab", "pipeline_arn": PIPE, "display_name": "execution-1717401600412",
            "description": None, "start_time": "2024-06-03T08:00:00+00:00",
            "_state": {"status": "Succeeded", "end_time": "2024-06-03T08:41:37+00:00", "elapsed_sec": 2497.0,
                       "last_modified": "2024-06-03T08:41:37+00:00", "failure_reason": None},
            # the event's time, ordered after any non-terminal state of the same second
            "_state_time": "2024-06-03T08:41:38.000003+00:00", "_rank": 2}},
        "Pipeline": {PIPE: {}},
    }, "rels": [["PipelineExecution", EXEC, "OF", "Pipeline", PIPE]]})


def test_event_times_without_a_zone_or_with_an_offset_are_the_same_utc_times():
    event = json.loads(text("events/execution_succeeded.json"))
    event["time"] = "2024-06-03T10:41:38+02:00"
    event["detail"].update(executionStartTime="2024-06-03T08:00:00", executionEndTime="1717404097000")
    assert canonical(sagemaker_effect(parse_body(json.dumps(event))[0]).graph) == canonical(effect("execution_succeeded").graph)


def test_execution_completed_with_failures_is_terminal_and_enriched():
    event = json.loads(text("events/execution_succeeded.json"))
    event["detail"]["currentPipelineExecutionStatus"] = "CompletedWithFailures"
    result = sagemaker_effect(parse_body(json.dumps(event))[0])
    execution = result.graph.nodes[("PipelineExecution", EXEC)]
    assert result.terminal_execution == (PIPE, EXEC)  # its steps and jobs are fetched, as for Succeeded
    assert execution.state_rank == 2 and execution.state["end_time"] == utc(2024, 6, 3, 8, 41, 37)


def test_execution_executing_inside_sns_and_a_late_arrival():
    running = effect("execution_executing_sns")
    assert running.terminal_execution is None and running.pipelines == {PIPE}
    execution = running.graph.nodes[("PipelineExecution", EXEC)]
    assert execution.state == {"status": "Executing", "last_modified": utc(2024, 6, 3, 8, 0, 1)}
    assert execution.state_time == datetime(2024, 6, 3, 8, 0, 1, 1, tzinfo=timezone.utc) and execution.state_rank == 0
    merged = Graph()
    merged.update(effect("execution_succeeded").graph)
    merged.update(running.graph)  # delivered late: changes no state
    assert merged.nodes[("PipelineExecution", EXEC)].state["status"] == "Succeeded"


def test_training_step_succeeded():
    result = effect("step_training_succeeded")
    run = f"{EXEC}/TrainCredit"
    assert result.pipelines == {PIPE} and result.terminal_execution is None
    assert_graph(result.graph, {"nodes": {
        "StepRun": {run: {"name": "TrainCredit", "execution_arn": EXEC, "pipeline_arn": PIPE,
                          "start_time": "2024-06-03T08:00:05+00:00", "cache_hit": False, "job_arn": TRAINING_JOB,
                          "_state": {"status": "Succeeded", "end_time": "2024-06-03T08:12:40+00:00", "elapsed_sec": 755.0},
                          "_state_time": "2024-06-03T08:12:41.000003+00:00", "_rank": 2}},
        "PipelineExecution": {EXEC: {}}, "Step": {f"{PIPE}/TrainCredit": {}},
        "Job": {TRAINING_JOB: {"_labels": ["TrainingJob"]}},
    }, "rels": [["StepRun", run, "IN", "PipelineExecution", EXEC], ["StepRun", run, "RUN_OF", "Step", f"{PIPE}/TrainCredit"],
                ["StepRun", run, "RAN_AS", "Job", TRAINING_JOB]]})


def test_register_model_and_fail_steps():
    register = effect("step_register_model_succeeded").graph
    assert ("PRODUCES", ("StepRun", f"{EXEC}/RegisterCredit-RegisterModel"),
            ("ModelPackage", f"{SM}:model-package/credit-risk-models/3")) in {
        (r.type, r.start, r.end) for r in register.rels.values()}
    failed = f"{PIPE}/execution/f8d3n5r0t6yc"
    fail = effect("step_fail_failed").graph.nodes[("StepRun", f"{failed}/AucTooLow")]
    assert fail.props["error_message"] == "AUC below 0.75"
    assert fail.state == {"status": "Failed", "end_time": utc(2024, 5, 27, 8, 32, 11), "elapsed_sec": 1.0,
                          "failure_reason": "AUC below 0.75"}


def _without(graph: Graph, *props: str):
    nodes, rels = canonical(graph)
    return {ref: {k: v for k, v in p.items() if k not in props} for ref, p in nodes.items()}, rels


def test_training_job_event_gives_the_graph_describe_gives():
    """Epoch-millisecond times, a Tags map and a lower-cased ARN: the same job, data and state as DescribeTrainingJob."""
    result = effect("training_job_completed")
    assert result.pipelines == set() and result.terminal_execution is None
    assert _without(result.graph) == _without(job_graph("TrainingJob", api("sagemaker", "DescribeTrainingJob.train")),
                                              "arn_as_given")
    job = result.graph.nodes[("Job", TRAINING_JOB)]
    assert job.state_time == utc(2024, 6, 3, 8, 12, 38) and job.props["created"] == utc(2024, 6, 3, 8, 0, 6)


def test_step_event_and_job_event_meet_at_one_job():
    graph = effect("step_training_succeeded").graph
    graph.update(effect("training_job_completed").graph)
    assert [n.key for n in graph.nodes.values() if n.label == "Job"] == [TRAINING_JOB]


def test_processing_job_launched_by_a_training_job():
    graph = effect("processing_job_inprogress").graph
    job_key = f"{SM}:processing-job/pipelines-k2x7q9w1m4ab-t-profilerreport-7e1c2b"
    models = "s3://acme-credit-artifacts/models/pipelines-k2x7q9w1m4ab-TrainCredit-Hd72Ks01Qe"
    assert_graph(graph, {"nodes": {
        "Job": {job_key: {"name": "pipelines-k2x7q9w1m4ab-t-ProfilerReport-7e1c2b", "kind": "ProcessingJob",
                          "created": "2024-06-03T08:00:06+00:00", "start_time": None, "_labels": ["ProcessingJob"],
                          "_state": {"status": "InProgress", "end_time": None, "elapsed_sec": None},
                          "_state_time": "2024-06-03T08:02:00.500000+00:00", "_rank": 0}},
        "Dataset": {f"{models}/profiler-output/": {}, f"{models}/rule-output/": {}},
        "Bucket": {"acme-credit-artifacts": {}},
    }, "rels": [["Dataset", f"{models}/profiler-output/", "FEEDS", "Job", job_key, {"name": "rules"}],
                ["Job", job_key, "PRODUCES", "Dataset", f"{models}/rule-output/", {"name": "report"}],
                ["Dataset", f"{models}/profiler-output/", "IN_BUCKET", "Bucket", "acme-credit-artifacts"],
                ["Dataset", f"{models}/rule-output/", "IN_BUCKET", "Bucket", "acme-credit-artifacts"]]})


def test_model_package_event_gives_the_graph_describe_gives():
    result = effect("model_package_completed")
    assert result.pipelines == {PIPE}
    described = model_package_graph(api("sagemaker", "DescribeModelPackage.credit-risk-3"))
    assert _without(result.graph, "name") == _without(described, "name")
    # the event carries no ModelPackageName: the name the describe wrote stands
    package = ("ModelPackage", f"{SM}:model-package/credit-risk-models/3")
    assert "name" not in result.graph.nodes[package].props
    described.update(result.graph)
    assert described.nodes[package].props["name"] == "credit-risk-models"


def test_other_sagemaker_and_aws_events_have_no_effect():
    endpoint = json.loads(text("events/execution_succeeded.json"))
    endpoint.update({"detail-type": "SageMaker Image State Change",
                     "detail": {"EndpointName": "credit", "EndpointStatus": "InService"}})
    result = sagemaker_effect(parse_body(json.dumps(endpoint))[0])
    assert result.kind == "aws.sagemaker:SageMaker Image State Change" and len(result.graph) == 0
    comment = parse_body(text("git/codecommit_comment.json"))[0]
    assert isinstance(comment, CloudEvent) and len(sagemaker_effect(comment).graph) == 0


# --- S3 ---------------------------------------------------------------------------------------------


CSV_KEY = "raw/credit applications/dt=2024-06-03/Anträge Juni+Juli.csv"


def test_eventbridge_object_created_and_deleted():
    created, deleted = one("s3_object_created"), one("s3_object_deleted")
    assert created == S3ObjectEvent(bucket="acme-credit-data", key=CSV_KEY, action="created",
                                    time=utc(2024, 6, 3, 7, 45, 12),
                                    size=48213, etag="b1946ac92492d2347c6235b4d2611184",
                                    version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", sequencer="00665D7A08E1C4B2F1",
                                    region="eu-west-1")
    assert (deleted.action, deleted.size) == ("deleted", None)
    assert deleted.key == "raw/credit applications/dt=2024-06-01/Anträge Mai.csv"
    dataset = "s3://acme-credit-data/raw/credit applications/"  # the partition folded, spaces and umlauts kept
    assert dataset_of(created) == dataset_of(deleted) == dataset
    assert_graph(objects_graph([created, deleted]), {
        "nodes": {"Dataset": {dataset: {"bucket": "acme-credit-data"}}, "Bucket": {"acme-credit-data": {}}},
        "rels": [["Dataset", dataset, "IN_BUCKET", "Bucket", "acme-credit-data"]]})


def test_notification_records_are_url_decoded():
    put, multipart, removed, tagging = items("s3_notification")
    # the same object as the EventBridge event reports it, but for the notification's millisecond time
    assert put.time == datetime(2024, 6, 3, 7, 45, 12, 512000, tzinfo=timezone.utc)
    assert replace(put, time=utc(2024, 6, 3, 7, 45, 12)) == one("s3_object_created")
    assert multipart.key.startswith("features/credit/dt=2024-06-03/part-00000-") and multipart.action == "created"
    assert (removed.key, removed.action, removed.size, removed.etag) == ("reference/顧客 一覧.json", "deleted", None, None)
    assert tagging == Ignored("s3:ObjectTagging:Put")
    parquet, csv, json_file = ("s3://acme-credit-data/features/credit/", "s3://acme-credit-data/raw/credit applications/",
                               "s3://acme-credit-data/reference/顧客 一覧.json")
    assert_graph(objects_graph([put, multipart, removed]), {
        "nodes": {"Dataset": {csv: {"bucket": "acme-credit-data"}, parquet: {}, json_file: {}},
                  "Bucket": {"acme-credit-data": {}}},
        "rels": [["Dataset", uri, "IN_BUCKET", "Bucket", "acme-credit-data"] for uri in (csv, parquet, json_file)]})


def test_notification_inside_sns_and_the_s3_test_event():
    assert items("s3_notification_sns") == items("s3_notification")[:1]
    assert items("s3_test_event") == [Ignored("s3:TestEvent")]


@pytest.mark.parametrize("key", ["a b/c+d.csv", "ü/ß €.parquet", "x%41/y.json", "日本/データ.csv", "q?&=#.txt"])
def test_both_s3_formats_give_the_same_key(key):
    from urllib.parse import quote_plus

    record = json.loads(text("events/s3_notification.json"))["Records"][0]
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    bridge = json.loads(text("events/s3_object_created.json"))
    bridge["detail"]["object"]["key"] = key
    (from_record,), (from_bridge,) = parse_body(json.dumps({"Records": [record]})), parse_body(json.dumps(bridge))
    assert from_record.key == from_bridge.key == key
    assert dataset_of(from_record) == dataset_of(from_bridge)
