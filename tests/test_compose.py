"""docker-compose.yml against the Compose Specification's JSON Schema (fetched from PyPI at test time into a cache:
the schema docker-compose 1.29.2 ships), the wiring between its services, and the simulated account's service
command run here: seeded, it is what the collector service syncs."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_WHEEL = "docker-compose==1.29.2"
SCHEMA_PATH = "compose/config/compose_spec.json"
CACHE = Path(os.environ.get("LINEAGE_TEST_CACHE", Path.home() / ".cache" / "lineage-collector")) / "compose-spec"


def compose_schema() -> dict:
    cached = CACHE / "compose_spec.json"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        download = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                   "--disable-pip-version-check", "--only-binary", ":all:", SCHEMA_WHEEL,
                                   "-d", str(CACHE)], capture_output=True, text=True, timeout=300)
        if download.returncode != 0:
            pytest.fail(f"cannot fetch the Compose Specification schema ({SCHEMA_WHEEL}): {download.stderr[-2000:]}")
        (wheel,) = CACHE.glob("docker_compose-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            cached.write_bytes(zf.read(SCHEMA_PATH))
    return json.loads(cached.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_follows_the_compose_specification(compose):
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)  # the draft the schema declares
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_services_are_wired_to_each_other(compose):
    services = compose["services"]
    assert {"neo4j", "browser-files", "aws-sim", "collector", "api", "collector-aws"} <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on a service that does not exist: {needed}"
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).exists()
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    worker = services["collector"]
    assert worker["depends_on"] == {"neo4j": {"condition": "service_healthy"},
                                    "aws-sim": {"condition": "service_healthy"}}
    assert worker["environment"]["AWS_ENDPOINT_URL"] == "http://aws-sim:5000"
    assert services["aws-sim"]["command"][:3] == ["python", "-m", "lineage_dev.sim.serve"]
    assert "5000" in services["aws-sim"]["command"] and "0.0.0.0" in services["aws-sim"]["command"]
    assert "profiles" not in worker and services["api"]["profiles"] == ["api"]
    text = (ROOT / "docker-compose.yml").read_text()
    assert "NEO4J_PASSWORD:?" in text and "neo4j/${NEO4J_PASSWORD" in text  # auth from the environment only


def test_the_simulated_account_service_is_seeded_for_the_collector(tmp_path, settings_env, neo4j):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ready = tmp_path / "ready"
    sim = subprocess.Popen([sys.executable, "-m", "lineage_dev.sim.serve", "--port", str(port), "--ready-file",
                            str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert sim.poll() is None and time.monotonic() < deadline, sim.stderr.read() if sim.poll() else "no ready file"
            time.sleep(0.2)
        env = {**os.environ, **settings_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        synced = subprocess.run([str(Path(sys.executable).with_name("lineage-collector")), "sync", "--json"],
                                env=env, capture_output=True, text=True, timeout=300)
        assert synced.returncode == 0, synced.stderr[-3000:]
        assert json.loads(synced.stdout)["pipelines"] == 8  # the demo account with its Feature Store pipeline
    finally:
        sim.terminate()
        sim.wait(20)
    assert sim.returncode == 0
