"""Where a table's data lives: Table -[:STORED_AT]-> Dataset (pure)."""
from __future__ import annotations

from typing import Any, Mapping

from collector import s3uri
from graphstore.model import Graph


def glue_location(response: Mapping[str, Any]) -> str | None:
    """The S3 location in a glue:GetTable response (StorageDescriptor.Location), if any."""
    table = response.get("Table") or {}
    location = (table.get("StorageDescriptor") or {}).get("Location")
    return location if s3uri.is_s3_uri(location) else None


def location_graph(table: str, location: str, via: str) -> Graph:
    graph = Graph()
    if not s3uri.is_s3_uri(location):
        return graph
    uri = s3uri.dataset_uri(location, is_prefix=True)
    dataset = graph.node("Dataset", uri, {"bucket": s3uri.split(uri)[0]})
    graph.rel("STORED_AT", graph.node("Table", table), dataset, {"via": via, "location": location})
    return graph
