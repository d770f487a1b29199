"""Query speed at a million relationships (issue #9 item 4): the library's main queries on a large account.

    python bench/queries.py [--scale 1.0] [--runs 5] [--params 20] [--time-limit 480] [--seed 7]

Builds a synthetic account THROUGH THE REAL WRITE PATH (GraphWriter.write of Graph objects with the
labels, keys, properties and relationships the collectors produce; the writer refuses anything
graphstore/schema.py does not declare): at --scale 1, 2,000 pipelines of 8 steps (Extract, Preprocess,
Validate, Train, Evaluate: a job each; RegisterModel, CreateModel, Deploy), 7 executions each with their
step runs, jobs and per-execution data, a model package, a model and the pipeline's endpoint per
execution; 6,000 shared datasets read with a Zipf popularity (a few hubs feed hundreds of steps and
thousands of runs and jobs); 4,000 SQL tables upstream in three layers (raw -> stg -> mart,
Table -[:FEEDS {file}]-> Table, each Table -[:STORED_AT]-> a Dataset, the marts at shared datasets),
with their SqlFiles. About 120,000 datasets and steps, 1.05 million relationships.

Then restarts Neo4j on the same store (empty page cache, no cached plans, a cold JIT) and measures, through
`QueryLibrary.run` (node resolution included), for each query: COLD, the first run of each of --params
distinct parameter sets (the very first run of a query also plans it; reported as `first_ms`), then one
warm-up pass, then WARM, --runs runs of each parameter set. Each query gets an equal share of
--time-limit; a query that runs out of it stops early (the samples say how many ran). Targets (these
2-core machines): upstream/downstream depth 6 p95 < 100 ms, impact p95 < 300 ms, pipeline-graph p95 < 50 ms.
The last line is one JSON object with every figure.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]  # this checkout and its dev tools

import itertools  # noqa: E402

from neo4j import GraphDatabase, Query  # noqa: E402

from graphstore.model import Graph, NodeRef  # noqa: E402
from graphstore.queries import QueryLibrary, QueryTimeout  # noqa: E402
from graphstore.writer import GraphWriter  # noqa: E402
from lineage_dev.local_neo4j import start_local_neo4j  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"
SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
DOMAINS = [f"d-{i:010x}" for i in range(10)]
# name, job kind (or None), Metadata key of what it creates
STEPS = [("Extract", "ProcessingJob"), ("Preprocess", "ProcessingJob"), ("Validate", "ProcessingJob"),
         ("Train", "TrainingJob"), ("Evaluate", "ProcessingJob"), ("RegisterModel", None),
         ("CreateModel", None), ("Deploy", None)]
JOB_ARN_TYPE = {"ProcessingJob": "processing-job", "TrainingJob": "training-job"}
# step -> its outputs; step -> its inputs as (input name, producing step, its output) or ("shared", n)
OUTPUTS = {"Extract": ["raw"], "Preprocess": ["train", "test"], "Validate": ["report"], "Train": ["model"],
           "Evaluate": ["evaluation"]}
INPUTS = {"Extract": [("source", "shared"), ("lookup", "shared")],
          "Preprocess": [("input", "Extract", "raw"), ("reference", "shared")],
          "Validate": [("train", "Preprocess", "train")],
          "Train": [("train", "Preprocess", "train"), ("validation", "Preprocess", "test")],
          "Evaluate": [("model", "Train", "model"), ("test", "Preprocess", "test")],
          "RegisterModel": [("model", "Train", "model")],
          "CreateModel": [("model", "Train", "model")]}
TARGETS_MS = {"upstream": 100, "downstream": 100, "impact": 300, "pipeline-graph": 50}


# --- the graph ---------------------------------------------------------------------------------------


class Account:
    """Sizes and names of the synthetic account; graphs come out in chunks of pipelines."""

    def __init__(self, scale: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pipelines = max(10, round(2000 * scale))
        self.executions = 7
        self.shared = max(50, round(6000 * scale))
        self.tables = max(40, round(4000 * scale))
        # Zipf popularity of the shared datasets: weight 1/rank^1.1
        self.weights = [1 / (i + 1) ** 1.1 for i in range(self.shared)]
        self.start = datetime(2024, 6, 1, tzinfo=timezone.utc)
        self.raw_tables = round(self.tables * 0.375)
        self.stg_tables = round(self.tables * 0.375)
        self.mart_tables = self.tables - self.raw_tables - self.stg_tables

    # names
    def pipeline_arn(self, p: int) -> str:
        return f"{SM}:pipeline/team{p % 40}-pipeline-{p}"

    def pipeline_name(self, p: int) -> str:
        return f"team{p % 40}-pipeline-{p}"

    @staticmethod
    def shared_uri(i: int) -> str:
        return f"s3://acme-lake/shared/dataset-{i}/"

    def table_name(self, i: int) -> str:
        if i < self.raw_tables:
            return f"raw.table_{i}"
        if i < self.raw_tables + self.stg_tables:
            return f"stg.table_{i}"
        return f"mart.table_{i}"

    def model_arn(self, p: int, e: int) -> str:
        return f"{SM}:model/{self.pipeline_name(p)}-model-{e}"

    # graphs
    def sql_graph(self) -> Graph:
        """Shared datasets, the SQL tables and files over them."""
        g, rng = Graph(), self.rng
        for i in range(self.shared):
            d = g.node("Dataset", self.shared_uri(i), {"bucket": "acme-lake", "templated": False, "format": "parquet"})
            g.rel("IN_BUCKET", d, g.node("Bucket", "acme-lake"))
        repo = g.node("Repo", "https://git.example.com/acme/warehouse.git")
        for i in range(self.tables):
            table = g.node("Table", self.table_name(i))
            if i < self.raw_tables:
                uri = f"s3://acme-warehouse/raw/table_{i}/"
                d = g.node("Dataset", uri, {"bucket": "acme-warehouse", "templated": False, "format": "parquet"})
                g.rel("IN_BUCKET", d, g.node("Bucket", "acme-warehouse"))
                g.rel("STORED_AT", table, d, {"via": "glue", "location": uri})
                continue
            layer_lo, layer_hi = ((0, self.raw_tables) if i < self.raw_tables + self.stg_tables
                                  else (self.raw_tables, self.raw_tables + self.stg_tables))
            key = f"https://git.example.com/acme/warehouse.git:models/{self.table_name(i).replace('.', '/')}.sql"
            f = g.node("SqlFile", key, {"repo": "https://git.example.com/acme/warehouse.git", "path": key.split(":", 2)[-1]})
            g.rel("IN", f, repo)
            base = {"file": key, "commit": "0" * 40, "dialect": "spark", "blob": f"{i:040x}"}
            g.rel("DEFINES", f, table, base)
            for source in {rng.randrange(layer_lo, layer_hi) for _ in range(rng.randint(1, 3))}:
                src = g.node("Table", self.table_name(source))
                g.rel("READS", f, src, base)
                g.rel("FEEDS", src, table, {**base, "statements": [0], "sql_kind": "insert"}, merge_on=("file",))
            if i >= self.raw_tables + self.stg_tables:  # a mart lives at a shared dataset (the hubs among them)
                m = i - self.raw_tables - self.stg_tables
                uri = self.shared_uri(m % self.shared)
                g.rel("STORED_AT", table, ("Dataset", uri), {"via": "sql", "location": uri, **base})
        return g

    def pipelines_graph(self, first: int, count: int) -> Graph:
        g = Graph()
        for p in range(first, min(first + count, self.pipelines)):
            self._pipeline(g, p)
        return g

    def _shared_pick(self) -> str:
        return self.shared_uri(self.rng.choices(range(self.shared), self.weights)[0])

    def _dataset(self, g: Graph, uri: str, templated: bool) -> NodeRef:
        d = g.node("Dataset", uri, {"bucket": "acme-ml", "templated": templated, "format": "parquet"})
        g.rel("IN_BUCKET", d, ("Bucket", "acme-ml"))
        return d

    def _pipeline(self, g: Graph, p: int) -> None:
        rng, arn, name = self.rng, self.pipeline_arn(p), self.pipeline_name(p)
        dhash = f"{p:016x}"
        modified = self.start - timedelta(days=rng.randint(1, 300))
        domain = DOMAINS[p % len(DOMAINS)]
        pipe = g.node("Pipeline", arn, {"name": name, "region": REGION, "account": ACCOUNT, "status": "Active",
                                        "created": modified - timedelta(days=30), "last_modified": modified,
                                        "domain_name": f"domain-{p % len(DOMAINS)}", "retired": False,
                                        "definition_hash": dhash})
        g.rel("IN_DOMAIN", pipe, g.node("Domain", domain, {"name": f"domain-{p % len(DOMAINS)}"}))
        shared = {s: [self._shared_pick() for _ in INPUTS[s] if _[1] == "shared"] for s in INPUTS}
        steps: dict[str, NodeRef] = {}
        for order, (step, job_kind) in enumerate(STEPS):
            ref = g.node("Step", f"{arn}/{step}", {
                "name": step, "type": "Processing" if job_kind == "ProcessingJob" else
                ("Training" if job_kind else step), "known_type": True, "job_kind": job_kind,
                "pipeline_arn": arn, "order": order, "definition_hash": dhash, "retired": False})
            steps[step] = ref
            g.rel("HAS_STEP", pipe, ref)
        for a, b in itertools.pairwise(STEPS):
            g.rel("PRECEDES", steps[a[0]], steps[b[0]], {"via": "ref:Get", "definition_hash": dhash}, merge_on=("via",))
        g.rel("PRECEDES", steps["Evaluate"], steps["RegisterModel"], {"via": "condition", "label": "if",
                                                                      "definition_hash": dhash}, merge_on=("via",))

        def template(step: str, out: str) -> str:
            return f"s3://acme-ml/{name}/{{ExecutionId}}/{step}/{out}/"

        def concrete(e: int, step: str, out: str) -> str:
            return f"s3://acme-ml/{name}/exec-{e}/{step}/{out}/"

        # definition-level data
        for step, inputs in INPUTS.items():
            picks = iter(shared[step])
            for inp in inputs:
                uri = next(picks) if inp[1] == "shared" else template(inp[1], inp[2])
                d = ("Dataset", uri) if inp[1] == "shared" else self._dataset(g, uri, True)
                g.rel("FEEDS", d, steps[step], {"name": inp[0], "uri": uri, "definition_hash": dhash}, merge_on=("name",))
        for step, outs in OUTPUTS.items():
            for out in outs:
                uri = template(step, out)
                g.rel("PRODUCES", steps[step], self._dataset(g, uri, True),
                      {"name": out, "uri": uri, "definition_hash": dhash}, merge_on=("name",))
        group = g.node("ModelPackageGroup", f"{SM}:model-package-group/{name}", {"name": name})
        endpoint = g.node("Endpoint", f"{SM}:endpoint/{name}", {"name": name})
        # executions
        for e in range(self.executions):
            started = modified + timedelta(days=e + 1, hours=rng.randint(0, 20))
            ended = started + timedelta(hours=2)
            status = "Failed" if rng.random() < 0.08 else "Succeeded"
            exec_arn = f"{arn}/execution/exec-{p}-{e}"
            ex = g.node("PipelineExecution", exec_arn, {"execution_id": f"exec-{p}-{e}", "pipeline_arn": arn,
                                                        "start_time": started},
                        state={"status": status, "end_time": ended, "elapsed_sec": 7200.0, "last_modified": ended},
                        state_time=ended, state_rank=2)
            g.rel("OF", ex, pipe)
            for order, (step, job_kind) in enumerate(STEPS):
                run_start = started + timedelta(minutes=10 * order)
                run = g.node("StepRun", f"{exec_arn}/{step}", {
                    "name": step, "execution_arn": exec_arn, "pipeline_arn": arn, "start_time": run_start,
                    "cache_hit": False, "attempt_count": 1},
                    state={"status": "Succeeded", "end_time": run_start + timedelta(minutes=9), "elapsed_sec": 540.0},
                    state_time=run_start + timedelta(minutes=9), state_rank=2)
                g.rel("IN", run, ex)
                g.rel("RUN_OF", run, steps[step])
                owners = [run]
                if job_kind:
                    job_arn = f"{SM}:{JOB_ARN_TYPE[job_kind]}/{name}-{step}-{e}".lower()
                    job = g.node("Job", job_arn, {"name": job_arn.rsplit('/', 1)[-1], "kind": job_kind,
                                                  "start_time": run_start},
                                 extra_labels=(job_kind,),
                                 state={"status": "Completed", "end_time": run_start + timedelta(minutes=8)},
                                 state_time=run_start + timedelta(minutes=8), state_rank=2)
                    g.rel("RAN_AS", run, job)
                    owners.append(job)
                picks = iter(shared.get(step, []))
                for inp in INPUTS.get(step, []):
                    uri = next(picks) if inp[1] == "shared" else concrete(e, inp[1], inp[2])
                    d = ("Dataset", uri) if inp[1] == "shared" else self._dataset(g, uri, False)
                    if step in ("RegisterModel", "CreateModel"):
                        continue  # the package and model read it, below
                    for owner in owners:
                        g.rel("FEEDS", d, owner, {"name": inp[0], "uri": uri}, merge_on=("name",))
                for out in OUTPUTS.get(step, []):
                    uri = concrete(e, step, out)
                    d = self._dataset(g, uri, False)
                    for owner in owners:
                        g.rel("PRODUCES", owner, d, {"name": out, "uri": uri}, merge_on=("name",))
                model_data = concrete(e, "Train", "model")
                if step == "RegisterModel":
                    mp = g.node("ModelPackage", f"{SM}:model-package/{name}/{e + 1}", {
                        "name": name, "group": name, "version": e + 1, "created": run_start,
                        "model_data_url": model_data, "generated_by": exec_arn},
                        state={"status": "Completed", "approval_status": "Approved" if e % 2 else "PendingManualApproval"},
                        state_time=run_start, state_rank=2)
                    g.rel("IN", mp, group)
                    g.rel("GENERATED_BY", mp, ex)
                    g.rel("FEEDS", ("Dataset", model_data), mp, {"name": "model", "uri": model_data}, merge_on=("name",))
                    g.rel("PRODUCES", run, mp)
                elif step == "CreateModel":
                    model = g.node("Model", self.model_arn(p, e), {"name": f"{name}-model-{e}", "created": run_start,
                                                                   "model_data_url": model_data})
                    g.rel("FEEDS", ("Dataset", model_data), model, {"name": "model", "uri": model_data},
                          merge_on=("name",))
                    g.rel("PRODUCES", run, model)
                elif step == "Deploy":
                    g.rel("PRODUCES", run, endpoint)


def graph_size(driver) -> dict[str, int]:
    row = driver.execute_query(
        "CALL { MATCH (n) RETURN count(n) AS nodes } CALL { MATCH ()-[r]->() RETURN count(r) AS rels } "
        "CALL { MATCH (d:Dataset) RETURN count(d) AS datasets } CALL { MATCH (s:Step) RETURN count(s) AS steps } "
        "RETURN nodes, rels, datasets, steps").records[0]
    return {"nodes": row["nodes"], "relationships": row["rels"], "datasets": row["datasets"], "steps": row["steps"]}


def build(driver, account: Account) -> dict[str, Any]:
    writer = GraphWriter(driver, batch_size=5000)  # the write path as is, in larger transactions
    writer.ensure_schema()
    started = time.perf_counter()
    rows = 0
    rows += (lambda s: s.nodes + s.relationships)(writer.write(account.sql_graph(), source="bench"))
    chunk = 20
    for first in range(0, account.pipelines, chunk):
        stats = writer.write(account.pipelines_graph(first, chunk), source="bench")
        rows += stats.nodes + stats.relationships
        if first and first % 500 == 0:
            print(f"  ... {first} pipelines, {rows} rows, {rows / (time.perf_counter() - started):.0f} rows/s",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    return {"rows_written": rows, "build_seconds": round(seconds, 1), "rows_per_s": round(rows / seconds)}


# --- the queries -------------------------------------------------------------------------------------


def parameter_sets(account: Account, n: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """n distinct parameter sets per query; hubs (the most popular shared datasets, the tables behind them)
    among them."""
    rng = random.Random(seed + 1)
    hubs = [account.shared_uri(i) for i in range(3)]

    def pipeline() -> int:
        return rng.randrange(account.pipelines)

    def dataset() -> str:
        p, e = pipeline(), rng.randrange(account.executions)
        step, outs = rng.choice(list(OUTPUTS.items()))
        return f"s3://acme-ml/{account.pipeline_name(p)}/exec-{e}/{step}/{rng.choice(outs)}/"

    def step() -> str:
        return f"{account.pipeline_arn(pipeline())}/{rng.choice(STEPS)[0]}"

    def model() -> str:
        return account.model_arn(pipeline(), rng.randrange(account.executions))

    def shared() -> str:
        return account.shared_uri(rng.randrange(account.shared))

    def walk_nodes(upstream: bool) -> list[str]:
        kinds = [dataset, step, model, shared] if upstream else [dataset, step, shared]
        out = list(hubs[:2])
        while len(out) < n:
            out.append(kinds[len(out) % len(kinds)]())
        return out[:n]

    marts = [account.table_name(account.raw_tables + account.stg_tables + i) for i in range(account.mart_tables)]
    raws = [account.table_name(i) for i in range(account.raw_tables)]
    impact_nodes = [hubs[0], marts[0]] + [rng.choice(raws) if i % 3 == 0 else rng.choice(marts) if i % 3 == 1
                                          else (dataset() if i % 2 else shared()) for i in range(max(0, n - 2))]
    return {
        "upstream": [{"node": x, "depth": 6} for x in walk_nodes(True)],
        "downstream": [{"node": x, "depth": 6} for x in walk_nodes(False)],
        "impact": [{"node": x, "depth": 6} for x in impact_nodes[:n]],
        "pipeline-graph": [{"pipeline": account.pipeline_name(pipeline())} for _ in range(n)],
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))], 1)


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99),
            "max": round(max(values), 1) if values else None}


def timed(library: QueryLibrary, name: str, params: dict[str, Any]) -> tuple[float, int, bool]:
    started = time.perf_counter()
    try:
        rows = len(library.run(name, params).rows)
        timeout = False
    except QueryTimeout:
        rows, timeout = 0, True
    return (time.perf_counter() - started) * 1000, rows, timeout


def measure(library: QueryLibrary, sets: dict[str, list[dict[str, Any]]], runs: int,
            time_limit: float) -> dict[str, Any]:
    share = time_limit / len(sets)
    results: dict[str, Any] = {}
    for name, params_list in sets.items():
        deadline = time.perf_counter() + share
        cold, warm, timeouts, rows, slowest = [], [], 0, [], (0.0, None)
        for params in params_list:  # cold: the first run of each parameter set
            ms, n, to = timed(library, name, params)
            cold.append(ms)
            rows.append(n)
            timeouts += to
            if time.perf_counter() > deadline:
                break
        done = params_list[:len(cold)]
        for params in done:  # warm-up
            if time.perf_counter() > deadline:
                break
            timed(library, name, params)
        for _ in range(runs):
            for params in done:
                if time.perf_counter() > deadline:
                    break
                ms, _, to = timed(library, name, params)
                warm.append(ms)
                timeouts += to
                if ms > slowest[0]:
                    slowest = (ms, params)
        cold_rest = cold[1:]
        results[name] = {"first_ms": round(cold[0], 1), "cold": summary(cold_rest), "warm": summary(warm),
                         "timeouts": timeouts, "rows_median": sorted(rows)[len(rows) // 2],
                         "slowest_warm": slowest[1]}
        target = TARGETS_MS[name]
        results[name]["target_p95_ms"] = target
        results[name]["met"] = warm != [] and pct(warm, 95) < target
        results[name]["met_cold"] = cold_rest != [] and pct(cold_rest, 95) < target
        print(f"  {name}: done ({len(cold)} cold, {len(warm)} warm)", file=sys.stderr, flush=True)
    return results


def profile(library: QueryLibrary, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """PROFILE of a query's slowest parameter set: db hits and rows by operator, the top ones."""
    spec, values, _ = library.prepare(name, params)
    with library.driver.session(database=library.database) as session:
        plan = session.run(Query("PROFILE " + spec.text(values), timeout=60), values).consume().profile or {}
    hits: dict[str, list[int]] = {}

    def walk(op: dict[str, Any]) -> None:
        kind = op.get("operatorType", "?").split("@")[0]
        entry = hits.setdefault(kind, [0, 0])
        entry[0] += op.get("dbHits", 0)
        entry[1] += op.get("rows", 0)
        for child in op.get("children", []):
            walk(child)

    walk(plan)
    total = sum(h for h, _ in hits.values()) or 1
    top = sorted(hits.items(), key=lambda kv: -kv[1][0])[:4]
    return {"params": params, "db_hits": total,
            "top": [{"operator": k, "db_hits": h, "share": round(h / total, 2), "rows": r} for k, (h, r) in top]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the default account (2,000 pipelines)")
    parser.add_argument("--runs", type=int, default=5, help="warm runs of each parameter set")
    parser.add_argument("--params", type=int, default=20, help="distinct parameter sets per query")
    parser.add_argument("--time-limit", type=float, default=480, help="seconds for all the measurements")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", type=Path, help="a store directory to keep: built there when empty, measured "
                                                   "without a build when an earlier run (same --scale/--seed) built it")
    args = parser.parse_args()
    account = Account(args.scale, args.seed)
    store = args.store or Path(tempfile.mkdtemp(prefix="bench-queries-"))
    reuse = args.store is not None and (store / "built").exists()
    with start_local_neo4j(browser=False, sustained=True, data_dir=store) as neo, \
            GraphDatabase.driver(neo.uri, notifications_min_severity="OFF") as driver:
        built = (build(driver, account) if not reuse
                 else {"rows_written": None, "build_seconds": None, "rows_per_s": None})
        size = graph_size(driver)
    if args.store:
        (store / "built").write_text(json.dumps({"scale": args.scale, "seed": args.seed}))
    # restart on the same store: nothing cached
    with start_local_neo4j(browser=False, sustained=True, data_dir=store) as neo, \
            GraphDatabase.driver(neo.uri, notifications_min_severity="OFF") as driver:
        driver.execute_query("CALL db.awaitIndexes(300)")
        library = QueryLibrary(driver, timeout=30)
        sets = parameter_sets(account, args.params, args.seed)
        started = time.perf_counter()
        results = measure(library, sets, args.runs, args.time_limit)
        measured = time.perf_counter() - started
        profiles = {}
        for name, r in results.items():
            if not r["met"]:
                try:  # PROFILE of a hub walk can exhaust the 2 GB heap: the figures above stand anyway
                    profiles[name] = profile(library, name, r["slowest_warm"] or sets[name][0])
                except Exception as exc:
                    profiles[name] = {"params": r["slowest_warm"] or sets[name][0], "error": type(exc).__name__,
                                      "db_hits": 0, "top": []}
    import shutil
    if not args.store:
        shutil.rmtree(store, ignore_errors=True)

    print(f"graph: {size['nodes']:,} nodes, {size['relationships']:,} relationships, {size['datasets']:,} datasets, "
          f"{size['steps']:,} steps ({account.pipelines:,} pipelines x {len(STEPS)} steps x "
          f"{account.executions} executions)")
    if built["rows_per_s"]:
        print(f"build: {built['rows_written']:,} rows through GraphWriter in {built['build_seconds']} s = "
              f"{built['rows_per_s']:,} rows/s")
    print(f"{'query':<15}{'first':>8} | {'cold p50':>9}{'p95':>8}{'p99':>8} | {'warm p50':>9}{'p95':>8}{'p99':>8}"
          f" | {'target p95':>10}  met   (ms; n cold/warm)")
    for name, r in results.items():
        c, w = r["cold"], r["warm"]
        print(f"{name:<15}{r['first_ms']:>8.0f} | {c['p50'] or 0:>9.1f}{c['p95'] or 0:>8.1f}{c['p99'] or 0:>8.1f} | "
              f"{w['p50'] or 0:>9.1f}{w['p95'] or 0:>8.1f}{w['p99'] or 0:>8.1f} | {r['target_p95_ms']:>10} "
              f"{'yes' if r['met'] else 'NO':>4}   ({c['n']}/{w['n']}"
              f"{', timeouts ' + str(r['timeouts']) if r['timeouts'] else ''})")
    for name, pr in profiles.items():
        if pr.get("error"):
            print(f"PROFILE {name} {pr['params']}: failed ({pr['error']})")
            continue
        ops = ", ".join(f"{t['operator']} {t['share']:.0%} ({t['db_hits']:,} hits, {t['rows']:,} rows)" for t in pr["top"])
        print(f"PROFILE {name} {pr['params']}: {pr['db_hits']:,} db hits; {ops}")
    print(f"measured in {measured:.0f} s (limit {args.time_limit:.0f} s)")
    figures = {"scale": args.scale, "pipelines": account.pipelines, **size, **built,
               "runs": args.runs, "params": args.params, "queries": results,
               "targets_p95_ms": TARGETS_MS, "all_met": all(r["met"] for r in results.values()),
               "measured_seconds": round(measured, 1), "profiles": profiles}
    print(json.dumps(figures, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
