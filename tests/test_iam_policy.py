"""Least privilege: the documented policy allows every call the collector makes, and nothing broad."""
from __future__ import annotations

from datetime import datetime, timezone

from config import load_settings
from jobs.app import App
from jobs.wiring import run_sync
from lineage_dev.sim.account import seed_demo_account
from tests.iam import allowed_actions, missing_from_policy


def test_policy_has_no_wildcard_actions():
    assert all("*" not in action for action in allowed_actions())


def test_every_call_of_a_full_sync_is_in_the_policy(settings_env, sim, neo4j):
    seed_demo_account(sim, now=datetime(2024, 6, 3, tzinfo=timezone.utc))
    app = App(load_settings())
    try:
        report = run_sync(app)  # includes bucket posture and evaluation reports after the sync
        from jobs.sources.s3 import s3_service, utcnow

        s3_service(app).rescan(utcnow(), 1000)
        calls = report.aws_calls + app.aws.reset_counts()
    finally:
        app.close()
    assert any(c.startswith("s3.") for c in calls)
    assert missing_from_policy(calls) == set()
