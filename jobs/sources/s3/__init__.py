"""S3 datasets: schemas and their history, bucket posture, evaluation-report metrics.

fetch: collector/s3/objects.py, posture.py, formats.py (ranged reads); transform: collector/s3/extract.py,
versioning.py, posture.py and collector/events/s3.py (object events); write: `S3Datasets`
(datasets.py), `PostureKeeper` / `ReportReader` (enrich.py), object statistics (stats.py). Triggers:
object events (through the consumer, then a throttled background hook), `lineage-collector scan`,
the scheduled rescan and posture refresh, and the end of each reconciliation.
"""
from __future__ import annotations

import logging
from typing import Any

from jobs.sources.base import Command, EventHandler, Source, SyncReport, SyncRequest
from jobs.sources.s3.datasets import S3Datasets, S3Options, utcnow
from jobs.sources.s3.events import S3Events
from jobs.sources.s3.wiring import (
    build_s3_object_hook,
    configure_dataset_rules,
    dataset_rules,
    evaluation_metrics_for_execution,
    refresh_posture,
    s3_options,
    s3_scheduled_jobs,
    s3_service,
)

__all__ = [
    "S3Datasets", "S3Events", "S3Options", "S3Source", "build_s3_object_hook", "configure_dataset_rules",
    "dataset_rules", "evaluation_metrics_for_execution", "refresh_posture", "s3_options", "s3_scheduled_jobs",
    "s3_service", "utcnow",
]
log = logging.getLogger("lineage.s3")


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
        scan.add_argument("--history", action="store_true",
                          help="also read each dataset's schema history, one object per partition, oldest first")
        from jobs.sources.s3.scan import cmd_scan

        return {"scan": cmd_scan}
