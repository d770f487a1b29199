"""Real services for the tests: a Neo4j 5 server over Bolt and a moto server for AWS.

Neo4j, in order of preference: NEO4J_TEST_URI (an external server), testcontainers when a
Docker engine answers, else a local Neo4j 5.26 Community started from Maven Central
artifacts with Java 17 (lineage_dev.local_neo4j; the same helper as `lineage-collector dev neo4j`).
One server per test session; each test starts from an empty database.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import Driver, GraphDatabase

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

REGION = "us-east-1"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[tuple[str, tuple[str, str] | None]]:
    external = os.environ.get("NEO4J_TEST_URI")
    if external:
        user, password = os.environ.get("NEO4J_TEST_USERNAME"), os.environ.get("NEO4J_TEST_PASSWORD")
        yield external, (user, password) if user and password else None
        return
    if _docker_answers():
        from testcontainers.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5.26-community", password="test-password") as container:
            yield container.get_connection_url(), ("neo4j", "test-password")
        return
    from lineage_dev.local_neo4j import start_local_neo4j

    with start_local_neo4j(browser=False) as server:
        yield server.uri, None


@pytest.fixture(scope="session")
def driver(neo4j_server: tuple[str, tuple[str, str] | None]) -> Iterator[Driver]:
    uri, auth = neo4j_server
    with GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as drv:
        drv.verify_connectivity()
        yield drv


@pytest.fixture
def neo4j(driver: Driver) -> Driver:
    """An empty database with the collector's schema."""
    from graphstore.writer import GraphWriter

    with driver.session() as session:  # IN TRANSACTIONS needs an auto-commit transaction
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    GraphWriter(driver).ensure_schema()
    return driver


@pytest.fixture(scope="session")
def sim_server():
    from lineage_dev.sim import start_sim

    with start_sim() as sim:
        yield sim


@pytest.fixture
def sim(sim_server):
    """The moto server, reset to an empty account for each test."""
    sim_server.reset()
    return sim_server


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, neo4j_server, sim) -> dict[str, str]:
    """Environment pointing the collector's Settings at the test Neo4j and the moto server."""
    uri, auth = neo4j_server
    env = {"NEO4J_URI": uri, "AWS_ENDPOINT_URL": sim.endpoint_url, "LINEAGE_REGIONS": REGION,
           "LINEAGE_LOG_FORMAT": "text"}
    if auth:
        env.update(NEO4J_USERNAME=auth[0], NEO4J_PASSWORD=auth[1])
    else:
        monkeypatch.delenv("NEO4J_USERNAME", raising=False)
        monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(os.path.dirname(__file__))  # no stray .env from the work tree
    return env


@pytest.fixture
def app(settings_env, neo4j):
    """The collector's application on the test Neo4j and the moto server (modules may define their own)."""
    from config.settings import load_settings
    from jobs.app import App

    application = App(load_settings())
    yield application
    application.close()


@pytest.fixture
def sqs(sim):
    return sim.client("sqs")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """tests/test_iam_exact.py runs last: it checks the AWS calls of everything before it."""
    from tests.test_iam_exact import RUN_LAST, WHOLE_SUITE

    items.sort(key=lambda item: item.nodeid.startswith(RUN_LAST))
    modules = {item.nodeid.split("::")[0] for item in items}
    every_module = {f"tests/{path.name}" for path in Path(__file__).parent.glob("test_*.py")}
    config.stash[WHOLE_SUITE] = modules >= every_module and not config.getoption("keyword") \
        and not config.getoption("markexpr") and not config.getoption("lf", False)
