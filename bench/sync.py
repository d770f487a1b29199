"""Sync figures for the demo account: a first (full) sync against a second (incremental) one, side by side.

Run: .venv/bin/python bench/sync.py [--scale N]   (N copies of the demo account's pipelines)
Prints wall time, AWS calls and graph size, then the calls per resource kind (pipelines, executions, jobs,
models, endpoint configs, endpoints, feature groups...) split into list, describe and other calls, for both
syncs side by side; the last line is one JSON object. The seeded account is the demo's, Feature Store and
endpoint included.
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

VERBS = ("List", "Describe", "Get", "Search", "Query", "Batch")


def resource_of(operation: str) -> tuple[str, str]:
    """'sagemaker.DescribeEndpointConfig' -> ('sagemaker.EndpointConfig', 'describe'): kind of resource, kind of call."""
    service, name = operation.split(".", 1)
    verb = next((v for v in VERBS if name.startswith(v)), "")
    noun = name[len(verb):].removesuffix("V2")
    if verb == "List" and noun.endswith("s"):
        noun = noun.removesuffix("es" if noun.endswith(("sses", "ches")) else "s")
    call = verb.lower() if verb in ("List", "Describe") else "other"
    return f"{service}.{noun or name}", call


def calls_by_resource(calls: dict[str, int]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for operation, count in calls.items():
        resource, call = resource_of(operation)
        row = table.setdefault(resource, {"list": 0, "describe": 0, "other": 0})
        row[call] += count
    return dict(sorted(table.items()))


def seed(sim, scale: int) -> None:
    seed_demo_account(sim, feature_store=True)
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
                         "nodes": nodes, "relationships": rels, "pipelines": report.pipelines,
                         "by_resource": calls_by_resource(dict(report.aws_calls))})
        app.close()
    for run in runs:
        print(f"{run['sync']:>6} sync: {run['pipelines']} pipelines in {run['seconds']:.2f}s, "
              f"{run['aws_calls']} AWS calls ({run['list_steps_calls']} ListPipelineExecutionSteps, "
              f"{run['describe_job_calls']} Describe*Job), executions fetched {run['executions_fetched']}, "
              f"skipped {run['executions_skipped']}; graph {run['nodes']} nodes, {run['relationships']} relationships")
    first, second = runs
    print(f"\n{'calls per resource':<42} {'first: list describe other':>28} {'second: list describe other':>29}")
    for resource in sorted(set(first["by_resource"]) | set(second["by_resource"])):
        a, b = (run["by_resource"].get(resource, {"list": 0, "describe": 0, "other": 0}) for run in runs)
        print(f"{resource:<42} {a['list']:>13} {a['describe']:>8} {a['other']:>5} "
              f"{b['list']:>14} {b['describe']:>8} {b['other']:>5}")
    figures = {"scale": args.scale, "first": first, "second": second,
               "calls_ratio_second_to_first": round(second["aws_calls"] / max(1, first["aws_calls"]), 3),
               "time_ratio_second_to_first": round(second["seconds"] / max(1e-9, first["seconds"]), 3),
               "describe_calls_second": sum(row["describe"] for row in second["by_resource"].values())}
    print(f"second/first: AWS calls x{figures['calls_ratio_second_to_first']}, "
          f"time x{figures['time_ratio_second_to_first']}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
