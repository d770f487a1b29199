"""A tiny HTTP health endpoint for container and load-balancer health checks (stdlib, and prometheus-client's
text exposition for /metrics).

    GET /health/live     200 while the worker's loops run (use this for the ECS container health check)
    GET /health/ready    200 while Neo4j answers
    GET /health          200 when the status is "ok", else 503
    GET /health/details  the full report: Neo4j's error, the consumer's counters per queue, its last error
    GET /metrics         the process's Prometheus metrics (jobs/metrics.py, docs/metrics.md)

The first three answer anyone with status only ({"status", "live", "ready", "reasons"}): no queue URL,
account id, repository or error text. Details are served per `details`: "off" (404), "loopback" (only to
127.0.0.1 and ::1, else 403; the peer's own address, never a forwarded header) or "on". /metrics follows
the same policy: its labels name queues, scheduled jobs and the AWS operations called.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from neo4j import Driver
from prometheus_client import CollectorRegistry, generate_latest

from graphstore.connection import ping

log = logging.getLogger("lineage.health")

# Prometheus's classic text format, which every Prometheus server and the CloudWatch agent scrape
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or ip).is_loopback


class HealthServer:
    def __init__(self, port: int, probe: Neo4jProbe, consumer_snapshot: Callable[[], dict[str, Any]] | None = None,
                 alive: Callable[[], bool] | None = None, host: str = "127.0.0.1", details: str = "loopback",
                 metrics: CollectorRegistry | None = None) -> None:
        if details not in ("off", "loopback", "on"):
            raise ValueError(f"details must be off, loopback or on, not {details!r}")
        self.probe = probe
        self.consumer_snapshot = consumer_snapshot
        self.alive = alive or (lambda: True)
        self.details = details
        self.metrics = metrics  # None: no /metrics (404)
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), self._handler())
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    def start(self) -> HealthServer:
        self.probe.start()
        self._thread.start()
        log.info("health endpoint on %s port %d (/health, /health/live, /health/ready; details%s: %s)",
                 self.host, self.port, " and /metrics" if self.metrics is not None else "", self.details)
        return self

    def stop(self) -> None:
        self.probe.stop()
        self._server.shutdown()
        self._server.server_close()

    def status(self, consumer: dict[str, Any] | None = None) -> dict[str, Any]:
        """What anyone may know: the state and coarse reasons, never a URL, an account or an error text."""
        live, ready = self.alive(), bool(self.probe.reachable)
        reasons = [] if live else ["consumer-stopped"]
        if not ready:
            reasons.append("neo4j-unchecked" if self.probe.reachable is None else "neo4j-unreachable")
        if consumer is not None and consumer.get("neo4j_writes_ok") is False:
            reasons.append("neo4j-writes-failing")
        return {"status": "down" if not live else ("degraded" if reasons else "ok"),
                "live": live, "ready": ready, "reasons": reasons}

    def report(self) -> dict[str, Any]:
        """The details: the status with Neo4j's probe and the consumer's counters, queue URLs and last error."""
        consumer = self.consumer_snapshot() if self.consumer_snapshot is not None else None
        body = {**self.status(consumer), "neo4j": self.probe.snapshot()}
        if consumer is not None:
            body["consumer"] = consumer
        return body

    def _details_refusal(self, peer: str) -> int | None:
        if self.details == "off":
            return 404
        if self.details == "loopback" and not is_loopback(peer):
            return 403
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self
        public = ("/health", "/health/live", "/health/ready")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/") or "/health"
                if path in ("/health/details", "/metrics"):
                    refusal = server._details_refusal(str(self.client_address[0]))
                    if path == "/metrics" and server.metrics is None:
                        refusal = 404
                    what = "details are" if path == "/health/details" else "metrics are"
                    if refusal == 403:
                        self._send(403, {"error": f"{what} served to loopback clients only"})
                    elif refusal:
                        self._send(404, {"error": "not found", "paths": list(public)})
                    elif path == "/metrics" and server.metrics is not None:
                        self._send_bytes(200, generate_latest(server.metrics), METRICS_CONTENT_TYPE)
                    else:
                        self._send(200, server.report())
                    return
                if path not in public:
                    self._send(404, {"error": "not found", "paths": list(public)})
                    return
                consumer = server.consumer_snapshot() if server.consumer_snapshot is not None else None
                status = server.status(consumer)
                healthy = {"/health": status["status"] == "ok", "/health/live": status["live"],
                           "/health/ready": status["ready"]}[path]
                self._send(200 if healthy else 503, status)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                self._send_bytes(status, json.dumps(body, default=str).encode(), "application/json")

            def _send_bytes(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # health checks every few seconds: quiet
                pass

        return Handler
