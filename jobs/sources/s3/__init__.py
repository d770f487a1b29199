"""S3 datasets: schemas and their history, bucket posture, evaluation-report metrics.

fetch: collector/s3/objects.py, posture.py, formats.py (ranged reads); transform: collector/s3/extract.py,
versioning.py, posture.py and collector/events/s3.py (object events); write: `S3Datasets`
(datasets.py), `PostureKeeper` / `ReportReader` (enrich.py), object statistics (stats.py). Triggers:
object events (through the consumer, then a throttled background hook), `lineage-collector scan`,
the scheduled rescan and posture refresh, and the end of each reconciliation.
"""
from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta, timezone
from typing import Any

from neo4j import ManagedTransaction

from collector.events import S3ObjectEvent, S3ObjectHook
from collector.events.s3 import objects_graph
from collector.s3.extract import ExtractOptions
from collector.s3.hook import S3EventHook
from collector.s3.report import S3Report
from collector.s3.throttle import DatasetThrottle
from collector.s3uri import DEFAULT_RULES, DatasetRules, configure, is_s3_uri, split
from config import Settings, SettingsError
from graphstore.model import merge_into
from graphstore.s3_state import S3State
from graphstore.writer import GraphWriter
from jobs.sources.base import Command, Effect, EventHandler, Pending, Route, Source, SyncReport, SyncRequest
from jobs.sources.s3.datasets import S3Datasets, S3Options, utcnow
from jobs.sources.s3.stats import ObjectStatsStore

log = logging.getLogger("lineage.s3")
REPORT_BATCH = 200



class S3Events(EventHandler):
    """S3 object events: Dataset and Bucket nodes, object statistics in the graph write's transaction,
    then the hooks (schema reads) once the write committed."""

    name = "s3"

    def __init__(self, writer: GraphWriter, hooks: Sequence[S3ObjectHook] = ()) -> None:
        self.hooks = list(hooks)
        self.object_stats = ObjectStatsStore(writer.driver, writer.database)

    def event_routes(self) -> Mapping[str, Route]:
        return {"aws.s3:object": lambda event: Effect(f"aws.s3:{event.action}", data=event)}

    def prepare(self, pending: Sequence[Pending]) -> None:
        by_message: dict[int, tuple[Any, list[S3ObjectEvent]]] = {}
        for h, effect in pending:
            by_message.setdefault(id(h), (h, []))[1].append(effect.data)
        for h, events in by_message.values():
            graph = objects_graph(events)
            if h.graph.nodes:
                merge_into(h.graph, graph)
            else:
                h.graph = graph

    def in_commit(self, pending: Sequence[Pending]) -> Callable[[ManagedTransaction], Any] | None:
        return self.object_stats.update_for(effect.data for _, effect in pending)

    def committed(self, pending: Sequence[Pending], in_commit_result: Any) -> Mapping[str, int]:
        datasets = self.object_stats.committed(in_commit_result)
        carriers: dict[int, Any] = {}
        events: list[S3ObjectEvent] = []
        for h, effect in pending:
            if h.outcome == "ok":
                carriers[id(h)] = h
                events.append(effect.data)
        for hook in self.hooks if events else ():
            try:
                hook(events)
            except Exception as exc:
                log.warning("S3 object hook %s failed on %d events (%s); their messages will be redelivered",
                            getattr(hook, "__name__", hook), len(events), f"{type(exc).__name__}: {exc}")
                for h in carriers.values():
                    h.fail("failed", f"S3 object hook: {type(exc).__name__}: {exc}")
                break
        return {"datasets": datasets}


