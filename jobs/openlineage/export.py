"""`lineage-collector openlineage export`: what the graph holds, as OpenLineage events, through the
official client's file or HTTP transport (docs/openlineage.md).

Reads come from graphstore.openlineage_reads (paged), events from collector.openlineage (pure); this
module wires them to an `openlineage.client.OpenLineageClient`.
"""
from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.transport import Transport

from collector.openlineage.events import Event, Naming, execution_events, sql_file_event
from graphstore.openlineage_reads import OpenLineageReads

log = logging.getLogger("lineage.openlineage")
EXECUTIONS_PER_READ = 50
SQL_FILES_PER_READ = 100


def producer() -> str:
    """The producer URI on every event: this distribution and its version."""
    try:
        release = version("sagemaker-lineage-collector")
    except PackageNotFoundError:
        release = "dev"
    return f"urn:sagemaker-lineage-collector:{release}"


def naming(settings: Any) -> Naming:
    return Naming(producer=producer(), table_namespace=settings.openlineage_table_namespace)


def http_transport(url: str, settings: Any, *, retry: dict[str, Any] | None = None) -> HttpTransport:
    key = settings.openlineage_api_key
    auth: TokenProvider = ApiKeyTokenProvider({"apiKey": key.get_secret_value()}) if key else TokenProvider({})
    return HttpTransport(HttpConfig(url=url, endpoint=settings.openlineage_endpoint,
                                    timeout=settings.openlineage_timeout_seconds, auth=auth,
                                    retry=retry if retry is not None else dict(DEFAULT_RETRY_CONFIG)))


def file_transport(path: str) -> FileTransport:
    """One JSON event per line, appended to `path` (which the export empties first)."""
    return FileTransport(FileConfig(log_file_path=path, append=True))


def client(transport: Transport) -> OpenLineageClient:
    # The client also applies what an openlineage.yml / OPENLINEAGE__* configuration asks (tags, filters).
    return OpenLineageClient(transport=transport)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise), or a duration back from now: 90m, 12h, 7d."""
    value = text.strip()
    relative = re.fullmatch(r"(\d+)\s*([smhdw])", value)
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[relative.group(2)]
        return (now or datetime.now(timezone.utc)) - timedelta(**{unit: int(relative.group(1))})
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time nor a duration like 12h or 7d: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass
class ExportReport:
    events: Counter[str] = field(default_factory=Counter)  # by event type (and "JOB" for SQL file jobs)
    executions: int = 0
    step_runs: int = 0
    sql_files: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"events": sum(self.events.values()), "by_type": dict(sorted(self.events.items())),
                "executions": self.executions, "step_runs": self.step_runs, "sql_files": self.sql_files,
                "seconds": round(self.seconds, 3)}


def graph_events(reads: OpenLineageReads, names: Naming, *, pipeline: str | None = None,
                 since: datetime | None = None, report: ExportReport | None = None) -> Iterator[Event]:
    """Every event the graph gives, page by page: pipeline executions (each: its START, its step runs'
    events, its end), then SQL files."""
    report = report if report is not None else ExportReport()
    batch: list[str] = []

    def executions() -> Iterator[Event]:
        for row in reads.executions(batch):
            events = execution_events(row, names)
            if events:
                report.executions += 1
                report.step_runs += len({e.run.runId for e in events}) - 1
            yield from events

    for key in reads.execution_keys(pipeline=pipeline, since=since):
        batch.append(key)
        if len(batch) >= EXECUTIONS_PER_READ:
            yield from executions()
            batch = []
    if batch:
        yield from executions()

    files: list[str] = []

    def sql_files() -> Iterator[Event]:
        for row in reads.sql_files(files):
            if since is not None and pipeline is not None and (row.get("commit_time") or since) < since:
                continue  # --pipeline picked the files; --since still applies
            event = sql_file_event(row, names)
            if event is not None:
                report.sql_files += 1
                yield event

    for key in reads.sql_file_keys(pipeline=pipeline, since=since):
        files.append(key)
        if len(files) >= SQL_FILES_PER_READ:
            yield from sql_files()
            files = []
    if files:
        yield from sql_files()


def export(reads: OpenLineageReads, names: Naming, emitter: OpenLineageClient, *, pipeline: str | None = None,
           since: datetime | None = None) -> ExportReport:
    """Emit every event through the client; a failing transport stops the export (raises)."""
    started = time.perf_counter()
    report = ExportReport()
    for event in graph_events(reads, names, pipeline=pipeline, since=since, report=report):
        emitter.emit(event)
        report.events[event.eventType.value if isinstance(event, RunEvent) and event.eventType else "JOB"] += 1
    report.seconds = time.perf_counter() - started
    return report
