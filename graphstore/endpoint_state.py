"""What the endpoints source needs of the graph: what is already described, the deployment history of
endpoints, and the retirement of what a complete listing no longer has.

History: an endpoint's configs are `EndpointConfig -[:DEPLOYED_TO {since, until, current}]-> Endpoint`
edges, one per period it served the config. `record_deployments` opens a new period only when the
report is newer than every period the endpoint has (a late event about an older config changes nothing),
and closes the period it supersedes at the new one's `since`. Retiring an endpoint closes its open period
at the retirement; nothing here deletes an edge, so "which endpoints served model X in May" stays answerable.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from graphstore.reader import Reader
from graphstore.retirement import Retirement

# The labels a listing of one account and region covers, and whether a change is seen in the listing
# (LastModifiedTime) or never happens (configs and models are immutable: described once).
MUTABLE = ("Endpoint", "InferenceComponent")
IMMUTABLE = ("EndpointConfig", "Model")
# What a retirement ends: the periods an endpoint served (its configs, its components) and a component's
# period on its endpoint. A config or a model that goes keeps its periods: an endpoint may still run it.
_OPEN_PERIODS = {"Endpoint": "(n)<-[d:DEPLOYED_TO]-()", "InferenceComponent": "(n)-[d:DEPLOYED_TO]->(:Endpoint)"}

_RECORD = (
    "MATCH (e:Endpoint {arn: $endpoint}) MATCH (c:EndpointConfig {arn: $config}) "
    "WITH e, c, [(x:EndpointConfig)-[d:DEPLOYED_TO]->(e) WHERE d.since > $at OR (x = c AND d.since = $at) | d] AS known, "
    "[(x:EndpointConfig)-[d:DEPLOYED_TO]->(e) WHERE d.current = true | {config: x, rel: d}] AS open "
    "WHERE size(known) = 0 AND none(o IN open WHERE o.config = c) "
    "FOREACH (d IN [o IN open | o.rel] | SET d.current = false, d.until = $at) "
    "MERGE (c)-[d:DEPLOYED_TO {since: $at}]->(e) ON CREATE SET d.current = true, d.first_seen = datetime() "
    "SET e.config_since = $at "
    "RETURN count(d) AS n"
)


class EndpointState(Reader):
    def described(self, label: str, keys: Iterable[str]) -> dict[str, Any]:
        """key -> what the last describe saw: an endpoint's or a component's LastModifiedTime (`described_modified`),
        true for a config or a model (they never change once described). Keys not described are absent."""
        if label not in MUTABLE + IMMUTABLE:
            raise ValueError(f"not an endpoints label: {label}")
        keys = sorted(set(keys))
        if not keys:
            return {}
        # Labels come from the constants above, never from input.
        if label in MUTABLE:
            query = (f"UNWIND $keys AS k MATCH (n:{label} {{arn: k}}) WHERE n.described_modified IS NOT NULL "
                     "RETURN n.arn AS key, n.described_modified AS seen")
        else:
            query = (f"UNWIND $keys AS k MATCH (n:{label} {{arn: k}}) WHERE n.described_at IS NOT NULL "
                     "RETURN n.arn AS key, true AS seen")
        rows = self._read(query, keys=keys)
        return {r["key"]: _native(r["seen"]) for r in rows}

    def record_deployments(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Each {endpoint, config, at}: the endpoint serves that config as of `at`. Oldest first; returns the
        periods opened."""
        opened = 0
        for row in sorted(rows, key=lambda r: r["at"]):
            result = self._write(_RECORD, endpoint=row["endpoint"], config=row["config"], at=row["at"])
            opened += int(result[0]["n"]) if result else 0
        return opened

    def retire_missing(self, label: str, region: str, account: str, present: list[str], now: datetime,
                       listed_before: datetime) -> list[str]:
        """Retirement.retire_unlisted for an endpoints label; a retired endpoint's or component's open
        DEPLOYED_TO period ends now."""
        if label not in MUTABLE + IMMUTABLE:
            raise ValueError(f"not an endpoints label: {label}")
        retired = Retirement(self.driver, self.database).retire_unlisted(label, region, account, present, now,
                                                                         listed_before)
        if retired and label in _OPEN_PERIODS:
            self._write(f"UNWIND $keys AS k MATCH (n:{label} {{arn: k}}) OPTIONAL MATCH {_OPEN_PERIODS[label]} "
                        "WHERE d.current = true SET d.current = false, d.until = $now", keys=retired, now=now)
        return retired


def _native(value: Any) -> Any:
    return value.to_native() if hasattr(value, "to_native") else value
