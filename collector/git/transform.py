"""Repositories, commits and SQL files as plain graph data (pure: no git, no Neo4j)."""
from __future__ import annotations

from collections.abc import Iterable

from collector.git.repo import CommitInfo
from collector.sql.graph import sql_file_graph
from collector.sql.model import FileLineage
from config.git import GitRepoConfig
from graphstore.model import Graph, NodeRef

MAX_ERRORS_KEPT = 5


def file_key(repo_url: str, path: str) -> str:
    return f"{repo_url}:{path}"


def repo_node(graph: Graph, config: GitRepoConfig, head: str | None = None) -> NodeRef:
    return graph.node("Repo", config.key_url, {
        "name": config.display_name, "branch": config.branch, "dialect": config.dialect, "head": head,
        "paths": list(config.paths),
    })


def commits_graph(config: GitRepoConfig, commits: Iterable[CommitInfo]) -> Graph:
    """Commit nodes (history) with the configured SQL files each one added, modified, renamed or deleted."""
    graph = Graph()
    repo = repo_node(graph, config)
    for commit in commits:
        ref = graph.node("Commit", commit.sha, {
            "author": commit.author, "time": commit.time, "message": commit.message, "repo": config.key_url,
        })
        graph.rel("IN", ref, repo)
        for status, path, old_path in commit.changes:
            if not config.matches_path(path) and not (old_path and config.matches_path(old_path)):
                continue
            sql_file = graph.node("SqlFile", file_key(config.key_url, path), {"path": path, "repo": config.key_url})
            graph.rel("CHANGED", ref, sql_file, {"change": status, "old_path": old_path})
    return graph


def file_graph(config: GitRepoConfig, path: str, blob: str, commit: str | None, lineage: FileLineage,
               parsed_at: str) -> Graph:
    """One SQL file at the branch head: the SqlFile node and its lineage edges, marked with the head
    they were parsed at (`parsed_at`) so that edges of an earlier parse can be retired."""
    key = file_key(config.key_url, path)
    graph = sql_file_graph(lineage, key, commit=commit, dialect=config.dialect)
    for rel in graph.rels.values():
        if "file" in rel.props:
            rel.props["blob"] = blob
            rel.props["parsed_at"] = parsed_at
    errors = lineage.errors
    graph.node("SqlFile", key, {
        "path": path, "repo": config.key_url, "blob": blob, "commit": commit, "dialect": config.dialect,
        "retired": False, "statements": len(lineage.statements), "error_count": len(errors),
        "errors": errors[:MAX_ERRORS_KEPT],
    })
    graph.rel("IN", ("SqlFile", key), repo_node(graph, config))
    return graph


def retired_file_graph(config: GitRepoConfig, path: str, commit: str) -> Graph:
    graph = Graph()
    key = file_key(config.key_url, path)
    graph.node("SqlFile", key, {"path": path, "repo": config.key_url, "retired": True, "removed_in": commit})
    graph.rel("IN", ("SqlFile", key), repo_node(graph, config))
    return graph
