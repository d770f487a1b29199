"""Schema histories of datasets from their partitions, written through the graph write path."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from collector.s3.extract import Observation, extract
from collector.s3.history import partitions_of, read_history
from collector.s3.history_plan import plan_history
from collector.s3.objects import ObjectReader, ObjectRef
from collector.s3.report import S3Report
from collector.s3.tables import pick_table_object
from collector.s3.versioning import stored_schema
from graphstore.model import Graph

if TYPE_CHECKING:
    from jobs.sources.s3.datasets import S3Datasets

log = logging.getLogger("lineage.s3")


def record_histories(service: S3Datasets, groups: dict[str, list[ObjectRef]], limit: int, *, only_new: bool,
                     report: S3Report, progress: Any = None) -> None:
    """For each dataset with two or more partitions (tables excluded: their data files are not
    partitions), read one object per partition and record the schema versions it went through.
    `only_new`: only datasets the graph holds no schema version of (a first scan)."""
    candidates = {ds: objs for ds, objs in groups.items() if not pick_table_object(objs)}
    if not candidates:
        return
    stored = {uri: stored_schema(row) for uri, row in service.state.schemas(candidates).items()}
    graph = Graph()
    now = service.now()
    for done, (dataset, objects) in enumerate(sorted(candidates.items()), 1):
        known = stored.get(dataset)
        if only_new and known and known.versions:
            continue
        parts = partitions_of(dataset, objects)
        if len(parts) < 2:
            continue
        reader = ObjectReader(service.client(parts[0].object.bucket))

        def read(obj: ObjectRef, reader: ObjectReader = reader) -> Observation:
            return extract(reader, obj, service.options.extract)

        history = read_history(dataset, parts, read, limit)
        planned, added = plan_history(history, known, now)
        graph.update(planned)
        report.history_datasets += 1
        report.history_versions += len(added)
        report.history_partitions += history.partitions
        report.history_partitions_read += len(history.read)
        report.history_bytes_read += history.bytes_read
        report.bytes_read += history.bytes_read
        report.get_requests += history.requests
        log.info("dataset %s: schema history over %d partitions (%d read%s): %d versions, %d added",
                 dataset, history.partitions, len(history.read), ", sampled" if history.sampled else "",
                 len(history.versions), len(added))
        if progress:
            progress("schema histories", done, len(candidates))
    report.writes.add(service.writer.write(graph, source="history"))
