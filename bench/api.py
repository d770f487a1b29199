"""HTTP API throughput and latency on loopback: requests/s, p50 and p95 with 1, 4 and 16 concurrent clients.

    python bench/api.py [--requests 300] [--max-seconds 15] [--uri bolt://...] [--pipeline NAME]
                        [--query upstream] [--param k=v ...]

Without --uri it starts a throwaway local Neo4j (production JVM settings) and builds the query graph of
tests/query_graph.py into it with the real collectors (the demo account synced, S3 schemas, events, SQL from
Git); with --uri it reads that graph as it is (NEO4J_USERNAME/NEO4J_PASSWORD from the environment). The API
runs as `lineage-collector serve` in its own process on a free loopback port (so clients and server do not
share an interpreter); each client is a thread with its own keep-alive connection. For each path
(`GET /lineage?pipeline=...` and `GET /queries/NAME?...`, by default upstream with the library's example
parameters), after a warm-up (the first run of a Cypher text plans it), each client count runs until
--requests answers or --max-seconds, whichever comes first. Readable lines, then one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]  # this checkout and its dev tools

import httpx  # noqa: E402

from graphstore.queries import query  # noqa: E402

CLIENTS = (1, 4, 16)
WARM_UP = 20


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def local_graph() -> Iterator[str]:
    """A throwaway Neo4j holding the query graph; yields its Bolt URI."""
    from neo4j import GraphDatabase

    from graphstore.writer import GraphWriter
    from lineage_dev.local_neo4j import start_local_neo4j
    from tests.query_graph import main as build_query_graph

    with start_local_neo4j(browser=False, sustained=True) as neo:
        with GraphDatabase.driver(neo.uri) as driver:
            GraphWriter(driver).ensure_schema()
        saved = {k: os.environ.get(k) for k in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD")}
        os.environ["NEO4J_URI"] = neo.uri
        for name in ("NEO4J_USERNAME", "NEO4J_PASSWORD"):
            os.environ.pop(name, None)
        began = time.perf_counter()
        build_query_graph()
        print(f"query graph built in {time.perf_counter() - began:.1f} s", flush=True)
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
        yield neo.uri


@contextmanager
def served(uri: str) -> Iterator[str]:
    """`lineage-collector serve` on a free loopback port, in its own process; yields its base URL."""
    port = _port()
    env = {**os.environ, "NEO4J_URI": uri, "LINEAGE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "jobs.cli", "serve", "--port", str(port)], env=env,
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).json().get("neo4j"):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the API did not start: {process.communicate(timeout=5)[1][-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def measure(base: str, path: str, clients: int, total: int, max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    remaining = [total]
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                start = time.perf_counter()
                try:
                    ok = http.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return {"path": path, "clients": clients, "requests": len(latencies), "errors": errors[0],
            "seconds": round(wall, 2), "rps": round(len(latencies) / wall, 1) if wall else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="answers per path and client count (at most)")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="seconds per path and client count (at most)")
    parser.add_argument("--uri", help="a Neo4j holding a synced graph (default: a throwaway one with the query graph)")
    parser.add_argument("--pipeline", default="churn-training", help="the pipeline of /lineage")
    parser.add_argument("--query", default="upstream", help="the library query of /queries/NAME")
    parser.add_argument("--param", action="append", default=[], metavar="K=V",
                        help="a parameter of the query (default: the library's example parameters)")
    args = parser.parse_args()
    params = dict(p.split("=", 1) for p in args.param) if args.param else dict(query(args.query).example_params)
    paths = [f"/lineage?{urlencode({'pipeline': args.pipeline})}", f"/queries/{args.query}?{urlencode(params)}"]
    results = []
    with (nullcontext(args.uri) if args.uri else local_graph()) as uri, served(uri) as base:
        for path in paths:
            warm = httpx.get(f"{base}{path}", timeout=120)
            if warm.status_code != 200:
                print(f"GET {path}: {warm.status_code} {warm.text[:300]}", file=sys.stderr)
                return 1
            for _ in range(WARM_UP):
                httpx.get(f"{base}{path}", timeout=60)
            for clients in CLIENTS:
                result = measure(base, path, clients, args.requests, args.max_seconds)
                results.append(result)
                print(f"{path[:60]:60} {clients:>2} clients: {result['rps']:>7} req/s  p50 {result['p50_ms']:>6} ms  "
                      f"p95 {result['p95_ms']:>6} ms  ({result['requests']} requests in {result['seconds']} s, "
                      f"{result['errors']} errors)", flush=True)
    print(json.dumps({"bench": "api", "cpus": os.cpu_count(), "graph": "given" if args.uri else "query graph",
                      "requests": args.requests, "max_seconds": args.max_seconds, "results": results}))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
