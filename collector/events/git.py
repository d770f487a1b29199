"""Git push payloads -> GitPushEvent: GitHub push webhooks, GitLab Push Hooks, CodeCommit state changes.

Each payload is validated against its model (collector.events.schema) first. A push's time is its
head commit's (GitHub; `repository.pushed_at` without one), its latest commit's (GitLab), the event's
(CodeCommit).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from collector.events.model import GitPushEvent, Ignored, MalformedMessage
from collector.events.schema import CodeCommitChange, GitHubPush, GitLabPush, validated
from collector.events.times import parse_time

ZERO_SHA = "0" * 40
CODECOMMIT_DETAIL_TYPE = "CodeCommit Repository State Change"


def _branch(ref: str) -> str | None:
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def _required(payload: Mapping[str, Any], what: str, *path: str) -> Any:
    value: Any = payload
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"{what} push without {'.'.join(path)}")
    return value


def _object(value: object) -> Mapping[str, Any]:
    """A JSON object field, or {} when it is missing or not an object."""
    return value if isinstance(value, dict) else {}


def is_github_push(doc: Mapping[str, Any]) -> bool:
    return ("ref" in doc and isinstance(doc.get("repository"), dict) and "after" in doc
            and ("pusher" in doc or "head_commit" in doc or "compare" in doc))


def is_gitlab_push(doc: Mapping[str, Any]) -> bool:
    return doc.get("object_kind") in ("push", "tag_push") and "ref" in doc


def github_push(doc: Mapping[str, Any]) -> GitPushEvent:
    validated(GitHubPush, doc, "GitHub push")
    repo = doc["repository"]
    url = repo.get("clone_url") or repo.get("ssh_url") or repo.get("git_url") or repo.get("html_url")
    if not isinstance(url, str) or not url:
        raise MalformedMessage("GitHub push without repository.clone_url")
    ref = _required(doc, "GitHub", "ref")
    head = _object(doc.get("head_commit"))
    when = parse_time(head.get("timestamp")) or parse_time(repo.get("pushed_at"))
    return GitPushEvent(provider="github", repo_url=url, ref=ref, branch=_branch(ref),
                        before=doc.get("before") or None, after=doc.get("after") or None,
                        forced=bool(doc.get("forced")), time=when,
                        repository_name=repo.get("full_name") or repo.get("name"))


def gitlab_push(doc: Mapping[str, Any]) -> GitPushEvent:
    validated(GitLabPush, doc, "GitLab push")
    project = _object(doc.get("project"))
    repo = _object(doc.get("repository"))
    url = (project.get("git_http_url") or repo.get("git_http_url") or project.get("git_ssh_url")
           or repo.get("git_ssh_url") or repo.get("url"))
    if not isinstance(url, str) or not url:
        raise MalformedMessage("GitLab push without project.git_http_url")
    ref = _required(doc, "GitLab", "ref")
    commits = [c for c in doc.get("commits") or [] if isinstance(c, dict)]
    times = [t for t in (parse_time(c.get("timestamp")) for c in commits) if t]
    return GitPushEvent(provider="gitlab", repo_url=url, ref=ref, branch=_branch(ref),
                        before=doc.get("before") or None, after=doc.get("after") or None, forced=False,
                        time=max(times) if times else None,
                        repository_name=project.get("path_with_namespace") or repo.get("name"))


def codecommit_push(detail: Mapping[str, Any], time: datetime | None, region: str | None,
                    resources: tuple[str, ...]) -> GitPushEvent | Ignored:
    """EventBridge `CodeCommit Repository State Change` (branch and tag reference changes)."""
    validated(CodeCommitChange, detail, "CodeCommit change")
    change = detail.get("event")
    if change not in ("referenceCreated", "referenceUpdated", "referenceDeleted"):
        return Ignored(f"codecommit:{change or 'unknown'}")
    name = _required(detail, "CodeCommit", "repositoryName")
    region = region or next((r.split(":")[3] for r in resources if r.count(":") >= 5), None)
    url = f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{name}" if region else name
    ref = detail.get("referenceFullName") or f"refs/heads/{_required(detail, 'CodeCommit', 'referenceName')}"
    return GitPushEvent(provider="codecommit", repo_url=url, ref=ref, branch=_branch(ref),
                        before=None if change == "referenceCreated" else detail.get("oldCommitId"),
                        after=None if change == "referenceDeleted" else detail.get("commitId"),
                        forced=False, time=time, repository_name=name)
