"""The `openlineage` command group. The OpenLineage client is imported only when a command runs."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from config import SettingsError


def _since(text: str) -> Any:
    from jobs.openlineage.export import parse_since

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("openlineage", help="OpenLineage out: export the graph as OpenLineage events")
    commands = group.add_subparsers(dest="openlineage_command", required=True, metavar="ACTION")
    export = commands.add_parser(
        "export", help="the pipeline executions, step runs and SQL files of the graph as OpenLineage events, "
                       "to a file (one JSON event a line) or an OpenLineage HTTP endpoint")
    export.add_argument("--since", type=_since, metavar="T",
                        help="only runs whose state changed at or after T, and SQL files changed by commits since "
                             "then (ISO 8601 time, UTC unless given; or a duration back from now: 90m, 12h, 7d)")
    export.add_argument("--pipeline", metavar="NAME",
                        help="only this pipeline's executions (and the SQL files its steps run)")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("-o", "--output", metavar="FILE", help="write the events to FILE (replaced)")
    target.add_argument("--url", metavar="URL", help="post the events to URL + LINEAGE_OPENLINEAGE_ENDPOINT "
                                                     "(api/v1/lineage); LINEAGE_OPENLINEAGE_API_KEY as bearer token")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")


def cmd_openlineage(args: argparse.Namespace, settings: Any) -> int:
    from urllib.parse import urlparse

    from graphstore.openlineage_reads import OpenLineageReads
    from jobs.app import App
    from jobs.openlineage.export import client, export, file_transport, http_transport, naming

    if args.url is not None:
        parsed = urlparse(args.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(f"invalid argument --url: must be an http:// or https:// URL, not {args.url!r}")
        transport: Any = http_transport(args.url, settings)
        where = args.url
    else:
        path = Path(args.output)
        try:
            path.write_text("")  # the export replaces the file; the transport appends one line per event
        except OSError as exc:
            raise SettingsError(f"invalid argument --output: {exc}") from None
        transport = file_transport(str(path))
        where = str(path)
    app = App(settings)
    emitter = client(transport)
    try:
        reads = OpenLineageReads(app.driver, settings.neo4j_database)
        try:
            report = export(reads, naming(settings), emitter, pipeline=args.pipeline, since=args.since)
        except Exception as exc:
            from graphstore.connection import Neo4jOutage, Neo4jUnavailable

            if isinstance(exc, Neo4jUnavailable):
                raise
            what = "reading Neo4j" if isinstance(exc, Neo4jOutage) else f"sending to {where}"
            print(f"lineage-collector: OpenLineage export failed {what}: {exc}", file=sys.stderr)
            return 1
    finally:
        emitter.close(timeout=5)
        app.close()
    summary = {**report.as_dict(), "to": where}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        by_type = ", ".join(f"{k} {v}" for k, v in sorted(report.events.items()))
        print(f"exported {summary['events']} OpenLineage events ({by_type or 'none'}) to {where}: "
              f"{report.executions} executions, {report.step_runs} step runs, {report.sql_files} SQL files "
              f"in {report.seconds:.2f}s")
    return 0
