"""The collector's parts wired from an App, for the CLI, the worker, the demo and the tests."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import caller_account, describe_error
from config import SettingsError
from jobs.app import App
from jobs.ingest import EventBounds, EventIngest, tune_gc
from jobs.sources import Source, SyncReport, SyncRequest, build_sources
from jobs.sources.base import reconcile


def run_sync(app: App, regions: list[str] | None = None, pipelines: list[str] | None = None,
             executions: int | None = None, stop: Any = None, progress: Any = None,
             sources: list[str] | None = None) -> SyncReport:
    """One reconciliation: every source's (or these sources') `reconcile`, in registry order."""
    request = SyncRequest(regions, pipelines, executions, progress=progress)
    if stop is not None:
        request.stop = stop
    return reconcile(app, build_sources(app, sources), request)


def event_ingest(app: App, sources: list[Source] | None = None) -> EventIngest:
    """The event path: every source's event handler, routing the kinds it declares, within `event_bounds`."""
    bounds = event_bounds(app)
    handlers = [h for h in (s.event_handler() for s in sources or build_sources(app)) if h is not None]
    return EventIngest(app.writer, handlers, bounds)


def event_bounds(app: App) -> EventBounds:
    """What the consumer applies: times within LINEAGE_EVENT_MAX_CLOCK_SKEW_SECONDS of receipt, the accounts of
    LINEAGE_ACCOUNTS (unset: the caller's own, as the sync reads) and the regions of LINEAGE_REGIONS."""
    settings = app.settings
    regions = app.regions()
    accounts = list(settings.accounts)
    if not accounts:
        try:
            accounts = [caller_account(app.aws, regions[0])]
        except (ClientError, BotoCoreError) as exc:
            raise SettingsError(f"invalid setting LINEAGE_ACCOUNTS: not set, and the caller's account is unknown "
                                f"(sts:GetCallerIdentity: {describe_error(exc)})") from None
    return EventBounds(max_clock_skew=timedelta(seconds=settings.event_max_clock_skew_seconds),
                       accounts=frozenset(accounts), regions=frozenset(regions), out_of_scope=settings.out_of_scope)


def event_consumer(app: App, **overrides: Any) -> Any:
    """The SQS consumer (settings, overridden by the non-None `overrides`) around `event_ingest`."""
    from jobs.consumer import Consumer, ConsumerConfig

    tune_gc()  # a process setting: this process now lives to consume
    listeners = []
    if app.settings.openlineage_url:  # live OpenLineage emission after each commit (docs/openlineage.md)
        from jobs.openlineage.live import live_emitter

        listeners.append(live_emitter(app))
    return Consumer(app.aws, event_ingest(app), ConsumerConfig.from_settings(app.settings, **overrides),
                    listeners=listeners, metrics=app.metrics)


def scheduled_jobs(app: App) -> list[Any]:
    """Every source's schedules (the worker's jobs)."""
    return [job for source in build_sources(app) for job in source.scheduled_jobs()]


def reconciliation_lease(app: App) -> Any:
    """The lease the scheduled reconciliation runs under: one worker at a time."""
    import os
    import secrets
    import socket

    from graphstore.lease import Lease

    owner = app.settings.worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    lease = Lease(app.driver, app.settings.lease_name, owner, app.settings.lease_ttl_seconds, app.settings.neo4j_database)
    app.metrics.watch_lease(lease)  # lineage_lease_held
    return lease


def start_health(app: App, consumer: Any = None) -> Any:
    """The health endpoint on LINEAGE_HEALTH_HOST:LINEAGE_HEALTH_PORT (none when the port is 0), its details
    and the app's Prometheus metrics (/metrics) as LINEAGE_HEALTH_DETAILS allows."""
    settings = app.settings
    if not settings.health_port:
        return None
    from jobs.health import HealthServer, Neo4jProbe

    probe = Neo4jProbe(app.driver, settings.neo4j_database)
    app.metrics.watch_neo4j(probe)
    return HealthServer(settings.health_port, probe,
                        consumer_snapshot=consumer.stats.snapshot if consumer else None,
                        alive=(lambda: consumer.stats.running) if consumer else None,
                        host=settings.health_host, details=settings.health_details,
                        metrics=app.metrics.registry).start()


def offline_event_handlers(writer: Any) -> list[Any]:
    """SageMaker and S3 event handling with no AWS follow-ups and no hooks (benchmarks, outage tests)."""
    from jobs.sources.s3 import S3Events
    from jobs.sources.sagemaker import SageMakerEvents

    return [SageMakerEvents(writer), S3Events(writer)]
