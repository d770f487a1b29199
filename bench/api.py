"""HTTP API throughput and latency on loopback: requests/s and p50/p95 with 1, 4 and 16 clients.

    python bench/api.py [--requests 200] [--max-seconds 20] [--pipeline NAME]

Serves `jobs.api.app.create_app(load_settings())` with uvicorn on a free loopback port (NEO4J_URI ...
pointing at a synced graph, e.g. `make demo`'s), then for each client count runs that many threads,
each with its own keep-alive httpx client, over `GET /lineage?pipeline=...` and `GET /inventory`
until --requests answers or --max-seconds (bounded either way). The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from config import load_settings  # noqa: E402
from jobs.api.app import create_app  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(base: str, path: str, clients: int, total: int, max_seconds: float) -> dict[str, Any]:
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
                response = http.get(path)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return {"path": path, "clients": clients, "requests": len(latencies), "errors": errors[0],
            "rps": round(len(latencies) / wall, 1) if wall else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="answers per client count and path")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="at most this long per client count and path")
    parser.add_argument("--pipeline", help="the pipeline of /lineage (default: the first the graph holds)")
    args = parser.parse_args()
    port = _port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_settings()), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            print("the API did not start", file=sys.stderr)
            return 1
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        pipeline = args.pipeline
        if not pipeline:
            page = httpx.get(f"{base}/sagemaker/pipelines", params={"limit": 1}, timeout=30).json()
            if not page.get("pipelines"):
                print("no pipelines in the graph (sync first)", file=sys.stderr)
                return 1
            pipeline = page["pipelines"][0]["name"]
        results = []
        for path in (f"/lineage?pipeline={pipeline}", "/inventory"):
            for clients in (1, 4, 16):
                result = _run(base, path, clients, args.requests, args.max_seconds)
                results.append(result)
                print(f"{path:40} {clients:>2} clients: {result['rps']:>8} req/s  p50 {result['p50_ms']:>7} ms  "
                      f"p95 {result['p95_ms']:>7} ms  ({result['requests']} requests, {result['errors']} errors)")
    finally:
        server.should_exit = True
        thread.join(10)
    print(json.dumps({"pipeline": pipeline, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
