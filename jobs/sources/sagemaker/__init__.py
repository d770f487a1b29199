"""SageMaker pipelines, executions, step runs, jobs, model packages and models.

fetch: collector/sagemaker/fetch.py; transform: collector/sagemaker/transform.py (+ definition.py for
pipeline definitions) and collector/events/sagemaker.py for EventBridge events; write and retire:
`SageMakerSync` (sync.py); event follow-ups: events.py.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from collector.aws import Aws
from graphstore.state import GraphState
from graphstore.writer import GraphWriter
from jobs.sources.base import EventHandler, Pending, Route, Source, SyncReport, SyncRequest, reconcile
from jobs.sources.sagemaker.events import SageMakerFollowUps, routes
from jobs.sources.sagemaker.sync import SageMakerSync

__all__ = ["SageMakerEvents", "SageMakerSource", "SageMakerSync"]


class SageMakerEvents(EventHandler):
    """EventBridge SageMaker events; with `aws`, unseen pipelines and finished executions are fetched (only in
    `regions`, when given)."""

    name = "sagemaker"

    def __init__(self, writer: GraphWriter, aws: Aws | None = None, state: GraphState | None = None,
                 regions: Iterable[str] | None = None) -> None:
        self.follow_ups = None
        if aws is not None:
            state = state or GraphState(writer.driver, writer.database)
            self.follow_ups = SageMakerFollowUps(aws, SageMakerSync(aws, writer, state, executions=0), state,
                                                 regions=frozenset(regions) if regions is not None else None)

    @property
    def counters(self) -> Counter[str]:
        return self.follow_ups.counters if self.follow_ups else Counter()

    def event_routes(self) -> Mapping[str, Route]:
        return routes()

    def prepare(self, pending: Sequence[Pending]) -> None:
        if self.follow_ups is not None:
            self.follow_ups(pending)


class SageMakerSource(Source):
    name = "sagemaker"

    def syncer(self, request: SyncRequest) -> SageMakerSync:
        settings = self.app.settings
        executions = settings.executions_per_pipeline if request.executions is None else request.executions
        return SageMakerSync(self.app.aws, self.app.writer, self.app.state, executions=executions,
                             workers=settings.sync_workers, progress=request.progress, stop=request.stop,
                             retire_after_seconds=settings.retire_after_seconds)

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        self.syncer(request).run(self.app.regions(request.regions),
                                 request.pipelines or self.app.settings.pipelines, report)

    def scheduled_jobs(self) -> list[Any]:
        from jobs.worker import ScheduledJob, sync_trigger

        settings = self.app.settings
        return [ScheduledJob("sagemaker-sync", sync_trigger(settings),
                             lambda stop: reconcile(self.app, [self], SyncRequest(stop=stop)),
                             run_at_start=settings.sync_on_start)]

    def event_handler(self) -> EventHandler:
        return SageMakerEvents(self.app.writer, self.app.aws, self.app.state, regions=self.app.regions())
