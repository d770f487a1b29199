"""S3 schema extraction figures, side by side in one run:

A. Parquet: bytes fetched (counted by the simulated S3 server) to learn a schema from the footer,
   against reading the whole object, for objects from 1 MB to 200 MB and one with a wide footer.
B. Object-event bursts: S3 requests caused by 10,000 part-file events of one dataset, and by 10,000
   events spread over 100 datasets, against one read per event.
C. Schema history: bytes and requests per partition for a history scan of a 100-partition dataset
   (pyarrow Parquet, three schema changes), all partitions read and sampled (20, then bisection).

Run: .venv/bin/python bench/s3_schema.py [--skip-burst]
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]  # this checkout and its dev tools

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from collector.s3.extract import ExtractOptions, extract  # noqa: E402
from collector.s3.objects import ObjectReader, ObjectRef  # noqa: E402
from lineage_dev.sim import start_sim  # noqa: E402

BUCKET = "bench-lake"
MB = 1024 * 1024


def write_parquet(path: str, size: int, row_groups: int, columns: int = 3) -> int:
    """~size bytes of incompressible data in `row_groups` row groups (one random block reused)."""
    rows = 64
    payload = os.urandom(max(1, size // row_groups // rows))
    fields = {"id": pa.array(range(rows), pa.int64()), "payload": pa.array([payload] * rows, pa.binary())}
    for i in range(columns - 2):
        fields[f"feature_{i:03d}"] = pa.array([float(i)] * rows, pa.float64())
    batch = pa.table(fields)
    with pq.ParquetWriter(path, batch.schema, compression="none", use_dictionary=False) as writer:
        for _ in range(row_groups):
            writer.write_table(batch)
    return os.path.getsize(path)


def parquet_figures(sim, s3) -> list[dict]:
    cases = [("1 MB", 1 * MB, 4, 3), ("16 MB", 16 * MB, 32, 3), ("64 MB", 64 * MB, 64, 3),
             ("200 MB", 200 * MB, 200, 3), ("wide: 400 columns x 100 row groups", 16 * MB, 100, 400)]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, size, groups, columns in cases:
            path = os.path.join(tmp, "x.parquet")
            actual = write_parquet(path, size, groups, columns)
            key = f"bench/{label.split(':')[0].replace(' ', '')}/part-00000.parquet"
            with open(path, "rb") as f:
                s3.put_object(Bucket=BUCKET, Key=key, Body=f)
            row = {"case": label, "object_bytes": actual, "row_groups": groups, "columns": columns}
            for mode, options in (("footer", ExtractOptions()), ("strict_8_bytes_first", ExtractOptions(footer_read_bytes=8))):
                sim.reset_counts()
                started = time.perf_counter()
                obs = extract(ObjectReader(s3), ObjectRef(BUCKET, key), options)
                assert obs.status == "ok", obs.reason
                row[f"{mode}_bytes"] = sim.bytes_out()["s3.GetObject"]
                row[f"{mode}_requests"] = sim.counts()["s3.GetObject"]
                row[f"{mode}_seconds"] = round(time.perf_counter() - started, 4)
            sim.reset_counts()
            started = time.perf_counter()
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            pq.read_schema(io.BytesIO(body))
            row["whole_object_bytes"] = sim.bytes_out()["s3.GetObject"]
            row["whole_object_seconds"] = round(time.perf_counter() - started, 4)
            row["footer_fraction"] = round(row["footer_bytes"] / actual, 8)
            row["whole_vs_footer_bytes_ratio"] = round(row["whole_object_bytes"] / row["footer_bytes"], 1)
            out.append(row)
            s3.delete_object(Bucket=BUCKET, Key=key)
    return out


def history_figures(sim, s3) -> list[dict]:
    from collector.s3.history import partitions_of, read_history
    from collector.s3.objects import list_objects

    prefix = "history/orders/"
    for day in range(100):  # changes at partitions 25 (column added), 50 (type changed), 80 (column removed)
        rows = 5000  # ~1 MB per object: a 200-byte random payload per row
        columns = {"id": pa.array(range(rows), pa.int64()), "amount": pa.array([day * 1.5] * rows),
                   "note": pa.array(["x" * 40] * rows), "payload": pa.array([os.urandom(200) for _ in range(rows)])}
        if day >= 25:
            columns["channel"] = pa.array(["web"] * rows)
        if day >= 50:
            columns["amount"] = pa.array([str(day)] * rows)
        if day >= 80:
            del columns["note"]
        sink = io.BytesIO()
        pq.write_table(pa.table(columns), sink, row_group_size=1000, compression="snappy")
        date = datetime(2024, 1, 1) + timedelta(days=day)
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}dt={date:%Y-%m-%d}/part-00000-{day:03d}.snappy.parquet",
                      Body=sink.getvalue())
    objects = list(list_objects(s3, BUCKET, prefix))
    parts = partitions_of(f"s3://{BUCKET}/{prefix}", objects)
    data_bytes = sum(o.size or 0 for o in objects)
    out = []
    for label, limit in (("100 partitions, all read", 200), ("100 partitions, sampled 20 + bisection", 20)):
        sim.reset_counts()
        started = time.perf_counter()
        history = read_history(f"s3://{BUCKET}/{prefix}", parts, lambda o: extract(ObjectReader(s3), o), limit)
        fetched = sim.bytes_out()["s3.GetObject"]
        out.append({
            "case": label, "partitions": len(parts), "partitions_read": len(history.read),
            "versions": len(history.versions),
            "first_partitions": [v.first.path for v in history.versions],
            "bytes_read": fetched, "bytes_per_partition_read": round(fetched / len(history.read)),
            "get_requests": sim.counts()["s3.GetObject"], "s3_requests": sum(sim.counts().values()),
            "dataset_bytes": data_bytes, "seconds": round(time.perf_counter() - started, 3),
        })
    return out


def seed_objects(sim, keys: list[str], body: bytes) -> None:
    """10,000 real objects in a second: straight into moto's in-process store (PutObject over HTTP would
    take a minute and is not what is measured here)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[sim.account_id]["aws"]
    for key in keys:
        backend.put_object(BUCKET, key, body)


