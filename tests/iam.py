"""The documented least-privilege policy (deploy/iam-policy.json) checked against calls actually made."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

POLICY = Path(__file__).resolve().parents[1] / "deploy" / "iam-policy.json"


def allowed_actions() -> set[str]:
    policy = json.loads(POLICY.read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def iam_action(call: str) -> str:
    """'sagemaker.ListPipelines' (the collector's call counter) -> 'sagemaker:ListPipelines'."""
    service, operation = call.split(".", 1)
    return f"{service}:{operation}"


def missing_from_policy(calls: Iterable[str]) -> set[str]:
    return {iam_action(c) for c in calls} - allowed_actions()
