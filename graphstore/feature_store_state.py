"""What the graph knows about feature groups, so a Feature Store sync describes only what changed; the
retirement of groups a complete listing lacked; and the data stored below an offline store.

Reads (and the listing's `listed_at` stamp) only; graph data is written through graphstore.writer.GraphWriter.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphstore.reader import Reader
from graphstore.retirement import Retirement


def _native(value: Any) -> Any:
    return value.to_native() if hasattr(value, "to_native") else value


@dataclass
class StoredGroup:
    """A feature group as the last describe left it, and its schema versions."""

    key: str
    described_at: datetime | None = None
    described_status: str | None = None
    described_offline_status: str | None = None
    schema_id: str | None = None
    schema_fingerprint: str | None = None
    event_schema_fingerprint: str | None = None
    retired: bool = False
    # {id, fingerprint, version, columns}
    versions: list[dict[str, Any]] = field(default_factory=list)


class FeatureStoreState(Reader):
    def groups(self, keys: Iterable[str]) -> dict[str, StoredGroup]:
        """Key -> what the graph holds, for those of these feature group keys it has."""
        rows = self._read(
            "UNWIND $keys AS k MATCH (g:FeatureGroup {arn: k}) "
            "OPTIONAL MATCH (g)-[:HAS_SCHEMA]->(v:SchemaVersion) "
            "WITH g, collect(v {.id, .fingerprint, .version, .columns}) AS versions "
            "RETURN g.arn AS key, g.described_at AS described_at, g.described_status AS status, "
            "g.described_offline_status AS offline_status, g.schema_id AS schema_id, "
            "g.schema_fingerprint AS fingerprint, g.event_schema_fingerprint AS event_fingerprint, "
            "coalesce(g.retired, false) AS retired, versions",
            keys=sorted(set(keys)))
        return {r["key"]: StoredGroup(r["key"], _native(r["described_at"]), r["status"], r["offline_status"],
                                      r["schema_id"], r["fingerprint"], r["event_fingerprint"], bool(r["retired"]),
                                      list(r["versions"])) for r in rows}

    def datasets_under(self, prefixes: dict[str, list[str]]) -> list[tuple[str, str, str]]:
        """(group key, dataset uri, prefix) for each Dataset some step, run or job reads or writes whose URI
        starts with one of a group's offline store prefixes (`prefixes`: group key -> prefixes), other than the
        offline store's own Dataset (the first prefix)."""
        rows = self._read(
            "UNWIND $rows AS r MATCH (d:Dataset) WHERE d.uri STARTS WITH r.prefix AND d.uri <> r.own "
            "AND EXISTS { (d)-[:FEEDS|PRODUCES]-() } "
            "RETURN DISTINCT r.key AS key, d.uri AS uri, r.prefix AS prefix",
            rows=[{"key": key, "prefix": p, "own": ps[0]} for key, ps in prefixes.items() for p in ps])
        return [(r["key"], r["uri"], r["prefix"]) for r in rows]

    def retire_missing_groups(self, region: str, account: str, present: list[str], now: datetime,
                              listed_before: datetime) -> list[str]:
        """Retirement.retire_unlisted for feature groups."""
        return Retirement(self.driver, self.database).retire_unlisted("FeatureGroup", region, account, present,
                                                                      now, listed_before)

    def offline_stores(self, region: str) -> dict[str, str]:
        """Key -> resolved offline store URI of the current feature groups of a region."""
        rows = self._read(
            "MATCH (g:FeatureGroup {region: $region}) WHERE g.offline_store_uri IS NOT NULL "
            "AND coalesce(g.retired, false) = false RETURN g.arn AS key, g.offline_store_uri AS uri", region=region)
        return {r["key"]: r["uri"] for r in rows}
