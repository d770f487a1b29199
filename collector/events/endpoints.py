"""EventBridge endpoint events (source aws.sagemaker) -> plain graph data. Pure functions.

AWS documents "SageMaker Endpoint State Change" with a detail in DescribeEndpoint's field names
(EndpointName, EndpointArn, EndpointConfigName, ProductionVariants, EndpointStatus, CreationTime,
LastModifiedTime, Tags) but its status spelled IN_SERVICE rather than the API's InService, and times as
epoch milliseconds. The detail is normalised to the DescribeEndpoint shape so that
collector.sagemaker.endpoints.endpoint_graph serves the sync and the events alike. SageMaker's model and
endpoint config events are only named in AWS's docs, with no detail shape, so they are not routed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.events.model import CloudEvent, MalformedMessage
from collector.events.sagemaker import state_time
from collector.events.times import parse_time
from collector.sagemaker.endpoints import ENDPOINT_STATUSES, Deployment, endpoint_graph
from graphstore.model import Graph

SOURCE = "aws.sagemaker"
ENDPOINT_STATE = "SageMaker Endpoint State Change"
# IN_SERVICE, UPDATE_ROLLBACK_FAILED, ... -> the API's spelling
_STATUS = {"".join("_" + c if c.isupper() else c.upper() for c in s).lstrip("_"): s for s in ENDPOINT_STATUSES}


@dataclass
class EndpointEffect:
    kind: str
    graph: Graph = field(default_factory=Graph)
    deployments: list[Deployment] = field(default_factory=list)


def detail_types() -> list[str]:
    """The detail-types of source aws.sagemaker the endpoints source routes."""
    return [ENDPOINT_STATE]


def is_known(event: CloudEvent) -> bool:
    return event.source == SOURCE and event.detail_type in detail_types()


def endpoint_status(value: Any) -> str | None:
    """The API's spelling of an endpoint status as an event gives it (either spelling); None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedMessage("endpoint state event with a status that is not text")
    return _STATUS.get(value, value)


def endpoint_description(detail: dict[str, Any]) -> dict[str, Any]:
    """An endpoint state event's detail as a DescribeEndpoint response."""
    arn = detail.get("EndpointArn")
    if not isinstance(arn, str) or ":endpoint/" not in arn:
        raise MalformedMessage("endpoint state event without EndpointArn")
    described = {
        "EndpointArn": arn, "EndpointName": detail.get("EndpointName"),
        "EndpointConfigName": detail.get("EndpointConfigName"),
        "EndpointStatus": endpoint_status(detail.get("EndpointStatus")),
        "FailureReason": detail.get("FailureReason"),
        "CreationTime": parse_time(detail.get("CreationTime")),
        "LastModifiedTime": parse_time(detail.get("LastModifiedTime")),
    }
    return {k: v for k, v in described.items() if v is not None}


def endpoint_state(event: CloudEvent) -> EndpointEffect:
    endpoint = endpoint_description(dict(event.detail))
    when = state_time(endpoint.get("EndpointStatus"), event.time, endpoint.get("LastModifiedTime"))
    if endpoint.get("LastModifiedTime") is None and event.time is not None:
        endpoint["LastModifiedTime"] = event.time  # when the state held, for the deployment it reports
    graph, deployments = endpoint_graph(endpoint, state_time=when)
    return EndpointEffect(f"{event.source}:{event.detail_type}", graph, deployments)
