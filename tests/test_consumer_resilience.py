"""The consumer under trouble: Neo4j stopped mid-stream (a dedicated server, restarted on the same port
and data), and SIGTERM under load (`lineage-collector consume` as a process)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from neo4j import GraphDatabase

from config import load_settings
from jobs.app import App
from jobs.consumer import Consumer, ConsumerConfig
from jobs.health import Neo4jProbe
from lineage_dev.demo import PIPELINES_DIR
from lineage_dev.local_neo4j import start_local_neo4j
from lineage_dev.sim.account import seed_pipeline
from tests import event_samples as ev
from tests.iam import missing_from_policy
from tests.test_consumer import depth, make_queue, plain_ingest, send

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def extensions_per_held(consumer: Consumer, since: int = 0) -> float:
    held = len(consumer.inflight)
    return (consumer.stats.total("extended") - since) / held if held else 0.0


def step_events(pipeline: str, executions: int, steps: list[str], start: datetime) -> list[dict]:
    """Starting / Executing / Succeeded for every step of some executions: no AWS call needed to apply them."""
    pipeline_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/{pipeline}"
    events = []
    for e in range(executions):
        execution = f"{pipeline_arn}/execution/run{e:05d}"
        for s, step in enumerate(steps):
            t0 = start + timedelta(minutes=10 * e + s)
            row = {"StepName": step, "StartTime": t0, "EndTime": t0 + timedelta(seconds=40), "Metadata": {
                "ProcessingJob": {"Arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/{pipeline}-{e}-{s}"}}}
            events.append(ev.step_event(pipeline_arn, execution, row, "Starting", None, t0))
            events.append(ev.step_event(pipeline_arn, execution, row, "Executing", "Starting", t0 + timedelta(seconds=1)))
            events.append(ev.step_event(pipeline_arn, execution, row, "Succeeded", "Executing", t0 + timedelta(seconds=41)))
    return events


def object_events(bucket: str, count: int, start: datetime, prefix: str = "landing") -> list[dict]:
    return [ev.s3_eventbridge(bucket, f"{prefix}/table{i % 7}/part-{i:05d}.parquet", "created",
                              start + timedelta(seconds=i), size=1000 + i, sequencer=f"{i + 1:018X}")
            for i in range(count)]


def graph_totals(driver) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (d:Dataset) WITH sum(d.object_count) AS objects "
        "OPTIONAL MATCH (r:StepRun {status: 'Succeeded'}) RETURN objects, count(r) AS runs")
    return records[0].data()


def test_neo4j_stopped_mid_stream_loses_nothing(settings_env, sim, tmp_path, monkeypatch):
    definition = json.loads((PIPELINES_DIR / "daily-scoring.json").read_text())
    seed_pipeline(sim, "daily-scoring", definition)
    seed_pipeline(sim, "daily-scoring-eu", definition)  # first seen while Neo4j is down
    steps = [s["Name"] for s in definition["Steps"]][:2]
    port, data = free_port(), tmp_path / "dedicated-neo4j"
    server = start_local_neo4j(bolt_port=port, data_dir=data, browser=False)
    monkeypatch.setenv("NEO4J_URI", server.uri)
    app = App(load_settings())
    app.writer.ensure_schema()
    sqs = sim.client("sqs")
    # Visibility windows of seconds, not of the production minute, but long enough that a loaded machine's
    # scheduling delays (seconds at a load of 6 on 2 cores) do not make the heartbeat miss one.
    url, dlq = make_queue(sqs, "lineage-events", max_receives=2, visibility=6)
    wave1 = object_events("acme-ml-data", 40, NOW) + step_events("daily-scoring", 3, steps, NOW)
    wave2 = (object_events("acme-ml-data", 40, NOW + timedelta(hours=1), "second")
             + step_events("daily-scoring-eu", 3, steps, NOW))
    config = ConsumerConfig(queue_urls=[url], wait_seconds=1, visibility_timeout=6, threads=2, shutdown_seconds=10)
    consumer = Consumer(app.aws, plain_ingest(app), config)
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,))
    try:
        send(sqs, url, wave1)
        runner.start()
        wait_for(lambda: consumer.stats.total("deleted") == len(wave1), 60, "the first wave")
        server.stop()
        before = consumer.stats.total("extended")
        send(sqs, url, wave2)
        probe = Neo4jProbe(app.driver)
        wait_for(lambda: consumer.stats.snapshot()["neo4j_writes_ok"] is False, 60, "the outage to be noticed")
        # Held across two visibility windows: without the heartbeat they would come back.
        wait_for(lambda: extensions_per_held(consumer, since=before) >= 3, 90, "the held messages' visibility to be extended")
        assert probe.check() is False
        assert consumer.stats.total("deleted") == len(wave1)  # nothing deleted while its write cannot commit
        assert depth(sqs, url) == len(wave2) and depth(sqs, dlq) == 0
        server = start_local_neo4j(bolt_port=port, data_dir=data, browser=False)
        wait_for(lambda: consumer.stats.total("deleted") == len(wave1) + len(wave2), 90, "the second wave")
        assert probe.check() is True
    finally:
        stop.set()
        if runner.is_alive():
            runner.join(20)
        app.close()
    assert not runner.is_alive()
    assert depth(sqs, url) == 0 and depth(sqs, dlq) == 0
    with GraphDatabase.driver(server.uri) as driver:
        assert graph_totals(driver) == {"objects": 80, "runs": 12}
        records, _, _ = driver.execute_query("MATCH (p:Pipeline) WHERE p.definition IS NOT NULL RETURN count(p) AS n")
        assert records[0]["n"] == 2
    server.stop()


def test_sigterm_under_load_exits_in_time_and_loses_nothing(settings_env, sim, neo4j):
    definition = json.loads((PIPELINES_DIR / "daily-scoring.json").read_text())
    seed_pipeline(sim, "daily-scoring", definition)
    steps = [s["Name"] for s in definition["Steps"]][:2]
    sqs = sim.client("sqs")
    url, dlq = make_queue(sqs, "lineage-events", max_receives=3, visibility=60)
    events = object_events("acme-ml-data", 900, NOW) + step_events("daily-scoring", 100, steps, NOW)
    send(sqs, url, events)
    env = {**os.environ, **settings_env, "LINEAGE_QUEUE_URLS": url, "LINEAGE_LOG_FORMAT": "json",
           "LINEAGE_QUEUE_WAIT_SECONDS": "10", "LINEAGE_CONSUMER_COMMIT_MESSAGES": "40", "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).with_name("lineage-collector")), "consume"]
    process = subprocess.Popen(command, cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: graph_totals(neo4j)["objects"] + graph_totals(neo4j)["runs"] >= 100 or process.poll() is not None,
                 60, "the consumer to get going")
        assert process.poll() is None, process.stderr.read()
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=25)
        elapsed = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert elapsed < 20, f"took {elapsed:.1f} s to stop"
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    stopped = next(line for line in lines if line["message"] == "consumer stopped")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"  # in-flight ones were released
    left = int(attributes["ApproximateNumberOfMessages"])
    assert left > 0 and stopped["received"] == stopped["deleted"] + stopped["released"]

    # The next consumer finds everything the first did not finish.
    app = App(load_settings())
    try:
        config = ConsumerConfig(queue_urls=[url], wait_seconds=1, until_empty=True, shutdown_seconds=10)
        Consumer(app.aws, plain_ingest(app), config).run(threading.Event())
    finally:
        app.close()
    assert depth(sqs, url) == 0 and depth(sqs, dlq) == 0
    assert graph_totals(neo4j) == {"objects": 900, "runs": 200}


def test_while_neo4j_is_unreachable_receiving_pauses_and_held_messages_go_back_at_stop(settings_env, sim):
    from graphstore.writer import GraphWriter
    from jobs.ingest import EventIngest
    from jobs.wiring import offline_event_handlers

    sqs = sim.client("sqs")
    url, dlq = make_queue(sqs, "lineage-events", max_receives=2, visibility=6)
    send(sqs, url, object_events("acme-ml-data", 25, NOW))
    app = App(load_settings())
    # Nothing listens on this port; the driver gives up retrying after half a second each time.
    unreachable = GraphDatabase.driver(f"bolt://127.0.0.1:{free_port()}", max_transaction_retry_time=0.5)
    # Commits of 5: the first receive batch is one commit, retried while the rest wait behind it. Waiting a whole
    # window for a commit to start hands a message back, except while Neo4j is known to be down (a loaded
    # machine made this happen by chance: it split the 25 messages over more than one commit).
    config = ConsumerConfig(queue_urls=[url], wait_seconds=1, visibility_timeout=6, threads=2, shutdown_seconds=6,
                            commit_messages=5)
    writer = GraphWriter(unreachable)
    consumer = Consumer(app.aws, EventIngest(writer, offline_event_handlers(writer)), config)
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,))
    runner.start()
    try:
        wait_for(lambda: consumer.stats.total("received") > 0 and consumer.stats.snapshot()["neo4j_writes_ok"] is False,
                 30, "the outage to be noticed")
        # Every held message's visibility extended three times: past one and a half visibility windows, and
        # maxReceiveCount is 2 (a wait on what happened, not on the clock: a loaded machine only slows it).
        wait_for(lambda: len(consumer.inflight) > 0 and extensions_per_held(consumer) >= 3, 120,
                 "the held messages' visibility to be extended")
        received = consumer.stats.total("received")
        assert received == len(consumer.inflight) <= 25
        assert consumer.stats.total("lapsed_extensions") == 0
        assert consumer.stats.total("received") == received  # each message once: held, not redelivered
        assert consumer.stats.total("handed_back") == 0
        assert consumer.stats.total("deleted") == 0
        assert "Neo4j unavailable" in consumer.stats.snapshot()["last_error"]["message"]
    finally:
        signalled = time.monotonic()
        stop.set()
        runner.join(20)
        unreachable.close()
        app.close()
    assert not runner.is_alive() and time.monotonic() - signalled < 15  # shutdown_seconds 6; joins run late when loaded
    assert consumer.stats.total("released") == received
    assert missing_from_policy(app.aws.reset_counts()) == set()  # ChangeMessageVisibilityBatch included
    assert depth(sqs, dlq) == 0  # held, not redelivered: no receive counts burnt
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                              MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert got and {m["Attributes"]["ApproximateReceiveCount"] for m in got} <= {"1", "2"}  # ours, then this one


def test_run_consumes_alongside_the_scheduler_and_serves_health(settings_env, sim, neo4j):
    import urllib.request

    sqs = sim.client("sqs")
    url, _ = make_queue(sqs, "lineage-events", max_receives=3)
    send(sqs, url, object_events("acme-ml-data", 20, NOW))
    port = free_port()
    env = {**os.environ, **settings_env, "LINEAGE_QUEUE_URLS": url, "LINEAGE_LOG_FORMAT": "json",
           "LINEAGE_SYNC_ON_START": "false", "LINEAGE_HEALTH_PORT": str(port), "LINEAGE_QUEUE_WAIT_SECONDS": "2"}
    process = subprocess.Popen([str(Path(sys.executable).with_name("lineage-collector")), "run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: graph_totals(neo4j)["objects"] == 20 or process.poll() is not None, 60, "the events")
        assert process.poll() is None, process.stderr.read()

        def health(path: str) -> tuple[int, dict]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        # The graph commit precedes the deletes, so the counters may trail the graph by a moment.
        def settled() -> bool:
            status, body = health("/health/details")
            return status == 200 and body["status"] == "ok" and body["consumer"]["queues"].get(url, {}).get("deleted") == 20
        wait_for(settled, 30, "a healthy report with every message deleted")
        _, body = health("/health/details")
        assert body["consumer"]["queues"][url]["deleted"] == 20 and body["neo4j"]["reachable"] is True
        assert health("/health") == (200, {"status": "ok", "live": True, "ready": True, "reasons": []})
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=25)
        assert time.monotonic() - signalled < 20
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and depth(sqs, url) == 0
