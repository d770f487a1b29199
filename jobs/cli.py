"""`lineage-collector`: the command line."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import Any, Sequence

from config import SettingsError, load_settings

log = logging.getLogger("lineage.cli")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineage-collector",
                                     description="Collect SageMaker, S3 and SQL lineage into Neo4j.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-schema", help="create Neo4j constraints and indexes (idempotent)")

    sync = sub.add_parser("sync", help="run one sync of SageMaker pipelines and print a summary")
    sync.add_argument("--region", action="append", type=_csv, help="region(s); repeatable or comma-separated")
    sync.add_argument("--pipeline", action="append", type=_csv, help="only these pipeline names")
    sync.add_argument("--executions", type=int, help="latest executions per pipeline (0: definitions only)")
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

    inventory = sub.add_parser("inventory", help="print region -> domains -> pipelines, read from Neo4j")
    inventory.add_argument("--regions", type=_csv)

    scan = sub.add_parser("scan", help="read the schemas of the S3 datasets under a prefix, and the bucket's posture")
    scan.add_argument("uri", help="s3://bucket/prefix")
    scan.add_argument("--region", help="the bucket's region (default: the first of LINEAGE_REGIONS, or AWS_REGION)")
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")

    sql = sub.add_parser("sql-lineage", help="print table- and column-level lineage of SQL files as JSON")
    from jobs.sql_cli import add_arguments as _sql_arguments

    _sql_arguments(sql)

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
    from jobs.scan import configure_dataset_rules

    configure_dataset_rules(settings)  # the sync and the S3 work fold object keys into datasets alike
    handler = COMMANDS[args.command]
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


def run_sync(app: Any, regions: list[str] | None = None, pipelines: list[str] | None = None,
             executions: int | None = None, stop: threading.Event | None = None,
             progress: Any = None) -> Any:
    from jobs.sources.sagemaker import SageMakerSync

    syncer = SageMakerSync(app.aws, app.writer, app.state,
                           executions=app.settings.executions_per_pipeline if executions is None else executions,
                           workers=app.settings.sync_workers, progress=progress, stop=stop)
    report = syncer.run(app.regions(regions), pipelines or app.settings.pipelines)
    if not (stop and stop.is_set()):
        enrich_datasets(app)
        report.aws_calls.update(app.aws.reset_counts())
    log.info("sync finished", extra={"fields": {k: v for k, v in report.as_dict().items() if k != "errors"}})
    return report


def enrich_datasets(app: Any) -> None:
    """After a sync: posture of buckets not fetched recently, and metrics from finished steps' reports."""
    from jobs.scan import evaluation_metrics_for_execution, refresh_posture, s3_service

    try:
        service = s3_service(app)
        refresh_posture(app, service=service)
        evaluation_metrics_for_execution(app, None, service=service)
    except Exception:  # S3 enrichment must not undo a sync that succeeded
        log.exception("S3 enrichment after the sync failed; the scheduled S3 jobs will retry")


