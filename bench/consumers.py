"""Events per second with 1, 2 and 4 consumer processes on one queue and one Neo4j, side by side in one run.

    python bench/consumers.py [--events 20000] [--processes 1,2,4] [--rounds 2]

The events are bench/ingest.py's (step and execution status changes for a few hundred pipelines, S3 object
events for a few hundred datasets, in time order). For each round and each process count: an emptied database,
a fresh queue in the simulated account (moto's SQS) holding every event, then that many processes, each the
real consumer (jobs.consumer.Consumer: 2 receiver threads, long polls, commits of 500 messages, batched
deletes) with the event path's offline handlers (no first-sight AWS fetches, which are per pipeline, not per
event), started together; the time is from the first consumer's start (after its process started and
imported) to the last one's end, the queue empty (it ends after one empty long poll of 1 s). The
best round of each counts. Every process, the moto server and Neo4j share this machine's cores, so the
figures show how far one machine scales, not a cluster; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools"), str(ROOT / "bench")]


def child(url: str, endpoint: str, neo4j_uri: str) -> None:
    """One consumer process: drain the queue with the offline handlers; print what it deleted."""
    from neo4j import GraphDatabase

    from collector.aws import Aws
    from graphstore.writer import GraphWriter
    from jobs.consumer import Consumer, ConsumerConfig
    from jobs.ingest import EventIngest, tune_gc
    from jobs.wiring import offline_event_handlers

    tune_gc()
    with GraphDatabase.driver(neo4j_uri, notifications_min_severity="OFF") as driver:
        writer = GraphWriter(driver)
        config = ConsumerConfig(queue_urls=[url], wait_seconds=1, batch_size=10, visibility_timeout=120, threads=2,
                                commit_messages=500, poison_policy="delete", until_empty=True)
        consumer = Consumer(Aws(endpoint_url=endpoint), EventIngest(writer, offline_event_handlers(writer)), config)
        started = time.time()
        stats = consumer.run(threading.Event())
        ended = time.time()
    print(json.dumps({"deleted": stats.total("deleted"), "failed": stats.total("failed"), "started": started,
                      "ended": ended}))


def run(processes: int, url: str, endpoint: str, neo4j_uri: str) -> tuple[float, int]:
    command = [sys.executable, __file__, "--child", url, "--endpoint", endpoint, "--neo4j", neo4j_uri]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(processes)]
    reports = []
    for process in running:
        out, _ = process.communicate(timeout=1800)
        if process.returncode:
            raise SystemExit(f"a consumer process failed (exit {process.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    # from the first consumer's start to the last one's end (process start-up and imports left out)
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    return seconds, sum(r["deleted"] for r in reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--neo4j", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    if args.child:
        child(args.child, args.endpoint, args.neo4j)
        return

    from ingest import fill_queue, generate, reset
    from neo4j import GraphDatabase

    from graphstore.writer import GraphWriter
    from lineage_dev.local_neo4j import start_local_neo4j
    from lineage_dev.sim import start_sim

    counts = [int(p) for p in args.processes.split(",")]
    bodies = generate(args.events, pipelines=300, datasets=300)
    best: dict[int, float] = {}
    with start_local_neo4j(browser=False, sustained=True) as neo, start_sim() as sim, \
            GraphDatabase.driver(neo.uri, notifications_min_severity="OFF") as driver:
        GraphWriter(driver).ensure_schema()
        sqs = sim.client("sqs")
        for round_ in range(args.rounds):
            for n in counts:
                reset(driver)
                GraphWriter(driver).ensure_schema()
                url = fill_queue(sqs, bodies, f"bench-consumers-{round_}-{n}")
                seconds, deleted = run(n, url, sim.endpoint_url, neo.uri)
                if deleted < len(bodies):
                    raise SystemExit(f"{n} processes deleted {deleted} of {len(bodies)} messages")
                best[n] = min(best.get(n, seconds), seconds)
                print(f"round {round_ + 1}: {n} process(es): {len(bodies):,} events in {seconds:.1f} s = "
                      f"{len(bodies) / seconds:,.0f} events/s", file=sys.stderr, flush=True)
    one = best[counts[0]]
    figures = {"events": len(bodies), "cores": os.cpu_count(),
               "events_per_s": {str(n): round(len(bodies) / s) for n, s in best.items()},
               "speedup": {str(n): round(one / s, 2) for n, s in best.items()}}
    for n, s in best.items():
        print(f"{n} process(es): {len(bodies) / s:,.0f} events/s (x{one / s:.2f} of {counts[0]})")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
