"""SageMaker Feature Store: feature groups, their features (as schema versions), offline store Dataset and
Glue Table, and the data read below an offline store.

fetch: collector/sagemaker/feature_store_fetch.py; transform: collector/sagemaker/feature_store.py and, for
"SageMaker Feature Group State Change" events, collector/events/feature_store.py; write, the incremental rule
and retirement: `FeatureStoreSync` (sync.py). Who writes into a group (processing outputs with
FeatureStoreOutput) comes with the SageMaker source's pipelines and jobs (collector/sagemaker/transform.py).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from collector.events import CloudEvent
from collector.events.feature_store import FEATURE_GROUP_STATE, SOURCE, feature_group_state
from jobs.sources.base import Effect, EventHandler, Route, Source, SyncReport, SyncRequest
from jobs.sources.feature_store.sync import FeatureStoreSync

log = logging.getLogger("lineage.sync")

__all__ = ["FeatureStoreEvents", "FeatureStoreSource", "FeatureStoreSync"]

KIND = f"{SOURCE}:{FEATURE_GROUP_STATE}"


def _route(event: CloudEvent) -> Effect:
    return Effect(KIND, feature_group_state(event), event)


class FeatureStoreEvents(EventHandler):
    """Feature group state changes: pure graph data (the status as of the event); no follow-up call, the
    next sync describes what an event shows to have changed."""

    name = "feature_store"

    def event_routes(self) -> Mapping[str, Route]:
        return {KIND: _route}


class FeatureStoreSource(Source):
    name = "feature_store"

    def syncer(self, request: SyncRequest) -> FeatureStoreSync:
        settings = self.app.settings
        return FeatureStoreSync(self.app.aws, self.app.writer, refresh_seconds=settings.feature_group_refresh_seconds,
                                retire_after_seconds=settings.retire_after_seconds, stop=request.stop)

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        self.syncer(request).run(self.app.regions(request.regions), report)

    def scheduled_jobs(self) -> list[Any]:
        from jobs.worker import ScheduledJob, sync_trigger

        settings = self.app.settings
        return [ScheduledJob("feature-store-sync", sync_trigger(settings), self._scheduled,
                             run_at_start=settings.sync_on_start)]

    def _scheduled(self, stop: threading.Event) -> None:
        """The worker's pass, on the sync's schedule; logged as its own line (not the reconciliation's
        "sync finished", which names the SageMaker pass)."""
        started = time.perf_counter()
        report = self.syncer(SyncRequest(stop=stop)).run(self.app.regions(), SyncReport())
        log.info("feature store sync finished", extra={"fields": {
            **report.sources.get("feature_store", {}), "errors": len(report.errors),
            "nodes_written": report.writes.nodes, "seconds": round(time.perf_counter() - started, 3)}})

    def event_handler(self) -> EventHandler:
        return FeatureStoreEvents()
