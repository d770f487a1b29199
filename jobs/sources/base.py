"""The source contract: what every source of lineage offers the CLI, the worker and the event router.

A source is a pure `fetch` (boto3/git calls, counted; collector/<source>/fetch…) and a pure
`transform` (API rows or events in, graphstore.model.Graph out; collector/<source>/transform…),
wired here into one write through GraphWriter and a scoped retire. A source class overrides only
what it has:

* `reconcile(request, report)`: one reconciliation pass (the `sync` command and the worker's schedule);
* `scheduled_jobs()`: further periodic work of its own (rescans, refreshes);
* `event_handler()`: its part of the event path (an EventHandler): `event_routes()` maps an item kind
  to a pure transform of one event into an `Effect` (EventBridge items are keyed
  `"<source>:<detail-type>"`, S3 object events `"aws.s3:object"`, Git pushes `"git:push"`); then
  `prepare` (AWS follow-ups per receive batch), `in_commit` (work inside the graph write's
  transaction) and `committed` (after the commit) see the effects of its own routes;
* `add_commands(subparsers)`: CLI commands of its own (`scan`, `sql-lineage`).

jobs/sources/__init__.py lists the sources; docs/adding-a-source.md walks through adding one.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from neo4j import ManagedTransaction

from graphstore.model import Graph, WriteStats

if TYPE_CHECKING:
    from jobs.app import App
    from jobs.ingest import Handled
    from jobs.worker import ScheduledJob

log = logging.getLogger("lineage.sync")
Progress = Callable[..., None]  # (message, done=None, total=None): jobs.progress.Progress.update
Command = Callable[[argparse.Namespace, Any], int]  # (arguments, Settings) -> exit code


@dataclass
class SyncRequest:
    """What one reconciliation is asked to cover (None: the settings decide)."""

    regions: list[str] | None = None
    pipelines: list[str] | None = None
    executions: int | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None


@dataclass
class SyncReport:
    """One reconciliation across sources: SageMaker's counters, every source's summary, all AWS calls."""

    regions: list[str] = field(default_factory=list)
    pipelines: int = 0
    pipelines_failed: int = 0
    executions_fetched: int = 0
    executions_skipped: int = 0
    jobs_described: int = 0
    retired_pipelines: int = 0
    errors: list[str] = field(default_factory=list)
    writes: WriteStats = field(default_factory=WriteStats)
    aws_calls: Counter[str] = field(default_factory=Counter)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> that source's own summary
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "regions": self.regions, "pipelines": self.pipelines, "pipelines_failed": self.pipelines_failed,
            "executions_fetched": self.executions_fetched, "executions_skipped": self.executions_skipped,
            "jobs_described": self.jobs_described, "retired_pipelines": self.retired_pipelines,
            "nodes_written": self.writes.nodes, "relationships_written": self.writes.relationships,
            "transactions": self.writes.transactions, "aws_calls": dict(sorted(self.aws_calls.items())),
            "aws_calls_total": sum(self.aws_calls.values()), "errors": self.errors,
            "sources": self.sources, "seconds": round(self.seconds, 3),
        }


@dataclass
class Effect:
    """What one event means: a kind (counted per message), graph data, and what the source's own
    prepare/in_commit/committed steps need (`data`, e.g. the event itself)."""

    kind: str
    graph: Graph = field(default_factory=Graph)
    data: Any = None


Route = Callable[[Any], Effect]          # one parsed item -> Effect; raises MalformedMessage
Pending = tuple["Handled", Effect]        # an effect and the message that carried it


class EventHandler:
    """A source's part of the event path: routes for its kinds, and the steps that see their effects."""

    name: str = ""

    def event_routes(self) -> Mapping[str, Route]:
        return {}

    def prepare(self, pending: Sequence[Pending]) -> None:
        """After parsing a receive batch: AWS follow-ups. Add graph data to a message (`h.graph`) or
        fail it (`h.fail`); raise graphstore.connection.Neo4jOutage when the store is down."""

    def in_commit(self, pending: Sequence[Pending]) -> Callable[[ManagedTransaction], Any] | None:
        """A transaction function run at the end of the graph write's last transaction (or None)."""
        return None

    def committed(self, pending: Sequence[Pending], in_commit_result: Any) -> Mapping[str, int] | None:
        """After the commit; returns counts for the commit's log line. Failing a message here leaves it
        for redelivery (its graph effect is idempotent)."""
        return None

    def stop(self, timeout: float) -> Mapping[str, int] | None:
        """The consumer is stopping, its last commit made: finish or hand back after-commit work (within
        `timeout` seconds); returns counts for the stop's log line."""
        return None


class Source:
    name: ClassVar[str] = ""

    def __init__(self, app: App) -> None:
        self.app = app

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        """One reconciliation pass; adds to `report` (its own summary under report.sources[name])."""

    def scheduled_jobs(self) -> list[ScheduledJob]:
        """Periodic work besides the reconciliation (which the worker schedules for every source)."""
        return []

    def event_handler(self) -> EventHandler | None:
        return None

    @classmethod
    def add_commands(cls, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, Command]:
        """Add this source's own CLI commands (before settings are read); returns name -> handler."""
        return {}


def reconcile(app: App, sources: Sequence[Source], request: SyncRequest, name: str = "sync") -> SyncReport:
    """Each source's `reconcile` in turn, with the AWS calls of all of them; logged as one line."""
    started = time.perf_counter()
    app.aws.reset_counts()
    report = SyncReport()
    for source in sources:
        if request.stop.is_set():
            break
        source.reconcile(request, report)
    delete_after = app.settings.retired_delete_after_seconds
    if delete_after and not request.stop.is_set():  # opt-in: what was retired long enough goes, in batches
        from graphstore.retirement import Retirement

        before = datetime.now(timezone.utc) - timedelta(seconds=delete_after)
        deleted = Retirement(app.driver, app.settings.neo4j_database).delete_retired(before)
        report.sources["retirement"] = {"deleted": deleted}
    report.aws_calls = app.aws.reset_counts()
    report.seconds = time.perf_counter() - started
    log.info(f"{name} finished", extra={"fields": {k: v for k, v in report.as_dict().items() if k != "errors"}})
    return report
