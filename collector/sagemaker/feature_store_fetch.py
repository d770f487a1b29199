"""SageMaker Feature Store API reads (the 'get' edge of jobs/sources/feature_store). Pagination included."""
from __future__ import annotations

from typing import Any


def list_feature_groups(client: Any) -> list[dict[str, Any]]:
    """Every FeatureGroupSummary of the client's account and region (name, ARN, creation time, status,
    offline store status), oldest first."""
    groups: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_feature_groups")
    for page in paginator.paginate(SortBy="CreationTime", SortOrder="Ascending", PaginationConfig={"PageSize": 100}):
        groups += page.get("FeatureGroupSummaries", [])
    return groups


def describe_feature_group(client: Any, name: str) -> dict[str, Any]:
    """DescribeFeatureGroup, with every page of its FeatureDefinitions (2,500 per page)."""
    response: dict[str, Any] = client.describe_feature_group(FeatureGroupName=name)
    token = response.pop("NextToken", None)
    while token:
        page = client.describe_feature_group(FeatureGroupName=name, NextToken=token)
        response.setdefault("FeatureDefinitions", []).extend(page.get("FeatureDefinitions", []))
        token = page.get("NextToken")
    return response
