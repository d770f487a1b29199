"""The documented least-privilege policy (deploy/iam-policy.json) checked against calls actually made."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

POLICY = Path(__file__).resolve().parents[1] / "deploy" / "iam-policy.json"

# API operations whose IAM action has another name (from the AWS Service Authorization Reference).
ACTION_FOR = {
    "s3.ListObjectsV2": "s3:ListBucket", "s3.ListObjects": "s3:ListBucket",
    "s3.HeadObject": "s3:GetObject", "s3.GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3.GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "sqs.DeleteMessageBatch": "sqs:DeleteMessage", "sqs.ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs.SendMessageBatch": "sqs:SendMessage", "s3.ListObjectVersions": "s3:ListBucketVersions",
}
# Operations whose action depends on a parameter sent: reading a given version of an object is its own action.
ACTION_WITH_PARAMETER = {
    ("s3.GetObject", "versionId"): "s3:GetObjectVersion", ("s3.HeadObject", "versionId"): "s3:GetObjectVersion",
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


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
    if call in ACTION_FOR:
        return ACTION_FOR[call]
    service, operation = call.split(".", 1)
    return f"{service}:{operation}"


def missing_from_policy(calls: Iterable[str]) -> set[str]:
    return {iam_action(c) for c in calls} - allowed_actions()


def required_action(service: str, operation: str, parameters: Iterable[str]) -> str | None:
    """The IAM action one request needs, given the names of the parameters it sent (None: no permission)."""
    call = f"{service}.{operation}"
    for name in parameters:
        if (call, name) in ACTION_WITH_PARAMETER:
            return ACTION_WITH_PARAMETER[(call, name)]
    action = iam_action(call)
    return None if action in NEEDS_NO_PERMISSION else action