def cmd_sync(args: argparse.Namespace, settings: Any) -> int:
    from jobs.progress import Progress

    app = _app(settings)
    try:
        app.writer.ensure_schema()
        with Progress(enabled=not args.json) as progress:
            report = run_sync(app, _flatten(args.region), _flatten(args.pipeline), args.executions,
                              progress=progress.update)
    finally:
        app.close()
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_summary(summary))
    return 1 if report.pipelines_failed and not report.pipelines else 0


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"synced {s['pipelines']} pipelines in {', '.join(s['regions'])} in {s['seconds']:.2f}s"
        + (f" ({s['pipelines_failed']} failed)" if s["pipelines_failed"] else ""),
        f"  executions: {s['executions_fetched']} fetched, {s['executions_skipped']} unchanged (terminal)",
        f"  jobs described: {s['jobs_described']}",
        f"  written: {s['nodes_written']} nodes, {s['relationships_written']} relationships "
        f"in {s['transactions']} transactions",
        f"  AWS calls: {s['aws_calls_total']}",
    ]
    lines += [f"    {op:<48} {n:>5}" for op, n in s["aws_calls"].items()]
    for error in s["errors"]:
        lines.append(f"  error: {error}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace, settings: Any) -> int:
    from jobs.worker import ScheduledJob, Worker, sync_trigger

    app = _app(settings)
    app.writer.ensure_schema()
    app.regions()  # fail at start, not at the first scheduled run
    jobs = [ScheduledJob("sagemaker-sync", sync_trigger(settings), lambda stop: run_sync(app, stop=stop),
                         run_at_start=settings.sync_on_start)]
    from jobs.scan import s3_scheduled_jobs

    jobs += s3_scheduled_jobs(app, settings)
    from jobs.sources.git_sql import git_scheduled_jobs

    jobs += git_scheduled_jobs(app, settings)
    background: list[Any] = []
    worker_grace = 17.0  # ECS sends SIGKILL 30 s after SIGTERM
    consumer = None
    if settings.queue_urls:
        consumer = event_consumer(app, shutdown_seconds=worker_grace - 2)  # within the worker's grace
        consumer.check_queues()  # fail at start, not at the first message
        background.append(("sqs-consumer", consumer.run))
    health = start_health(app, consumer)
    worker = Worker(jobs, background, shutdown_grace=worker_grace)
    worker.install_signal_handlers()
    try:
        worker.run()
    finally:
        if health:
            health.stop()
        app.close()
    return 0


def event_ingest(app: Any) -> Any:
    """The event handling path with every hook wired in. Other parts register here: S3 object hooks
    (schema extraction, S3 issue) and the Git push handler (Git/SQL issue); see docs/events.md."""
    from jobs.ingest import EventIngest
    from jobs.sources.sagemaker import SageMakerSync

    from jobs.scan import build_s3_object_hook

    s3_hooks: list[Any] = [build_s3_object_hook(app)]
    from jobs.sources.git_sql import git_push_handler

    git_handler = git_push_handler(app, app.settings)
    definitions = SageMakerSync(app.aws, app.writer, app.state, executions=0)  # first-sight pipelines, enrichment
    return EventIngest(app.writer, sync=definitions, aws=app.aws, s3_hooks=s3_hooks, git_handler=git_handler)


def event_consumer(app: Any, **overrides: Any) -> Any:
    """The SQS consumer (settings, overridden by the non-None `overrides`) around `event_ingest`."""
    from jobs.consumer import Consumer, ConsumerConfig
    from jobs.ingest import tune_gc

    tune_gc()  # a process setting: this process now lives to consume
    return Consumer(app.aws, event_ingest(app), ConsumerConfig.from_settings(app.settings, **overrides))


def start_health(app: Any, consumer: Any = None) -> Any:
    """The health endpoint on LINEAGE_HEALTH_PORT (none when 0)."""
    if not app.settings.health_port:
        return None
    from jobs.health import HealthServer, Neo4jProbe

    probe = Neo4jProbe(app.driver, app.settings.neo4j_database)
    return HealthServer(app.settings.health_port, probe,
                        consumer_snapshot=consumer.stats.snapshot if consumer else None,
                        alive=(lambda: consumer.stats.running) if consumer else None).start()


def cmd_consume(args: argparse.Namespace, settings: Any) -> int:
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


def cmd_inventory(args: argparse.Namespace, settings: Any) -> int:
    app = _app(settings)
    try:
        print(json.dumps(app.views.inventory(args.regions), indent=2, default=str))
    finally:
        app.close()
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


def cmd_sql_lineage(args: argparse.Namespace, settings: Any) -> int:
    from jobs.sql_cli import run

    return run(args)


def cmd_scan(args: argparse.Namespace, settings: Any) -> int:
    from jobs.scan import cmd_scan as scan

    return scan(args, settings)


def cmd_demo(args: argparse.Namespace, settings: Any) -> int:
    try:  # the dev tools are their own distribution (devtools/), not part of the product
        from lineage_dev.demo.run import run_demo
    except ModuleNotFoundError as missing:
        if missing.name != "lineage_dev":
            raise
        print("lineage-collector: the dev tools are not installed (pip install -e ./devtools, or make install)",
              file=sys.stderr)
        return 2

    return run_demo(args, settings)


COMMANDS = {
    "init-schema": cmd_init_schema, "sync": cmd_sync, "run": cmd_run, "consume": cmd_consume, "lineage": cmd_lineage,
    "inventory": cmd_inventory, "dev": cmd_dev, "demo": cmd_demo,
    "sql-lineage": cmd_sql_lineage, "scan": cmd_scan,
}

if __name__ == "__main__":
    sys.exit(main())
