"""Bucket posture kept fresh (once per bucket per refresh interval) and evaluation-report metrics
attached to the step runs that wrote them."""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws
from collector.s3.formats import Unreadable
from collector.s3.objects import ObjectReader, ObjectRef, ReadFailed, error_reason, list_objects
from collector.s3.posture import UNKNOWN, fetch_posture, posture_graph, posture_props
from collector.s3.report import S3Report
from collector.s3.reports import is_report_key, may_hold_report, read_report
from collector.s3uri import split
from graphstore.model import Graph
from graphstore.s3_state import ReportCandidate, S3State
from graphstore.writer import GraphWriter

if TYPE_CHECKING:
    from jobs.sources.s3.datasets import S3Datasets

log = logging.getLogger("lineage.s3")


class PostureKeeper:
    def __init__(self, aws: Aws, writer: GraphWriter, state: S3State, region: str, refresh_seconds: float,
                 now: Callable[[], datetime]) -> None:
        self.aws, self.writer, self.state, self.region = aws, writer, state, region
        self.refresh = refresh_seconds
        self.now = now
        self.regions: dict[str, str] = {}
        self._fresh_until: dict[str, float] = {}  # bucket -> monotonic time; spares graph reads
        self._lock = threading.Lock()

    def ensure(self, buckets: Iterable[str], report: S3Report | None = None, *, source: str = "s3",
               force: bool = False) -> int:
        """Fetch posture for the buckets whose stored posture is missing or older than the interval."""
        clock = time.monotonic()
        with self._lock:
            wanted = {b for b in buckets if b and (force or self._fresh_until.get(b, 0.0) <= clock)}
        if not wanted:
            return 0
        now = self.now()
        if not force:
            checked = self.state.posture_checked(wanted)
            cutoff = now - timedelta(seconds=self.refresh)
            recent = {b: at for b, at in checked.items() if at is not None and at >= cutoff}
            with self._lock:
                for bucket, at in recent.items():
                    self._fresh_until[bucket] = clock + (at - cutoff).total_seconds()
            wanted -= set(recent)
        return self.refresh_now(sorted(wanted), report, source=source)

    def refresh_now(self, buckets: list[str], report: S3Report | None = None, *, source: str = "s3") -> int:
        if not buckets:
            return 0
        now = self.now()
        client_for = lambda region: self.aws.client("s3", region or self.region)
        with ThreadPoolExecutor(max_workers=min(4, len(buckets)), thread_name_prefix="s3-posture") as pool:
            raws = list(pool.map(lambda b: fetch_posture(client_for, b, now), buckets))
        clock = time.monotonic()
        with self._lock:
            for raw in raws:
                region = posture_props(raw)["region"]
                if region != UNKNOWN:
                    self.regions[raw.bucket] = region
                self._fresh_until[raw.bucket] = clock + self.refresh
                if raw.errors:
                    log.warning("bucket %s: posture partly unknown: %s", raw.bucket, json.dumps(raw.errors))
        writes = self.writer.write(posture_graph(raws), source=source)
        if report is not None:
            report.buckets_refreshed += len(raws)
            report.writes.add(writes)
        return len(raws)


class ReportReader:
    """evaluation.json / report.json / metrics.json under a step's outputs -> StepRun.metrics."""

    def __init__(self, service: S3Datasets, names: tuple[str, ...], max_bytes: int) -> None:
        self.service = service
        self.names = names
        self.max_bytes = max_bytes

    def _read(self, obj: ObjectRef) -> dict[str, float]:
        try:
            return read_report(ObjectReader(self.service.client(obj.bucket)), obj, self.max_bytes)
        except (Unreadable, ReadFailed) as exc:
            log.warning("report %s unreadable: %s", obj.uri, exc.reason)
            return {}

    def _reports_under(self, name: str | None, uri: str, has_property_files: bool) -> list[ObjectRef]:
        if not may_hold_report(name, uri, has_property_files, self.names):
            return []
        bucket, key = split(uri)
        if is_report_key(key, self.names):
            return [ObjectRef(bucket, key)]
        prefix = key.rstrip("/") + "/" if key else ""
        listed = list_objects(self.service.client(bucket), bucket, prefix, max_pages=1, delimiter="/")
        return [o for o in listed if is_report_key(o.key, self.names)]

    def attach_candidates(self, candidates: list[ReportCandidate], report: S3Report | None = None,
                          source: str = "s3-reports") -> dict[str, dict[str, float]]:
        """Read the reports of these step runs; every candidate is marked checked, found or not."""
        now = self.service.now()
        graph = Graph()
        found: dict[str, dict[str, float]] = {}
        for candidate in candidates:
            metrics: dict[str, float] = {}
            objects: list[str] = []
            if candidate.status == "Succeeded":
                for output in candidate.outputs:
                    try:
                        located = self._reports_under(output.get("name"), output["uri"], candidate.has_property_files)
                    except (ClientError, BotoCoreError) as exc:
                        log.warning("step run %s: cannot list %s: %s", candidate.step_run, output["uri"],
                                    error_reason(exc))
                        continue
                    for obj in located:
                        metrics.update(self._read(obj))
                        objects.append(obj.uri)
            props: dict[str, Any] = {"reports_checked_at": now}
            if metrics:
                found[candidate.step_run] = metrics
                props.update(metrics=json.dumps({**candidate.metrics, **metrics}, sort_keys=True),
                             report_objects=sorted(set(objects)))
            graph.node("StepRun", candidate.step_run, props)
        writes = self.service.writer.write(graph, source=source)
        if report is not None:
            report.step_runs_with_metrics += len(found)
            report.writes.add(writes)
        return found

    def attach_objects(self, groups: dict[str, list[ObjectRef]], report: S3Report, source: str) -> None:
        """Report objects seen by an event or a scan: attach to the step runs that wrote their dataset."""
        reports = {ds: [o for o in objs if is_report_key(o.key, self.names)] for ds, objs in groups.items()}
        reports = {ds: objs for ds, objs in reports.items() if objs}
        if not reports:
            return
        producers = self.service.state.producers(reports)
        graph = Graph()
        now = self.service.now()
        for dataset, runs in producers.items():
            metrics: dict[str, float] = {}
            for obj in reports[dataset]:
                metrics.update(self._read(obj))
            if not metrics:
                continue
            for key, existing in runs:
                graph.node("StepRun", key, {"metrics": json.dumps({**existing, **metrics}, sort_keys=True),
                                            "report_objects": sorted(o.uri for o in reports[dataset]),
                                            "reports_checked_at": now})
                report.step_runs_with_metrics += 1
        report.writes.add(self.service.writer.write(graph, source=source))
