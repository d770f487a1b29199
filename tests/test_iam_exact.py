"""The policy is exactly what the collector calls: every request it made during the whole test run (the simulated
account records them by the collector's user agent, with the names of the parameters sent, across processes)
maps to an IAM action the policy allows, and the policy allows nothing no test needed.

This module runs last (tests/conftest.py orders it); the "nothing unneeded" half needs the whole suite to have run
and is skipped when only part of it was selected.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from tests.iam import allowed_actions, required_action

RUN_LAST = "tests/test_iam_exact.py"


def needed(sim_server) -> dict[str, set[str]]:
    """IAM action -> the calls that needed it ("s3.GetObject(versionId)")."""
    calls: dict[str, set[str]] = defaultdict(set)
    for (service, operation, names), _ in sim_server.product_calls().items():
        action = required_action(service, operation, names)
        if action:
            version = "(versionId)" if "versionId" in names else ""
            calls[action].add(f"{service}.{operation}{version}")
    return calls


def test_every_call_the_collector_made_is_allowed(sim_server):
    calls = needed(sim_server)
    missing = {action: sorted(made) for action, made in calls.items() if action not in allowed_actions()}
    assert missing == {}, f"deploy/iam-policy.json lacks actions the collector called: {missing}"


def test_the_policy_allows_nothing_the_suite_never_needed(sim_server, request):
    if not request.config.stash.get(WHOLE_SUITE, False):
        pytest.skip("only part of the suite ran: unneeded actions cannot be told")
    unused = allowed_actions() - set(needed(sim_server))
    assert unused == set(), f"deploy/iam-policy.json grants actions no test needed: {sorted(unused)}"


WHOLE_SUITE = pytest.StashKey[bool]()
