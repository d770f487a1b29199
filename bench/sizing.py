"""Neo4j sizing: store size on disk per relationship, measured at two sizes of the synthetic account of
bench/queries.py (built through the real write path), and the page cache and heap that follow for 1M and
10M relationships.

    python bench/sizing.py [--scales 0.25,1.0] [--seed 7]

For each scale: build the account into a fresh store, stop Neo4j (its shutdown checkpoints), sum the store's files (record
stores, the range indexes of graphstore/schema.py, the transaction logs apart), and the heap the server had in
use after the build. The size per relationship is fitted between the two scales (the fixed part apart), so the
figures for 1M and 10M relationships are that line, not a guess. The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "devtools"), str(ROOT / "bench")]

from neo4j import GraphDatabase  # noqa: E402
from queries import Account, build, graph_size  # noqa: E402

from lineage_dev.local_neo4j import start_local_neo4j  # noqa: E402

MIB = 1 << 20


def store_bytes(home: Path) -> dict[str, int]:
    """Bytes of the `neo4j` database's store files and of its transaction logs under a server's home."""
    stores = [p for p in home.rglob("databases/neo4j") if p.is_dir()]
    logs = [p for p in home.rglob("transactions/neo4j") if p.is_dir()]
    total = sum(f.stat().st_size for d in stores for f in d.rglob("*") if f.is_file())
    tx = sum(f.stat().st_size for d in logs for f in d.rglob("*") if f.is_file())
    return {"store": total, "tx_logs": tx}


def heap_used(driver: Any) -> int | None:
    try:
        row = driver.execute_query(
            "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
            "RETURN attributes.HeapMemoryUsage.value.properties.used AS used").records[0]
        return int(row["used"])
    except Exception:  # the JMX procedure is not in every edition: the figure is then left out
        return None


def measure(scale: float, seed: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-sizing-"))
    try:
        with start_local_neo4j(browser=False, sustained=True, data_dir=home) as neo, \
                GraphDatabase.driver(neo.uri, notifications_min_severity="OFF") as driver:
            built = build(driver, Account(scale, seed))
            size = graph_size(driver)
            heap = heap_used(driver)
        on_disk = store_bytes(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"scale": scale, **size, **on_disk, "heap_used": heap, "build_seconds": built["build_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="0.25,1.0")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    small, large = (measure(float(s), args.seed) for s in args.scales.split(","))
    per_rel = (large["store"] - small["store"]) / max(1, large["relationships"] - small["relationships"])
    fixed = large["store"] - per_rel * large["relationships"]
    nodes_per_rel = large["nodes"] / large["relationships"]

    def sizing(rels: int) -> dict[str, Any]:
        store = fixed + per_rel * rels
        # page cache: the whole store plus room to grow by half; heap: our writes are batches of 1,000 rows and
        # the queries are bounded, so the heap is set by concurrency, not graph size (see docs/scaling.md)
        return {"relationships": rels, "nodes": round(nodes_per_rel * rels), "store_mib": round(store / MIB),
                "page_cache_mib": round(1.5 * store / MIB), "heap_mib": 2048 if rels <= 2_000_000 else 4096}

    for run in (small, large):
        heap = f", heap in use {run['heap_used'] / MIB:.0f} MiB" if run["heap_used"] else ""
        print(f"scale {run['scale']}: {run['nodes']:,} nodes, {run['relationships']:,} relationships -> store "
              f"{run['store'] / MIB:.1f} MiB (+ {run['tx_logs'] / MIB:.1f} MiB transaction logs){heap}; "
              f"built in {run['build_seconds']} s")
    print(f"fit: {per_rel:.0f} bytes of store per relationship (with its share of nodes, properties and "
          f"indexes), {fixed / MIB:.1f} MiB fixed")
    targets = [sizing(1_000_000), sizing(10_000_000)]
    for t in targets:
        print(f"{t['relationships']:>11,} relationships (~{t['nodes']:,} nodes): store ~{t['store_mib']:,} MiB -> "
              f"page cache {t['page_cache_mib']:,} MiB, heap {t['heap_mib']:,} MiB")
    print(json.dumps({"measured": [small, large], "bytes_per_relationship": round(per_rel),
                      "fixed_bytes": round(fixed), "sizing": targets}, sort_keys=True))


if __name__ == "__main__":
    main()
