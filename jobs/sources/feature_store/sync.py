"""SageMaker Feature Store into the graph, one reconciliation: fetch -> transform -> write -> retire.

Per region: ListFeatureGroups (name, ARN, creation time, status, offline store status), then a describe only
for a group that is new to the graph, was retired, whose status or offline store status differs from what
its last describe saw, whose features a state-change event reported differently from its current schema, or
whose last describe is older than LINEAGE_FEATURE_GROUP_REFRESH_SECONDS (UpdateFeatureGroup adds features
without changing any listed field, so this periodic refresh is what finds them; 0 describes every group
every pass). What a pass reads is observed from the time it started (graphstore.model.observed). Then data
read below an offline store is linked to its group, and a complete listing of an account and region
retires the groups it lacked (after LINEAGE_RETIRE_AFTER_SECONDS). A group that cannot be described is
logged with its name and written from its listing; the others go on.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from collector.s3.schema import columns_from_json
from collector.s3uri import dataset_uri
from collector.sagemaker.feature_store import (
    StoredFeatureSchema,
    feature_group_graph,
    feature_group_key,
    offline_links_graph,
    offline_prefixes,
    status_rank,
)
from collector.sagemaker.feature_store_fetch import describe_feature_group, list_feature_groups
from graphstore.feature_store_state import FeatureStoreState, StoredGroup
from graphstore.model import Graph, observed
from graphstore.writer import GraphWriter
from jobs.sources.base import SyncReport

log = logging.getLogger("lineage.sync")


def stored_schema(stored: StoredGroup | None) -> StoredFeatureSchema:
    if stored is None or not stored.versions:
        return StoredFeatureSchema()
    versions = stored.versions
    current = next((v for v in versions if v["id"] == stored.schema_id), None) or max(
        versions, key=lambda v: v.get("version") or 0)
    return StoredFeatureSchema(current["id"], current.get("fingerprint"),
                               max(v.get("version") or 0 for v in versions),
                               columns_from_json(current.get("columns")), {v["id"] for v in versions})


def describe_reason(summary: dict[str, Any], stored: StoredGroup | None, now: datetime,
                    refresh: timedelta) -> str | None:
    """Why a listed group is described this pass, or None (unchanged: not described)."""
    if stored is None or stored.described_at is None:
        return "new"
    if stored.retired:
        return "listed again"
    offline = (summary.get("OfflineStoreStatus") or {}).get("Status") or ""
    if (summary.get("FeatureGroupStatus") or "") != (stored.described_status or "") \
            or offline != (stored.described_offline_status or ""):
        return "status changed"
    if stored.event_schema_fingerprint and stored.event_schema_fingerprint != stored.schema_fingerprint:
        return "features changed (event)"
    if not refresh or now - stored.described_at >= refresh:
        return "refresh"
    return None


def summary_graph(summary: dict[str, Any]) -> Graph:
    """A listed group that could not be described: what the listing says of it."""
    arn = summary["FeatureGroupArn"]
    parts = arn.split(":")
    status = summary.get("FeatureGroupStatus")
    graph = Graph()
    graph.node("FeatureGroup", feature_group_key(arn), {
        "name": summary.get("FeatureGroupName"), "created": summary.get("CreationTime"),
        "region": parts[3] if len(parts) > 5 else None, "account": parts[4] if len(parts) > 5 else None,
        "arn_as_given": arn if arn != feature_group_key(arn) else None, "retired": False,
    }, state={"status": status, "offline_store_status": (summary.get("OfflineStoreStatus") or {}).get("Status")},
        state_rank=status_rank(status))
    return graph


class FeatureStoreSync:
    def __init__(self, aws: Aws, writer: GraphWriter, *, refresh_seconds: float = 86_400,
                 retire_after_seconds: float = 0, stop: threading.Event | None = None) -> None:
        self.aws, self.writer = aws, writer
        self.state = FeatureStoreState(writer.driver, writer.database)
        self.refresh = timedelta(seconds=refresh_seconds)
        self.retire_after = timedelta(seconds=retire_after_seconds)
        self.stop = stop or threading.Event()

    def run(self, regions: list[str], report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        summary = report.sources.setdefault("feature_store", {
            "groups": 0, "described": 0, "unchanged": 0, "describe_errors": 0, "offline_links": 0, "retired": 0})
        for region in regions:
            if self.stop.is_set():
                break
            self._sync_region(region, report, summary)
        return report

    def _sync_region(self, region: str, report: SyncReport, summary: dict[str, Any]) -> None:
        listed_at = datetime.now(timezone.utc)
        client = self.aws.client("sagemaker", region)
        try:
            listed = list_feature_groups(client)
        except (ClientError, BotoCoreError) as exc:
            message = f"region {region}: cannot list feature groups: {describe_error(exc)}"
            log.error(message)
            report.errors.append(message)
            return
        groups = {feature_group_key(s["FeatureGroupArn"]): s for s in listed}
        stored = self.state.groups(groups)
        summary["groups"] += len(groups)
        for key, listing in groups.items():
            if self.stop.is_set():
                return
            reason = describe_reason(listing, stored.get(key), listed_at, self.refresh)
            if reason is None:
                summary["unchanged"] += 1
                continue
            name = listing["FeatureGroupName"]
            started = datetime.now(timezone.utc)
            try:
                described = describe_feature_group(client, name)
            except (ClientError, BotoCoreError) as exc:
                message = f"feature group {name} ({region}): cannot describe it: {describe_error(exc)}"
                log.warning(message)
                report.errors.append(message)
                summary["describe_errors"] += 1
                report.writes.add(self.writer.write(observed(summary_graph(listing), started), source="sync"))
                continue
            graph = feature_group_graph(described, stored_schema(stored.get(key)), started)
            report.writes.add(self.writer.write(observed(graph, started), source="sync"))
            summary["described"] += 1
            log.info("feature group %s described (%s)", name, reason)
        self._link_offline_data(region, report, summary)
        if listed and not self.stop.is_set():  # a complete listing of this account and region
            account = listed[0]["FeatureGroupArn"].split(":")[4]
            retired = self.state.retire_missing_groups(region, account, list(groups), listed_at,
                                                       listed_at - self.retire_after)
            for key in retired:
                log.info("feature group %s retired: not in the listing of %s/%s", key, account, region)
            summary["retired"] += len(retired)

    def _link_offline_data(self, region: str, report: SyncReport, summary: dict[str, Any]) -> None:
        """Data steps and jobs read below an offline store (a partition of it) links to its group."""
        prefixes = {key: offline_prefixes(dataset_uri(uri, is_prefix=True))
                    for key, uri in self.state.offline_stores(region).items()}
        links = self.state.datasets_under(prefixes) if prefixes else []
        if links:
            report.writes.add(self.writer.write(offline_links_graph(links), source="sync"))
        summary["offline_links"] += len(links)
