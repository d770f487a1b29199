"""Bucket security posture: seven read-only S3 calls per bucket (fetch), then graph data (pure).

Every posture sets every property, so an earlier value is never left standing as if it were
current (the writer drops None, so each field always has an explicit value): a call that is
denied makes each field it decides "Unknown" (booleans too: `bucket_key_enabled`, `policy_public`,
`acl_public`) with the reason in `posture_errors`; a setting that is absent is a fact
(`encryption` "none" with `encryption_key_id` "" and `bucket_key_enabled` False, `versioning` and
`mfa_delete` "Disabled", `public_access_block` and `tags` "{}").
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.s3.objects import error_code, error_reason
from graphstore.model import Graph

UNKNOWN = "Unknown"
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
# "Not configured" answers: the setting is absent, which is a fact, not an error.
ABSENT = {
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "public_access_block": "NoSuchPublicAccessBlockConfiguration",
    "policy_status": "NoSuchBucketPolicy",
    "tags": "NoSuchTagSet",
}
CALLS: dict[str, str] = {
    "location": "get_bucket_location", "encryption": "get_bucket_encryption",
    "versioning": "get_bucket_versioning", "public_access_block": "get_public_access_block",
    "policy_status": "get_bucket_policy_status", "acl": "get_bucket_acl", "tags": "get_bucket_tagging",
}


@dataclass
class RawPosture:
    bucket: str
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: absent
    errors: dict[str, str] = field(default_factory=dict)  # field -> "AccessDenied: ..."
    checked_at: datetime | None = None


def fetch_posture(client_for: Callable[[str | None], Any], bucket: str, checked_at: datetime) -> RawPosture:
    """`client_for(region)` gives an S3 client; the location call decides the region for the rest."""
    raw = RawPosture(bucket, checked_at=checked_at)
    client = client_for(None)
    for name, method in CALLS.items():
        try:
            response = getattr(client, method)(Bucket=bucket)
            raw.responses[name] = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        except ClientError as exc:
            if ABSENT.get(name) == error_code(exc):
                raw.responses[name] = None
            else:
                raw.errors[name] = error_reason(exc)
        except BotoCoreError as exc:
            raw.errors[name] = error_reason(exc)
        if name == "location" and name in raw.responses:
            client = client_for(region_of(raw.responses[name]))
    return raw


def region_of(location: dict[str, Any] | None) -> str:
    constraint: str | None = (location or {}).get("LocationConstraint")
    if constraint is None:
        return "us-east-1"
    return {"": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def _encryption(raw: RawPosture) -> dict[str, Any]:
    if "encryption" in raw.errors:
        return {"encryption": UNKNOWN, "encryption_key_id": UNKNOWN, "bucket_key_enabled": UNKNOWN}
    rules = ((raw.responses.get("encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
    default = next((r for r in rules if r.get("ApplyServerSideEncryptionByDefault")), None)
    if not default:
        return {"encryption": "none", "encryption_key_id": "", "bucket_key_enabled": False}
    apply = default["ApplyServerSideEncryptionByDefault"]
    algorithm = apply.get("SSEAlgorithm")
    name = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}.get(algorithm, str(algorithm))
    return {"encryption": name, "encryption_key_id": apply.get("KMSMasterKeyID") or "",
            "bucket_key_enabled": bool(default.get("BucketKeyEnabled"))}


def _versioning(raw: RawPosture) -> dict[str, Any]:
    if "versioning" in raw.errors:
        return {"versioning": UNKNOWN, "mfa_delete": UNKNOWN}
    response = raw.responses.get("versioning") or {}
    return {"versioning": response.get("Status") or "Disabled", "mfa_delete": response.get("MFADelete") or "Disabled"}


def _public(raw: RawPosture) -> dict[str, Any]:
    out: dict[str, Any] = {}
    block: dict[str, bool] | None = None
    if "public_access_block" in raw.errors:
        out["public_access_block"] = json.dumps(UNKNOWN)
    else:
        block = (raw.responses.get("public_access_block") or {}).get("PublicAccessBlockConfiguration") or {}
        out["public_access_block"] = json.dumps(block, sort_keys=True)
    policy_public: Any = UNKNOWN
    if "policy_status" not in raw.errors:
        policy_public = bool(((raw.responses.get("policy_status") or {}).get("PolicyStatus") or {}).get("IsPublic"))
    acl_public: Any = UNKNOWN
    if "acl" not in raw.errors:
        grants = (raw.responses.get("acl") or {}).get("Grants", [])
        acl_public = any((g.get("Grantee") or {}).get("URI") in PUBLIC_GROUPS for g in grants)
    out.update(policy_public=policy_public, acl_public=acl_public)
    out["public_access"] = public_access_summary(block, policy_public, acl_public)
    return out


def public_access_summary(block: dict[str, bool] | None, policy_public: Any, acl_public: Any) -> str:
    """Blocked (all four block settings on), Public (a policy or ACL grants it and nothing blocks it),
    NotPublic, or Unknown when a deciding answer is missing."""
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    if block is not None and all(block.get(f) for f in flags):
        return "Blocked"
    block = block or {}
    if policy_public is True and not block.get("RestrictPublicBuckets"):
        return "Public"
    if acl_public is True and not block.get("IgnorePublicAcls"):
        return "Public"
    if UNKNOWN in (policy_public, acl_public):
        return UNKNOWN
    return "NotPublic"


def _tags(raw: RawPosture) -> dict[str, Any]:
    if "tags" in raw.errors:
        return {"tags": json.dumps(UNKNOWN)}
    tag_set = (raw.responses.get("tags") or {}).get("TagSet", [])
    return {"tags": json.dumps({t["Key"]: t.get("Value", "") for t in tag_set}, sort_keys=True)}


def posture_props(raw: RawPosture) -> dict[str, Any]:
    props: dict[str, Any] = {
        "region": UNKNOWN if "location" in raw.errors else region_of(raw.responses.get("location")),
        "posture_checked_at": raw.checked_at, "posture_errors": json.dumps(raw.errors, sort_keys=True),
    }
    for part in (_encryption, _versioning, _public, _tags):
        props.update(part(raw))
    return props


def posture_graph(postures: list[RawPosture]) -> Graph:
    graph = Graph()
    for raw in postures:
        graph.node("Bucket", raw.bucket, posture_props(raw))
    return graph
