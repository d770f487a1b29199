"""`lineage-collector scan s3://bucket/prefix`: read the datasets under a prefix now."""
from __future__ import annotations

import argparse
import json
from typing import Any

from collector.s3uri import is_s3_uri, split
from config import Settings, SettingsError
from jobs.sources.s3.wiring import s3_service


def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.app import App
    from jobs.progress import Progress

    if not is_s3_uri(args.uri):
        raise SettingsError(f"not an s3:// URI: {args.uri}")
    bucket, prefix = split(args.uri)
    app = App(settings)
    try:
        app.writer.ensure_schema()
        service = s3_service(app, args.region)
        with Progress(enabled=not args.json) as progress:
            report = service.scan(bucket, prefix, progress=progress.update, history=args.history)
    finally:
        app.close()
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_scan(args.uri, summary))
    return 1 if report.errors and not report.datasets else 0


def format_scan(uri: str, s: dict[str, Any]) -> str:
    lines = [
        f"scanned {uri}: {s['objects']:,} objects in {s['datasets']:,} datasets in {s['seconds']:.2f}s",
        f"  schemas: {s['new_versions']} new versions ({s['drift']} with drift), {s['unchanged']} unchanged, "
        f"{s['already_seen']} already seen, {s['unreadable']} unreadable, {s['no_schema']} without schema",
        f"  read: {s['bytes_read']:,} bytes in {s['get_requests']} ranged GETs",
        f"  history: {s['history_datasets']} datasets, {s['history_partitions_read']:,} of "
        f"{s['history_partitions']:,} partitions read, {s['history_versions']} versions added",
        f"  formats: {', '.join(f'{k} {v}' for k, v in s['formats'].items()) or '-'}",
        f"  buckets: {s['buckets_refreshed']} posture refreshed",
    ]
    lines += [f"  error: {e}" for e in s["errors"]]
    return "\n".join(lines)
