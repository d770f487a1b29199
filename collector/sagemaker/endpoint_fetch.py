"""SageMaker hosting reads: models, endpoint configs, endpoints and inference components.

Listings page through everything (a complete listing is what lets the sync retire what vanished); the
describe calls take one name each. Nothing here knows the graph.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def list_endpoints(client: Any) -> list[dict[str, Any]]:
    """EndpointSummary rows (name, ARN, status, CreationTime, LastModifiedTime)."""
    return list(_pages(client, "list_endpoints", "Endpoints"))


def list_endpoint_configs(client: Any) -> list[dict[str, Any]]:
    return list(_pages(client, "list_endpoint_configs", "EndpointConfigs"))


def list_models(client: Any) -> list[dict[str, Any]]:
    return list(_pages(client, "list_models", "Models"))


def list_inference_components(client: Any) -> list[dict[str, Any]]:
    return list(_pages(client, "list_inference_components", "InferenceComponents"))


def describe_endpoint(client: Any, name: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_endpoint(EndpointName=name)
    return response


def describe_endpoint_config(client: Any, name: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_endpoint_config(EndpointConfigName=name)
    return response


def describe_model(client: Any, name: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_model(ModelName=name)
    return response


def describe_inference_component(client: Any, name: str) -> dict[str, Any]:
    response: dict[str, Any] = client.describe_inference_component(InferenceComponentName=name)
    return response
