"""The SQS consumer against the moto server's SQS (real HTTP, redrive policies) and a real Neo4j."""
from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from config import SettingsError
from jobs.app import App
from jobs.consumer import ERROR_ATTRIBUTE, Consumer, ConsumerConfig
from jobs.health import HealthServer, Neo4jProbe
from jobs.ingest import EventIngest, Message
from jobs.sources.git_sql import GitEvents
from jobs.sources.s3 import S3Events
from jobs.sources.sagemaker import SageMakerEvents
from lineage_dev.demo import PIPELINES_DIR as PIPELINES
from lineage_dev.sim.account import seed_execution, seed_pipeline
from tests import event_samples as ev
from tests.graph_dump import dump
from tests.iam import missing_from_policy

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)


def make_queue(sqs, name: str, *, max_receives: int | None = 2, visibility: int = 30) -> tuple[str, str | None]:
    attributes = {"VisibilityTimeout": str(visibility)}
    dlq = None
    if max_receives:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receives)})
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"], dlq


def send(sqs, url: str, bodies: list) -> list[str]:
    ids = []
    for i in range(0, len(bodies), 10):
        entries = [{"Id": str(j), "MessageBody": b if isinstance(b, str) else json.dumps(b)}
                   for j, b in enumerate(bodies[i:i + 10])]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not response.get("Failed")
        ids += [r["MessageId"] for r in sorted(response["Successful"], key=lambda r: int(r["Id"]))]
    return ids


def depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def drain(sqs, url: str) -> list[dict]:
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not got:
            return messages
        messages += got


def plain_ingest(app: App, s3_hooks=(), git_handler=None) -> EventIngest:
    """The event path as the CLI builds it, with these S3 hooks and Git push handler (tested apart)."""
    return EventIngest(app.writer, [SageMakerEvents(app.writer, app.aws, app.state), S3Events(app.writer, s3_hooks),
                                    GitEvents(git_handler)])


def consumer_for(app: App, url: str, s3_hooks=(), git_handler=None, **overrides) -> Consumer:
    options = {"until_empty": True, "wait_seconds": 1, "visibility_timeout": 30, "shutdown_seconds": 10}
    options.update(overrides)
    return Consumer(app.aws, plain_ingest(app, s3_hooks, git_handler),
                    ConsumerConfig.from_settings(app.settings, queue_urls=[url], **options))


def definition(name: str) -> dict:
    return json.loads((PIPELINES / f"{name}.json").read_text())


def clear(driver) -> None:
    with driver.session() as session:
        session.run("MATCH (n) DETACH DELETE n").consume()


