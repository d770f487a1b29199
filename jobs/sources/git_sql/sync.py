"""Git repositories of SQL -> lineage in the graph, on a schedule and on every push event.

Per repository: fetch the branch into a bare mirror; compare each configured SQL file's blob with
what the graph holds (so a replayed, out-of-order or force-pushed event converges to the branch
head) and parse only files that changed; record the commits since the last synced head (history:
Commit -[:CHANGED]-> SqlFile, renames included); write; then retire the edges that older versions
of changed files, and removed files, defined. One repository's failure (unreachable, bad
credentials, ...) is logged with a redacted URL and the others go on.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from collector.git.credentials import CredentialsError, resolve_credentials
from collector.git.repo import CommitInfo, GitError, Mirror
from collector.git.steps import step_sql_links
from collector.git.transform import commits_graph, file_graph, file_key, repo_node, retired_file_graph
from collector.sql import SqlSource, extract_sources
from collector.sql.names import dialect_of, normalize_dotted
from collector.sql.storage import GlueDenied, fetch_glue_location, location_graph
from config.git import GitRepoConfig, canonical, redact
from graphstore.model import Graph
from graphstore.sql_state import SqlState

log = logging.getLogger("lineage.git")

HISTORY_LIMIT = 200  # commits recorded per sync (the first sync of a long history records the newest)
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _repo_lock(url: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(canonical(url), threading.Lock())


@dataclass
class RepoReport:
    repo: str
    url: str
    branch: str
    trigger: str
    head: str | None = None
    previous: str | None = None
    forced: bool = False
    files_parsed: int = 0
    files_removed: int = 0
    files_unchanged: int = 0
    statements: int = 0
    statement_errors: int = 0
    commits: int = 0
    edges_retired: int = 0
    locations: int = 0
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    cache_dir: str
    timeout: float = 300.0
    budget_seconds: float = 2.0
    table_locations: dict[str, str] = field(default_factory=dict)
    glue_lookup: bool = False
    glue_catalog_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SyncOptions:
        return cls(cache_dir=os.path.expanduser(settings.git_cache_dir), timeout=settings.git_timeout_seconds,
                   budget_seconds=settings.sql_column_budget_seconds,
                   table_locations=dict(settings.sql_table_locations), glue_lookup=settings.glue_lookup,
                   glue_catalog_id=settings.glue_catalog_id)


class GitSqlSync:
    def __init__(self, repos: Iterable[GitRepoConfig], writer: Any, state: SqlState, options: SyncOptions,
                 aws: Any = None) -> None:
        self.repos = list(repos)
        self.writer = writer
        self.state = state
        self.options = options
        self.aws = aws
        self._glue_denied = False

    # --- entry points -------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> list[RepoReport]:
        """Every configured repository (errors isolated per repository), then the step links."""
        reports = []
        for config in self.repos:
            if stop is not None and stop.is_set():
                break
            reports.append(self.sync_repo(config, trigger="schedule", raise_errors=False))
        if reports and any(r.error is None for r in reports):
            self.link_steps()
        return reports

    def handle_push(self, event: Any) -> None:
        """GitPushHandler: sync the configured repositories the push is for; raising retries the message."""
        matches = [c for c in self.repos if c.matches_event(event.repo_url, event.repository_name)]
        if not matches:
            log.info("git push to %s ignored: not a configured repository", redact(event.repo_url))
            return
        for config in matches:
            if event.branch and event.branch != config.branch:
                log.info("git push to %s branch %s ignored: configured branch is %s",
                         redact(config.key_url), event.branch, config.branch)
                continue
            if not event.after or set(event.after) == {"0"}:
                log.warning("git push to %s deleted branch %s; lineage kept as of the last synced head",
                            redact(config.key_url), config.branch)
                continue
            self.sync_repo(config, trigger=f"push:{event.provider}", forced=bool(event.forced),
                           raise_errors=True)
            self.link_steps()

    # --- one repository ------------------------------------------------------------------------------

    def sync_repo(self, config: GitRepoConfig, trigger: str = "manual", forced: bool = False,
                  raise_errors: bool = False) -> RepoReport:
        report = RepoReport(config.display_name, config.key_url, config.branch, trigger)
        started = time.perf_counter()
        try:
            with _repo_lock(config.url):
                self._sync(config, report, forced)
        except Exception as exc:  # one repository never stops the others
            report.error = redact(f"{type(exc).__name__}: {exc}" if not isinstance(exc, (GitError, CredentialsError))
                                  else str(exc))
        report.seconds = round(time.perf_counter() - started, 3)
        fields = report.as_dict()
        if report.error:
            log.error("git sync of %s (%s) failed: %s", config.display_name, redact(config.key_url), report.error,
                      extra={"fields": fields})
            if raise_errors:
                raise RuntimeError(f"git sync of {redact(config.key_url)} failed: {report.error}")
        else:
            log.info("git sync of %s: %d parsed, %d removed, %d unchanged files at %s",
                     config.display_name, report.files_parsed, report.files_removed, report.files_unchanged,
                     (report.head or "")[:12], extra={"fields": fields})
        return report

    def _sync(self, config: GitRepoConfig, report: RepoReport, forced: bool) -> None:
        mirror = Mirror(self.options.cache_dir, config.key_url, self.options.timeout)
        try:
            head = mirror.fetch(config.branch, self.credentials(config))
            stored = self.state.repo(config.key_url)
            report.head, report.previous = head, stored.head
            known = mirror.has_commit(stored.head)
            report.forced = forced or bool(stored.head and (not known or not mirror.is_ancestor(stored.head, head)))
            if report.forced:
                log.warning("git sync of %s: force-push detected (%s is not an ancestor of %s); "
                            "lineage is reset to the branch head", config.display_name,
                            (stored.head or "?")[:12], head[:12])
            current = {p: b for p, b in mirror.files(head).items() if config.matches_path(p)}
            changed = sorted(p for p, b in current.items() if stored.files.get(p) != b)
            removed = sorted(p for p in stored.files if p not in current)
            report.files_unchanged = len(current) - len(changed)
            if stored.head == head and not changed and not removed:
                return
            since = stored.head if stored.head and known and not report.forced else None
            commits = mirror.commits(head, since, HISTORY_LIMIT)
            report.commits = len(commits)
            graph = commits_graph(config, commits)
            texts = {p: mirror.read_blob(current[p]) for p in changed}
            lineages = self._extract(config, changed, texts)
            # Unchanged files that read what changed files write are parsed again: a `SELECT *` over a
            # model whose columns changed resolves to the new columns.
            written = {t for lineage in lineages.values() for s in lineage.statements for t in s.targets}
            dependents = sorted(set(self.state.files_reading(config.key_url, written)) & set(current) - set(changed))
            if dependents:
                texts.update({p: mirror.read_blob(current[p]) for p in dependents})
                lineages = self._extract(config, changed + dependents, texts)
        finally:
            mirror.close()
        last_commit = {**stored.commits, **_last_commits(commits)}
        tables: set[str] = set()
        for path, lineage in lineages.items():
            graph.update(file_graph(config, path, current[path], last_commit.get(path, head), lineage, head))
            report.statements += len(lineage.statements)
            report.statement_errors += len(lineage.errors)
            tables.update(t for s in lineage.statements for t in s.sources + s.targets if "://" not in t)
            for error in lineage.errors[:3]:
                log.warning("%s:%s: %s", config.display_name, path, error)
        for path in removed:
            graph.update(retired_file_graph(config, path, head))
        locations = self.locations(config, tables)
        report.locations = len(locations.rels)
        graph.update(locations)
        report.files_parsed, report.files_removed = len(lineages), len(removed)
        self.writer.write(graph, source="git")
        report.edges_retired = self.state.retire_file_edges(
            [(file_key(config.key_url, p), head) for p in lineages]
            + [(file_key(config.key_url, p), None) for p in removed])
        report.edges_retired += self.state.retire_moved_locations((r.start[1], r.end[1]) for r in locations.rels.values())
        head_graph = Graph()
        repo_node(head_graph, config, head)
        self.writer.write(head_graph, source="git")  # last: a failure before this redoes the sync

    def _extract(self, config: GitRepoConfig, paths: list[str], texts: dict[str, str]) -> dict[str, Any]:
        results = extract_sources([SqlSource(p, texts[p]) for p in paths], config.dialect,
                                  budget_seconds=self.options.budget_seconds, schema_for=self.state.table_columns)
        return dict(zip(paths, results, strict=True))

    # --- edges -------------------------------------------------------------------------------------

    def credentials(self, config: GitRepoConfig) -> tuple[str, str] | None:
        return resolve_credentials(config, self.aws)

    def locations(self, config: GitRepoConfig, tables: set[str]) -> Graph:
        """Table -[:STORED_AT]-> Dataset from the settings mapping, else the Glue Data Catalog."""
        graph = Graph()
        dialect = dialect_of(config.dialect)
        mapping = {normalize_dotted(t, dialect): uri for t, uri in self.options.table_locations.items()}
        for table in sorted(tables):
            if table in mapping:
                graph.update(location_graph(table, mapping[table], "settings"))
            elif self.options.glue_lookup and self.aws is not None and not self._glue_denied:
                uri = self._glue(table)
                if uri:
                    graph.update(location_graph(table, uri, "glue"))
        return graph

    def _glue(self, table: str) -> str | None:
        try:
            return fetch_glue_location(self.aws.client("glue"), table, self.options.glue_catalog_id)
        except GlueDenied as exc:
            self._glue_denied = True
            log.warning("glue:GetTable denied (%s); Glue table locations skipped for this sync", exc)
            return None

    def link_steps(self) -> int:
        """Step -[:RUNS]-> SqlFile from pipeline definitions and `lineage:sql` tags; stale links retired."""
        try:
            graph = step_sql_links(self.state.pipelines(), self.state.sql_files())
            if len(graph.rels):
                self.writer.write(graph, source="git")
            self.state.retire_step_links([(r.start[1], r.end[1]) for r in graph.rels.values()])
            return len(graph.rels)
        except Exception as exc:
            log.error("linking pipeline steps to SQL files failed: %s", redact(exc))
            return 0


def _last_commits(commits: list[CommitInfo]) -> dict[str, str]:
    """path -> the newest commit that added or modified it (commits come newest first)."""
    out: dict[str, str] = {}
    for commit in commits:
        for status, path, _ in commit.changes:
            if status != "D":
                out.setdefault(path, commit.sha)
    return out
