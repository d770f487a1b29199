"""A tiny HTTP health endpoint for container health checks (stdlib only).

    GET /health/live   200 while the worker's loops run (use this for the ECS container health check)
    GET /health/ready  200 while Neo4j answers
    GET /health        200 when both hold, else 503; the body is JSON with Neo4j reachability, the last
                       successful receive and commit, the last error, and per-queue counters.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from neo4j import Driver

from graphstore.connection import ping

log = logging.getLogger("lineage.health")


class Neo4jProbe:
    """Checks Neo4j in the background, so a health request never waits on a dead connection."""

    def __init__(self, driver: Driver, database: str | None = None, interval: float = 10.0) -> None:
        self.driver, self.database, self.interval = driver, database, interval
        self.reachable: bool | None = None
        self.checked_at: datetime | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health-neo4j-probe", daemon=True)

    def start(self) -> Neo4jProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        try:
            ping(self.driver, self.database)
            self.reachable, self.error = True, None
        except Exception as exc:  # any failure means "not reachable"; the message says why
            self.reachable, self.error = False, f"{type(exc).__name__}: {exc}"
        self.checked_at = datetime.now(timezone.utc)
        return self.reachable

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.interval)

    def snapshot(self) -> dict[str, Any]:
        return {"reachable": self.reachable, "error": self.error,
                "checked_at": self.checked_at.isoformat(timespec="seconds") if self.checked_at else None}


class HealthServer:
    def __init__(self, port: int, probe: Neo4jProbe, consumer_snapshot: Callable[[], dict[str, Any]] | None = None,
                 alive: Callable[[], bool] | None = None, host: str = "0.0.0.0") -> None:
        self.probe = probe
        self.consumer_snapshot = consumer_snapshot
        self.alive = alive or (lambda: True)
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    def start(self) -> HealthServer:
        self.probe.start()
        self._thread.start()
        log.info("health endpoint on port %d (/health, /health/live, /health/ready)", self.port)
        return self

    def stop(self) -> None:
        self.probe.stop()
        self._server.shutdown()
        self._server.server_close()

    def report(self) -> dict[str, Any]:
        live, ready = self.alive(), bool(self.probe.reachable)
        body: dict[str, Any] = {"status": "ok" if live and ready else ("degraded" if live else "down"),
                                "live": live, "ready": ready, "neo4j": self.probe.snapshot()}
        if self.consumer_snapshot is not None:
            body["consumer"] = self.consumer_snapshot()
        return body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/") or "/health"
                report = server.report()
                checks = {"/health": report["live"] and report["ready"], "/health/live": report["live"],
                          "/health/ready": report["ready"]}
                if path not in checks:
                    self._send(404, {"error": "not found", "paths": sorted(checks)})
                    return
                self._send(200 if checks[path] else 503, report)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # health checks every few seconds: quiet
                pass

        return Handler
