"""Counters of one unit of S3 work (an event batch, a scan, a rescan), for logs and the CLI."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphstore.model import WriteStats


@dataclass
class S3Report:
    objects: int = 0
    datasets: int = 0
    extracted: int = 0
    new_versions: int = 0
    drift: int = 0
    unchanged: int = 0
    already_seen: int = 0  # newest object's ETag already observed: no read
    stale: int = 0
    unreadable: int = 0
    no_schema: int = 0
    buckets_refreshed: int = 0
    step_runs_with_metrics: int = 0
    bytes_read: int = 0
    get_requests: int = 0
    history_datasets: int = 0  # datasets whose schema history was read from their partitions
    history_versions: int = 0  # schema versions the history added
    history_partitions: int = 0
    history_partitions_read: int = 0
    history_bytes_read: int = 0
    retired: int = 0  # datasets a rescan found without objects past the grace period
    errors: list[str] = field(default_factory=list)
    writes: WriteStats = field(default_factory=WriteStats)
    formats: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def count(self, outcome: str) -> None:
        if outcome == "new_version":
            self.new_versions += 1
        elif outcome in ("unchanged", "stale", "unreadable", "no_schema"):
            setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects, "datasets": self.datasets, "extracted": self.extracted,
            "new_versions": self.new_versions, "drift": self.drift, "unchanged": self.unchanged,
            "already_seen": self.already_seen, "stale": self.stale, "unreadable": self.unreadable,
            "no_schema": self.no_schema, "buckets_refreshed": self.buckets_refreshed,
            "step_runs_with_metrics": self.step_runs_with_metrics, "bytes_read": self.bytes_read,
            "get_requests": self.get_requests, "history_datasets": self.history_datasets,
            "history_versions": self.history_versions, "history_partitions": self.history_partitions,
            "history_partitions_read": self.history_partitions_read, "history_bytes_read": self.history_bytes_read,
            "retired": self.retired,
            "formats": dict(sorted(self.formats.items())),
            "nodes_written": self.writes.nodes, "relationships_written": self.writes.relationships,
            "errors": self.errors, "seconds": round(time.perf_counter() - self.started, 3),
        }
