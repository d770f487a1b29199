"""S3 datasets kept current: objects -> datasets -> schema observations -> the graph.

The three triggers (object events, `scan`, the scheduled rescan) meet in `observe`: objects
fold into datasets, one object per dataset (the newest) is read, and the observations become
one batched write. Posture and evaluation reports live in `enrich`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws
from collector.s3.extract import ExtractOptions, Observation, extract
from collector.s3.objects import ObjectReader, ObjectRef, error_reason, head_object, list_objects
from collector.s3.report import S3Report
from collector.s3.reports import REPORT_NAMES
from collector.s3.tables import TABLE_FORMATS, pick_object, pick_table_object, table_kind
from collector.s3.versioning import StoredSchema, plan_observation, stored_schema
from collector.s3uri import DatasetRules, active_rules, ancestors, dataset_uri, folder_dataset, is_marker, split
from graphstore.model import Graph
from graphstore.retirement import Retirement
from graphstore.s3_state import S3State
from graphstore.writer import GraphWriter
from jobs.sources.s3.enrich import PostureKeeper, ReportReader
from jobs.sources.s3.history import record_histories

log = logging.getLogger("lineage.s3")
Progress = Callable[..., None]  # (message, done=None, total=None)
RESOLVE_CHUNK = 5000


@dataclass(frozen=True)
class S3Options:
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    report_names: tuple[str, ...] = REPORT_NAMES
    report_max_bytes: int = 1 << 20
    posture_refresh_seconds: float = 6 * 3600
    list_max_pages: int = 10  # per dataset in a rescan: 10,000 objects
    workers: int = 4
    history_max_partitions: int = 200  # `scan --history`: partitions read before sampling
    history_on_first_scan: int = 50  # a new dataset's first scan reads its history within this; 0: off
    retire_after_seconds: float = 0  # a dataset whose objects are all gone retires after this (graphstore.retirement)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class S3Datasets:
    def __init__(self, aws: Aws, writer: GraphWriter, state: S3State, options: S3Options = S3Options(), *,
                 region: str | None = None, rules: DatasetRules | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.aws, self.writer, self.state, self.options = aws, writer, state, options
        self.region = region or aws.default_region or "us-east-1"
        self.rules = rules or active_rules()
        self.now = now
        self.retirement = Retirement(writer.driver, writer.database)
        self.posture = PostureKeeper(aws, writer, state, self.region, options.posture_refresh_seconds, now)
        self.reports = ReportReader(self, options.report_names, options.report_max_bytes)

    def client(self, bucket: str) -> Any:
        return self.aws.client("s3", self.posture.regions.get(bucket, self.region))

    # --- objects -> datasets ---------------------------------------------------------------

    def resolve(self, objects: list[ObjectRef]) -> dict[str, list[ObjectRef]]:
        """Dataset -> its objects. An object belongs to the dataset a step or job names (the object
        itself or its nearest folder); else the identity rules decide (`dataset_uri` of the object, as
        the event path's object statistics do): part files and partitions fold, other files stand alone."""
        groups: dict[str, list[ObjectRef]] = {}
        for start in range(0, len(objects), RESOLVE_CHUNK):
            chunk = objects[start:start + RESOLVE_CHUNK]
            candidates = {o.uri: [o.uri] + ancestors(o.uri) for o in chunk}
            known = self.state.lineage_datasets(u for c in candidates.values() for u in c)
            for obj in chunk:
                dataset = next((c for c in candidates[obj.uri] if c in known), None)
                groups.setdefault(dataset or dataset_uri(obj.uri, is_prefix=False, rules=self.rules), []).append(obj)
        return groups

    def observe_objects(self, objects: Iterable[ObjectRef], *, source: str = "s3-event",
                        report: S3Report | None = None) -> S3Report:
        """New objects (events): one read per affected dataset, reports attached, posture kept fresh."""
        report = report or S3Report()
        data = [o for o in objects if not is_marker(o.key, self.rules)]
        report.objects += len(data)
        groups = self.resolve(data)
        self.observe({dataset: pick_object(objs) for dataset, objs in groups.items()}, source=source, report=report)
        self.reports.attach_objects(groups, report, source)
        self.posture.ensure({o.bucket for o in data}, report, source=source)
        return report

    def hand_back(self, objects: list[ObjectRef]) -> None:
        """Schema reads a stopping worker could not make: their datasets go first in the next rescan."""
        graph = Graph()
        for dataset in self.resolve([o for o in objects if not is_marker(o.key, self.rules)]):
            graph.node("Dataset", dataset, {"schema_read_due": self.now()})
        self.writer.write(graph, source="s3-event")
        log.info("handed %d datasets' schema reads to the rescan", len(graph.nodes))

    def observe(self, picks: dict[str, ObjectRef], *, source: str, report: S3Report,
                progress: Progress | None = None, extra: dict[str, dict[str, Any]] | None = None) -> None:
        """Read each dataset's chosen object unless its ETag was already observed; write the outcome."""
        report.datasets += len(picks)
        stored = {uri: stored_schema(row) for uri, row in self.state.schemas(picks).items()} if picks else {}
        now = self.now()
        graph = Graph()
        todo: dict[str, ObjectRef] = {}
        for dataset, obj in picks.items():
            known = stored.get(dataset)
            seen = known and obj.etag and (known.newest_object, known.newest_object_etag) == (obj.uri, obj.etag)
            # a table's schema is in its metadata files: a data file of it says nothing new
            if seen or (known and known.format in TABLE_FORMATS and not table_kind(obj.key)):
                report.already_seen += 1
                graph.node("Dataset", dataset, {"scanned_at": now, "scan_error": ""})
            else:
                todo[dataset] = obj
        for dataset, observation in self._extract_all(todo, progress):
            self._plan(graph, dataset, observation, stored.get(dataset), now, report)
        for dataset, props in (extra or {}).items():
            graph.node("Dataset", dataset, props)
        report.writes.add(self.writer.write(graph, source=source))
        self.retirement.datasets_found_again(sorted(picks))

    def _plan(self, graph: Graph, dataset: str, obs: Observation, stored: StoredSchema | None, now: datetime,
              report: S3Report) -> None:
        planned = plan_observation(dataset, obs, stored, now)
        graph.update(planned.graph)
        graph.node("Dataset", dataset, {"scan_error": ""})
        report.extracted += 1
        report.count(planned.outcome)
        report.drift += int(planned.drift)
        report.bytes_read += obs.bytes_read
        report.get_requests += obs.requests
        report.formats[obs.format or "unknown"] += 1
        if obs.status == "unreadable":
            log.warning("dataset %s: object %s unreadable: %s", dataset, obs.object.uri, obs.reason)
        elif planned.outcome == "new_version":
            log.info("dataset %s: schema version %s%s", dataset, planned.version_id, " (drift)" if planned.drift else "")

    def _extract_all(self, todo: dict[str, ObjectRef],
                     progress: Progress | None) -> Iterable[tuple[str, Observation]]:
        def one(item: tuple[str, ObjectRef]) -> tuple[str, Observation]:
            dataset, obj = item
            return dataset, extract(ObjectReader(self.client(obj.bucket)), obj, self.options.extract)

        if not todo:
            return []
        results = []
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers), thread_name_prefix="s3-extract") as pool:
            for done, result in enumerate(pool.map(one, todo.items()), 1):
                results.append(result)
                if progress:
                    progress("datasets read", done, len(todo))
        return results

    # --- on demand: scan a prefix ---------------------------------------------------------

    def scan(self, bucket: str, prefix: str = "", progress: Progress | None = None, *,
             history: bool = False) -> S3Report:
        """Read the datasets under a prefix. With `history`, first each dataset's schema history from its
        partitions (sampled above LINEAGE_S3_HISTORY_MAX_PARTITIONS); without, only for datasets without a
        stored schema, within LINEAGE_S3_HISTORY_ON_FIRST_SCAN partitions."""
        report = S3Report()
        root = f"s3://{bucket}/{prefix}"
        self.posture.ensure({bucket}, report, source="scan", force=True)
        objects: list[ObjectRef] = []
        try:
            for listed, obj in enumerate(list_objects(self.client(bucket), bucket, prefix), 1):
                if not is_marker(obj.key, self.rules):
                    objects.append(obj)
                if progress and listed % 1000 == 0:
                    progress(f"listing {root}", listed, None)
        except (ClientError, BotoCoreError) as exc:
            report.errors.append(f"cannot list {root}: {error_reason(exc)}")
            log.error(report.errors[-1])
            if not objects:
                return report
        report.objects = len(objects)
        groups = _under_table_roots(self.resolve(objects))
        limit = self.options.history_max_partitions if history else self.options.history_on_first_scan
        if limit > 0:
            record_histories(self, {ds: objs for ds, objs in groups.items() if ds.startswith(root)}, limit,
                             only_new=not history, report=report, progress=progress)
        extra = {ds: {"scanned_objects": len(objs), "scanned_bytes": sum(o.size or 0 for o in objs)}
                 for ds, objs in groups.items() if ds.startswith(root)}
        if progress:
            progress(f"{len(objects):,} objects in {len(groups):,} datasets")
        self.observe({ds: pick_object(objs) for ds, objs in groups.items()}, source="scan", report=report,
                     progress=progress, extra=extra)
        self.reports.attach_objects(groups, report, "scan")
        return report

    # --- scheduled: datasets whose newest object changed ------------------------------------

    def rescan(self, cutoff: datetime, limit: int, stop: Any = None) -> S3Report:
        report = S3Report()
        targets = self.state.datasets_to_rescan(cutoff, limit)
        now = self.now()
        graph = Graph()
        picks: dict[str, ObjectRef] = {}
        vanished: list[str] = []

        def newest_of(target: Any) -> tuple[Any, ObjectRef | None, str]:
            if stop is not None and stop.is_set():
                return target, None, "stopping"
            try:
                return target, self._newest_object(target.uri), ""
            except (ClientError, BotoCoreError) as exc:
                return target, None, error_reason(exc)

        with ThreadPoolExecutor(max_workers=max(1, self.options.workers), thread_name_prefix="s3-rescan") as pool:
            for target, found, error in pool.map(newest_of, targets):
                if error == "stopping":
                    continue
                if found is None or (found.etag and (found.uri, found.etag) == (target.newest_object,
                                                                   target.newest_object_etag)):
                    graph.node("Dataset", target.uri, {"scanned_at": now, "scan_error": error or (
                        "" if found else "no data objects")})
                    report.unchanged += int(found is not None)
                    if found is None and not error:
                        vanished.append(target.uri)
                    if error:
                        report.errors.append(f"{target.uri}: {error}")
                else:
                    picks[target.uri] = found
        report.writes.add(self.writer.write(graph, source="rescan"))
        if vanished:
            retired = self.retirement.retire_vanished_datasets(
                vanished, now, now - timedelta(seconds=self.options.retire_after_seconds))
            for uri in retired:
                log.info("dataset %s retired: no data objects left", uri)
            report.retired += len(retired)
        report.objects = len(picks)
        self.observe(picks, source="rescan", report=report)
        self.posture.ensure({split(uri)[0] for uri in picks}, report, source="rescan")
        return report

    def _newest_object(self, dataset: str) -> ObjectRef | None:
        bucket, key = split(dataset)
        client = self.client(bucket)
        if key and not key.endswith("/"):
            return head_object(client, ObjectRef(bucket, key))
        objects = [o for o in list_objects(client, bucket, key, max_pages=self.options.list_max_pages)
                   if not is_marker(o.key, self.rules)]
        own = [o for o in objects if folder_dataset(o.bucket, o.key, self.rules) == dataset]
        pool = own or objects
        return (pick_table_object(objects) or pick_object(pool)) if pool else None


def _under_table_roots(groups: dict[str, list[ObjectRef]]) -> dict[str, list[ObjectRef]]:
    """Data folders inside a Delta or Iceberg table (`t/data/`) join the table's root dataset."""
    roots = sorted((ds for ds, objs in groups.items() if pick_table_object(objs)), key=len, reverse=True)
    if not roots:
        return groups
    out: dict[str, list[ObjectRef]] = {}
    for ds, objs in groups.items():
        out.setdefault(next((r for r in roots if ds.startswith(r)), ds), []).extend(objs)
    return out

