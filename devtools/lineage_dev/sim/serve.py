"""The simulated AWS account as a service of its own (docker-compose.yml's `aws-sim`): seeded like the demo,
answering until SIGTERM.

    python -m lineage_dev.sim.serve [--host 0.0.0.0] [--port 5000] [--no-seed]
"""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from lineage_dev.sim.account import seed_demo_account
from lineage_dev.sim.server import start_sim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lineage_dev.sim.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="listen address (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--no-seed", action="store_true", help="start with an empty account")
    parser.add_argument("--ready-file", help="written once the account is seeded (a container health check)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_sim(args.port, args.region, args.host) as sim:
        if not args.no_seed:
            seeded = seed_demo_account(sim, region=args.region, feature_store=True)
            print(f"seeded {len(seeded['pipelines'])} pipelines, {len(seeded['jobs'])} jobs", file=sys.stderr)
        print(f"simulated AWS account on {sim.endpoint_url} (region {args.region})", file=sys.stderr, flush=True)
        if args.ready_file:
            Path(args.ready_file).write_text(sim.endpoint_url + "\n")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
