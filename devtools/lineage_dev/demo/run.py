"""`lineage-collector demo`: everything on this machine, nothing in a real AWS account."""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

from config import Settings


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cell(value: Any) -> str:
    if hasattr(value, "iso_format"):
        value = value.iso_format()[:19]
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    return text if len(text) <= 70 else text[:67] + "..."


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "  (no rows)"
    columns = list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda values: "  " + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells])


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from graphstore.examples import EXAMPLES
    from jobs.app import App
    from jobs.cli import format_summary
    from jobs.wiring import run_sync
    from lineage_dev.local_neo4j import start_local_neo4j

    try:
        from lineage_dev.sim import seed_demo_account, start_sim
    except ImportError:
        _say("the demo needs moto: pip install 'sagemaker-lineage-collector[demo]'")
        return 1

    region = "us-east-1"
    for name, value in {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",
                        "AWS_DEFAULT_REGION": region}.items():
        os.environ[name] = value  # the simulated account only; real credentials are never used
    os.environ.pop("AWS_PROFILE", None)

    started = time.perf_counter()
    _say("starting a local Neo4j 5 (the first run downloads it from Maven Central)…")
    server = start_local_neo4j(bolt_port=args.bolt_port, http_port=args.http_port, auth=settings.neo4j_auth,
                               progress=_say)
    with server, start_sim() as sim:
        _say(f"simulated AWS account at {sim.endpoint_url}; seeding pipelines, executions and jobs…")
        seeded = seed_demo_account(sim, region=region, feature_store=True)
        executions = sum(len(v) for v in seeded["executions"].values())
        _say(f"seeded {len(seeded['pipelines'])} pipelines, {executions} executions, {len(seeded['jobs'])} jobs")
        demo_settings = settings.model_copy(update={
            "neo4j_uri": server.uri, "aws_endpoint_url": sim.endpoint_url, "regions": [region]})
        app = App(demo_settings)
        try:
            app.writer.ensure_schema()
            report = run_sync(app, progress=None)
            from jobs.sources.s3 import s3_service, utcnow

            s3_service(app).rescan(utcnow(), 10_000)  # schemas of the datasets the demo's steps touch
            print("\n" + format_summary(report.as_dict()))
            with app.driver.session(database=demo_settings.neo4j_database) as session:
                counts = session.run(
                    "CALL { MATCH (n) RETURN count(n) AS nodes } CALL { MATCH ()-[r]->() RETURN count(r) AS rels } "
                    "RETURN nodes, rels").single()
                print(f"\ngraph: {counts['nodes']} nodes, {counts['rels']} relationships")
                for example in EXAMPLES:
                    rows = [r.data() for r in session.run(example.cypher, example.params)]
                    print(f"\n# {example.title}\n{example.cypher}\n")
                    print(format_table(rows))
        finally:
            app.close()
        print(f"\nNeo4j (Bolt): {server.uri}")
        if server.browser_url:
            print(f"Neo4j Browser: {server.browser_url}  (connect to {server.uri}, no authentication)"
                  if not settings.neo4j_auth else f"Neo4j Browser: {server.browser_url}")
            if server.browser_files_url:
                print(f"  on connect it applies the lineage style and opens the guide ({server.browser_files_url})")
        print(f"Try: NEO4J_URI={server.uri} lineage-collector lineage --pipeline churn-training")
        print(f"demo ready in {time.perf_counter() - started:.1f}s")
        if args.no_wait:
            return 0
        _say("Neo4j stays up for exploring; press Ctrl-C to stop.")
        stop = threading.Event()
        try:
            import signal

            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