def test_duplicates_and_shuffled_order_give_the_graph_of_in_order_single_delivery(app, sim, sqs, neo4j):
    seed_pipeline(sim, "churn-training", definition("churn-training"))
    succeeded = seed_execution(sim, "churn-training", start=NOW)
    failed = seed_execution(sim, "churn-training", status="Failed", start=NOW + timedelta(hours=2),
                            failed_step="TrainChurnModel")
    events = ev.execution_events(sim, succeeded) + ev.execution_events(sim, failed)
    t = NOW + timedelta(hours=5)
    for i, (key, action) in enumerate([("features/dt=2024-06-01/part-0000.parquet", "created"),
                                       ("features/dt=2024-06-02/part-0000.parquet", "created"),
                                       ("features/dt=2024-06-01/part-0000.parquet", "created"),
                                       ("features/dt=2024-06-02/part-0000.parquet", "deleted"),
                                       ("features/_SUCCESS", "created"), ("reports/churn it's \"final\".csv", "created")]):
        events.append(ev.s3_eventbridge("acme-ml-data", key, action, t + timedelta(seconds=i), sequencer=f"{i + 1:016X}"))
    events.append(ev.sns(ev.s3_notification(ev.s3_record("acme-ml-data", "raw/events 2024.csv", "ObjectCreated:Put", t,
                                                          sequencer="00A1"))))
    assert len(events) > 40

    ingest = plain_ingest(app)
    for i, event in enumerate(events):  # the reference: in order, one message at a time
        ingest.handle([Message("in-order", str(i), json.dumps(event))])
    expected = dump(neo4j)

    clear(neo4j)
    rng = random.Random(20240603)
    delivered = events + rng.sample(events, len(events) // 3)  # at-least-once: duplicates
    rng.shuffle(delivered)
    url, dlq = make_queue(sqs, "lineage-events")
    send(sqs, url, delivered)
    stats = consumer_for(app, url, threads=2).run(threading.Event())
    assert stats.total("deleted") == len(delivered) and stats.total("failed") == 0
    assert depth(sqs, url) == 0 and depth(sqs, dlq) == 0
    assert dump(neo4j) == expected


def test_a_failing_message_comes_back_and_is_dead_lettered_after_max_receive_count(app, sim, sqs, neo4j):
    url, dlq = make_queue(sqs, "lineage-events", max_receives=2, visibility=1)
    push = ev.github_push()
    good = ev.s3_eventbridge("acme-ml-data", "raw/a.csv", "created", NOW, sequencer="01")
    send(sqs, url, [push, good])
    attempts: list[str] = []

    def git_handler(event):
        attempts.append(event.after)
        raise OSError("git fetch failed: connection reset")

    consumer = consumer_for(app, url, until_empty=False, visibility_timeout=1, git_handler=git_handler)
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while depth(sqs, dlq) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(20)
    assert not runner.is_alive()
    assert attempts == [push["after"]] * 2  # received maxReceiveCount times, then redriven
    dead = drain(sqs, dlq)
    assert [json.loads(m["Body"]) for m in dead] == [push]
    assert depth(sqs, url) == 0
    assert consumer.stats.total("failed") == 2 and consumer.stats.total("deleted") == 1
    records, _, _ = neo4j.execute_query("MATCH (d:Dataset) RETURN d.object_count AS n")
    assert [r["n"] for r in records] == [1]


def test_unparseable_messages_are_logged_and_dead_lettered_at_once(app, sim, sqs, neo4j, caplog):
    url, dlq = make_queue(sqs, "lineage-events", max_receives=5)
    poison = ["{not json", "plain text body", "x" * 200_000, json.dumps({"hello": "world"}),
              json.dumps(ev.sns("an SNS message that is not JSON"))]
    unknown = ev.eventbridge("SageMaker Image State Change", {"EndpointName": "churn"}, NOW)
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-06-03T12:00:00.000Z", "Bucket": "b"}
    good = ev.s3_eventbridge("acme-ml-data", "raw/`tick` \"quote\" ünï.csv", "created", NOW, sequencer="01")
    poison_ids = send(sqs, url, poison + [unknown, test_event, good])[:len(poison)]
    consumer = consumer_for(app, url)
    stats = consumer.run(threading.Event())
    assert stats.total("poison") == len(poison) and stats.total("dead_lettered") == len(poison)
    assert depth(sqs, url) == 0
    dead = drain(sqs, dlq)
    assert sorted(m["Body"] for m in dead) == sorted(poison)
    assert sorted(m["MessageAttributes"][ERROR_ATTRIBUTE]["StringValue"].rsplit(" ", 1)[-1] for m in dead) == sorted(
        poison_ids)  # the error, then the original message id
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in dead)  # at once, not after 5 receives
    events = stats.snapshot()["queues"][url]["events"]
    assert events["unknown:aws.sagemaker:SageMaker Image State Change"] == 1
    assert events["ignored:s3:TestEvent"] == 1 and events["aws.s3:created"] == 1
    assert "cannot be parsed" in caplog.text and all(i in caplog.text for i in poison_ids)
    records, _, _ = neo4j.execute_query("MATCH (d:Dataset) RETURN d.uri AS uri")
    assert [r["uri"] for r in records] == ["s3://acme-ml-data/raw/`tick` \"quote\" ünï.csv"]
    assert missing_from_policy(app.aws.reset_counts()) == set()  # deploy/iam-policy.json allows every call