class S3Source(Source):
    name = "s3"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._service: S3Datasets | None = None

    @property
    def service(self) -> S3Datasets:
        if self._service is None:
            self._service = s3_service(self.app)
        return self._service

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        """After the pipelines: posture of buckets not fetched recently, metrics of finished steps' reports."""
        try:
            buckets = refresh_posture(self.app, service=self.service)
            found = evaluation_metrics_for_execution(self.app, None, service=self.service)
            report.sources[self.name] = {"buckets_refreshed": buckets, "step_runs_with_metrics": len(found)}
        except Exception:  # S3 enrichment must not undo a sync that succeeded
            log.exception("S3 enrichment after the sync failed; the scheduled S3 jobs will retry")

    def scheduled_jobs(self) -> list[Any]:
        return s3_scheduled_jobs(self.app, self.app.settings, self.service)

    def event_handler(self) -> EventHandler:
        return S3Events(self.app.writer, [build_s3_object_hook(self.app, self.service)])

    @classmethod
    def add_commands(cls, subparsers: Any) -> dict[str, Command]:
        scan = subparsers.add_parser("scan", help="read the schemas of the S3 datasets under a prefix, "
                                                  "and the bucket's posture")
        scan.add_argument("uri", help="s3://bucket/prefix")
        scan.add_argument("--region", help="the bucket's region (default: the first of LINEAGE_REGIONS, or AWS_REGION)")
        scan.add_argument("--json", action="store_true", help="print the summary as JSON")
        return {"scan": cmd_scan}


def dataset_rules(settings: Settings) -> DatasetRules:
    return DEFAULT_RULES.extended(partition=settings.s3_partition_patterns, part_file=settings.s3_part_file_patterns,
                                  marker=settings.s3_marker_patterns)


def configure_dataset_rules(settings: Settings) -> DatasetRules:
    """Apply LINEAGE_S3_*_PATTERNS process-wide, so the sync and the S3 work fold keys alike."""
    rules = dataset_rules(settings)
    configure(rules)
    return rules


def s3_options(settings: Settings) -> S3Options:
    return S3Options(
        extract=ExtractOptions(sample_rows=settings.s3_sample_rows, sample_bytes=settings.s3_sample_bytes,
                               footer_read_bytes=settings.s3_footer_read_bytes),
        report_names=tuple(settings.s3_report_names), report_max_bytes=settings.s3_report_max_bytes,
        posture_refresh_seconds=settings.s3_posture_refresh_seconds, workers=min(8, settings.sync_workers))


def s3_service(app: Any, region: str | None = None) -> S3Datasets:
    settings = app.settings
    rules = configure_dataset_rules(settings)
    default_region = region or (settings.regions[0] if settings.regions else None)
    return S3Datasets(app.aws, app.writer, S3State(app.driver, settings.neo4j_database), s3_options(settings),
                      region=default_region, rules=rules)


# --- the object-event hook -------------------------------------------------------------------


def build_s3_object_hook(app: Any, service: S3Datasets | None = None) -> S3EventHook:
    """The S3ObjectHook for the SQS consumer: dedup per dataset, rate limit, background reads."""
    service = service or s3_service(app)
    settings = app.settings
    throttle = DatasetThrottle(settings.s3_schema_min_interval_seconds, settings.s3_reads_per_second,
                               burst=max(1.0, settings.s3_reads_per_second * 2))

    def process(objects: list[Any]) -> None:
        report = service.observe_objects(objects, source="s3-event")
        log.info("s3 objects observed", extra={"fields": _log_fields(report)})

    return S3EventHook(process, throttle, rules=service.rules)


# --- calls for the sync and the event paths ------------------------------------------------------


def refresh_posture(app: Any, buckets: list[str] | None = None, *, force: bool = False,
                    service: S3Datasets | None = None) -> int:
    """Fetch posture for these buckets (None: every Bucket in the graph) unless fetched within
    LINEAGE_S3_POSTURE_REFRESH_SECONDS; returns how many were fetched."""
    service = service or s3_service(app)
    if buckets is None:
        cutoff = utcnow() - timedelta(seconds=app.settings.s3_posture_refresh_seconds)
        buckets = service.state.stale_buckets(utcnow() if force else cutoff)
        force = True
    return service.posture.ensure(buckets, source="posture", force=force)


