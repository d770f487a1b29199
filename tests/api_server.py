"""The HTTP API served for a test: uvicorn in a thread on a free loopback port, over a real Neo4j."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from config import load_settings
from jobs.api.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(driver: Any = None, **overrides: Any) -> Iterator[str]:
    """The API on a free loopback port in a thread (with this Neo4j driver, or its own); yields its base URL."""
    settings = load_settings(**overrides)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, driver), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def neo4j_overrides(env: dict[str, str]) -> dict[str, Any]:
    """Settings overrides that point the API at the Neo4j of a test environment."""
    out: dict[str, Any] = {"neo4j_uri": env["NEO4J_URI"]}
    if env.get("NEO4J_USERNAME"):
        out.update(neo4j_username=env["NEO4J_USERNAME"], neo4j_password=env["NEO4J_PASSWORD"])
    return out
