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
    "sqs.SendMessageBatch": "sqs:SendMessage",
}


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
