"""Event ingestion throughput, side by side in one run: our handling path against the raw write ceiling.

    python bench/ingest.py [--events 20000] [--sqs-events 5000] [--pipelines 300] [--datasets 300] [--rounds 3]

Generates realistic events (EventBridge step-status and execution-status changes for a few hundred
pipelines, EventBridge S3 object created/deleted events for a few hundred datasets, ~10% of them
deletes), in time order, and measures on the same local Neo4j:

* ours: the consumer's handling path, threaded as in jobs/consumer.py (a receiver thread runs
  `EventIngest.prepare` per receive batch of 10 while the committer `commit`s the previous group of
  --commit messages): parse envelopes, build graph data, one GraphWriter write per group (state
  guards, first/last seen), S3 object statistics in the same transaction, hooks;
* raw: the same rows written with plain batched `UNWIND $rows AS r MERGE (n:Label {key: r.key})
  SET n += r.props ...` (extra labels and state fields set unconditionally; relationships
  `MERGE (a)-[x:T]->(b) SET x += r.props`) in transactions of the same size, and nothing else: the
  rows (GraphWriter's own row builders) and each Dataset's final object statistics per group (as
  plain properties on its row) are computed beforehand; no parsing, no first/last-seen or source
  bookkeeping, no state-time guard, no read-before-write of the statistics, no hooks;
* raw leaving out the object statistics: the graph rows alone (a lower bar for ours, reported too);
* writer only: GraphWriter alone on the same precomputed rows (where the shared write path's own
  cost ends and ours begins).

Each runs --rounds times interleaved (the best of each counts) on an emptied database, after a
warm-up of both sides. The local Neo4j runs with a production JVM (full JIT, G1: `sustained=True`),
and the process uses the consumer's garbage-collector settings (jobs.ingest.tune_gc). Then again
with SQS in the loop (the moto server's SQS): ours is the real Consumer (2 receiver threads, long
polls, DeleteMessageBatch); raw is 2 threads receiving 10 at a time, writing the precomputed rows of
what they received (with the group's object statistics, folded in memory) in groups of the same
size, and deleting. AWS enrichment (first-sight pipeline fetch, terminal-execution fetch) is off:
those are AWS round trips, once per pipeline and per finished execution, not write throughput. The
last line is one JSON object with every figure.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]  # this checkout and its dev tools

from neo4j import GraphDatabase  # noqa: E402

from collector.events.model import S3ObjectEvent  # noqa: E402
from collector.events.s3 import ObjectStats, apply_object_events, dataset_of  # noqa: E402
from graphstore.model import Graph  # noqa: E402
from graphstore.schema import key_of  # noqa: E402
from graphstore.writer import GraphWriter, _node_row, _rel_row  # noqa: E402
from jobs.consumer import Consumer, ConsumerConfig  # noqa: E402
from jobs.ingest import EventIngest, Handled, Message, tune_gc  # noqa: E402
from jobs.wiring import offline_event_handlers  # noqa: E402
from lineage_dev.local_neo4j import start_local_neo4j  # noqa: E402
from lineage_dev.sim import start_sim  # noqa: E402
from tests import event_samples as ev  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
STEPS = [("PreprocessData", "ProcessingJob", "processing-job"), ("TrainModel", "TrainingJob", "training-job"),
         ("EvaluateModel", "ProcessingJob", "processing-job"), ("BatchScore", "TransformJob", "transform-job")]
TX_ROWS = 1000  # rows per transaction, as GraphWriter's default batch size


# --- events ----------------------------------------------------------------------------------------


def generate(n: int, pipelines: int, datasets: int, seed: int = 7) -> list[str]:
    """About n event bodies: ~60% step status, ~10% execution status, ~30% S3 object events, in time order."""
    rng = random.Random(seed)
    start = datetime(2024, 6, 3, tzinfo=timezone.utc)
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    executions = max(1, int(n * 0.70 / (2 + 3 * len(STEPS))))
    for e in range(executions):
        name = f"pipeline-{e % pipelines:03d}"
        pipeline = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{name}"
        execution = f"{pipeline}/execution/{e:012x}"
        t0 = start + timedelta(seconds=rng.randrange(0, 7 * 86400))
        timed.append((t0, len(timed), ev.execution_event(pipeline, execution, "Executing", None, t0, t0,
                                                         display_name=f"run-{e}")))
        t = t0
        for step, kind, resource in STEPS:
            begin, end = t + timedelta(seconds=5), t + timedelta(seconds=rng.randrange(60, 1800))
            row = {"StepName": step, "StepType": kind.removesuffix("Job"), "StartTime": begin, "EndTime": end,
                   "Metadata": {kind: {"Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}/"
                                               f"pipelines-{e:012x}-{step.lower()}"}}}
            for status, previous, when in (("Starting", None, begin), ("Executing", "Starting", begin + timedelta(seconds=1)),
                                           ("Succeeded", "Executing", end + timedelta(seconds=1))):
                timed.append((when, len(timed), ev.step_event(pipeline, execution, row, status, previous, when)))
            t = end
        status = "Failed" if rng.random() < 0.1 else "Succeeded"
        timed.append((t + timedelta(seconds=2), len(timed), ev.execution_event(
            pipeline, execution, status, "Executing", t0, t + timedelta(seconds=2), end=t, display_name=f"run-{e}",
            failure="Step BatchScore failed" if status == "Failed" else None)))
    live: dict[int, list[str]] = defaultdict(list)
    sequence = 0
    while len(timed) < n:
        d = rng.randrange(datasets)
        when = start + timedelta(seconds=rng.randrange(0, 7 * 86400))
        sequence += 1
        if live[d] and rng.random() < 0.1:
            key = live[d].pop(rng.randrange(len(live[d])))
            event = ev.s3_eventbridge("acme-ml-data", key, "deleted", when, sequencer=f"{sequence:018X}")
        else:
            key = f"warehouse/table_{d:03d}/dt={when:%Y-%m-%d}/part-{sequence:05d}-c000.snappy.parquet"
            live[d].append(key)
            event = ev.s3_eventbridge("acme-ml-data", key, "created", when, size=rng.randrange(1 << 20, 1 << 27),
                                      sequencer=f"{sequence:018X}")
        timed.append((when, len(timed), event))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [json.dumps(event) for _, _, event in timed[:n]]


# --- raw rows: the same graph data, plain statements ---------------------------------------------


def plain_work(graph: Graph) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows GraphWriter would send for this graph (its own row builders), as plain MERGE ... SET statements:
    no first/last-seen bookkeeping, no state-time guard."""
    nodes: dict[tuple[str, tuple[str, ...], bool], list[dict[str, Any]]] = defaultdict(list)
    for node in graph.nodes.values():
        nodes[(node.label, node.extra_labels, bool(node.state))].append(_node_row(node))
    rels: dict[tuple[str, str, str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    for rel in graph.rels.values():
        rels[(rel.type, rel.start[0], rel.end[0], rel.merge_on)].append(_rel_row(rel))
    work = []
    for (label, extra, stateful), rows in nodes.items():
        statement = (f"UNWIND $rows AS r MERGE (n:{label} {{{key_of(label)}: r.key}}) SET n += r.props"
                     + "".join(f" SET n:{x}" for x in extra))
        if stateful:
            statement += " SET n += r.state, n.state_time = r.state_time, n.state_rank = r.state_rank"
        work.append((statement, rows))
    for (rel_type, a, b, merge_on), rows in rels.items():
        identity = ", ".join(f"{p}: r.id.{p}" for p in merge_on)
        identity = f" {{{identity}}}" if identity else ""
        work.append((f"UNWIND $rows AS r MERGE (a:{a} {{{key_of(a)}: r.start}}) MERGE (b:{b} {{{key_of(b)}: r.end}}) "
                     f"MERGE (a)-[x:{rel_type}{identity}]->(b) SET x += r.props", rows))
    return work


def raw_write(driver: Any, work: list[tuple[str, list[dict[str, Any]]]]) -> int:
    """Write in transactions of about TX_ROWS rows, statement by statement; returns rows written."""
    batches: list[list[tuple[str, list[dict[str, Any]]]]] = [[]]
    filled = 0
    for statement, rows in work:
        for i in range(0, len(rows), TX_ROWS):
            chunk = rows[i:i + TX_ROWS]
            if filled and filled + len(chunk) > TX_ROWS:
                batches.append([])
                filled = 0
            batches[-1].append((statement, chunk))
            filled += len(chunk)

    def run(tx: Any, batch: list[tuple[str, list[dict[str, Any]]]]) -> None:
        for statement, rows in batch:
            tx.run(statement, rows=rows).consume()

    with driver.session() as session:
        for batch in batches:
            if batch:
                session.execute_write(run, batch)
    return sum(len(rows) for _, rows in work)


def prepared(bodies: list[str]) -> list[Handled]:
    writer = GraphWriter(None)  # prepare only: never writes
    ingest = EventIngest(writer, offline_event_handlers(writer))
    return ingest.prepare(Message("bench", str(i), b) for i, b in enumerate(bodies))


class ObjectStatsFold:
    """Object statistics folded in memory, group by group: what ours ends up storing on each Dataset."""

    def __init__(self) -> None:
        self.current: dict[str, ObjectStats] = {}

    def group(self, handled: list[Handled]) -> dict[str, dict[str, Any]]:
        by_dataset: dict[str, list[S3ObjectEvent]] = defaultdict(list)
        for h in handled:
            for event in h.data(S3ObjectEvent):
                by_dataset[dataset_of(event)].append(event)
        props = {}
        for uri, events in by_dataset.items():
            self.current[uri] = apply_object_events(self.current.get(uri, ObjectStats()), events)
            props[uri] = self.current[uri].as_props()
        return props


def with_object_stats(work: list[tuple[str, list[dict[str, Any]]]],
                      stats: dict[str, dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The plain rows with each Dataset's statistics as properties of its own row (new dicts, nothing
    shared): graph_with_object_stats for rows already planned per message."""
    dataset = f"MERGE (n:Dataset {{{key_of('Dataset')}: r.key}})"
    return [(statement, [{**r, "props": {**r["props"], **stats.get(r["key"], {})}} for r in rows]
             if dataset in statement else rows) for statement, rows in work]


def graph_with_object_stats(graph: Graph, stats: dict[str, dict[str, Any]]) -> Graph:
    """A copy of the graph with each Dataset's statistics as plain node properties."""
    copy = merged([graph])
    for uri, props in stats.items():
        copy.nodes[("Dataset", uri)].props.update(props)
    return copy


def combined(works: list[list[tuple[str, list[dict[str, Any]]]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    by_statement: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for work in works:
        for statement, rows in work:
            by_statement[statement].extend(rows)
    return [(s, rows) for s, rows in by_statement.items() if s.startswith("UNWIND $rows AS r MERGE (n:")] + \
        [(s, rows) for s, rows in by_statement.items() if not s.startswith("UNWIND $rows AS r MERGE (n:")]


def merged(graphs: list[Graph]) -> Graph:
    graph = Graph()
    for g in graphs:
        graph.update(g)
    return graph


# --- runs ------------------------------------------------------------------------------------------


def reset(driver: Any) -> None:
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def ours_without_sqs(writer: GraphWriter, bodies: list[str], group: int) -> float:
    """The consumer's handling path minus SQS: a receiver thread prepares receive batches of 10 while
    the committer writes the previous group of `group` messages (as jobs/consumer.py overlaps them)."""
    ingest = EventIngest(writer, offline_event_handlers(writer))
    messages = [Message("bench", str(i), b) for i, b in enumerate(bodies)]
    ready: queue.Queue[list[Handled] | None] = queue.Queue(maxsize=2)

    def prepare() -> None:
        for g in range(0, len(messages), group):
            handled: list[Handled] = []
            for b in range(g, min(g + group, len(messages)), 10):
                handled += ingest.prepare(messages[b:b + 10])
                time.sleep(0)  # where a receiver waits on SQS: the committer gets the GIL back at once
            ready.put(handled)
        ready.put(None)

    started = time.perf_counter()
    preparer = threading.Thread(target=prepare, name="bench-prepare", daemon=True)
    preparer.start()
    while (handled := ready.get()) is not None:
        ingest.commit(handled)
    preparer.join()
    return time.perf_counter() - started


def writer_only(writer: GraphWriter, groups: list[Graph]) -> float:
    """GraphWriter alone on the same (precomputed) group graphs: where the write path's own cost ends."""
    started = time.perf_counter()
    for graph in groups:
        writer.write(graph, source="event")
    return time.perf_counter() - started


def raw_without_sqs(driver: Any, works: list[list[tuple[str, list[dict[str, Any]]]]]) -> float:
    started = time.perf_counter()
    for work in works:
        raw_write(driver, work)
    return time.perf_counter() - started


def fill_queue(sqs: Any, bodies: list[str], name: str) -> str:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    for i in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": body, "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i + j)}}}
            for j, body in enumerate(bodies[i:i + 10])])
    return url


