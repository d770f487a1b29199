"""A longer fuzzing run of the envelope and event parsers than the test suite's (tests/test_event_fuzz.py).

    python bench/fuzz_events.py [--examples N] [--seed S]     # or: make fuzz

Same property (tests/event_fuzz.py): for arbitrary bytes, text, JSON, and the documented shapes with mutated
types, the parsers return events or Ignored, or raise MalformedMessage, nothing else. Prints the inputs tried
per strategy and the outcomes, then one JSON line; exits 1 when the property failed (hypothesis prints the
shrunk input). No services needed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools")]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as with_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.event_fuzz import JSON, check_body, mutated_shapes  # noqa: E402

STRATEGIES = {
    "bytes": st.binary(max_size=2000),
    "text": st.text(max_size=2000),
    "json": JSON.map(json.dumps),
    "mutated-shapes": mutated_shapes(),
}


def run(name: str, strategy: st.SearchStrategy[str | bytes], examples: int, seed: int | None,
        outcomes: Counter[str]) -> tuple[int, str | None]:
    tried = Counter[str]()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(body: str | bytes) -> None:
        tried["n"] += 1
        check_body(body, outcomes)

    if seed is not None:
        prop = with_seed(seed)(prop)
    try:
        prop()
    except Exception as exc:  # the property failed: hypothesis has printed the falsifying example
        return tried["n"], f"{type(exc).__name__}: {exc}"[:500]
    return tried["n"], None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per strategy (default 5000)")
    parser.add_argument("--seed", type=int, help="a random seed (default: derandomized, reproducible)")
    args = parser.parse_args()
    started = time.perf_counter()
    total, failures = 0, {}
    outcomes: dict[str, Counter[str]] = {}
    for name, strategy in STRATEGIES.items():
        began = time.perf_counter()
        outcomes[name] = Counter()
        tried, failure = run(name, strategy, args.examples, args.seed, outcomes[name])
        total += tried
        print(f"{name:>15}: {tried:>7,} inputs tried in {time.perf_counter() - began:6.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes[name].items()))
              + (f"  FAILED: {failure}" if failure else ""))
        if failure:
            failures[name] = failure
    print(json.dumps({"bench": "fuzz_events", "examples_per_strategy": args.examples, "tried": total,
                      "outcomes": {n: dict(sorted(c.items())) for n, c in outcomes.items()}, "failures": failures,
                      "seconds": round(time.perf_counter() - started, 1)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
