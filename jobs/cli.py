"""`lineage-collector`: the command line."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

from config import SettingsError, load_settings
from jobs.dlq_cli import add_parser as add_dlq_parser
from jobs.dlq_cli import cmd_dlq
from jobs.openlineage.cli import add_parser as add_openlineage_parser
from jobs.openlineage.cli import cmd_openlineage
from jobs.sources import SOURCES, source_names
from jobs.sources.base import Command

log = logging.getLogger("lineage.cli")
SOURCE_COMMANDS: dict[str, Command] = {}


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineage-collector",
                                     description="Collect SageMaker, S3 and SQL lineage into Neo4j.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-schema", help="create Neo4j constraints and indexes (idempotent)")

    sync = sub.add_parser("sync", help="run one reconciliation of every source (SageMaker pipelines, S3 posture "
                                       "and reports, SQL from Git) and print a summary")
    sync.add_argument("--region", action="append", type=_csv, help="region(s); repeatable or comma-separated")
    sync.add_argument("--pipeline", action="append", type=_csv, help="only these pipeline names")
    sync.add_argument("--executions", type=int, help="latest executions per pipeline (0: definitions only)")
    sync.add_argument("--source", action="append", type=_csv, metavar="NAME",
                      help=f"only these sources ({', '.join(source_names())}); repeatable or comma-separated")
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")

    sub.add_parser("run", help="the long-running worker: scheduled syncs (and the SQS consumer when "
                              "LINEAGE_QUEUE_URLS is set) until SIGTERM/SIGINT")

    consume = sub.add_parser("consume", help="consume SQS event queues in the foreground until SIGTERM/SIGINT")
    consume.add_argument("--queue-url", action="append", type=_csv, help="queue URL(s); default LINEAGE_QUEUE_URLS")
    consume.add_argument("--until-empty", action="store_true", help="exit when the queues stay empty for one long poll")
    consume.add_argument("--max-messages", type=int, help="exit after handling this many messages")

    lineage = sub.add_parser("lineage", help="print a pipeline's lineage JSON, read from Neo4j")
    lineage.add_argument("--pipeline", required=True)
    lineage.add_argument("--region")
    lineage.add_argument("--domain")
    lineage.add_argument("--include-latest-exec", action=argparse.BooleanOptionalAction, default=True)
    lineage.add_argument("--view", choices=("pipeline", "data", "both"), default="both")

    render = sub.add_parser("render", help="draw a pipeline's lineage, read from Neo4j, as an interactive HTML page, "
                                           "an SVG or a PNG (by the output file's extension)")
    drawn = render.add_mutually_exclusive_group(required=True)
    drawn.add_argument("--pipeline", help="a pipeline's lineage, read from Neo4j")
    drawn.add_argument("--graph", metavar="JSON", help="any {nodes, edges} graph from a file (- for stdin), e.g. the "
                                                       "output of `lineage` (its graphPipeline is drawn)")
    drawn.add_argument("--query", metavar="NAME", help="the subgraph of a query of the library (upstream, downstream, "
                                                      "impact, pipeline-graph), with --param k=v")
    render.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of --query; repeatable")
    render.add_argument("--region")
    render.add_argument("--domain")
    render.add_argument("--include-latest-exec", action=argparse.BooleanOptionalAction, default=True,
                        help="colour steps by the status of the latest execution (default)")
    render.add_argument("--view", choices=("pipeline", "data", "both"), default="both")
    render.add_argument("--max-nodes", type=int, default=300, help="draw at most this many nodes (default 300)")
    render.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.html, FILE.svg or FILE.png")

    inventory = sub.add_parser("inventory", help="print region -> domains -> pipelines, read from Neo4j")
    inventory.add_argument("--regions", type=_csv)

    serve = sub.add_parser("serve", help="the read-only HTTP API (FastAPI on uvicorn), every answer from Neo4j; "
                                         "needs the api extra")
    serve.add_argument("--host", help="listen address (default LINEAGE_API_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default LINEAGE_API_PORT, 8300)")

    add_openlineage_parser(sub)  # `openlineage export`
    add_dlq_parser(sub)  # `dlq replay`

    query = sub.add_parser("query", help="run a query of the library (upstream, downstream, impact, runs, ...; "
                                         "--list shows them), read from Neo4j")
    query.add_argument("name", nargs="?", help="the query (see --list)")
    query.add_argument("--list", action="store_true", help="list the queries, their parameters and what they answer")
    query.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a parameter of the query; repeatable")
    query.add_argument("--format", default="table", metavar="FORMAT", help="table (default), json or csv")
    query.add_argument("--limit", metavar="N", help="rows at most (the limit parameter)")
    query.add_argument("--timeout", metavar="SECONDS", help="transaction timeout (default 30)")

    for source in SOURCES:  # each source's own commands (scan, sql-lineage, ...)
        SOURCE_COMMANDS.update(source.add_commands(sub))

    dev = sub.add_parser("dev", help="developer helpers")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True, metavar="HELPER")
    neo = dev_sub.add_parser("neo4j", help="start a throwaway local Neo4j 5 (from Maven Central) and block")
    neo.add_argument("--bolt-port", type=int, default=7687)
    neo.add_argument("--http-port", type=int, default=7474, help="Neo4j Browser port")
    neo.add_argument("--data", help="data directory (default: a temporary one, removed on exit)")

    demo = sub.add_parser("demo", help="local Neo4j + simulated AWS account + a sync + example queries")
    demo.add_argument("--bolt-port", type=int, default=7687)
    demo.add_argument("--http-port", type=int, default=7474)
    demo.add_argument("--no-wait", action="store_true", help="exit after printing instead of keeping Neo4j up")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"lineage-collector: {exc}", file=sys.stderr)
        return 2
    from jobs.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)
    from jobs.sources.s3 import configure_dataset_rules

    configure_dataset_rules(settings)  # the sync and the S3 work fold object keys into datasets alike
    handler = COMMANDS.get(args.command) or SOURCE_COMMANDS[args.command]
    try:
        return handler(args, settings)
    except SettingsError as exc:
        print(f"lineage-collector: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from graphstore.connection import Neo4jUnavailable

        if isinstance(exc, Neo4jUnavailable):
            print(f"lineage-collector: {exc}", file=sys.stderr)
            return 1
        raise


def _app(settings: Any) -> Any:
    from jobs.app import App

    return App(settings)


def cmd_init_schema(args: argparse.Namespace, settings: Any) -> int:
    app = _app(settings)
    try:
        count = app.writer.ensure_schema()
    finally:
        app.close()
    print(f"schema ready: {count} constraints and indexes")
    return 0


def _flatten(groups: list[list[str]] | None) -> list[str]:
    return [v for group in groups or [] for v in group]


def cmd_sync(args: argparse.Namespace, settings: Any) -> int:
    from jobs.progress import Progress
    from jobs.wiring import run_sync

    sources = _flatten(args.source) or None
    unknown = sorted(set(sources or []) - set(source_names()))
    if unknown:
        raise SettingsError(f"unknown source {', '.join(unknown)} (--source); known: {', '.join(source_names())}")
    app = _app(settings)
    try:
        app.writer.ensure_schema()
        with Progress(enabled=not args.json) as progress:
            report = run_sync(app, _flatten(args.region), _flatten(args.pipeline), args.executions,
                              progress=progress.update, sources=sources)
    finally:
        app.close()
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_summary(summary))
    return 1 if report.pipelines_failed and not report.pipelines else 0


def format_summary(s: dict[str, Any]) -> str:
    from jobs.progress import table

    lines = [
        f"synced {s['pipelines']} pipelines in {', '.join(s['regions'])} in {s['seconds']:.2f}s"
        + (f" ({s['pipelines_failed']} failed)" if s["pipelines_failed"] else ""),
        f"  executions: {s['executions_fetched']} fetched, {s['executions_skipped']} unchanged (terminal)",
        f"  jobs described: {s['jobs_described']}",
        f"  written: {s['nodes_written']} nodes, {s['relationships_written']} relationships "
        f"in {s['transactions']} transactions",
    ]
    lines += [f"  {name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items())
              for name, summary in s.get("sources", {}).items()]
    lines.append(table(["AWS operation", "calls"], [*s["aws_calls"].items(), ("total", s["aws_calls_total"])],
                       right=["calls"]))
    for error in s["errors"]:
        lines.append(f"  error: {error}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace, settings: Any) -> int:
    from jobs.wiring import event_consumer, reconciliation_lease, scheduled_jobs, start_health
    from jobs.worker import Worker

    app = _app(settings)
    app.writer.ensure_schema()
    app.regions()  # fail at start, not at the first scheduled run
    background: list[Any] = []
    worker_grace = 17.0  # ECS sends SIGKILL 30 s after SIGTERM
    consumer = None
    if settings.queue_urls:
        consumer = event_consumer(app, shutdown_seconds=worker_grace - 2)  # within the worker's grace
        consumer.check_queues()  # fail at start, not at the first message
        background.append(("sqs-consumer", consumer.run))
    health = start_health(app, consumer)
    worker = Worker(scheduled_jobs(app), background, shutdown_grace=worker_grace, lease=reconciliation_lease(app),
                    metrics=app.metrics)
    worker.install_signal_handlers()
    try:
        worker.run()
    finally:
        if health:
            health.stop()
        app.close()
    return 0


def cmd_consume(args: argparse.Namespace, settings: Any) -> int:
    from config import checks
    from jobs.wiring import event_consumer, start_health

    for url in _flatten(args.queue_url):
        try:
            checks.sqs_queue_url(url)
        except ValueError as exc:
            raise SettingsError(f"invalid option --queue-url: {exc}") from None
    app = _app(settings)
    app.writer.ensure_schema()
    consumer = event_consumer(app, queue_urls=_flatten(args.queue_url) or None, until_empty=args.until_empty,
                              max_messages=args.max_messages)
    consumer.check_queues()
    health = start_health(app, consumer)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        stats = consumer.run(stop)
    finally:
        if health:
            health.stop()
        app.close()
    return 1 if stats.total("received") and not stats.total("deleted") and stats.total("failed") else 0


def cmd_lineage(args: argparse.Namespace, settings: Any) -> int:
    from graphstore.views import PipelineNotFound

    app = _app(settings)
    try:
        result = app.views.lineage(args.pipeline, region=args.region, domain=args.domain,
                                   include_latest_exec=args.include_latest_exec, view=args.view)
    except PipelineNotFound:
        print(f"pipeline not found: {args.pipeline}", file=sys.stderr)
        return 2
    finally:
        app.close()
    print(json.dumps(result, indent=2, sort_keys=False, default=str))
    return 0


def cmd_render(args: argparse.Namespace, settings: Any) -> int:
    from pathlib import Path

    from graphstore.views import PipelineNotFound
    from jobs.render import FORMATS, from_lineage, graph_json, lineage_title, render_file

    output = Path(args.output)
    if output.suffix.lower() not in FORMATS:
        print(f"lineage-collector: cannot write {output.name}: the file must end in {', '.join(FORMATS)}",
              file=sys.stderr)
        return 2
    if args.query:
        return _render_query(args, settings, output)
    if args.graph:
        try:
            graph, title = graph_json(sys.stdin.read() if args.graph == "-" else Path(args.graph).read_text(),
                                      "" if args.graph == "-" else Path(args.graph).stem)
        except (OSError, ValueError) as exc:
            print(f"lineage-collector: {args.graph}: {exc}", file=sys.stderr)
            return 2
    else:
        app = _app(settings)
        try:
            lineage = app.views.lineage(args.pipeline, region=args.region, domain=args.domain,
                                        include_latest_exec=args.include_latest_exec, view=args.view)
        except PipelineNotFound:
            print(f"pipeline not found: {args.pipeline}", file=sys.stderr)
            return 2
        finally:
            app.close()
        graph, title = from_lineage(lineage), lineage_title(lineage)
    drawn = render_file(graph, output, title=title, max_nodes=args.max_nodes)
    print(f"wrote {output}: {drawn.nodes} nodes, {drawn.edges} edges" + "".join(f"; {n}" for n in drawn.notes))
    return 0


def _query_params(items: list[str]) -> dict[str, str] | str:
    """`--param NAME=VALUE` options as a dict, or the message naming the one that is not NAME=VALUE."""
    params: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            return f"--param {item} is not NAME=VALUE"
        params[name.strip()] = value
    return params


def _render_query(args: argparse.Namespace, settings: Any, output: Any) -> int:
    from graphstore.connection import Neo4jOutage
    from graphstore.queries import QueryError, QueryLibrary, query
    from jobs.render import render_file

    params = _query_params(args.param)
    if isinstance(params, str):
        print(f"lineage-collector: render --query {args.query}: {params}", file=sys.stderr)
        return 2
    try:
        query(args.query).validate(params)
        app = _app(settings)
        try:
            graph = QueryLibrary(app.driver, settings.neo4j_database).subgraph(args.query, params)
        finally:
            app.close()
    except QueryError as exc:
        print(f"lineage-collector: {exc}", file=sys.stderr)
        return 2
    except Neo4jOutage as exc:
        print(f"lineage-collector: render --query {args.query}: Neo4j did not answer ({exc})", file=sys.stderr)
        return 1
    title = f"{args.query} " + " ".join(f"{k}={v}" for k, v in params.items())
    drawn = render_file(graph, output, title=title.strip(), max_nodes=args.max_nodes)
    print(f"wrote {output}: {drawn.nodes} nodes, {drawn.edges} edges" + "".join(f"; {n}" for n in drawn.notes))
    return 0


def cmd_inventory(args: argparse.Namespace, settings: Any) -> int:
    app = _app(settings)
    try:
        print(json.dumps(app.views.inventory(args.regions), indent=2, default=str))
    finally:
        app.close()
    return 0


def cmd_query(args: argparse.Namespace, settings: Any) -> int:
    from graphstore.connection import Neo4jOutage
    from graphstore.queries import DEFAULT_TIMEOUT, QUERIES, QueryError, QueryLibrary, QueryTimeout, query
    from jobs.progress import table

    def fail(message: str, code: int = 2) -> int:
        print(f"lineage-collector: {message}", file=sys.stderr)
        return code

    if args.list:
        print(table(["query", "parameters", "description"],
                    [(q.name, ", ".join(p.describe() for p in q.params), q.description) for q in QUERIES]))
        return 0
    if not args.name:
        return fail("query: name a query (lineage-collector query --list shows them)")
    parsed = _query_params(args.param)
    if isinstance(parsed, str):
        return fail(f"query {args.name}: {parsed}")
    params: dict[str, Any] = dict(parsed)
    if args.limit is not None:
        params["limit"] = args.limit
    if args.format not in ("table", "json", "csv"):
        return fail(f"query {args.name}: --format must be table, json or csv")
    try:
        timeout = float(args.timeout) if args.timeout is not None else DEFAULT_TIMEOUT
    except ValueError:
        timeout = -1
    if not timeout > 0:
        return fail(f"query {args.name}: --timeout must be a positive number of seconds")
    try:
        query(args.name).validate(params)  # a bad parameter is told before Neo4j is reached
        app = _app(settings)
        try:
            result = QueryLibrary(app.driver, settings.neo4j_database, timeout=timeout).run(args.name, params)
        finally:
            app.close()
    except QueryTimeout as exc:
        return fail(str(exc), 1)
    except QueryError as exc:
        return fail(str(exc))
    except Neo4jOutage as exc:
        return fail(f"query {args.name}: Neo4j did not answer ({exc})", 1)
    if args.format == "json":
        print(result.to_json())
    elif args.format == "csv":
        sys.stdout.write(result.to_csv())
    else:
        print(table(result.table_columns(), result.cells(48)))
        more = f"; the limit cut it (--limit {result.params['limit']})" if result.truncated else ""
        print(f"{len(result.rows)} row{'' if len(result.rows) == 1 else 's'}{more}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Any) -> int:
    try:  # FastAPI and uvicorn are the api extra, imported by jobs.api only
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print("lineage-collector: install sagemaker-lineage-collector[api]", file=sys.stderr)
        return 2
    from jobs.api.app import serve

    serve(settings, args.host or settings.api_host, args.port if args.port is not None else settings.api_port)
    return 0


def cmd_dev(args: argparse.Namespace, settings: Any) -> int:
    try:  # the dev tools are their own distribution (devtools/), not part of the product
        from lineage_dev.local_neo4j import start_local_neo4j
    except ModuleNotFoundError as missing:
        if missing.name != "lineage_dev":
            raise
        print("lineage-collector: the dev tools are not installed (pip install -e ./devtools, or make install)",
              file=sys.stderr)
        return 2

    stop = threading.Event()
    _stop_on_signals(stop)
    server = start_local_neo4j(bolt_port=args.bolt_port, http_port=args.http_port,
                               data_dir=args.data and __import__("pathlib").Path(args.data),
                               auth=settings.neo4j_auth, progress=lambda m: print(m, file=sys.stderr),
                               sustained=True)
    with server:
        print(server.uri, flush=True)
        if server.browser_url:
            print(f"Neo4j Browser: {server.browser_url}", file=sys.stderr, flush=True)
        stop.wait()
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def cmd_demo(args: argparse.Namespace, settings: Any) -> int:
    try:  # the dev tools are their own distribution (devtools/), not part of the product
        from lineage_dev.demo.run import run_demo
    except ModuleNotFoundError as missing:
        if missing.name != "lineage_dev":
            raise
        print("lineage-collector: the dev tools are not installed (pip install -e ./devtools, or make install)",
              file=sys.stderr)
        return 2

    code: int = run_demo(args, settings)  # lineage_dev is not on mypy's path: its types are unknown here
    return code


COMMANDS = {
    "openlineage": cmd_openlineage, "dlq": cmd_dlq,
    "init-schema": cmd_init_schema, "sync": cmd_sync, "run": cmd_run, "consume": cmd_consume, "lineage": cmd_lineage,
    "inventory": cmd_inventory, "query": cmd_query, "dev": cmd_dev, "demo": cmd_demo,
    "render": cmd_render, "serve": cmd_serve,
}

if __name__ == "__main__":
    sys.exit(main())
