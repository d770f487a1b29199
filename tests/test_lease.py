"""The reconciliation lease: one holder at a time, against a real Neo4j; and two `run` workers, the holder
killed with SIGKILL, the other taking over and running the reconciliation."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from graphstore.lease import Lease
from graphstore.writer import GraphWriter
from lineage_dev.sim.account import seed_demo_account
from tests.test_consumer_resilience import wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_one_holder_at_a_time_and_an_expired_lease_is_taken_over(neo4j):
    GraphWriter(neo4j).ensure_schema()
    a, b = Lease(neo4j, "reconciliation", "a", 2), Lease(neo4j, "reconciliation", "b", 2)
    assert a.refresh() and a.held
    assert not b.refresh() and not b.held
    assert a.refresh()  # renewing keeps it
    assert b.holder()["owner"] == "a"
    a.release()
    assert not a.held and b.refresh()
    # b stops renewing (as a dead worker does): a takes it once it expired on the server's clock
    wait_for(lambda: a.refresh(), 30, "the expired lease to be taken over")
    assert not b.refresh() and a.holder()["owner"] == "a"


def test_racing_workers_never_both_win(neo4j):
    GraphWriter(neo4j).ensure_schema()
    leases = [Lease(neo4j, "race", f"worker-{i}", 30) for i in range(8)]
    start = threading.Barrier(len(leases))
    won: list[str] = []

    def race(lease: Lease) -> None:
        start.wait()
        if lease.refresh():
            won.append(lease.owner)

    threads = [threading.Thread(target=race, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1 and leases[0].holder()["owner"] == won[0]


def messages(log: Path) -> list[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line).get("message", "") for line in lines if line.startswith("{")]


def test_when_the_holder_is_killed_another_worker_takes_over_the_reconciliation(settings_env, sim, neo4j, tmp_path):
    seed_demo_account(sim)
    GraphWriter(neo4j).ensure_schema()
    base = {**os.environ, **settings_env, "LINEAGE_LOG_FORMAT": "json", "LINEAGE_LEASE_TTL_SECONDS": "5",
            "LINEAGE_SYNC_INTERVAL_SECONDS": "3600", "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).with_name("lineage-collector")), "run"]
    processes: dict[str, subprocess.Popen] = {}
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b")}

    def start(name: str) -> None:
        with open(logs[name], "w") as err:
            processes[name] = subprocess.Popen(command, cwd=ROOT, env={**base, "LINEAGE_WORKER_ID": name},
                                               stdout=subprocess.DEVNULL, stderr=err)

    def owner() -> str | None:
        records, _, _ = neo4j.execute_query("MATCH (l:Lease {name: 'reconciliation'}) RETURN l.owner AS owner")
        return records[0]["owner"] if records else None

    try:
        start("a")
        wait_for(lambda: "sync finished" in messages(logs["a"]), 120, "worker a to hold the lease and sync")
        assert owner() == "a"
        start("b")
        wait_for(lambda: any("another worker holds the lease" in m for m in messages(logs["b"])), 60,
                 "worker b to skip the reconciliation")
        assert "sync finished" not in messages(logs["b"])
        processes["a"].send_signal(signal.SIGKILL)  # no release: the lease must expire
        processes["a"].wait(10)
        wait_for(lambda: owner() == "b", 60, "worker b to take the lease over")
        wait_for(lambda: "sync finished" in messages(logs["b"]), 120, "worker b to run the reconciliation")
        processes["b"].send_signal(signal.SIGTERM)
        assert processes["b"].wait(25) == 0
        assert owner() is None  # released at stop, for the next worker at once
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
