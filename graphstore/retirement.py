"""Retirement: what AWS no longer has is marked retired, never silently kept current or lost.

Only a complete look retires (a pipeline listing of a whole account and region, a rescan that found a
dataset's objects gone); anything that look did not cover keeps its state. Retired nodes keep their
history (executions, runs, lineage) and leave the current views (inventory, lineage, the API), which
filter on `retired`. A node seen again is current again (its writer sets `retired: false`). Deletion
is opt-in: `delete_retired` removes, in batches, what was retired longer than a given age.
"""
from __future__ import annotations

from datetime import datetime

from graphstore.reader import Reader
from graphstore.schema import NODE_KEYS

BATCH = 5_000

# What a retired pipeline takes with it: its steps, executions and their step runs (AWS deletes a
# pipeline's executions with it). Each runs in batches until nothing is left to mark.
_CASCADE = (
    "MATCH (p:Pipeline {arn: $arn})-[:HAS_STEP]->(n:Step) WHERE coalesce(n.retired, false) = false "
    "WITH n LIMIT $batch SET n.retired = true, n.retired_at = $now RETURN count(n) AS n",
    "MATCH (n:PipelineExecution)-[:OF]->(:Pipeline {arn: $arn}) WHERE coalesce(n.retired, false) = false "
    "WITH n LIMIT $batch SET n.retired = true, n.retired_at = $now RETURN count(n) AS n",
    "MATCH (n:StepRun)-[:IN]->(:PipelineExecution)-[:OF]->(:Pipeline {arn: $arn}) "
    "WHERE coalesce(n.retired, false) = false "
    "WITH n LIMIT $batch SET n.retired = true, n.retired_at = $now RETURN count(n) AS n",
)

# Labels `delete_retired` may remove, with the relationships that go with them.
DELETABLE = ("StepRun", "PipelineExecution", "Step", "Pipeline", "Dataset")


class Retirement(Reader):
    def retire_unlisted(self, label: str, region: str, account: str, present: list[str], now: datetime,
                        listed_before: datetime) -> list[str]:
        """After a complete listing of `label` in an account and region (`present`: the keys it returned): stamp
        those `listed_at = now` (current again, if they were retired), and retire the nodes of that scope it
        lacked whose last listing was before `listed_before` (now minus the grace period). Returns the keys
        retired."""
        if label not in NODE_KEYS:
            raise ValueError(f"not a node label: {label!r}")
        key = NODE_KEYS[label]
        rows = self._write(
            f"UNWIND $present AS k MATCH (n:{label} {{{key}: k}}) SET n.listed_at = $now, n.retired = false "
            "REMOVE n.retired_at WITH count(*) AS stamped "
            f"MATCH (n:{label} {{region: $region, account: $account}}) "
            f"WHERE NOT n.{key} IN $present AND coalesce(n.retired, false) = false "
            "AND coalesce(n.listed_at, n.first_seen) < $before "
            f"SET n.retired = true, n.retired_at = $now RETURN n.{key} AS key",
            region=region, account=account, present=present, now=now, before=listed_before)
        return [r["key"] for r in rows]

    def retire_missing_pipelines(self, region: str, account: str, present: list[str], now: datetime,
                                 listed_before: datetime) -> list[str]:
        """`retire_unlisted` for pipelines; a retired pipeline's steps, executions and step runs follow."""
        retired = self.retire_unlisted("Pipeline", region, account, present, now, listed_before)
        for arn in retired:
            for statement in _CASCADE:
                while self._write(statement, arn=arn, now=now, batch=BATCH)[0]["n"] == BATCH:
                    pass
        return retired

    def retire_vanished_datasets(self, uris: list[str], now: datetime, seen_before: datetime) -> list[str]:
        """Datasets a rescan found without any data object: each once held data (`newest_object`) and no
        object event came after the first miss, which stamps `objects_missing_since`; the dataset retires
        once that is before `seen_before` (the grace period)."""
        rows = self._write(
            "UNWIND $uris AS u MATCH (d:Dataset {uri: u}) "
            "WHERE d.newest_object IS NOT NULL AND coalesce(d.retired, false) = false "
            "SET d.objects_missing_since = coalesce(d.objects_missing_since, $now) "
            "WITH d WHERE d.objects_missing_since <= $before "
            "AND (d.last_modified IS NULL OR d.last_modified < d.objects_missing_since) "
            "SET d.retired = true, d.retired_at = $now RETURN d.uri AS uri",
            uris=uris, now=now, before=seen_before)
        return [r["uri"] for r in rows]

    def datasets_found_again(self, uris: list[str]) -> int:
        """Datasets whose objects a read or an event found: no longer missing, not retired."""
        rows = self._write(
            "UNWIND $uris AS u MATCH (d:Dataset {uri: u}) "
            "WHERE d.objects_missing_since IS NOT NULL OR d.retired = true "
            "SET d.retired = false REMOVE d.objects_missing_since, d.retired_at RETURN count(d) AS n", uris=uris)
        return int(rows[0]["n"]) if rows else 0

    def delete_retired(self, retired_before: datetime, limit: int = 100_000) -> dict[str, int]:
        """Remove nodes (and their relationships) retired before `retired_before`, in batches, at most `limit`
        per label per call. Returns label -> nodes deleted."""
        deleted: dict[str, int] = {}
        for label in DELETABLE:
            total = 0
            while total < limit:
                rows = self._write(
                    f"MATCH (n:{label}) WHERE n.retired = true AND n.retired_at < $before "
                    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS n",
                    before=retired_before, batch=min(BATCH, limit - total))
                done = int(rows[0]["n"]) if rows else 0
                total += done
                if done < min(BATCH, limit - total + done):
                    break
            if total:
                deleted[label] = total
        return deleted
