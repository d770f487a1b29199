"""Timestamps as AWS event payloads spell them: ISO 8601, epoch seconds or milliseconds, as numbers or strings."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MILLIS_FROM = 1e11


def parse_time(value: Any) -> datetime | None:
    """A tz-aware UTC datetime, or None when the value is absent or not a time."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if isinstance(value, str):
        text = value.strip()
        if not (len(text) >= 10 and text[4] == "-"):  # not ISO 8601: maybe epoch digits
            try:
                return _from_epoch(float(text))
            except ValueError:
                return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _from_epoch(number: float) -> datetime | None:
    if number != number or number < 0:  # NaN or negative
        return None
    seconds = number / 1000 if number >= _MILLIS_FROM else number
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
