"""Checks of structured setting values. Each raises ValueError with a short reason that never repeats
the value in full (a value may hold a secret); settings.py turns it into one line naming the variable."""
from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}(\.fifo)?|[A-Za-z0-9_-]{1,80}")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
_CLOUDWATCH_NAMESPACE = re.compile(r"[0-9A-Za-z.\-_/#: ]{1,255}")


def shown(value: object, limit: int = 40) -> str:
    """A value quoted for a message, cut short."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # its message quotes no input, only where it broke
        raise ValueError(f"not valid JSON (line {exc.lineno} column {exc.colno})") from None


def url(value: str, schemes: Iterable[str] = ("http", "https")) -> str:
    """An absolute URL of one of `schemes` with a host (and a numeric port, if any)."""
    wanted = tuple(schemes)
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  raises on a port that is not a number
    except ValueError:
        raise ValueError("not a URL (a malformed host or port)") from None
    if parts.scheme.lower() not in wanted or not parts.hostname:
        raise ValueError(f"not a URL: must look like {wanted[0]}://host[:port]/…")
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("not a URL: contains spaces or control characters")
    return value


def sqs_queue_url(value: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name>, or a local stand-in's http(s)://host[:port]/<account>/<name>."""
    try:
        value = url(value)
    except ValueError:
        raise ValueError("not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)") from None
    parts = urlsplit(value)
    if parts.username is not None:
        raise ValueError("not an SQS queue URL: it must not carry credentials")
    segments = parts.path.split("/")
    if parts.query or parts.fragment or len(segments) != 3 or segments[0]:
        raise ValueError(f"{shown(value, 80)} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
    account, name = segments[1], segments[2]
    if not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"{shown(value, 80)} is not an SQS queue URL: {shown(account)} is not a 12-digit account id")
    if not _QUEUE_NAME.fullmatch(name):
        raise ValueError(f"{shown(value, 80)} is not an SQS queue URL: {shown(name)} is not a queue name "
                         "(1-80 letters, digits, - and _, or a .fifo name)")
    host = (parts.hostname or "").lower()
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and parts.scheme != "https":
        raise ValueError(f"{shown(value, 80)} is not an SQS queue URL: AWS endpoints are https")
    return value


def host(value: str) -> str:
    """An address to bind: an IPv4 or IPv6 address, or a host name."""
    value = value.strip()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOSTNAME.fullmatch(value):
            raise ValueError(f"{shown(value)} is not an IP address or host name") from None
    return value


def patterns(value: object) -> list[str]:
    """A JSON list of regular expressions, or one expression."""
    if isinstance(value, str):
        text = value.strip()
        value = parse_json(text) if text.startswith("[") else ([text] if text else [])
    if not isinstance(value, list):
        raise ValueError("must be a JSON list of regular expressions, or one expression")
    out = []
    for i, pattern in enumerate(value):
        if not isinstance(pattern, str):
            raise ValueError(f"item {i} is not a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"item {i}: invalid regular expression {shown(pattern)}: {exc}") from None
        out.append(pattern)
    return out


def json_list(value: object) -> object:
    """A JSON list from the environment (empty: none); a value given in code passes as it is."""
    if isinstance(value, str):
        if not value.strip():
            return []
        value = parse_json(value)
        if not isinstance(value, list):
            raise ValueError(f"must be a JSON list, not a JSON {_json_kind(value)}")
    return value


def table_locations(value: object) -> object:
    """A JSON object of table name -> s3:// location."""
    if isinstance(value, str):
        value = parse_json(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object of table -> s3:// location, not a JSON {_json_kind(value)}")
    for table, location in value.items():
        if not isinstance(location, str) or not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?", location):
            raise ValueError(f"table {shown(table)}: the location must be an s3://bucket/prefix URI")
    return value


def cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except Exception as exc:  # apscheduler raises ValueError, and others on odd input
        raise ValueError(f"not a crontab expression: {exc}") from None
    return value


def cors_origin(value: str) -> str:
    if value == "*":
        return value
    origin = url(value)
    if urlsplit(origin).path not in ("", "/") or "?" in origin or "#" in origin:
        raise ValueError(f"{shown(value, 80)} is not an origin (scheme://host[:port], no path)")
    return origin.rstrip("/")


def header_safe(value: str, what: str) -> str:
    """Text sent in an HTTP header: visible ASCII, no spaces. The value is a secret: never shown."""
    if not value or not all(33 <= ord(c) <= 126 for c in value):
        raise ValueError(f"{what} must be visible ASCII without spaces (value not shown)")
    return value


def account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(f"{shown(value)} is not a 12-digit AWS account id")
    return value


def pipeline_name(value: str) -> str:
    if not _PIPELINE_NAME.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a SageMaker pipeline name (letters, digits and -, at most 256)")
    return value


def cloudwatch_namespace(value: str) -> str:
    """A CloudWatch metric namespace: up to 255 of letters, digits and `. - _ / # :` or space, not only spaces,
    not starting with a colon nor with `AWS/` (AWS's own)."""
    if not _CLOUDWATCH_NAMESPACE.fullmatch(value) or not value.strip() or value.startswith(":"):
        raise ValueError(f"{shown(value)} is not a CloudWatch namespace (up to 255 of letters, digits, "
                         "'.', '-', '_', '/', '#', ':' and spaces)")
    if value.startswith("AWS/"):
        raise ValueError(f"{shown(value)}: namespaces starting with AWS/ are AWS's own")
    return value


def env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{shown(value)} is not an environment variable name")
    return value


def secret_id(value: str) -> str:
    """A Secrets Manager secret's ARN or name (the value's id, not the secret itself)."""
    if not (_SECRET_ARN.fullmatch(value) if value.startswith("arn:") else _SECRET_NAME.fullmatch(value)):
        raise ValueError(f"{shown(value, 80)} is not a Secrets Manager secret ARN or name")
    return value


def git_branch(value: str) -> str:
    """The rules of `git check-ref-format` for a branch name, in short."""
    bad = (not value or value.startswith(("-", "/", ".")) or value.endswith(("/", ".", ".lock")) or ".." in value
           or "//" in value or "@{" in value or value == "@" or any(c in value for c in " ~^:?*[\\")
           or any(ord(c) < 32 or ord(c) == 127 for c in value))
    if bad:
        raise ValueError(f"{shown(value)} is not a git branch name")
    return value


def git_url(value: str) -> str:
    """https://, ssh://, git://, file:// URLs, scp-like user@host:path, <helper>::<address>, or a local path."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("contains control characters")
    if "::" in value.split("/", 1)[0]:  # a remote helper, e.g. codecommit::eu-west-1://repo
        return value
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme == "file":
            return value
        url(value, ("https", "http", "ssh", "git"))
    return value


def _json_kind(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")
