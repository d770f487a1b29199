"""SQL lineage from Git repositories: tables, columns, SQL files, commits, and steps that run them.

fetch: collector/git/repo.py (bare mirrors), collector/git/credentials.py, collector/sql/storage.py
(Glue); transform: collector/sql/ (sqlglot) and collector/git/transform.py; write and retire:
`GitSqlSync` (sync.py). Triggers: its own schedule, Git push events, `lineage-collector sync`.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timezone
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from collector.events import GitPushHandler
from graphstore.sql_state import SqlState
from jobs.sources.base import Command, Effect, EventHandler, Pending, Route, Source, SyncReport, SyncRequest
from jobs.sources.git_sql.sync import GitSqlSync, RepoReport, SyncOptions

__all__ = ["GitEvents", "GitSqlSource", "GitSqlSync", "RepoReport", "SyncOptions", "git_push_handler",
           "git_scheduled_jobs", "git_sql_sync"]

log = logging.getLogger("lineage.events")



def git_sql_sync(app: Any, settings: Any) -> GitSqlSync:
    return GitSqlSync(settings.git_repos, app.writer, SqlState(app.driver, settings.neo4j_database),
                      SyncOptions.from_settings(settings), aws=app.aws)


def git_push_handler(app: Any, settings: Any) -> GitPushHandler | None:
    """What a push event runs (None when no repository is configured)."""
    if not settings.git_repos:
        return None
    return git_sql_sync(app, settings).handle_push


def git_scheduled_jobs(app: Any, settings: Any) -> list[Any]:
    from jobs.worker import ScheduledJob

    if not settings.git_repos:
        return []
    syncer = git_sql_sync(app, settings)
    trigger = IntervalTrigger(seconds=settings.git_sync_interval_seconds, timezone=timezone.utc)
    return [ScheduledJob("git-sql-sync", trigger, lambda stop: syncer.run(stop), run_at_start=True)]


class GitEvents(EventHandler):
    """Git push events (GitHub, GitLab, CodeCommit): the handler syncs the repository; raising retries."""

    name = "git-sql"

    def __init__(self, handler: GitPushHandler | None) -> None:
        self.handler = handler

    def event_routes(self) -> Mapping[str, Route]:
        return {"git:push": lambda push: Effect(f"git:{push.provider}", data=push)}

    def prepare(self, pending: Sequence[Pending]) -> None:
        for h, effect in pending:
            push = effect.data
            if h.outcome != "ok":
                continue
            if self.handler is None:
                log.info("message %s: git push to %s %s skipped: no git handler configured",
                         h.message.message_id, push.repo_url, push.ref)
                h.kinds["git:no-handler"] += 1
                continue
            try:
                self.handler(push)
            except Exception as exc:
                log.warning("message %s: git handler failed for %s %s: %s", h.message.message_id,
                            push.repo_url, push.ref, f"{type(exc).__name__}: {exc}")
                h.fail("failed", f"git handler: {type(exc).__name__}: {exc}")


class GitSqlSource(Source):
    name = "git-sql"

    def reconcile(self, request: SyncRequest, report: SyncReport) -> None:
        if not self.app.settings.git_repos:
            return
        repos = git_sql_sync(self.app, self.app.settings).run(request.stop)
        report.sources[self.name] = {"repos": len(repos), "failed": sum(1 for r in repos if r.error)}
        report.errors += [f"git {r.repo}: {r.error}" for r in repos if r.error]

    def scheduled_jobs(self) -> list[Any]:
        return git_scheduled_jobs(self.app, self.app.settings)

    def event_handler(self) -> EventHandler:
        return GitEvents(git_push_handler(self.app, self.app.settings))

    @classmethod
    def add_commands(cls, subparsers: Any) -> dict[str, Command]:
        from jobs.sql_cli import add_arguments, run

        add_arguments(subparsers.add_parser("sql-lineage", help="print table- and column-level lineage of SQL "
                                                               "files as JSON"))
        return {"sql-lineage": lambda args, settings: run(args)}
