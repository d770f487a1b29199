"""`dlq replay` against the moto server's SQS: messages the consumer itself dead-lettered and one SQS redrove."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest

from jobs.consumer import ERROR_ATTRIBUTE, SOURCE_ATTRIBUTE
from jobs.dead_letter import REDRIVEN, NoTarget, Replay, ReplayOptions, reason_key
from jobs.dlq_move_task import start_move, watch
from lineage_dev.sim import inject_fault
from tests import event_samples as ev
from tests.iam import missing_from_policy
from tests.test_consumer import consumer_for, depth, drain, make_queue, send

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
NOT_JSON = ["{not json", "{\"also\": not json"]
NOT_OBJECT = "[1, 2]"
NOT_AN_EVENT = json.dumps({"hello": "world"})
REDRIVEN_BODY = json.dumps(ev.s3_eventbridge("acme-ml-data", "raw/stuck.csv", "created", NOW, sequencer="02"))
TRACE = {"trace-id": {"DataType": "String", "StringValue": "abc-123"},
         "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"}}


def visible(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def peek(sqs, url: str) -> list[dict]:
    """The messages of a small queue, left visible."""
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                               MessageAttributeNames=["All"]).get("Messages") or []


def redrive_by_sqs(sqs, url: str, body: str, max_receives: int = 2) -> None:
    """Receive a message maxReceiveCount times without deleting it: SQS's redrive policy moves it on the next."""
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=TRACE)
    for _ in range(max_receives + 1):
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=0)


@pytest.fixture
def dead_lettered(app, sim, sqs):
    """A queue whose DLQ holds four messages the consumer dead-lettered and one SQS's redrive moved there."""
    url, dlq = make_queue(sqs, "lineage-events", max_receives=2)
    sqs.send_message(QueueUrl=url, MessageBody=NOT_JSON[0], MessageAttributes=TRACE)
    send(sqs, url, [NOT_JSON[1], NOT_OBJECT, NOT_AN_EVENT,
                    ev.s3_eventbridge("acme-ml-data", "raw/fine.csv", "created", NOW, sequencer="01")])
    stats = consumer_for(app, url).run(threading.Event())
    assert stats.total("dead_lettered") == 4 and stats.total("deleted") == 5
    redrive_by_sqs(sqs, url, REDRIVEN_BODY)
    assert depth(sqs, url) == 0 and visible(sqs, dlq) == 5
    app.aws.reset_counts()
    return url, dlq


def replay(app, dlq: str, **options) -> dict:
    return Replay(app.aws, ReplayOptions(dlq, **options)).run().as_dict()


EXPECTED_REASONS = {"body is not JSON": 2, "expected a JSON object, got list": 1,
                    "not an EventBridge event, SNS notification, S3 notification or Git push": 1, REDRIVEN: 1}


def test_reasons_group_without_message_ids_quoted_values_and_times():
    assert reason_key("body is not JSON (Expecting value at character 0)") == "body is not JSON"
    assert reason_key("EventBridge event 'X Change' without a detail object") == \
        "EventBridge event '…' without a detail object"
    assert reason_key("event time 2030-01-01T00:00:00+00:00 is later than 2024-06-03T12:00:00Z") == \
        "event time <time> is later than <time>"
    assert len(reason_key("word " * 100)) == 80


def test_dry_run_counts_per_reason_and_moves_nothing(app, sqs, dead_lettered):
    url, dlq = dead_lettered
    report = replay(app, dlq, dry_run=True)
    assert {k: c["moved"] for k, c in report["reasons"].items()} == EXPECTED_REASONS
    assert report["moved"] == 5 and report["targets"] == {url: 5} and report["stopped"] == "empty"
    assert visible(sqs, dlq) == 5 and depth(sqs, url) == 0  # released at once: all visible again
    assert "sqs.SendMessage" not in app.aws.reset_counts()


def test_max_moves_exactly_n(app, sqs, dead_lettered):
    url, dlq = dead_lettered
    report = replay(app, dlq, max_messages=3)
    assert report["moved"] == 3 and report["stopped"] == "max"
    assert depth(sqs, url) == 3 and visible(sqs, dlq) == 2


def test_reason_moves_only_those(app, sqs, dead_lettered):
    url, dlq = dead_lettered
    report = replay(app, dlq, reason="NOT json")
    assert report["moved"] == 2 and report["skipped"] == 3
    assert report["reasons"]["body is not JSON"] == {"moved": 2, "failed": 0, "skipped": 0}
    assert sorted(m["Body"] for m in drain(sqs, url)) == sorted(NOT_JSON)
    assert visible(sqs, dlq) == 3
    assert replay(app, dlq, reason="redriven")["moved"] == 1 and visible(sqs, dlq) == 2


def test_replay_all_returns_every_message_intact_to_its_queue(app, sqs, dead_lettered):
    url, dlq = dead_lettered
    report = replay(app, dlq)
    assert report["moved"] == 5 and report["failed"] == 0 and report["errors"] == []
    assert depth(sqs, dlq) == 0
    back = drain(sqs, url)
    assert sorted(m["Body"] for m in back) == sorted([*NOT_JSON, NOT_OBJECT, NOT_AN_EVENT, REDRIVEN_BODY])
    for m in back:
        traced = m["Body"] in (NOT_JSON[0], REDRIVEN_BODY)
        attributes = {k: {f: v for f, v in a.items() if f in ("DataType", "StringValue", "BinaryValue")}
                      for k, a in (m.get("MessageAttributes") or {}).items()}
        assert attributes == (TRACE if traced else {})  # ours (error, source queue) left out
        assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert missing_from_policy(app.aws.reset_counts()) == set()  # deploy/iam-policy.json allows every call