def test_poison_messages_can_be_deleted_and_dead_lettering_needs_somewhere_to_go(app, sim, sqs, neo4j):
    url, _ = make_queue(sqs, "no-redrive", max_receives=None)
    with pytest.raises(SettingsError, match="LINEAGE_DEAD_LETTER_QUEUE_URL"):
        consumer_for(app, url).check_queues()
    with pytest.raises(SettingsError, match="LINEAGE_QUEUE_URLS"):
        consumer_for(app, url.replace("no-redrive", "does-not-exist"), poison_policy="delete").check_queues()
    send(sqs, url, ["{broken", json.dumps(ev.s3_eventbridge("acme-b", "k.csv", "created", NOW))])
    stats = consumer_for(app, url, poison_policy="delete").run(threading.Event())
    assert (stats.total("poison"), stats.total("dead_lettered"), stats.total("deleted")) == (1, 0, 2)
    assert depth(sqs, url) == 0


def test_s3_notifications_from_the_simulated_bucket_keep_awkward_keys_verbatim(app, sim, sqs, neo4j):
    url, _ = make_queue(sqs, "s3-events")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="acme-ml-data")
    s3.put_bucket_notification_configuration(Bucket="acme-ml-data", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    keys = ["landing/it's a \"quoted\" `name`.csv", "landing/ünïcødé données.json", "landing/a+b=c&d 100%.csv",
            "landing/dt=2024-06-03/part-00000-1b2c.snappy.parquet"]
    for key in keys:
        s3.put_object(Bucket="acme-ml-data", Key=key, Body=b"id,value\n1,2\n")
    s3.delete_object(Bucket="acme-ml-data", Key=keys[0])
    seen: list[str] = []
    consumer = consumer_for(app, url, s3_hooks=[lambda events: seen.extend(e.key for e in events)])
    stats = consumer.run(threading.Event())
    assert stats.snapshot()["queues"][url]["events"]["ignored:s3:TestEvent"] == 1
    assert sorted(seen) == sorted(keys + [keys[0]])
    records, _, _ = neo4j.execute_query("MATCH (d:Dataset) RETURN d.uri AS uri, d.object_count AS n, "
                                        "d.last_object_key AS key ORDER BY uri")
    assert [r.data() for r in records] == [
        {"uri": "s3://acme-ml-data/landing/", "n": 1, "key": keys[3]},
        {"uri": f"s3://acme-ml-data/{keys[2]}", "n": 1, "key": keys[2]},
        {"uri": f"s3://acme-ml-data/{keys[0]}", "n": 0, "key": keys[0]},
        {"uri": f"s3://acme-ml-data/{keys[1]}", "n": 1, "key": keys[1]},
    ]


def test_max_messages_and_the_health_endpoint(app, sim, sqs, neo4j):
    url, _ = make_queue(sqs, "lineage-events")
    send(sqs, url, [ev.s3_eventbridge("acme-ml-data", f"raw/{i}.csv", "created", NOW, sequencer=f"{i:04X}")
                    for i in range(25)])
    consumer = consumer_for(app, url, until_empty=False, max_messages=12, batch_size=5)
    health = HealthServer(0, Neo4jProbe(app.driver), consumer.stats.snapshot,
                          alive=lambda: consumer.stats.running, host="127.0.0.1").start()
    try:
        stats = consumer.run(threading.Event())
        assert stats.total("received") == 12 and stats.total("deleted") == 12 and depth(sqs, url) == 13

        def get(path: str) -> tuple[int, dict]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health.port}{path}", timeout=5) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        deadline = time.monotonic() + 10
        while health.probe.reachable is None and time.monotonic() < deadline:
            time.sleep(0.05)
        status, body = get("/health/ready")
        assert status == 200 and body == {"status": "down", "live": False, "ready": True, "reasons": ["consumer-stopped"]}
        status, body = get("/health/details")  # from loopback: served by default
        assert status == 200 and body["neo4j"]["reachable"] is True
        assert body["consumer"]["queues"][url]["deleted"] == 12 and body["consumer"]["last_receive"]
        assert get("/health/live")[0] == 503  # the consumer has stopped
        assert get("/health")[0] == 503 and get("/nope")[0] == 404
    finally:
        health.stop()
