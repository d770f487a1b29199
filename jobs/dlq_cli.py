"""The `dlq` command group: `dlq replay` moves dead-lettered messages back after a fix (jobs/dead_letter.py)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SQS work is imported only when the command runs
    from jobs.dead_letter import ReplayReport


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("dlq", help="dead-letter queues: replay dead-lettered messages after a fix")
    commands = group.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    replay = commands.add_parser(
        "replay", help="move the messages of a dead-letter queue back to their queue, counted per reason")
    replay.add_argument("--queue-url", required=True, metavar="DLQ", help="the dead-letter queue")
    replay.add_argument("--to", metavar="QUEUE_URL", help="where to (default: the queue a message was dead-lettered "
                                                          "from, else the one queue whose redrive policy names DLQ)")
    replay.add_argument("--max", type=_positive, dest="max_messages", metavar="N", help="move at most N messages")
    replay.add_argument("--dry-run", action="store_true", help="count per reason and target; move nothing")
    replay.add_argument("--reason", metavar="TEXT", help="only messages whose reason contains TEXT (any case)")
    replay.add_argument("--native", action="store_true",
                        help="let SQS move every message (StartMessageMoveTask) and watch the task until it ends")
    replay.add_argument("--max-per-second", type=_positive, metavar="N", help="with --native: SQS's rate limit")
    replay.add_argument("--json", action="store_true", help="print the report as one JSON object")


def cmd_dlq(args: argparse.Namespace, settings: Any) -> int:
    from jobs.app import App
    from jobs.dead_letter import NoTarget, Replay, ReplayError, ReplayOptions
    from jobs.progress import Progress

    def fail(message: str) -> int:
        print(f"lineage-collector: dlq replay: {message}", file=sys.stderr)
        return 2

    if args.native and (args.max_messages or args.reason or args.dry_run):
        return fail("--native moves every message: it cannot be combined with --max, --reason or --dry-run")
    if args.max_per_second and not args.native:
        return fail("--max-per-second applies to --native only")
    aws = App(settings).aws  # SQS only: Neo4j is never opened
    try:
        with Progress(enabled=True) as progress:
            if args.native:
                return _native(aws, args, progress.update)
            options = ReplayOptions(args.queue_url, args.to, args.max_messages, args.dry_run, args.reason)
            report = Replay(aws, options, progress.update).run()
    except NoTarget as exc:
        if exc.report.reasons:
            _print(exc.report, args.json)
        return fail(str(exc))
    except ReplayError as exc:
        return fail(str(exc))
    _print(report, args.json)
    return 1 if report.total("failed") or report.stopped == "error" else 0


def _native(aws: Any, args: argparse.Namespace, progress: Any) -> int:
    from jobs.dlq_move_task import start_move, watch

    task = start_move(aws, args.queue_url, args.to, args.max_per_second)
    if not args.json:
        print(f"SQS move task started: {task.handle}", flush=True)
    task = watch(aws, args.queue_url, task, progress)
    if args.json:
        print(json.dumps(task.as_dict(), indent=2, sort_keys=True))
    else:
        print(f"{task.status.lower()}: {task.moved} of {task.to_move} messages moved to {task.destination}"
              + (f"; {task.failure}" if task.failure else ""))
    return 0 if task.status == "COMPLETED" else 1


def _print(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
        return
    from jobs.progress import table

    print(format_report(report, table))


def format_report(report: ReplayReport, table: Any) -> str:
    verb = "would move" if report.dry_run else "moved"
    moved = report.total("moved")
    lines = [f"{'dry run: ' if report.dry_run else ''}{verb} {moved} message{'' if moved == 1 else 's'} "
             f"from {report.dlq_url}" + (" (nothing changed)" if report.dry_run else "")]
    lines += [f"  to {url}: {n}" for url, n in sorted(report.targets.items())]
    if report.reasons:
        rows = [(key, c.moved, c.failed, c.skipped) for key, c in sorted(report.reasons.items())]
        lines.append(table(["reason", verb, "failed", "other reason"], rows, right=[verb, "failed", "other reason"]))
    lines.append({"empty": "stopped: the dead-letter queue answered empty", "max": "stopped: --max reached",
                  "error": "stopped: an error"}[report.stopped])
    lines += [f"  error: {e}" for e in report.errors]
    return "\n".join(lines)
