"""Where a table's data lives: Table -[:STORED_AT]-> Dataset (pure), and the Glue lookup that tells."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from collector import s3uri
from graphstore.model import Graph

log = logging.getLogger("lineage.git")


def glue_location(response: Mapping[str, Any]) -> str | None:
    """The S3 location in a glue:GetTable response (StorageDescriptor.Location), if any."""
    table = response.get("Table") or {}
    location = (table.get("StorageDescriptor") or {}).get("Location")
    return location if s3uri.is_s3_uri(location) else None


class GlueDenied(Exception):
    """glue:GetTable is denied: skip Glue lookups for the rest of the sync."""


def fetch_glue_location(client: Any, table: str, catalog_id: str | None = None) -> str | None:
    """glue:GetTable for a `db.table` name -> its S3 location; None when unknown or not found."""
    parts = table.lower().split(".")
    if len(parts) < 2:
        return None
    kwargs = {"DatabaseName": parts[-2], "Name": parts[-1]}
    if catalog_id:
        kwargs["CatalogId"] = catalog_id
    try:
        return glue_location(client.get_table(**kwargs))
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise GlueDenied(code) from None
        if code != "EntityNotFoundException":
            log.warning("glue:GetTable %s failed: %s", table, code)
        return None


def location_graph(table: str, location: str, via: str) -> Graph:
    graph = Graph()
    if not s3uri.is_s3_uri(location):
        return graph
    uri = s3uri.dataset_uri(location, is_prefix=True)
    dataset = graph.node("Dataset", uri, {"bucket": s3uri.split(uri)[0]})
    graph.rel("STORED_AT", graph.node("Table", table), dataset, {"via": via, "location": location})
    return graph
