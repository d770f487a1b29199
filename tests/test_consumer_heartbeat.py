"""The visibility heartbeat under CPU starvation: a thread that keeps the interpreter lock for seconds at a
time (what a starved worker sees) makes the extensions land late, and the consumer says so and counts it."""
from __future__ import annotations

import logging
import socket
import sys
import threading
import time

from neo4j import GraphDatabase

from config import load_settings
from graphstore.writer import GraphWriter
from jobs.app import App
from jobs.consumer import Consumer, ConsumerConfig
from jobs.ingest import EventIngest
from jobs.wiring import offline_event_handlers
from tests.test_consumer import make_queue, send
from tests.test_consumer_resilience import NOW, object_events, wait_for


def starve_other_threads(seconds: float) -> None:
    """Hold the interpreter lock: other threads get it back only every few seconds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(3.0)
    try:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            pass
    finally:
        sys.setswitchinterval(interval)


def test_late_visibility_extensions_are_logged_and_counted(settings_env, sim, caplog):
    sqs = sim.client("sqs")
    url, _ = make_queue(sqs, "lineage-events", max_receives=10, visibility=2)
    send(sqs, url, object_events("acme-ml-data", 10, NOW))
    app = App(load_settings())
    with socket.socket() as s:  # nothing listens here: the messages are held, and extended, while Neo4j is away
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unreachable = GraphDatabase.driver(f"bolt://127.0.0.1:{port}", max_transaction_retry_time=0.5)
    writer = GraphWriter(unreachable)
    config = ConsumerConfig(queue_urls=[url], wait_seconds=1, visibility_timeout=2, threads=1, shutdown_seconds=6)
    consumer = Consumer(app.aws, EventIngest(writer, offline_event_handlers(writer)), config)
    stop = threading.Event()
    runner = threading.Thread(target=consumer.run, args=(stop,))
    caplog.set_level(logging.WARNING, logger="lineage.consumer")
    runner.start()
    try:
        wait_for(lambda: len(consumer.inflight) > 0 and consumer.stats.total("extended") >= len(consumer.inflight),
                 60, "the heartbeat to extend the held messages")
        late = lambda: consumer.stats.total("late_extensions") + consumer.stats.total("lapsed_extensions")
        before = late()  # a loaded machine may already make some late: the starvation must add to them
        starve_other_threads(4.0)
        wait_for(lambda: late() > before, 30, "the late extension to be counted")
    finally:
        stop.set()
        runner.join(20)
        unreachable.close()
        app.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "lineage.consumer"]
    assert any("visibility extension" in w and "landed" in w for w in warnings), warnings
    queues = consumer.stats.snapshot()["queues"][url]
    assert queues["late_extensions"] + queues["lapsed_extensions"] > 0
