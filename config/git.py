"""A configured Git repository of SQL (one item of LINEAGE_GIT_REPOS), and URL helpers that keep
credentials out of keys, logs and errors."""
from __future__ import annotations

import fnmatch
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config import checks

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SCP = re.compile(r"^(?:(?P<user>[^@/\s]+)@)?(?P<host>[^:/\s]+):(?P<path>(?!//)[^\s]+)$")


def redact(text: object) -> str:
    """Any `scheme://user:secret@host` in a text becomes `scheme://***@host`."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", str(text))


def strip_credentials(url: str) -> str:
    """The URL without user/password: what the graph stores as the Repo key."""
    return _USERINFO.sub(lambda m: m.group("scheme"), url.strip())


def canonical(url: str) -> str:
    """host/path, lower-case host, no scheme, user, port or `.git`: the identity events are matched on."""
    url = strip_credentials(url.strip())
    scp = _SCP.match(url) if "://" not in url else None
    if scp:
        host, path = scp.group("host"), scp.group("path")
    elif url.startswith("file://") or "://" not in url:
        return "file:" + url.removeprefix("file://").rstrip("/").removesuffix(".git")
    else:
        parts = urlsplit(url)
        host, path = (parts.hostname or ""), parts.path
    path = path.strip("/").removesuffix(".git")
    return f"{host.lower()}/{path}"


class GitRepoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    name: str | None = None
    branch: str = "main"
    paths: list[str] = Field(default_factory=lambda: ["**/*.sql"])  # globs on repo-relative paths
    dialect: str | None = None  # sqlglot dialect name
    credentials_env: str | None = None  # env var with a token, or "username:token"
    secret_arn: str | None = None  # Secrets Manager secret: a token, or JSON {username, password|token}
    username: str | None = None  # for a bare token; default "x-access-token" (GitHub), "oauth2" on GitLab

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checks.git_url(value)

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        return checks.git_branch(value)

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        if not value or not all(p.strip() for p in value):
            raise ValueError("must be a non-empty list of non-empty globs")
        return value

    @field_validator("credentials_env")
    @classmethod
    def _credentials_env(cls, value: str | None) -> str | None:
        return None if value is None else checks.env_name(value)

    @field_validator("secret_arn")
    @classmethod
    def _secret_arn(cls, value: str | None) -> str | None:
        return None if value is None else checks.secret_id(value)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or not value or not value.isprintable()):
            raise ValueError("must be a user name without ':' or control characters")
        return value

    @field_validator("dialect")
    @classmethod
    def _dialect(cls, value: str | None) -> str | None:
        if value:
            from sqlglot.dialects.dialect import Dialect

            try:
                Dialect.get_or_raise(value)
            except Exception:
                raise ValueError(f"unknown SQL dialect {value!r} (use a sqlglot dialect name)") from None
        return value or None

    @model_validator(mode="after")
    def _one_credential_source(self) -> GitRepoConfig:
        if self.credentials_env and self.secret_arn:
            raise ValueError("set credentials_env or secret_arn, not both")
        userinfo = _USERINFO.search(self.url) if "@" in self.url else None
        if userinfo and ":" in userinfo.group("userinfo"):
            raise ValueError("put credentials in credentials_env or secret_arn, not in the url")
        return self

    @property
    def key_url(self) -> str:
        return strip_credentials(self.url)

    @property
    def display_name(self) -> str:
        return self.name or canonical(self.url).rsplit("/", 1)[-1] or self.key_url

    def matches_path(self, path: str) -> bool:
        return any(_glob_match(path, pattern) for pattern in self.paths)

    def matches_event(self, repo_url: str | None, repository_name: str | None) -> bool:
        if repo_url and canonical(repo_url) == canonical(self.url):
            return True
        if repository_name:  # CodeCommit names only; GitHub/GitLab give "owner/name" too
            wanted = repository_name.strip().strip("/").lower()
            url_path = canonical(self.url).lower()
            if url_path.endswith("/" + wanted):
                return True
            names = {wanted, wanted.rsplit("/", 1)[-1]}
            return bool(names & {self.display_name.lower(), url_path.rsplit("/", 1)[-1]})
        return False


def _glob_match(path: str, pattern: str) -> bool:
    """fnmatch with `**/` meaning any number of folders (including none); a folder pattern ending in
    `/` means everything under it."""
    if pattern.endswith("/"):
        pattern += "**/*.sql"
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if "**/" in pattern:
        return fnmatch.fnmatchcase(path, pattern.replace("**/", "", 1)) or \
            fnmatch.fnmatchcase(path, pattern.replace("**/", "*/", 1))
    return False