def test_a_message_whose_send_fails_stays_in_the_dead_letter_queue(app, sqs, dead_lettered):
    url, dlq = dead_lettered
    inject_fault("sqs", "SendMessage", "InvalidMessageContents", "refused", match=lambda p: p.get("MessageBody") == NOT_OBJECT)
    report = replay(app, dlq)
    assert report["moved"] == 4 and report["failed"] == 1
    assert report["reasons"]["expected a JSON object, got list"]["failed"] == 1
    assert "InvalidMessageContents" in report["errors"][0]
    assert [m["Body"] for m in drain(sqs, dlq)] == [NOT_OBJECT] and depth(sqs, url) == 4


def test_each_message_goes_back_to_the_queue_it_was_dead_lettered_from(app, sqs):
    """A DLQ shared by two queues: the consumer's messages name their queue; one SQS redrove has nowhere to go."""
    first, dlq = make_queue(sqs, "first", max_receives=2)
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    second = sqs.create_queue(QueueName="second", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})})["QueueUrl"]
    for url, body in ((first, "{first"), (second, "{second")):
        send(sqs, url, [body])
        consumer_for(app, url).run(threading.Event())
    assert all(m["MessageAttributes"][SOURCE_ATTRIBUTE]["StringValue"] in (first, second) and
               ERROR_ATTRIBUTE in m["MessageAttributes"] for m in peek(sqs, dlq))
    assert replay(app, dlq, dry_run=True)["targets"] == {first: 1, second: 1}
    assert replay(app, dlq)["targets"] == {first: 1, second: 1}
    assert [m["Body"] for m in drain(sqs, first)] == ["{first"] and [m["Body"] for m in drain(sqs, second)] == ["{second"]
    redrive_by_sqs(sqs, first, REDRIVEN_BODY)
    with pytest.raises(NoTarget, match="pass --to"):
        replay(app, dlq)
    assert visible(sqs, dlq) == 1  # released, not lost
    assert replay(app, dlq, to=second)["targets"] == {second: 1}


def test_native_move_task_through_the_simulated_account(app, sim, sqs, dead_lettered):
    url, dlq = dead_lettered
    task = start_move(app.aws, dlq, None, per_second=50)
    done = watch(app.aws, dlq, task, interval=0.05)
    assert (done.status, done.moved, done.to_move, done.destination) == ("COMPLETED", 5, 5, url)
    assert depth(sqs, dlq) == 0 and depth(sqs, url) == 5
    rows = sqs.list_message_move_tasks(SourceArn=task.source_arn, MaxResults=10)["Results"]
    assert [r["Status"] for r in rows] == ["COMPLETED"] and "TaskHandle" not in rows[0]
    assert rows[0]["MaxNumberOfMessagesPerSecond"] == 50
    assert missing_from_policy(app.aws.reset_counts()) == set()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", "dlq", "replay", *args], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120, cwd=os.path.dirname(__file__))


def test_cli_reports_per_reason_as_text_and_json(sqs, dead_lettered):
    url, dlq = dead_lettered
    text = cli("--queue-url", dlq, "--dry-run")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"dry run: would move 5 messages from {dlq}") and "body is not JSON" in text.stdout
    result = cli("--queue-url", dlq, "--json", "--max", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["moved"] == 2 and report["stopped"] == "max" and depth(sqs, url) == 2
    native = cli("--queue-url", dlq, "--native", "--json")
    assert native.returncode == 0, native.stderr
    assert json.loads(native.stdout)["status"] == "COMPLETED" and depth(sqs, dlq) == 0 and depth(sqs, url) == 5


@pytest.mark.parametrize("args, says", [
    (["--queue-url", "{endpoint}/123456789012/does-not-exist"], "does-not-exist"),
    (["--queue-url", "{dlq}", "--to", "{endpoint}/123456789012/nowhere"], "--to"),
    (["--queue-url", "{lonely}"], "pass --to"),
    (["--queue-url", "{dlq}", "--to", "{dlq}"], "itself"),
    (["--queue-url", "{dlq}", "--native", "--max", "3"], "--native"),
])
def test_cli_misconfiguration_is_one_line_and_exit_2(sim, sqs, dead_lettered, args, says):
    _, dlq = dead_lettered
    lonely = sqs.create_queue(QueueName="lonely-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=lonely, MessageBody="orphan")
    values = {"endpoint": sim.endpoint_url, "dlq": dlq, "lonely": lonely}
    result = cli(*[a.format(**values) for a in args])
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in result.stderr
    assert lines[0].startswith("lineage-collector: dlq replay: ")
    assert visible(sqs, lonely) == 1 and visible(sqs, dlq) == 5  # nothing moved, nothing held


def test_fifo_messages_keep_their_group_and_deduplication_id(app, sqs):
    dlq = sqs.create_queue(QueueName="events-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="events.fifo", Attributes={
        "FifoQueue": "true", "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "1"})})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=REDRIVEN_BODY, MessageGroupId="pipeline-a", MessageDeduplicationId="d-1")
    for _ in range(2):
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert visible(sqs, dlq) == 1
    assert replay(app, dlq)["targets"] == {url: 1}
    [back] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert back["Body"] == REDRIVEN_BODY
    assert (back["Attributes"]["MessageGroupId"], back["Attributes"]["MessageDeduplicationId"]) == ("pipeline-a", "d-1")
