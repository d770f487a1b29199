"""The health endpoint (#11): bound where LINEAGE_HEALTH_HOST says, status only for anyone, details only as
LINEAGE_HEALTH_DETAILS allows."""
from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest

from config import load_settings
from graphstore.connection import open_driver
from jobs.app import App
from jobs.consumer_stats import ConsumerStats
from jobs.health import HealthServer, Neo4jProbe
from jobs.wiring import event_consumer, start_health

QUEUE = "https://sqs.eu-west-1.amazonaws.com/111122223333/lineage-sagemaker"
PUBLIC = ["/health", "/health/live", "/health/ready"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, or None."""
    candidates = []
    with contextlib.suppress(OSError):
        candidates.append(socket.gethostbyname(socket.gethostname()))
    for target in ("192.0.2.1", "10.255.255.255", "203.0.113.1"):  # a UDP connect sends nothing; it picks a route
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((target, 9))
            candidates.append(sock.getsockname()[0])
    return next((a for a in candidates if not a.startswith("127.") and a != "0.0.0.0"), None)


def get(host: str, port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def wait_checked(probe: Neo4jProbe) -> None:
    deadline = time.monotonic() + 15
    while probe.reachable is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe.reachable is not None


@contextlib.contextmanager
def wired(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[tuple[HealthServer, ConsumerStats]]:
    """The endpoint as `consume` starts it, from these settings, beside a consumer of QUEUE (never run:
    its counters are set by hand)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = App(load_settings())
    consumer = event_consumer(app, queue_urls=[QUEUE])
    consumer.stats.running = True
    server = start_health(app, consumer)
    try:
        wait_checked(server.probe)
        yield server, consumer.stats
    finally:
        server.stop()
        app.close()


def test_the_public_answer_is_status_only_even_when_everything_fails():
    dead_port = free_port()
    dead = open_driver(f"bolt://127.0.0.1:{dead_port}", verify=False)
    stats = ConsumerStats([QUEUE])
    stats.running = True
    stats.add(QUEUE, received=3, failed=3)
    stats.error(f"write failed for {QUEUE}: ServiceUnavailable: Couldn't connect to 10.1.2.3:7687", neo4j_down=True)
    server = HealthServer(0, Neo4jProbe(dead, interval=60), stats.snapshot, alive=lambda: stats.running,
                          host="127.0.0.1").start()
    try:
        wait_checked(server.probe)
        assert server.probe.error
        codes = {}
        for path in PUBLIC:
            codes[path], raw = get("127.0.0.1", server.port, path)
            assert json.loads(raw) == {"status": "degraded", "live": True, "ready": False,
                                       "reasons": ["neo4j-unreachable", "neo4j-writes-failing"]}
            for leak in ("111122223333", "sqs", "amazonaws", "lineage-sagemaker", "ServiceUnavailable", "10.1.2.3",
                         str(dead_port), server.probe.error):
                assert leak not in raw, (path, leak)
        assert codes == {"/health": 503, "/health/live": 200, "/health/ready": 503}
        status, raw = get("127.0.0.1", server.port, "/health/details")  # loopback: served
        details = json.loads(raw)
        assert status == 200 and details["neo4j"]["error"] == server.probe.error
        assert details["consumer"]["queues"][QUEUE]["failed"] == 3 and "10.1.2.3" in details["consumer"]["last_error"]["message"]
        stats.running = False
        status, raw = get("127.0.0.1", server.port, "/health")
        assert status == 503 and json.loads(raw)["status"] == "down"
        assert json.loads(raw)["reasons"] == ["consumer-stopped", "neo4j-unreachable", "neo4j-writes-failing"]
        assert get("127.0.0.1", server.port, "/health/live")[0] == 503
        status, raw = get("127.0.0.1", server.port, "/nope")
        assert status == 404 and "details" not in raw
    finally:
        server.stop()
        dead.close()


def test_binds_the_configured_host(settings_env, monkeypatch):
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_HOST="127.0.0.1", LINEAGE_HEALTH_PORT=str(port)) as (server, _):
        assert server._server.socket.getsockname()[:2] == ("127.0.0.1", port)
        status, raw = get("127.0.0.1", port, "/health")
        assert status == 200 and json.loads(raw) == {"status": "ok", "live": True, "ready": True, "reasons": []}
        other = non_loopback_address()
        if other:
            with pytest.raises(ConnectionRefusedError):
                get(other, port, "/health")


def test_binds_ipv6_loopback():
    probe = Neo4jProbe(open_driver("bolt://127.0.0.1:9", verify=False), interval=60)
    try:
        server = HealthServer(0, probe, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        server.start()
        wait_checked(probe)
        assert server._server.socket.getsockname()[0] == "::1"
        assert get("::1", server.port, "/health/live")[0] == 200
        assert get("::1", server.port, "/health/details")[0] == 200  # ::1 is loopback
    finally:
        server.stop()
        probe.driver.close()


def test_details_follow_the_setting(settings_env, monkeypatch):
    other = non_loopback_address()
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_HOST="0.0.0.0", LINEAGE_HEALTH_PORT=str(port)) as (server, _):
        assert server.details == "loopback"  # the default
        status, raw = get("127.0.0.1", port, "/health/details")
        assert status == 200 and QUEUE in json.loads(raw)["consumer"]["queues"]
        if other:
            status, raw = get(other, port, "/health/details")
            assert status == 403 and QUEUE not in raw
            status, raw = get(other, port, "/health")  # status stays public
            assert status == 200 and json.loads(raw)["status"] == "ok" and QUEUE not in raw
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_PORT=str(port), LINEAGE_HEALTH_DETAILS="off"):
        assert get("127.0.0.1", port, "/health/details")[0] == 404
    if not other:
        pytest.skip("no non-loopback address on this machine: details refused to a remote peer not checked")
    port = free_port()
    with wired(monkeypatch, LINEAGE_HEALTH_PORT=str(port), LINEAGE_HEALTH_DETAILS="on") as (_, stats):
        stats.add(QUEUE, received=2)
        status, raw = get(other, port, "/health/details")
        assert status == 200 and json.loads(raw)["consumer"]["queues"][QUEUE]["received"] == 2
