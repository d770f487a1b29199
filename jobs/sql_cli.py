"""`lineage-collector sql-lineage [--dialect D] [--schema FILE] PATH... | -`: SQL lineage as JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from collector.sql import SqlSource, extract_sources, normalize_schema
from collector.sql.names import unknown_dialect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="SQL files, folders (recursively *.sql) or - for stdin")
    parser.add_argument("--dialect", help="sqlglot dialect name (spark, snowflake, bigquery, postgres, ...)")
    parser.add_argument("--schema", help="JSON file: table -> [columns] or {column: type}")
    parser.add_argument("--no-columns", action="store_true", help="table-level lineage only (faster)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of column lineage per statement")


def collect(paths: list[str], stdin: TextIO) -> list[SqlSource]:
    sources: list[SqlSource] = []
    for raw in paths:
        if raw == "-":
            sources.append(SqlSource("-", stdin.read()))
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.sql") if p.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(raw)
        for file in files:
            sources.append(SqlSource(str(file), file.read_text(encoding="utf-8", errors="replace")))
    return sources


def run(args: argparse.Namespace, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    if problem := unknown_dialect(args.dialect):
        print(f"lineage-collector sql-lineage: {problem}", file=sys.stderr)
        return 2
    try:
        sources = collect(args.paths, stdin)
    except FileNotFoundError as exc:
        print(f"lineage-collector sql-lineage: no such file or folder: {exc}", file=sys.stderr)
        return 2
    schema: dict[str, Any] = {}
    if args.schema:
        try:
            schema = normalize_schema(json.loads(Path(args.schema).read_text()), args.dialect)
        except (OSError, ValueError) as exc:
            print(f"lineage-collector sql-lineage: bad --schema {args.schema}: {exc}", file=sys.stderr)
            return 2
    results = extract_sources(sources, args.dialect, schema, column_lineage=not args.no_columns,
                              budget_seconds=args.budget)
    json.dump({"files": [r.as_dict() for r in results]}, stdout, indent=2)
    stdout.write("\n")
    return 0
