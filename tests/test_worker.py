"""The long-running worker as a real process: a scheduled sync, then a clean exit on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from lineage_dev.sim.account import seed_demo_account

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)


def wait_for(proc: subprocess.Popen, text: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} not seen in {timeout}s:\n{''.join(lines)[-3000:]}")


def test_worker_syncs_on_schedule_and_stops_on_sigterm(settings_env, sim, neo4j):
    seed_demo_account(sim, now=NOW)
    env = {**os.environ, **settings_env, "LINEAGE_SYNC_INTERVAL_SECONDS": "10", "LINEAGE_LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run"], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, cwd=os.path.dirname(__file__))
    try:
        wait_for(proc, '"sync finished"', 120)
        records, _, _ = neo4j.execute_query("MATCH (p:Pipeline) RETURN count(p) AS n")
        assert records[0]["n"] == 7
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        tail = proc.stderr.read()
        assert rc == 0
        assert time.monotonic() - stopped_at < 20
        assert "worker stopped" in tail
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_during_a_sync_stops_within_seconds(settings_env, sim, neo4j):
    seed_demo_account(sim, now=NOW)
    env = {**os.environ, **settings_env, "LINEAGE_LOG_FORMAT": "json", "LINEAGE_SYNC_WORKERS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run"], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, cwd=os.path.dirname(__file__))
    try:
        wait_for(proc, "synced", 120)  # the first pipeline is done; the sync is still going
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - stopped_at < 20
    finally:
        if proc.poll() is None:
            proc.kill()
