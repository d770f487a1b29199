"""Metrics (docs/metrics.md): Prometheus at /metrics on the real health server, scraped over HTTP after a real
consumer ran over real SQS messages in the simulated account and wrote to a real Neo4j; the scheduled jobs'
metrics from a real Worker; CloudWatch EMF lines checked against the specification's shape; the ids that
log lines about one message carry."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from config import load_settings
from jobs.app import App
from jobs.ingest import event_id_of
from jobs.logs import JsonFormatter
from jobs.metrics import OTHER, BoundedValues, EmfWriter, Metrics
from jobs.wiring import event_consumer, reconciliation_lease, run_sync, start_health
from jobs.worker import ScheduledJob, Worker
from lineage_dev.sim import inject_fault
from lineage_dev.sim.account import seed_execution, seed_pipeline
from tests import event_samples as ev
from tests.test_consumer import consumer_for, definition, depth, make_queue, send
from tests.test_health import free_port, get, non_loopback_address, wait_checked, wired

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by (sample name, labels)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def total(found: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


def scrape(port: int) -> Samples:
    status, text = get("127.0.0.1", port, "/metrics")
    assert status == 200, text
    return samples(text)


@pytest.fixture
def metrics_env(settings_env: dict[str, str], neo4j: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    port = free_port()
    monkeypatch.setenv("LINEAGE_HEALTH_HOST", "127.0.0.1")
    monkeypatch.setenv("LINEAGE_HEALTH_PORT", str(port))
    yield port


def test_a_consumer_run_over_real_events_is_told_by_metrics(metrics_env, sim, sqs, caplog):
    port = metrics_env
    app = App(load_settings())
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    arn = seed_execution(sim, "churn-training", start=NOW)
    events = ev.execution_events(sim, arn, with_jobs=False)  # the last one (Succeeded) is enriched: it fails below
    broken = json.loads(json.dumps(events[0]))
    del broken["detail"]["pipelineExecutionArn"]
    bodies: list[Any] = [*events, "{not json", broken]
    url, dlq = make_queue(sqs, "lineage-metrics", max_receives=5)
    send(sqs, url, bodies)
    inject_fault("sagemaker", "ListPipelineExecutionSteps", "AccessDeniedException", "not authorized")
    time.sleep(1.2)  # the messages wait in the queue: lag
    consumer = event_consumer(app, queue_urls=[url], max_messages=len(bodies), wait_seconds=1, threads=1,
                              visibility_timeout=30, shutdown_seconds=10)
    health = start_health(app, consumer)
    lease = reconciliation_lease(app)
    other_app = App(load_settings())  # another worker: its own registry, its own lease owner
    other_lease = reconciliation_lease(other_app)
    try:
        wait_checked(health.probe)
        assert lease.refresh() and not other_lease.refresh()
        sim.reset_counts()
        stats = consumer.run(threading.Event())
        found = scrape(port)
    finally:
        health.stop()
        lease.release()
        other_app.close()
        app.close()
    queue = "lineage-metrics"
    snapshot = stats.snapshot()["queues"][url]
    assert snapshot["received"] == len(bodies) and snapshot["poison"] == 2 and snapshot["failed"] == 1
    assert depth(sqs, dlq) == 2

    # events by kind: consumed as the consumer's own counters say, the failed one, the two poison ones
    consumed = {dict(ls)["kind"]: v for (n, ls), v in found.items()
                if n == "lineage_events_total" and dict(ls)["outcome"] == "consumed"}
    assert consumed == snapshot["events"] and sum(consumed.values()) == len(events) - 1
    failed = {dict(ls)["kind"]: v for (n, ls), v in found.items()
              if n == "lineage_events_total" and dict(ls)["outcome"] == "failed"}
    assert len(failed) == 1 and list(failed.values()) == [1.0] and set(failed) <= set(consumed)
    assert value(found, "lineage_events_total", queue=queue, kind="rejected:malformed", outcome="poison") == 2
    for outcome in ("received", "deleted", "failed", "poison", "dead_lettered"):
        assert value(found, "lineage_sqs_messages_total", queue=queue, outcome=outcome) == snapshot[outcome], outcome

    # graph writes: every committed event write timed in the histogram
    writes = value(found, "lineage_graph_writes_total", source="event", outcome="committed")
    assert writes and writes >= 1
    assert value(found, "lineage_graph_write_seconds_count", source="event") == writes
    assert (value(found, "lineage_graph_write_seconds_sum", source="event") or 0) > 0
    assert value(found, "lineage_graph_write_seconds_bucket", source="event", le="+Inf") == writes
    assert value(found, "lineage_message_commit_delay_seconds_count", queue=queue) == len(events) - 1

    # AWS calls by operation, as the simulated account counted them, and the injected fault's error code
    counted = sim.counts()
    for service, operation in (("sqs", "ReceiveMessage"), ("sqs", "DeleteMessageBatch"), ("sqs", "SendMessage"),
                               ("sagemaker", "DescribePipeline")):
        calls = value(found, "lineage_aws_calls_total", service=service, operation=operation, error_code="")
        assert calls and calls == counted[f"{service}.{operation}"], (operation, calls, counted)
    assert value(found, "lineage_aws_calls_total", service="sqs", operation="SendMessage", error_code="") == 2
    denied = value(found, "lineage_aws_calls_total", service="sagemaker", operation="ListPipelineExecutionSteps",
                   error_code="AccessDeniedException")
    assert denied and denied >= 1
    assert value(found, "lineage_aws_calls_total", service="sts", operation="GetCallerIdentity", error_code="") == 1

    # queue lag: the oldest message of the last receive had waited over a second
    lag = value(found, "lineage_queue_oldest_message_age_seconds", queue=queue)
    assert lag is not None and 1.0 < lag < 120
    assert value(found, "lineage_lease_held", lease="reconciliation") == 1
    assert value(found, "lineage_neo4j_up") == 1
    assert value(found, "lineage_consumer_in_flight_messages") == 0

    # the other app's registry is its own: its lease is not held, and it saw none of the consumer's work
    others = samples(generate_latest(other_app.metrics.registry).decode())
    assert value(others, "lineage_lease_held", lease="reconciliation") == 0
    assert total(others, "lineage_events_total") == 0 and total(others, "lineage_aws_calls_total") == 0


def test_metrics_are_served_as_the_details_are(settings_env, monkeypatch):
    other = non_loopback_address()
    port = free_port()
    queue = "lineage-sagemaker"  # tests.test_health.QUEUE's name
    with wired(monkeypatch, LINEAGE_HEALTH_HOST="0.0.0.0", LINEAGE_HEALTH_PORT=str(port)) as (server, stats):
        assert server.details == "loopback"
        stats.add(server_queue(stats), received=2)
        status, text = get("127.0.0.1", port, "/metrics")
        assert status == 200 and value(samples(text), "lineage_sqs_messages_total", queue=queue,
                                       outcome="received") == 2
        assert get("127.0.0.1", port, "/metrics/")[0] == 200
        if other:
            status, text = get(other, port, "/metrics")
            assert status == 403 and queue not in text and "loopback" in text
            assert get(other, port, "/health")[0] == 200  # the status stays public
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_PORT=str(port), LINEAGE_HEALTH_DETAILS="off"):
        status, text = get("127.0.0.1", port, "/metrics")
        assert status == 404 and "lineage_" not in text
    if not other:
        pytest.skip("no non-loopback address on this machine: /metrics refused to a remote peer not checked")
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_PORT=str(port), LINEAGE_HEALTH_DETAILS="on") as (_, stats):
        stats.add(server_queue(stats), deleted=3)
        status, text = get(other, port, "/metrics")
        assert status == 200 and value(samples(text), "lineage_sqs_messages_total", queue=queue, outcome="deleted") == 3


def server_queue(stats: Any) -> str:
    (url,) = stats.queues
    return str(url)


# --- CloudWatch Embedded Metric Format ------------------------------------------------------------

UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"]
# The structure the EMF specification requires of a log event, as a JSON Schema (the cross-references
# between the directive and the root members are checked in `check_emf`).
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {"_aws": {
        "type": "object",
        "required": ["Timestamp", "CloudWatchMetrics"],
        "properties": {
            "Timestamp": {"type": "integer", "minimum": 0},
            "CloudWatchMetrics": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["Namespace", "Dimensions", "Metrics"],
                "properties": {
                    "Namespace": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^:].*"},
                    "Dimensions": {"type": "array", "items": {
                        "type": "array", "maxItems": 30, "items": {"type": "string", "minLength": 1, "maxLength": 250}}},
                    "Metrics": {"type": "array", "maxItems": 100, "items": {
                        "type": "object", "required": ["Name"],
                        "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                       "Unit": {"enum": UNITS},
                                       "StorageResolution": {"enum": [1, 60]}}}},
                }}},
        }}},
}


def check_emf(record: dict[str, Any]) -> None:
    jsonschema.validate(record, EMF_SCHEMA)
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:  # a dimension names a root member holding a string
                assert isinstance(record.get(key), str) and 0 < len(record[key]) <= 1024, key
        for metric in directive["Metrics"]:  # a metric names a root member holding a number (or a list of them)
            target = record.get(metric["Name"])
            assert (isinstance(target, (int, float)) and not isinstance(target, bool)) or (
                isinstance(target, list) and 0 < len(target) <= 100
                and all(isinstance(v, (int, float)) for v in target)), metric


def test_emf_lines_per_commit_and_per_scheduled_job(settings_env, neo4j, sim, sqs, monkeypatch, capsys):
    monkeypatch.setenv("LINEAGE_METRICS_EMF", "true")
    monkeypatch.setenv("LINEAGE_METRICS_NAMESPACE", "Acme/ML Lineage")
    app = App(load_settings())
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    url, _ = make_queue(sqs, "lineage-emf", max_receives=5)
    send(sqs, url, [ev.s3_eventbridge("acme-ml-data", "raw/a.csv", "created", NOW, sequencer="01"), "{broken"])

    def broken(stop: threading.Event) -> None:
        raise RuntimeError("this job always fails")

    jobs = [ScheduledJob("sagemaker-sync", IntervalTrigger(hours=1, timezone=timezone.utc),
                         lambda stop: run_sync(app, stop=stop, sources=["sagemaker"])),
            ScheduledJob("broken", IntervalTrigger(hours=1, timezone=timezone.utc), broken)]
    worker = Worker(jobs, metrics=app.metrics)
    runner = threading.Thread(target=worker.run)
    started = time.time()
    try:
        event_consumer(app, queue_urls=[url], until_empty=True, wait_seconds=1, shutdown_seconds=10
                       ).run(threading.Event())
        runner.start()
        registry = app.metrics.registry
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
                registry.get_sample_value("lineage_scheduled_job_runs_total", {"job": job, "outcome": outcome})
                for job, outcome in (("sagemaker-sync", "ok"), ("broken", "failed"))):
            time.sleep(0.1)
    finally:
        worker.stop()
        runner.join(20)
        app.close()
    assert not runner.is_alive()
    found = samples(generate_latest(app.metrics.registry).decode())
    assert value(found, "lineage_scheduled_job_runs_total", job="sagemaker-sync", outcome="ok") == 1
    assert value(found, "lineage_scheduled_job_runs_total", job="broken", outcome="failed") == 1
    assert value(found, "lineage_scheduled_job_duration_seconds_count", job="sagemaker-sync") == 1
    assert value(found, "lineage_scheduled_job_duration_seconds_count", job="broken") == 1
    assert started <= (value(found, "lineage_scheduled_job_last_success_timestamp_seconds", job="sagemaker-sync")
                       or 0) <= time.time()
    assert value(found, "lineage_scheduled_job_last_success_timestamp_seconds", job="broken") is None
    assert (value(found, "lineage_graph_writes_total", source="sync", outcome="committed") or 0) >= 1
    assert (value(found, "lineage_aws_calls_total", service="sagemaker", operation="ListPipelines",
                  error_code="") or 0) >= 1

    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    for record in records:
        check_emf(record)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Acme/ML Lineage"
        assert abs(record["_aws"]["Timestamp"] / 1000 - time.time()) < 300
    commits = [r for r in records if r.get("Component") == "consumer" and "Messages" in r]
    rejects = [r for r in records if r.get("Component") == "consumer" and "PoisonMessages" in r]
    syncs = {r["Job"]: r for r in records if r.get("Component") == "scheduler"}
    assert len(commits) == 1 and commits[0]["Messages"] == 1 and commits[0]["Events"] == 1
    assert commits[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Component"]]
    assert commits[0]["NodesWritten"] >= 1 and commits[0]["CommitSeconds"] > 0
    assert len(rejects) == 1 and rejects[0]["PoisonMessages"] == 1 and rejects[0]["DeadLetteredMessages"] == 1
    assert set(syncs) == {"sagemaker-sync", "broken"} and len(records) == 4
    sync = syncs["sagemaker-sync"]
    assert sync["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Component", "Job"]]
    assert (sync["Succeeded"], sync["Failed"], sync["Pipelines"], sync["Errors"]) == (1, 0, 1, 0)
    assert sync["AwsCalls"] >= 2 and sync["NodesWritten"] >= 1 and sync["DurationSeconds"] > 0
    assert (syncs["broken"]["Succeeded"], syncs["broken"]["Failed"]) == (0, 1) and "Pipelines" not in syncs["broken"]
    units = {m["Name"]: m["Unit"] for r in records for m in r["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["DurationSeconds"] == units["CommitSeconds"] == "Seconds" and units["Messages"] == "Count"


def test_emf_off_writes_nothing_and_the_record_shape_holds_alone():
    lines: list[str] = []
    emf = EmfWriter("LineageCollector", write=lines.append)
    metrics = Metrics(emf=emf)
    metrics.job_finished("s3-rescan", 2.5, ok=True)
    (record,) = [json.loads(line) for line in lines]
    check_emf(record)
    assert record["Job"] == "s3-rescan" and record["DurationSeconds"] == 2.5 and "Errors" not in record
    quiet = Metrics()
    quiet.job_finished("s3-rescan", 2.5, ok=True)  # no EMF writer: nothing written anywhere
    assert len(lines) == 1


def test_every_metric_is_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[2].strip() for line in doc.splitlines()
            if line.startswith("| `lineage_")}
    families = {f.name: f.type for f in Metrics().registry.collect()}
    assert families
    for name, kind in families.items():
        documented = f"{name}_total" if kind == "counter" else name
        assert rows.get(documented) == kind, (documented, kind)
    assert len(rows) == len(families)


# --- bounded labels ---------------------------------------------------------------------------------

def test_label_values_stay_bounded():
    metrics = Metrics()
    for i in range(200):
        metrics.count_events("https://sqs.eu-west-1.amazonaws.com/111122223333/q", "consumed",
                             {f"unknown:acme.app:Detail {i}": 1})
        metrics.aws_call("sagemaker", "DescribePipeline", f"WeirdError{i}")
    found = samples(generate_latest(metrics.registry).decode())
    kinds = {dict(ls)["kind"] for (n, ls) in found if n == "lineage_events_total"}
    codes = {dict(ls)["error_code"] for (n, ls) in found if n == "lineage_aws_calls_total"}
    assert OTHER in kinds and len(kinds) <= 101 and total(found, "lineage_events_total") == 200
    assert OTHER in codes and len(codes) <= 31 and total(found, "lineage_aws_calls_total") == 200
    assert value(found, "lineage_events_total", queue="q", kind="unknown:acme.app:Detail 0", outcome="consumed") == 1
    bounded = BoundedValues(2, length=5)
    assert [bounded(v) for v in ("abcdefgh", "b", "c", "abcde", "b")] == ["abcde", "b", OTHER, "abcde", "b"]


# --- log lines about one message ---------------------------------------------------------------------

def test_log_lines_about_a_poison_or_failed_message_carry_its_ids(app, sim, sqs, neo4j, caplog):
    url, _ = make_queue(sqs, "lineage-logs", max_receives=1, visibility=1)
    push = ev.codecommit_push()  # an EventBridge event: it has an id; its handling fails below
    broken = ev.execution_event("arn:aws:sagemaker:us-east-1:123456789012:pipeline/p",
                                "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x", "Executing", None,
                                NOW, NOW)
    del broken["detail"]["pipelineExecutionArn"]  # poison, with an id
    wrapped = ev.sns(json.dumps({**broken, "id": "sns-wrapped-event-1"}))  # poison, its id inside SNS
    ids = send(sqs, url, [push, broken, wrapped, "{not json"])

    def git_handler(event: Any) -> None:
        raise OSError("git fetch failed: connection reset")

    caplog.set_level(logging.INFO)
    consumer_for(app, url, git_handler=git_handler, max_messages=4).run(threading.Event())
    about = {}
    for record in caplog.records:
        fields = getattr(record, "fields", None) or {}
        if "message_id" in fields:
            about.setdefault(fields["message_id"], []).append((record, fields))
    assert set(about) == set(ids)
    expected_events = {ids[0]: push["id"], ids[1]: broken["id"], ids[2]: "sns-wrapped-event-1", ids[3]: None}
    for message_id, records in about.items():
        for record, fields in records:
            assert fields.get("event_id") == expected_events[message_id], (record.getMessage(), fields)
            line = json.loads(JsonFormatter().format(record))  # the JSON log line as a container writes it
            assert line["message_id"] == message_id and line.get("event_id") == expected_events[message_id]
            assert "detail" not in line and "Executing" not in json.dumps(line)  # never the body
    assert any("failed" in r.getMessage() for r, _ in about[ids[0]])
    assert all(any("cannot be parsed" in r.getMessage() for r, _ in about[i]) for i in ids[1:])


def test_event_ids_are_read_safely():
    assert event_id_of(json.dumps(ev.codecommit_push() | {"id": "abc-1"})) == "abc-1"
    assert event_id_of(json.dumps({"id": "x", "Records": []})) is None  # not an EventBridge event
    assert event_id_of(json.dumps({"detail-type": "t", "id": "two words"})) is None
    assert event_id_of(json.dumps({"detail-type": "t", "id": "x" * 129})) is None
    assert event_id_of(json.dumps({"detail-type": "t", "id": 7})) is None
    assert event_id_of("[" * 100_000) is None and event_id_of("{oops") is None and event_id_of("") is None
    assert event_id_of(json.dumps(ev.sns("not json inside"))) is None
    assert event_id_of(json.dumps(ev.sns(json.dumps({"detail-type": "t", "id": "in-sns"})))) == "in-sns"
