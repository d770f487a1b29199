"""Names an event may carry, checked before they reach the graph or any AWS call: S3 bucket names and
object keys (S3's own rules), ARNs, AWS account ids and region names. Pure functions."""
from __future__ import annotations

import ipaddress
import re

# General purpose bucket names (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
# 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit, no "..", not an IP address,
# none of the reserved prefixes and suffixes. Directory buckets (`base--azid--x-s3`) follow the same rules.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--table-s3")
MAX_KEY_BYTES = 1024

ACCOUNT = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# arn:partition:service:region:account:resource
_ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(\S+)")


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name, or None when it is one."""
    if not 3 <= len(name) <= 63:
        return f"bucket name {name[:80]!r} is not 3 to 63 characters long"
    if not _BUCKET.fullmatch(name):
        return f"bucket name {name!r} is not lowercase letters, digits, dots and hyphens, starting and ending " \
               "with a letter or digit"
    if ".." in name:
        return f"bucket name {name!r} has two adjacent dots"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return f"bucket name {name!r} uses a prefix or suffix S3 reserves"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return None
    return f"bucket name {name!r} is formatted as an IP address"


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid S3 object key (1 to 1,024 bytes of UTF-8), or None."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "object key is not valid UTF-8"
    if not 1 <= size <= MAX_KEY_BYTES:
        return f"object key of {size} bytes (S3 keys are 1 to {MAX_KEY_BYTES} bytes)"
    return None


def s3_uri_problem(uri: str) -> str | None:
    """Why an s3:// (s3a://, s3n://) URI cannot name an S3 location (its bucket or key breaks S3's rules), or None."""
    bucket, _, key = uri.split("://", 1)[-1].partition("/")
    problem = bucket_problem(bucket)
    if problem is None and key:
        problem = key_problem(key)
    return f"{problem} (in {uri[:200]!r})" if problem else None


def arn_parts(arn: str) -> tuple[str, str, str, str] | None:
    """(service, region, account, resource) of an ARN, or None when the text is not an ARN."""
    match = _ARN.fullmatch(arn)
    return (match.group(2), match.group(3), match.group(4), match.group(5)) if match else None
