"""Backpressure: hung graph writes (a real Neo4j whose nodes another transaction holds locked) stop the
receivers at the in-flight bound, messages that cannot start within their visibility window go back
to the queue, and nothing is lost when the writes resume. And a bound by bytes as well as by count."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from config import load_settings
from graphstore.connection import is_write_outage
from graphstore.model import Graph
from graphstore.writer import GraphWriter
from jobs.app import App
from jobs.consumer import Consumer, ConsumerConfig
from tests.test_consumer import depth, make_queue, plain_ingest, send
from tests.test_consumer_resilience import NOW, graph_totals, object_events, wait_for


def visible(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_hung_writes_stop_receiving_at_the_bound_and_hand_back_what_cannot_start(settings_env, sim, neo4j):
    sqs = sim.client("sqs")
    url, dlq = make_queue(sqs, "lineage-events", max_receives=20, visibility=4)
    app = App(load_settings())
    first = object_events("acme-ml-data", 7, NOW)  # one object in each of the 7 datasets
    send(sqs, url, first)
    Consumer(app.aws, plain_ingest(app), ConsumerConfig(queue_urls=[url], wait_seconds=1, until_empty=True,
                                                        shutdown_seconds=10)).run(threading.Event())
    assert graph_totals(neo4j)["objects"] == 7

    # Another transaction holds every dataset's write lock: the consumer's writes wait, neither failing nor
    # finishing, as they do when Neo4j hangs.
    session = neo4j.session()
    blocker = session.begin_transaction()
    blocker.run("MATCH (d:Dataset) SET d.drill_hold = true").consume()
    more = object_events("acme-ml-data", 300, NOW + timedelta(minutes=5), prefix="landing")[7:]
    send(sqs, url, more)
    config = ConsumerConfig(queue_urls=[url], wait_seconds=1, visibility_timeout=4, threads=2, commit_messages=20,
                            max_inflight_messages=50, shutdown_seconds=10)
    consumer = Consumer(app.aws, plain_ingest(app), config)
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,))
    runner.start()
    try:
        wait_for(lambda: len(consumer.inflight) == 50, 60, "the consumer to fill its in-flight bound")
        # What is waiting behind the hung write goes back once it has waited one visibility window.
        wait_for(lambda: consumer.stats.total("handed_back") >= 30, 60, "waiting messages to be handed back")
        assert consumer.stats.total("deleted") == 0
        assert consumer.inflight.peak_messages <= 50
        assert visible(sqs, url) >= len(more) - 50  # the rest stays available to other workers
        blocker.rollback()
        wait_for(lambda: graph_totals(neo4j)["objects"] == 300, 120, "every object once the writes resume")
        wait_for(lambda: depth(sqs, url) == 0, 60, "the queue to drain")
    finally:
        if blocker.closed() is False:
            blocker.rollback()
        session.close()
        stop.set()
        runner.join(20)
        app.close()
    assert not runner.is_alive()
    assert consumer.inflight.peak_messages <= 50
    assert depth(sqs, dlq) == 0
    snapshot = consumer.stats.snapshot()
    assert snapshot["in_flight"]["peak_messages"] <= 50 and snapshot["in_flight"]["max_messages"] == 50


def test_in_flight_bytes_are_bounded_too(settings_env, sim, neo4j):
    sqs = sim.client("sqs")
    url, dlq = make_queue(sqs, "lineage-events", max_receives=5, visibility=30)
    long_prefix = "landing/" + "p" * 900  # S3 keys may be 1,024 bytes: bodies of about 1.9 KB
    events = object_events("acme-ml-data", 120, NOW, prefix=long_prefix)
    send(sqs, url, events)
    app = App(load_settings())
    largest = max(len(json.dumps(e)) for e in events)
    config = ConsumerConfig(queue_urls=[url], wait_seconds=1, threads=2, commit_messages=500, until_empty=True,
                            max_inflight_messages=600, max_inflight_bytes=16 << 10, shutdown_seconds=10)
    consumer = Consumer(app.aws, plain_ingest(app), config)
    try:
        consumer.run(threading.Event())
    finally:
        app.close()
    assert depth(sqs, url) == 0 and depth(sqs, dlq) == 0
    assert graph_totals(neo4j)["objects"] == 120
    # At most the bound plus the batches of the receivers that found room just before it was reached.
    assert consumer.inflight.peak_bytes <= (16 << 10) + config.threads * 10 * largest
    assert consumer.inflight.peak_messages < 120 // 2


def test_a_write_that_waits_past_its_timeout_fails_as_an_outage_to_retry(neo4j):
    GraphWriter(neo4j).write(pipeline_graph("first"))
    writer = GraphWriter(neo4j, timeout_seconds=1)
    with neo4j.session() as session:
        blocker = session.begin_transaction()
        blocker.run("MATCH (p:Pipeline {arn: 'arn:p'}) SET p.drill_hold = true").consume()
        started = time.monotonic()
        try:
            with pytest.raises(Exception) as raised:
                writer.write(pipeline_graph("second"))
        finally:
            blocker.rollback()
    # held and retried by the consumer, not dead-lettered
    assert is_write_outage(raised.value), (getattr(raised.value, "code", None), str(raised.value))
    assert time.monotonic() - started < 30
    writer.write(pipeline_graph("third"))  # the lock gone, writes go through
    records, _, _ = neo4j.execute_query("MATCH (p:Pipeline {arn: 'arn:p'}) RETURN p.name AS name")
    assert records[0]["name"] == "third"


def pipeline_graph(name: str) -> Graph:
    g = Graph()
    g.node("Pipeline", "arn:p", {"name": name})
    return g
