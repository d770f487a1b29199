"""Evaluation reports (evaluation.json, report.json, metrics.json): numeric metrics for step runs.

The SageMaker SDK's convention nests metrics as {"<kind>_metrics": {"auc": {"value": 0.91,
"standard_deviation": 0.01}}}; a metric is named by its dotted path with a final ".value" dropped
("binary_classification_metrics.auc"). Parsing is pure; reading is capped.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from collector.s3.formats import Unreadable, as_text, gunzip_prefix
from collector.s3.objects import ObjectReader, ObjectRef

REPORT_NAMES = ("evaluation.json", "report.json", "metrics.json")
MAX_METRICS = 500
_OUTPUT_HINT = re.compile(r"eval|report|metric", re.IGNORECASE)


def numeric_metrics(document: Any, limit: int = MAX_METRICS) -> dict[str, float]:
    """Every number in a JSON document by its dotted path (list items by index); booleans skipped."""
    found: dict[str, float] = {}

    def visit(value: Any, path: list[str]) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            if math.isfinite(value) and path:
                name = ".".join(path[:-1] if path[-1] == "value" and len(path) > 1 else path)
                found[name] = float(value)
            return
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, path + [str(key)])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, path + [str(i)])

    visit(document, [])
    return found


def parse_report(data: bytes, *, truncated: bool) -> dict[str, float]:
    if truncated:
        raise Unreadable(f"report larger than the {len(data)}-byte cap")
    if data[:2] == b"\x1f\x8b":
        data, cut = gunzip_prefix(data, 16 << 20)
        if cut:
            raise Unreadable("compressed report larger than 16 MB")
    try:
        return numeric_metrics(json.loads(as_text(data)))
    except ValueError as exc:
        raise Unreadable(f"not valid JSON: {exc}") from None


def read_report(reader: ObjectReader, obj: ObjectRef, max_bytes: int) -> dict[str, float]:
    chunk = reader.head(obj, max_bytes + 1)  # one byte more tells a capped read from a whole one
    return parse_report(chunk.data, truncated=len(chunk.data) > max_bytes)


def is_report_key(key: str, names: tuple[str, ...] = REPORT_NAMES) -> bool:
    return key.rsplit("/", 1)[-1] in names


def may_hold_report(output_name: str | None, uri: str, step_has_property_files: bool,
                    names: tuple[str, ...] = REPORT_NAMES) -> bool:
    """Which step outputs are worth a listing: the step declares PropertyFiles, or the output's name
    or URI says evaluation/report/metrics, or the URI is a report file itself."""
    if is_report_key(uri, names):
        return True
    if uri.rsplit("/", 1)[-1].count(".") and not uri.endswith("/"):
        return False  # some other single file (model.tar.gz, a script)
    return step_has_property_files or bool(_OUTPUT_HINT.search(output_name or "")) or bool(
        _OUTPUT_HINT.search(uri.rstrip("/").rsplit("/", 1)[-1]))