def evaluation_metrics_for_execution(app: Any, execution_arn: str | list[str] | None,
                                     service: S3Datasets | None = None,
                                     max_step_runs: int = 10 * REPORT_BATCH) -> dict[str, dict[str, float]]:
    """Read evaluation.json / report.json / metrics.json written by the finished step runs of these
    executions (None: of any execution, at most `max_step_runs` per call) and merge their numbers into
    StepRun.metrics. Each step run is checked once. Returns step run key -> metrics found."""
    service = service or s3_service(app)
    arns = [execution_arn] if isinstance(execution_arn, str) else (list(execution_arn) if execution_arn else None)
    found: dict[str, dict[str, float]] = {}
    checked = 0
    while checked < max_step_runs:
        candidates = service.state.report_candidates(arns, REPORT_BATCH)
        if not candidates:
            break
        found.update(service.reports.attach_candidates(candidates))
        checked += len(candidates)
    return found


# --- scheduled jobs --------------------------------------------------------------------------------


def s3_scheduled_jobs(app: Any, settings: Settings, service: S3Datasets | None = None) -> list[Any]:
    """Posture refresh, rescans of datasets whose newest object changed, and report metrics for step runs
    that finished without them: each a jobs.worker.ScheduledJob."""
    from apscheduler.triggers.interval import IntervalTrigger

    from jobs.worker import ScheduledJob

    service = service or s3_service(app)
    every: Callable[[int], IntervalTrigger] = lambda seconds: IntervalTrigger(seconds=seconds, timezone=timezone.utc)

    def posture(stop: threading.Event) -> None:
        count = refresh_posture(app, None, service=service)
        log.info("bucket posture refreshed", extra={"fields": {"buckets": count}})

    def rescan(stop: threading.Event) -> None:
        cutoff = utcnow() - timedelta(seconds=settings.s3_rescan_interval_seconds)
        report = service.rescan(cutoff, settings.s3_rescan_batch, stop=stop)
        log.info("s3 datasets rescanned", extra={"fields": _log_fields(report)})

    def reports(stop: threading.Event) -> None:
        found = evaluation_metrics_for_execution(app, None, service=service)
        log.info("evaluation reports read", extra={"fields": {"step_runs_with_metrics": len(found)}})

    # Frequent checks are cheap (one graph query when nothing is due); the intervals in the settings
    # decide how often a bucket or dataset is actually fetched again.
    return [
        ScheduledJob("s3-posture", every(min(settings.s3_posture_refresh_seconds, 900)), posture),
        ScheduledJob("s3-rescan", every(min(300, max(60, settings.s3_rescan_interval_seconds // 4))), rescan),
        ScheduledJob("s3-evaluation-reports", every(300), reports),
    ]


# --- `lineage-collector scan` ------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.app import App
    from jobs.progress import Progress

    if not is_s3_uri(args.uri):
        raise SettingsError(f"not an s3:// URI: {args.uri}")
    bucket, prefix = split(args.uri)
    app = App(settings)
    try:
        app.writer.ensure_schema()
        service = s3_service(app, args.region)
        with Progress(enabled=not args.json) as progress:
            report = service.scan(bucket, prefix, progress=progress.update)
    finally:
        app.close()
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_scan(args.uri, summary))
    return 1 if report.errors and not report.datasets else 0


def format_scan(uri: str, s: dict[str, Any]) -> str:
    lines = [
        f"scanned {uri}: {s['objects']:,} objects in {s['datasets']:,} datasets in {s['seconds']:.2f}s",
        f"  schemas: {s['new_versions']} new versions ({s['drift']} with drift), {s['unchanged']} unchanged, "
        f"{s['already_seen']} already seen, {s['unreadable']} unreadable, {s['no_schema']} without schema",
        f"  read: {s['bytes_read']:,} bytes in {s['get_requests']} ranged GETs",
        f"  formats: {', '.join(f'{k} {v}' for k, v in s['formats'].items()) or '-'}",
        f"  buckets: {s['buckets_refreshed']} posture refreshed",
    ]
    lines += [f"  error: {e}" for e in s["errors"]]
    return "\n".join(lines)


def _log_fields(report: S3Report) -> dict[str, Any]:
    return {k: v for k, v in report.as_dict().items() if k not in ("errors", "formats")}