def burst_figures(sim, s3) -> list[dict]:
    from collector.events.model import S3ObjectEvent
    from config import load_settings
    from jobs.app import App
    from jobs.sources.s3 import build_s3_object_hook
    from lineage_dev.local_neo4j import start_local_neo4j

    sink = io.BytesIO()
    pq.write_table(pa.table({"id": [1], "v": ["x"]}), sink)
    body = sink.getvalue()
    results = []
    with start_local_neo4j(browser=False) as neo:
        app = App(load_settings(neo4j_uri=neo.uri, aws_endpoint_url=sim.endpoint_url, regions=["us-east-1"],
                                log_level="WARNING", s3_schema_min_interval_seconds=2, s3_reads_per_second=5))
        app.writer.ensure_schema()
        for label, datasets in (("10,000 part files of 1 dataset", 1), ("10,000 part files over 100 datasets", 100)):
            start = datetime(2024, 1, 31, tzinfo=timezone.utc)
            keys = [f"burst{datasets}/t{i % datasets:03d}/dt=2024-01-31/part-{i:05d}.snappy.parquet"
                    for i in range(10_000)]
            seed_objects(sim, keys, body)
            events = [S3ObjectEvent(BUCKET, key, "created", start + timedelta(milliseconds=i), len(body), f"e{i}")
                      for i, key in enumerate(keys)]
            hook = build_s3_object_hook(app)
            sim.reset_counts()
            started = time.perf_counter()
            for i in range(0, len(events), 10):
                hook(events[i:i + 10])
            delivered = time.perf_counter() - started
            hook.wait_idle(timeout=120)
            hook.close()
            calls = sim.counts()
            results.append({
                "case": label, "events": len(events), "datasets": datasets,
                "get_object": calls["s3.GetObject"], "s3_requests": sum(calls.values()),
                "posture_requests": sum(n for op, n in calls.items() if op.startswith("s3.GetBucket")
                                        or op == "s3.GetPublicAccessBlock"),
                "naive_get_object": len(events), "events_per_read": round(len(events) / max(1, calls["s3.GetObject"])),
                "hook_seconds_for_all_events": round(delivered, 3), "seconds_until_idle": round(time.perf_counter() - started, 2),
            })
        app.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-burst", action="store_true", help="Parquet figures only (no Neo4j needed)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    figures: dict = {}
    with start_sim() as sim:
        s3 = sim.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        figures["parquet"] = parquet_figures(sim, s3)
        print(f"{'case':<38} {'object':>13} {'footer read':>12} {'reqs':>4} {'strict':>9} {'reqs':>4} "
              f"{'whole read':>13} {'whole/footer':>12}")
        for r in figures["parquet"]:
            print(f"{r['case']:<38} {r['object_bytes']:>13,} {r['footer_bytes']:>12,} {r['footer_requests']:>4} "
                  f"{r['strict_8_bytes_first_bytes']:>9,} {r['strict_8_bytes_first_requests']:>4} "
                  f"{r['whole_object_bytes']:>13,} {r['whole_vs_footer_bytes_ratio']:>11,.1f}x")
        figures["history"] = history_figures(sim, s3)
        for h in figures["history"]:
            print(f"history, {h['case']}: {h['partitions_read']} read, {h['bytes_per_partition_read']:,} B per partition "
                  f"({h['bytes_read']:,} B of {h['dataset_bytes']:,}), {h['get_requests']} GETs; versions first seen at "
                  f"{', '.join(h['first_partitions'])}")
        if not args.skip_burst:
            figures["bursts"] = burst_figures(sim, s3)
            for b in figures["bursts"]:
                print(f"{b['case']}: {b['get_object']} GetObject ({b['s3_requests']} S3 requests incl. "
                      f"{b['posture_requests']} for bucket posture) vs {b['naive_get_object']:,} naive; "
                      f"hook took {b['hook_seconds_for_all_events']}s for all events, idle after {b['seconds_until_idle']}s")
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
