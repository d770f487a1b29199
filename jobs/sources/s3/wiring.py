"""The S3 source's parts built from an App: the dataset service, the object-event hook, posture and
report refreshes, the scheduled jobs."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from collector.s3.extract import ExtractOptions
from collector.s3.hook import S3EventHook
from collector.s3.report import S3Report
from collector.s3.throttle import DatasetThrottle
from collector.s3uri import DEFAULT_RULES, DatasetRules, configure
from config import Settings
from graphstore.s3_state import S3State
from jobs.sources.s3.datasets import S3Datasets, S3Options, utcnow

log = logging.getLogger("lineage.s3")
REPORT_BATCH = 200


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
        posture_refresh_seconds=settings.s3_posture_refresh_seconds, workers=min(8, settings.sync_workers),
        history_max_partitions=settings.s3_history_max_partitions,
        history_on_first_scan=settings.s3_history_on_first_scan, retire_after_seconds=settings.retire_after_seconds)


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

    return S3EventHook(process, throttle, rules=service.rules, hand_back=service.hand_back)


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


def _log_fields(report: S3Report) -> dict[str, Any]:
    return {k: v for k, v in report.as_dict().items() if k not in ("errors", "formats")}
