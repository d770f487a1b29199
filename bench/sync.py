"""Sync figures for the demo account: a first (full) sync against a second (incremental) one, side by side.

Run: .venv/bin/python bench/sync.py [--scale N]   (N copies of the demo account's pipelines)
Prints wall time, AWS calls and graph size; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]  # this checkout and its dev tools

from config import load_settings  # noqa: E402
from jobs.app import App  # noqa: E402
from jobs.wiring import run_sync  # noqa: E402
from lineage_dev.demo import PIPELINES_DIR as PIPELINES  # noqa: E402
from lineage_dev.local_neo4j import start_local_neo4j  # noqa: E402
from lineage_dev.sim import start_sim  # noqa: E402
from lineage_dev.sim.account import seed_demo_account, seed_execution, seed_pipeline  # noqa: E402


def seed(sim, scale: int) -> None:
    seed_demo_account(sim)
    from datetime import datetime, timedelta, timezone

    start = datetime.now(timezone.utc) - timedelta(days=2)
    for copy in range(1, scale):
        for path in sorted(PIPELINES.glob("*.json")):
            name = f"{path.stem}-{copy}"
            seed_pipeline(sim, name, json.loads(path.read_text()), {"DomainName": "ml-platform"})
            for run in range(3):
                seed_execution(sim, name, start=start + timedelta(hours=run))


def graph_size(app: App) -> tuple[int, int]:
    with app.driver.session() as session:
        row = session.run("CALL { MATCH (n) RETURN count(n) AS n } CALL { MATCH ()-[r]->() RETURN count(r) AS r } "
                          "RETURN n, r").single()
    return row["n"], row["r"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with start_local_neo4j(browser=False) as neo, start_sim() as sim:
        seed(sim, args.scale)
        app = App(load_settings(neo4j_uri=neo.uri, aws_endpoint_url=sim.endpoint_url, regions=["us-east-1"],
                                log_level="WARNING"))
        app.writer.ensure_schema()
        runs = []
        for label in ("first", "second"):
            started = time.perf_counter()
            report = run_sync(app)
            seconds = time.perf_counter() - started
            nodes, rels = graph_size(app)
            runs.append({"sync": label, "seconds": round(seconds, 3), "aws_calls": sum(report.aws_calls.values()),
                         "executions_fetched": report.executions_fetched,
                         "executions_skipped": report.executions_skipped,
                         "list_steps_calls": report.aws_calls.get("sagemaker.ListPipelineExecutionSteps", 0),
                         "describe_job_calls": sum(n for op, n in report.aws_calls.items()
                                                   if op.startswith("sagemaker.Describe") and op.endswith(("Job", "JobV2"))),
                         "nodes": nodes, "relationships": rels, "pipelines": report.pipelines})
        app.close()
    for run in runs:
        print(f"{run['sync']:>6} sync: {run['pipelines']} pipelines in {run['seconds']:.2f}s, "
              f"{run['aws_calls']} AWS calls ({run['list_steps_calls']} ListPipelineExecutionSteps, "
              f"{run['describe_job_calls']} Describe*Job), executions fetched {run['executions_fetched']}, "
              f"skipped {run['executions_skipped']}; graph {run['nodes']} nodes, {run['relationships']} relationships")
    first, second = runs
    figures = {"scale": args.scale, "first": first, "second": second,
               "calls_ratio_second_to_first": round(second["aws_calls"] / max(1, first["aws_calls"]), 3),
               "time_ratio_second_to_first": round(second["seconds"] / max(1e-9, first["seconds"]), 3)}
    print(f"second/first: AWS calls x{figures['calls_ratio_second_to_first']}, "
          f"time x{figures['time_ratio_second_to_first']}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