def ours_with_sqs(aws: Any, writer: GraphWriter, url: str, group: int, threads: int) -> tuple[float, int]:
    config = ConsumerConfig(queue_urls=[url], wait_seconds=0, batch_size=10, visibility_timeout=120, threads=threads,
                            commit_messages=group, poison_policy="delete", until_empty=True)
    consumer = Consumer(aws, EventIngest(writer, offline_event_handlers(writer)), config)
    started = time.perf_counter()
    stats = consumer.run(threading.Event())
    return time.perf_counter() - started, stats.total("deleted")


def raw_with_sqs(sqs: Any, driver: Any, url: str, per_message: list[list[tuple[str, list[dict[str, Any]]]]],
                 handled: list[Handled], group: int, threads: int) -> tuple[float, int]:
    """Receive 10 at a time in `threads` threads; one writer writes each group's precomputed rows (with the
    group's object statistics, folded in memory), then deletes."""
    fold = ObjectStatsFold()
    ready: queue.Queue[list[dict[str, Any]]] = queue.Queue(maxsize=2 * group // 10)
    done = threading.Event()
    deleted = [0]

    def receive() -> None:
        while not done.is_set():
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=120,
                                      MessageAttributeNames=["All"]).get("Messages", [])
            if not got:
                done.set()
                return
            ready.put(got)

    def write() -> None:
        while True:
            try:
                batch = ready.get(timeout=0.2)
            except queue.Empty:
                if done.is_set() and all(not t.is_alive() for t in receivers):
                    return
                continue
            messages = list(batch)
            while len(messages) < group:
                try:
                    messages += ready.get_nowait()
                except queue.Empty:
                    break
            numbers = [int(m["MessageAttributes"]["n"]["StringValue"]) for m in messages]
            stats = fold.group([handled[n] for n in numbers])
            raw_write(driver, with_object_stats(combined([per_message[n] for n in numbers]), stats))
            for i in range(0, len(messages), 10):
                chunk = messages[i:i + 10]
                response = sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(chunk)])
                deleted[0] += len(response.get("Successful", []))

    started = time.perf_counter()
    receivers = [threading.Thread(target=receive) for _ in range(threads)]
    writer = threading.Thread(target=write)
    for thread in (*receivers, writer):
        thread.start()
    for thread in (*receivers, writer):
        thread.join()
    return time.perf_counter() - started, deleted[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--sqs-events", type=int, default=5000)
    parser.add_argument("--pipelines", type=int, default=300)
    parser.add_argument("--datasets", type=int, default=300)
    parser.add_argument("--commit", type=int, default=500, help="messages per graph write (LINEAGE_CONSUMER_COMMIT_MESSAGES)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, interleaved; the best counts")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("neo4j", "lineage"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    bodies = generate(args.events, args.pipelines, args.datasets)
    sqs_bodies = bodies[:args.sqs_events]
    handled = prepared(bodies)
    graphs = [h.graph for h in handled]
    fold = ObjectStatsFold()
    group_stats = [fold.group(handled[g:g + args.commit]) for g in range(0, len(handled), args.commit)]
    groups = [merged(graphs[g:g + args.commit]) for g in range(0, len(graphs), args.commit)]
    writer_groups = [graph_with_object_stats(graph, stats) for graph, stats in zip(groups, group_stats, strict=True)]
    works = [plain_work(graph) for graph in writer_groups]
    graph_works = [plain_work(graph) for graph in groups]
    rows = sum(len(r) for work in works for _, r in work)
    kinds = {"step": sum("Step Status Change" in b for b in bodies),
             "execution": sum("Pipeline Execution Status Change" in b for b in bodies),
             "s3": sum('"aws.s3"' in b for b in bodies)}
    print(f"{len(bodies)} events ({kinds['step']} step status, {kinds['execution']} execution status, "
          f"{kinds['s3']} S3 object) for {args.pipelines} pipelines and {args.datasets} datasets; "
          f"{rows} rows in groups of {args.commit} messages", flush=True)
    # The consumer process's settings (`consume` and `run` apply them), for both sides: among other things
    # they freeze what was computed up front (bodies, the raw side's rows) out of every collection.
    tune_gc()

    with start_local_neo4j(browser=False, sustained=True) as neo, start_sim() as sim:
        driver = GraphDatabase.driver(neo.uri, notifications_min_severity="OFF")
        writer = GraphWriter(driver)
        writer.ensure_schema()
        # Warm up both sides (statement plans, the JIT) on a quarter of the work.
        ours_without_sqs(writer, bodies[:len(bodies) // 4], args.commit)
        reset(driver)
        raw_without_sqs(driver, works[:len(works) // 4])
        reset(driver)
        writer_only(writer, writer_groups[:len(writer_groups) // 4])

        runs = {"ours": lambda: ours_without_sqs(writer, bodies, args.commit),
                "raw": lambda: raw_without_sqs(driver, works),
                "raw_graph_only": lambda: raw_without_sqs(driver, graph_works),
                "writer_only": lambda: writer_only(writer, writer_groups)}
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                reset(driver)
                seconds[name].append(round(run(), 3))
        no_sqs: dict[str, Any] = {"events": len(bodies)}
        no_sqs.update({f"{name}_eps": round(len(bodies) / min(times), 1) for name, times in seconds.items()})
        no_sqs.update({f"{name}_seconds": times for name, times in seconds.items()})
        no_sqs["ratio"] = round(no_sqs["ours_eps"] / no_sqs["raw_eps"], 3)
        no_sqs["writer_only_ratio"] = round(no_sqs["writer_only_eps"] / no_sqs["raw_eps"], 3)
        no_sqs["ratio_to_raw_graph_only"] = round(no_sqs["ours_eps"] / no_sqs["raw_graph_only_eps"], 3)
        print(f"without SQS: ours {no_sqs['ours_eps']:.0f} events/s, raw UNWIND...MERGE {no_sqs['raw_eps']:.0f} "
              f"events/s, ratio {no_sqs['ratio']:.2f}", flush=True)
        print(f"  GraphWriter alone on the same rows: {no_sqs['writer_only_eps']:.0f} events/s, ratio "
              f"{no_sqs['writer_only_ratio']:.2f}; raw leaving out the object statistics: "
              f"{no_sqs['raw_graph_only_eps']:.0f} events/s, ours to it {no_sqs['ratio_to_raw_graph_only']:.2f}",
              flush=True)

        with_sqs: dict[str, Any] = {"events": 0, "skipped": "--sqs-events 0"}
        if sqs_bodies:
            from collector.aws import Aws

            aws = Aws(endpoint_url=sim.endpoint_url)
            sqs = sim.client("sqs")
            reset(driver)
            ours_url = fill_queue(sqs, sqs_bodies, "bench-ours")
            ours_seconds, ours_deleted = ours_with_sqs(aws, writer, ours_url, args.commit, args.threads)
            reset(driver)
            raw_url = fill_queue(sqs, sqs_bodies, "bench-raw")
            per_message = [plain_work(g) for g in graphs[:len(sqs_bodies)]]
            raw_seconds, raw_deleted = raw_with_sqs(sqs, driver, raw_url, per_message, handled, args.commit, args.threads)
            assert ours_deleted == raw_deleted == len(sqs_bodies), (ours_deleted, raw_deleted)
            with_sqs = {"events": len(sqs_bodies), "ours_eps": round(len(sqs_bodies) / ours_seconds, 1),
                        "raw_eps": round(len(sqs_bodies) / raw_seconds, 1),
                        "ours_seconds": round(ours_seconds, 3), "raw_seconds": round(raw_seconds, 3)}
            with_sqs["ratio"] = round(with_sqs["ours_eps"] / with_sqs["raw_eps"], 3)
            print(f"with SQS (moto server): ours {with_sqs['ours_eps']:.0f} events/s, raw receive+UNWIND...MERGE+delete "
                  f"{with_sqs['raw_eps']:.0f} events/s, ratio {with_sqs['ratio']:.2f}", flush=True)
        driver.close()

    figures = {"events": kinds, "commit_messages": args.commit, "threads": args.threads, "rows": rows,
               "without_sqs": no_sqs, "with_sqs": with_sqs,
               "targets": {"ratio_without_sqs": 0.5, "events_per_second": 1000,
                           "met": no_sqs["ratio"] >= 0.5 and no_sqs["ours_eps"] >= 1000}}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
