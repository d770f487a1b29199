"""lineage_dev.local_neo4j: a real Neo4j 5.26 Community from Maven Central jars, reached over Bolt.

The first run in a fresh cache also resolves the jars with Maven and records a class-data
archive (about 30 s); later starts take a few seconds each.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from neo4j.exceptions import AuthError, ConstraintError

from lineage_dev.local_neo4j import LocalNeo4j, start_local_neo4j

AUTH = ("neo4j", "test-password-1")


@pytest.fixture(scope="module")
def with_auth() -> Iterator[LocalNeo4j]:
    with start_local_neo4j(auth=AUTH) as server:
        yield server


@pytest.fixture(scope="module")
def without_auth() -> Iterator[LocalNeo4j]:
    with start_local_neo4j(browser=False) as server:
        yield server


def _write_and_read(uri: str, auth: tuple[str, str] | None) -> None:
    with neo4j.GraphDatabase.driver(uri, auth=auth) as driver:
        driver.execute_query("CREATE CONSTRAINT x IF NOT EXISTS FOR (n:T) REQUIRE n.k IS UNIQUE")
        driver.execute_query("MERGE (:T {k: $k})", k="a")
        records = driver.execute_query("MATCH (n:T) RETURN n.k AS k").records
        assert [r["k"] for r in records] == ["a"]
        with pytest.raises(ConstraintError):
            driver.execute_query("CREATE (:T {k: 'a'})")


def test_with_auth_writes_and_reads(with_auth: LocalNeo4j) -> None:
    assert with_auth.uri.startswith("bolt://127.0.0.1:")
    _write_and_read(with_auth.uri, AUTH)


def test_with_auth_rejects_a_wrong_password(with_auth: LocalNeo4j) -> None:
    with neo4j.GraphDatabase.driver(with_auth.uri, auth=("neo4j", "wrong-password")) as driver, pytest.raises(AuthError):
        driver.verify_connectivity()


def test_without_auth_writes_and_reads(without_auth: LocalNeo4j) -> None:
    assert without_auth.browser_url is None
    _write_and_read(without_auth.uri, None)


def test_neo4j_scheme_routes_to_this_server(without_auth: LocalNeo4j) -> None:
    # The routing table must advertise this server's port, not the default localhost:7687.
    address = without_auth.uri.removeprefix("bolt://")
    with neo4j.GraphDatabase.driver(f"neo4j://{address}") as driver:
        table = driver.execute_query("CALL dbms.routing.getRoutingTable({}, 'neo4j')").records[0]
        assert {a for server in table["servers"] for a in server["addresses"]} == {address}
        assert driver.execute_query("RETURN 1 AS one").records[0]["one"] == 1


def test_two_servers_run_at_once(with_auth: LocalNeo4j, without_auth: LocalNeo4j) -> None:
    assert with_auth.uri != without_auth.uri
    assert with_auth.process.poll() is None and without_auth.process.poll() is None
    for server, auth in ((with_auth, AUTH), (without_auth, None)):
        with neo4j.GraphDatabase.driver(server.uri, auth=auth) as driver:
            assert driver.execute_query("RETURN 1 AS one").records[0]["one"] == 1


def test_browser_is_served(with_auth: LocalNeo4j) -> None:
    assert with_auth.browser_url and with_auth.browser_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(with_auth.browser_url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"Neo4j Browser" in response.read()
    # The Browser asks its origin, as JSON, where Bolt is.
    request = urllib.request.Request(with_auth.browser_url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["bolt_direct"] == with_auth.uri


def test_the_browser_files_are_served_beside_it_and_applied_on_connect(with_auth: LocalNeo4j) -> None:
    from graphstore import browser

    assert with_auth.browser_files_url == with_auth.browser_url + "lineage/"
    for name, kind in ((browser.STYLE_FILE, "text/plain"), (browser.GUIDE_FILE, "text/html"),
                       (browser.FAVORITES_FILE, "application/zip")):
        with urllib.request.urlopen(with_auth.browser_file(name), timeout=10) as response:
            assert response.headers["Content-Type"].startswith(kind) and response.read()
    with urllib.request.urlopen(with_auth.browser_file(browser.STYLE_FILE), timeout=10) as response:
        assert response.read().decode() == browser.style()
    for outside in ("..%2Fbrowser-settings.conf", "../logs/launcher.log", "", "nope.grass"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(with_auth.browser_files_url + outside, timeout=10)
    with neo4j.GraphDatabase.driver(with_auth.uri, auth=AUTH) as driver:
        config = {r["name"]: r["value"] for r in driver.execute_query("CALL dbms.clientConfig()").records}
    assert config["browser.post_connect_cmd"] == browser.post_connect_command(with_auth.browser_files_url)
    assert config["browser.remote_content_hostname_whitelist"] == "guides.neo4j.com,127.0.0.1"


def test_launcher_builds_of_other_checkouts_stay_while_they_are_used(tmp_path: Path) -> None:
    import os

    from lineage_dev import local_neo4j

    builds = tmp_path / "builds"
    keep, recent, stale, failed = (builds / name for name in ("keep", "recent", "stale", "failed"))
    for build in (keep, recent, stale, failed):
        build.mkdir(parents=True)
        (build / "last-used").touch()
    for build in (keep, recent, stale):
        (build / "launcher.jar").write_bytes(b"jar")
    old = time.time() - (local_neo4j.BUILD_RETENTION_DAYS + 1) * 86400
    os.utime(stale / "last-used", (old, old))
    (tmp_path / "launcher-0123456789ab.jar").write_bytes(b"an older checkout's build")
    local_neo4j._prune_builds(tmp_path, keep=keep)
    assert sorted(p.name for p in builds.iterdir()) == ["keep", "recent"]
    assert (tmp_path / "launcher-0123456789ab.jar").exists()


def test_stop_ends_the_process_and_removes_the_temp_dir() -> None:
    server = start_local_neo4j(browser=False)
    assert server.data_dir.is_dir()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 20
    assert server.process.poll() is not None
    assert not server.data_dir.exists()


def test_a_given_data_dir_keeps_data_and_password_across_restarts(tmp_path: Path) -> None:
    with (start_local_neo4j(data_dir=tmp_path, auth=AUTH, browser=False) as server,
          neo4j.GraphDatabase.driver(server.uri, auth=AUTH) as driver):
        driver.execute_query("CREATE (:Kept {k: 1})")
    assert server.process.poll() is not None and tmp_path.is_dir()
    with (start_local_neo4j(data_dir=tmp_path, auth=AUTH, browser=False) as server,
          neo4j.GraphDatabase.driver(server.uri, auth=AUTH) as driver):
        assert driver.execute_query("MATCH (n:Kept) RETURN count(n) AS c").records[0]["c"] == 1


def test_a_failed_start_reports_the_jvm_output(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match=r"(?s)local Neo4j exited.*already in use"):
            start_local_neo4j(bolt_port=taken.getsockname()[1], data_dir=tmp_path, browser=False)


def test_dev_neo4j_command_prints_the_bolt_uri_and_stops_on_sigterm(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys

    from neo4j import GraphDatabase

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    bolt = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "dev", "neo4j", "--bolt-port", str(bolt),
                             "--http-port", str(free_port()), "--data", str(tmp_path / "data")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        uri = proc.stdout.readline().strip()
        assert uri == f"bolt://127.0.0.1:{bolt}"
        with GraphDatabase.driver(uri) as driver:
            assert driver.execute_query("RETURN 1 AS one").records[0]["one"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
