"""Many workers on one queue: three `consume` processes over a shuffled stream in which every event comes twice
leave exactly the graph one process leaves."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from graphstore.writer import GraphWriter
from lineage_dev.demo import PIPELINES_DIR
from lineage_dev.sim.account import seed_pipeline
from tests.graph_dump import dump
from tests.test_consumer import depth, make_queue, send
from tests.test_consumer_resilience import NOW, object_events, step_events

ROOT = Path(__file__).resolve().parents[1]
# When things were looked at and by whom first, not what was seen: each process checks a bucket's posture and
# scans a dataset when it first meets them, and object_stats_hash stamps the last writer of a dataset's counts.
BOOKKEEPING = {"last_seen", "first_seen", "state_observed_at", "posture_checked_at", "scanned_at", "source",
               "object_stats_hash"}


def stream() -> list[dict]:
    definition = json.loads((PIPELINES_DIR / "daily-scoring.json").read_text())
    steps = [s["Name"] for s in definition["Steps"]][:2]
    events = (step_events("daily-scoring", 6, steps, NOW) + object_events("acme-ml-data", 60, NOW)
              + object_events("acme-ml-data", 20, NOW + timedelta(hours=1), prefix="second"))
    doubled = events + events
    random.Random(7).shuffle(doubled)
    return doubled


def consume_with(processes: int, settings_env: dict, url: str) -> None:
    env = {**os.environ, **settings_env, "LINEAGE_QUEUE_URLS": url, "LINEAGE_QUEUE_WAIT_SECONDS": "2",
           "LINEAGE_CONSUMER_COMMIT_MESSAGES": "25",
           # every object event reads its object's schema: which ones a throttle lets through is a matter of timing
           "LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS": "0", "LINEAGE_S3_READS_PER_SECOND": "0"}
    command = [str(Path(sys.executable).with_name("lineage-collector")), "consume", "--until-empty"]
    running = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    for process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]


def test_three_consumers_leave_the_graph_one_leaves(settings_env, sim, neo4j):
    definition = json.loads((PIPELINES_DIR / "daily-scoring.json").read_text())
    seed_pipeline(sim, "daily-scoring", definition)
    sqs = sim.client("sqs")
    events = stream()
    graphs = []
    for run, processes in enumerate((1, 3)):
        with neo4j.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        GraphWriter(neo4j).ensure_schema()
        url, dlq = make_queue(sqs, f"lineage-events-{run}", max_receives=5)
        send(sqs, url, events)
        consume_with(processes, settings_env, url)
        assert depth(sqs, url) == 0 and depth(sqs, dlq) == 0
        graphs.append(dump(neo4j, ignore=BOOKKEEPING))
    one, three = graphs
    assert len(one[0]) > 50 and len(one[1]) > 50
    differences = (sorted(set(three[0]) ^ set(one[0])), sorted(set(three[1]) ^ set(one[1])))
    assert differences == ([], [])


def test_consume_until_empty_reads_the_schema_reads_still_waiting_out_their_interval(settings_env, sim, neo4j):
    # Two waves of part files into seven folders: each folder's second read waits out the minute between reads
    # of a dataset (LINEAGE_S3_SCHEMA_MIN_INTERVAL_SECONDS' default), and the queue is empty long before.
    sqs = sim.client("sqs")
    url, _ = make_queue(sqs, "lineage-events-stop", max_receives=5)
    send(sqs, url, object_events("acme-ml-data", 7, NOW))
    env = {**os.environ, **settings_env, "LINEAGE_QUEUE_URLS": url, "LINEAGE_QUEUE_WAIT_SECONDS": "10",
           "LINEAGE_LOG_FORMAT": "json"}
    command = [str(Path(sys.executable).with_name("lineage-collector")), "consume", "--until-empty"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    newest = "MATCH (d:Dataset) WHERE d.uri STARTS WITH 's3://acme-ml-data/landing/table' " \
             "RETURN d.uri AS uri, d.newest_object AS newest ORDER BY uri"
    deadline = time.monotonic() + 60
    while len([r for r in neo4j.execute_query(newest).records if r["newest"]]) < 7:
        assert time.monotonic() < deadline and process.poll() is None, "the first wave was never read"
        time.sleep(0.1)
    send(sqs, url, object_events("acme-ml-data", 14, NOW + timedelta(minutes=5))[7:])
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-3000:]
    stopped = [json.loads(line) for line in stderr.splitlines() if '"consumer stopped"' in line]
    assert stopped and stopped[0].get("s3_read_at_stop") == 7, json.dumps(stopped)
    assert [(r["uri"], r["newest"]) for r in neo4j.execute_query(newest).records] == [
        (f"s3://acme-ml-data/landing/table{i}/", f"s3://acme-ml-data/landing/table{i}/part-{i + 7:05d}.parquet")
        for i in range(7)]
