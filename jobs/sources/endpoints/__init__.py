"""SageMaker hosting: models, endpoint configs, endpoints and inference components.

fetch: collector/sagemaker/endpoint_fetch.py; transform: collector/sagemaker/endpoints.py and, for
"SageMaker Endpoint State Change" events, collector/events/endpoints.py; write, deployment history and
retirement: `EndpointsSync` (sync.py) with graphstore.endpoint_state. docs/graph-model.md ("Endpoints")
describes the history edges.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from collector.aws import describe_error
from collector.events import CloudEvent
from collector.events.endpoints import SOURCE, EndpointEffect, detail_types, endpoint_state
from graphstore.connection import OUTAGE_ERRORS, Neo4jOutage
from graphstore.endpoint_state import EndpointState
from jobs.sources.base import Effect, EventHandler, Pending, Route, Source, SyncReport, SyncRequest, reconcile
from jobs.sources.endpoints.sync import EndpointsSync

__all__ = ["EndpointEvents", "EndpointsSource", "EndpointsSync"]

log = logging.getLogger("lineage.events")
OUTAGE_FAILURES: tuple[type[BaseException], ...] = (Neo4jOutage, *OUTAGE_ERRORS)


def routes() -> dict[str, Route]:
    def route(event: CloudEvent) -> Effect:
        effect = endpoint_state(event)
        return Effect(effect.kind, effect.graph, effect)

    return {f"{SOURCE}:{detail_type}": route for detail_type in detail_types()}


class EndpointEvents(EventHandler):
    """Endpoint state changes: the endpoint's state through the write (older never over newer), then, after
    the commit, the deployment each reports into the endpoint's history."""

    name = "endpoints"

    def __init__(self, state: EndpointState) -> None:
        self.state = state
        self.counters: Counter[str] = Counter()

    def event_routes(self) -> Mapping[str, Route]:
        return routes()

    def committed(self, pending: Sequence[Pending], in_commit_result: Any) -> Mapping[str, int] | None:
        carriers = [(h, e.data) for h, e in pending if isinstance(e.data, EndpointEffect) and e.data.deployments]
        if not carriers:
            return None
        try:
            opened = self.state.record_deployments(d.row() for _, effect in carriers for d in effect.deployments)
        except OUTAGE_FAILURES as exc:
            log.warning("endpoint deployments not recorded (%s); the messages come back", describe_error(exc))
            for h, _ in carriers:
                h.fail("failed", f"endpoint deployment history: {describe_error(exc)}")
            return None
        self.counters["deployments_opened"] += opened
        return {"endpoint_deployments_opened": opened}


class EndpointsSource(Source):
    name = "endpoints"

    def _state(self) -> EndpointState:
        return EndpointState(self.app.driver, self.app.settings.neo4j_database)

    def syncer(self, request: SyncRequest) -> EndpointsSync:
        return EndpointsSync(self.app.aws, self.app.writer, self._state(),
                             retire_after_seconds=self.app.settings.retire_after_seconds, stop=request.stop)

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        report.sources[self.name] = self.syncer(request).run(self.app.regions(request.regions), report)

    def scheduled_jobs(self) -> list[Any]:
        from jobs.worker import ScheduledJob, sync_trigger

        settings = self.app.settings
        return [ScheduledJob("endpoints-sync", sync_trigger(settings),
                             lambda stop: reconcile(self.app, [self], SyncRequest(stop=stop), "endpoints sync"),
                             run_at_start=settings.sync_on_start)]

    def event_handler(self) -> EventHandler:
        return EndpointEvents(self._state())
