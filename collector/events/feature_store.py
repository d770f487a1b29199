"""EventBridge "SageMaker Feature Group State Change" events -> plain graph data. Pure.

AWS documents this event as a change in a feature group's FeatureGroupStatus or OfflineStoreStatus; its
detail carries the DescribeFeatureGroup fields (without the resolved offline store location or the last
modified time), so collector.sagemaker.feature_store serves it as it serves the sync. The state is as of
the event's time (the later of it and the detail's own times): an older event never overwrites a newer
state, and a sync's read (as of its own time) corrects any event stamped before it.
"""
from __future__ import annotations

from typing import Any

from collector.events.model import CloudEvent, MalformedMessage
from collector.events.times import parse_time
from collector.sagemaker.feature_store import feature_group_event_graph
from graphstore.model import Graph

SOURCE = "aws.sagemaker"
FEATURE_GROUP_STATE = "SageMaker Feature Group State Change"


def detail_types() -> list[str]:
    """The detail-types of source aws.sagemaker the Feature Store source routes."""
    return [FEATURE_GROUP_STATE]


def is_feature_store_event(event: CloudEvent) -> bool:
    return event.source == SOURCE and event.detail_type in detail_types()


def feature_group_state(event: CloudEvent) -> Graph:
    detail: dict[str, Any] = dict(event.detail)
    if not isinstance(detail.get("FeatureGroupArn"), str) or ":feature-group/" not in detail["FeatureGroupArn"]:
        raise MalformedMessage(f"{FEATURE_GROUP_STATE}: no FeatureGroupArn")
    for name in ("CreationTime", "LastModifiedTime"):
        if detail.get(name) is not None:
            detail[name] = parse_time(detail[name])
    detail.pop("Tags", None)  # a map in events, a list in the API; not lineage
    return feature_group_event_graph(detail, event.time)
