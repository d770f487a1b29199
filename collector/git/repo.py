"""The Git edge (gitpython): a bare mirror per repository in a cache folder, fetched by URL each time
so credentials are never written to disk; file listings, blobs and commit history read from it."""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import git

from config.git import canonical, redact

_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GCM_INTERACTIVE": "never"}


class GitError(Exception):
    """A git operation failed; the message is already redacted."""


@dataclass
class CommitInfo:
    sha: str
    author: str
    time: datetime
    message: str  # first line
    changes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (status A/M/D/R, path, old path)


class Mirror:
    """A bare repository under `cache_dir`, one per remote URL."""

    def __init__(self, cache_dir: str | Path, url: str, timeout: float = 300.0) -> None:
        self.url = url  # as configured, without credentials
        digest = hashlib.sha1(canonical(url).encode()).hexdigest()[:16]
        self.path = Path(os.path.expanduser(str(cache_dir))) / digest
        self.timeout = timeout
        self._repo: git.Repo | None = None

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            if (self.path / "HEAD").exists():
                self._repo = git.Repo(self.path)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._repo = git.Repo.init(self.path, bare=True)
        return self._repo

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return self.repo.git.execute(["git", *args], env={**_GIT_ENV, **(env or {})},
                                         kill_after_timeout=self.timeout)
        except git.GitCommandError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().replace("\n", " ")
            raise GitError(redact(f"git {args[0]} failed ({exc.status}): {detail[:500]}")) from None
        except (OSError, ValueError) as exc:
            raise GitError(redact(f"git {args[0]} failed: {exc}")) from None

    def fetch(self, branch: str, credentials: tuple[str, str] | None = None) -> str:
        """Fetch one branch (forced: a force-push moves it anywhere) and return its head sha.

        Credentials travel as an HTTP Authorization header in git's environment (GIT_CONFIG_*), never on
        its command line (which other users of the machine can read) nor in the mirror's config."""
        ref = f"refs/remotes/origin/{branch}"
        env = None
        if credentials:
            basic = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                   "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}
        self._git("fetch", "--quiet", "--no-tags", "--prune", self.url, f"+refs/heads/{branch}:{ref}", env=env)
        return self.rev(ref)

    def rev(self, ref: str) -> str:
        return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()

    def has_commit(self, sha: str | None) -> bool:
        if not sha or set(sha) == {"0"}:
            return False
        try:
            self.rev(sha)
            return True
        except GitError:
            return False

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
            return True
        except GitError:
            return False

    def files(self, commit: str) -> dict[str, str]:
        """path -> blob sha of every file at a commit."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", commit)
        files: dict[str, str] = {}
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            _, kind, sha = meta.split()
            if kind == "blob":
                files[path] = sha
        return files

    def read_blob(self, sha: str) -> str:
        _, _, _, data = self.repo.git.get_object_data(sha)  # one persistent `git cat-file --batch`
        return data.decode("utf-8", errors="replace")

    def commits(self, head: str, since: str | None, limit: int = 200) -> list[CommitInfo]:
        """Commits in since..head (or the last `limit` up to head), newest first, with their file changes."""
        rev = f"{since}..{head}" if since else head
        out = self._git("log", "-z", f"--max-count={limit}", "--name-status", "-M",
                        "--format=%x1e%H%x1f%an%x1f%aI%x1f%s", rev)
        commits: list[CommitInfo] = []
        for record in out.split("\x1e"):
            if not record.strip("\0\n"):
                continue
            header, _, rest = record.partition("\0")
            header, _, first_changes = header.partition("\n")
            sha, author, when, subject = (header.split("\x1f") + ["", "", "", ""])[:4]
            info = CommitInfo(sha.strip(), author, datetime.fromisoformat(when.strip()), subject.strip())
            tokens = [t for t in ([first_changes] if first_changes else []) + rest.split("\0")]
            tokens = [t.strip("\n") for t in tokens if t.strip("\n")]
            i = 0
            while i < len(tokens):
                status = tokens[i]
                if status[:1] in ("R", "C") and i + 2 < len(tokens) + 1:
                    info.changes.append((status[0], tokens[i + 2], tokens[i + 1]))
                    i += 3
                elif status[:1] in ("A", "M", "D", "T"):
                    info.changes.append((status[0] if status[0] != "T" else "M", tokens[i + 1], None))
                    i += 2
                else:
                    i += 1
            commits.append(info)
        return commits

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None
