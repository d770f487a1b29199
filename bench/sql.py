"""SQL lineage speed, side by side in one run: our extractor vs sqllineage and openlineage-sql.

    python bench/sql.py [--repeat 3] [--limit N] [--no-others]

Corpus (bench/corpus/README.md): TPC-H (22 queries, from sqlglot's test fixtures, each wrapped as
CREATE TABLE ... AS), TPC-DS (99 queries as INSERT INTO queryNN, from sqllineage's data), TPC-DS
again as sqlglot formats it (wrapped as CREATE TABLE ... AS), and the jaffle_shop dbt project
(Jinja-templated models). Our figures: table-level lineage (no column work), and column-level
lineage with the benchmark schemas (stars expanded), with the slowest single statement.
sqllineage (its default `ansi` parser) and openlineage-sql run on the same TPC-H + TPC-DS
statements when installed (they are not runtime dependencies; a missing one is reported as not
installed), each tool in turn on each statement so that machine load affects them alike; the
ratios come from those interleaved timings (ours alone, best of --repeat, is printed too).
Table-level agreement = share of statements where the tools name the same source and target tables.
The last line is one JSON object with every figure.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus_fetch import fetch  # noqa: E402
from collector.sql import SqlSource, extract_sources, extract_sql, normalize_schema  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"  # replaced by the fetched corpus in main()
OWN_GOLD = ROOT / "tests" / "data" / "sql_gold" / "cases.json"


def _low(names: Any) -> set[str]:
    return {str(n).lower().removeprefix("<default>.") for n in names}


def gold_accuracy(cases: list[dict[str, Any]], others: dict[str, Any]) -> dict[str, Any]:
    """Share of gold cases whose file-level (sources, targets) the tool gets exactly (names compared in
    lower case). For us, sqllineage's convention (a table written then read inside the file counts as
    both source and target) is accepted too, as its multi-statement gold is written that way."""
    right: dict[str, int] = {"ours": 0, **{name: 0 for name in others}}
    misses: list[str] = []
    for case in cases:
        want = (_low(case["sources"]), _low(case["targets"]))
        r = extract_sql(case["sql"], case["dialect"] or None, column_lineage=False)
        mid = _low(r.intermediates)
        got = (_low(r.sources), _low(r.targets))
        if want in (got, (got[0] | mid, got[1] | mid)):
            right["ours"] += 1
        else:
            misses.append(f"{case.get('file', '')}::{case.get('test', case.get('id'))}")
        for name, run in others.items():
            right[name] += _low_pair(run(case["sql"], False)) == want
    n = max(len(cases), 1)
    return {"cases": len(cases), **{f"{k}_accuracy": round(v / n, 3) for k, v in right.items()},
            "ours_misses": misses[:15]}


def _low_pair(pair: tuple[set[str], set[str]]) -> tuple[set[str], set[str]]:
    return _low(pair[0]), _low(pair[1])


def load(limit: int | None) -> dict[str, list[tuple[str, str]]]:
    def files(folder: str, wrap: str | None = None) -> list[tuple[str, str]]:
        out = []
        for path in sorted((CORPUS / folder).rglob("*.sql")):
            text = path.read_text()
            if wrap:
                text = f"CREATE TABLE {wrap}_{path.stem} AS\n{text.strip().rstrip(';')}"
            out.append((str(path.relative_to(CORPUS)), text))
        return out[:limit] if limit else out

    return {"tpch": files("tpch", "tpch"), "tpcds": files("tpcds_insert"),
            "tpcds_sqlglot": files("tpcds", "tpcds"), "jaffle_shop": files("jaffle_shop")}


def schemas() -> dict[str, dict]:
    return {name: normalize_schema(json.loads((CORPUS / f"{name}_schema.json").read_text()), "spark")
            for name in ("tpch", "tpcds", "jaffle_shop")}


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def ours_tables(statements: list[tuple[str, str]]) -> list[tuple[set[str], set[str]]]:
    out = []
    for _, sql in statements:
        r = extract_sql(sql, "spark", column_lineage=False)
        out.append((set(r.sources), set(r.targets)))
    return out


def ours_columns(statements: list[tuple[str, str]], schema: dict) -> dict[str, Any]:
    slowest, slowest_name, errors, unresolved, columns = 0.0, "", 0, 0, 0
    for name, sql in statements:
        started = time.perf_counter()
        r = extract_sql(sql, "spark", dict(schema))
        took = time.perf_counter() - started
        if took > slowest:
            slowest, slowest_name = took, name
        errors += len(r.errors)
        unresolved += sum(len(s.unresolved) for s in r.statements)
        columns += len(r.columns)
    return {"max_statement_seconds": round(slowest, 4), "slowest": slowest_name, "errors": errors,
            "unresolved_columns": unresolved, "target_columns": columns}


def _sqllineage() -> Any:
    try:
        from sqllineage.runner import LineageRunner
    except ImportError:
        return None
    warnings.filterwarnings("ignore")

    def run(sql: str, columns: bool) -> tuple[set[str], set[str]]:
        try:
            runner = LineageRunner(sql, dialect="ansi")
            if columns:
                runner.get_column_lineage()
            clean = lambda ts: {str(t).removeprefix("<default>.").lower() for t in ts}
            return clean(runner.source_tables), clean(runner.target_tables)
        except Exception:
            return set(), set()
    return run


def _openlineage() -> Any:
    try:
        import openlineage_sql
    except ImportError:
        return None

    def run(sql: str, columns: bool) -> tuple[set[str], set[str]]:
        try:
            r = openlineage_sql.parse([sql], dialect="generic")  # tables and columns in one call
            return {t.qualified_name.lower() for t in r.in_tables}, {t.qualified_name.lower() for t in r.out_tables}
        except Exception:
            return set(), set()
    return run


def side_by_side(statements: list[tuple[str, str, dict]], others: dict[str, Any]) -> dict[str, Any]:
    """Every tool on each statement in turn (so machine load hits them alike); seconds summed per tool."""
    seconds: dict[str, float] = {}
    tables: dict[str, list[tuple[set[str], set[str]]]] = {}

    def timed(key: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = call(*args, **kwargs)
        seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started
        return result

    for _, sql, schema in statements:
        r = timed("ours_table", extract_sql, sql, "spark", column_lineage=False)
        tables.setdefault("ours", []).append((set(r.sources), set(r.targets)))
        timed("ours_column", extract_sql, sql, "spark", dict(schema))
        for name, run in others.items():
            tables.setdefault(name, []).append(timed(f"{name}_table", run, sql, False))
            if name == "sqllineage":
                timed(f"{name}_column", run, sql, True)
    return {"seconds": seconds, "tables": tables}


def agreement(a: list[tuple[set[str], set[str]]], b: list[tuple[set[str], set[str]]] | None) -> float | None:
    if b is None:
        return None
    return round(sum(x == y for x, y in zip(a, b, strict=True)) / max(len(a), 1), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of our extractor (best time counts)")
    parser.add_argument("--limit", type=int, help="statements per corpus set (default: all)")
    parser.add_argument("--no-others", action="store_true", help="skip sqllineage and openlineage-sql")
    args = parser.parse_args()
    global CORPUS
    CORPUS = fetch()
    sets, schema = load(args.limit), schemas()
    compared = sets["tpch"] + sets["tpcds"]
    n = len(compared)
    figures: dict[str, Any] = {"statements_compared": n}

    seconds, _ = best_of(args.repeat, lambda: ours_tables(compared))
    figures["ours_table_sps_best"] = round(n / seconds, 1)
    for name in ("tpcds", "tpcds_sqlglot", "tpch"):
        detail = ours_columns(sets[name], schema["tpch" if name == "tpch" else "tpcds"])
        figures[f"{name}_column"] = detail
    dbt_seconds, dbt = best_of(args.repeat, lambda: extract_sources(
        [SqlSource(p, t) for p, t in sets["jaffle_shop"]], "duckdb", dict(schema["jaffle_shop"])))
    figures["jaffle_shop"] = {"files": len(dbt), "seconds": round(dbt_seconds, 4),
                              "errors": sum(len(f.errors) for f in dbt),
                              "target_columns": sum(len(f.columns) for f in dbt),
                              "unresolved_columns": sum(len(s.unresolved) for f in dbt for s in f.statements)}

    others = {} if args.no_others else {k: v for k, v in (("sqllineage", _sqllineage()),
                                                           ("openlineage", _openlineage())) if v}
    for name in ("sqllineage", "openlineage"):
        if name not in others and not args.no_others:
            figures[name] = "not installed"
    statements = [(p, sql, schema["tpch"]) for p, sql in sets["tpch"]] + \
                 [(p, sql, schema["tpcds"]) for p, sql in sets["tpcds"]]
    side_by_side(statements[:1], others)  # warm-up: imports and parser set-up are not timed
    run = side_by_side(statements, others)
    sec, tables = run["seconds"], run["tables"]
    figures["ours_table_sps"] = round(n / sec["ours_table"], 1)
    figures["ours_column_sps"] = round(n / sec["ours_column"], 1)
    if "sqllineage" in others:
        figures["sqllineage_table_sps"] = round(n / sec["sqllineage_table"], 2)
        figures["sqllineage_column_sps"] = round(n / sec["sqllineage_column"], 2)
        figures["table_speedup_vs_sqllineage"] = round(sec["sqllineage_table"] / sec["ours_table"], 1)
        figures["column_speedup_vs_sqllineage"] = round(sec["sqllineage_column"] / sec["ours_column"], 1)
        figures["table_agreement_sqllineage"] = agreement(tables["ours"], tables["sqllineage"])
    if "openlineage" in others:
        figures["openlineage_sps"] = round(n / sec["openlineage_table"], 1)
        figures["openlineage_speed_ratio"] = round(sec["openlineage_table"] / sec["ours_table"], 3)
        figures["table_agreement_openlineage"] = agreement(tables["ours"], tables["openlineage"])

    gold_others = {k: v for k, v in others.items() if k == "openlineage"}  # sqllineage wrote this gold
    figures["sqllineage_gold"] = gold_accuracy(json.loads((CORPUS / "sqllineage_gold.json").read_text()),
                                               gold_others)
    figures["own_gold"] = gold_accuracy(json.loads(OWN_GOLD.read_text()), gold_others)
    print(f"SQL lineage on {n} TPC-H + TPC-DS statements, the tools side by side on each statement")
    print(f"  ours, table level:   {figures['ours_table_sps']:>8} statements/s "
          f"(best of {args.repeat} runs alone: {figures['ours_table_sps_best']})")
    print(f"  ours, column level:  {figures['ours_column_sps']:>8} statements/s")
    if "sqllineage_table_sps" in figures:
        print(f"  sqllineage (ansi):   {figures['sqllineage_table_sps']:>8} statements/s table, "
              f"{figures['sqllineage_column_sps']} column  -> ours x{figures['table_speedup_vs_sqllineage']} "
              f"(table), x{figures['column_speedup_vs_sqllineage']} (column); "
              f"table agreement {figures['table_agreement_sqllineage']}")
    if "openlineage_sps" in figures:
        print(f"  openlineage-sql:     {figures['openlineage_sps']:>8} statements/s (tables+columns, Rust) -> "
              f"time ratio ol/ours {figures['openlineage_speed_ratio']}; "
              f"table agreement {figures['table_agreement_openlineage']}")
    for name in ("tpcds", "tpcds_sqlglot", "tpch"):
        d = figures[f"{name}_column"]
        print(f"  {name} column lineage: slowest statement {d['max_statement_seconds']}s ({d['slowest']}), "
              f"{d['target_columns']} target columns, {d['unresolved_columns']} unresolved, {d['errors']} errors")
    j = figures["jaffle_shop"]
    print(f"  jaffle_shop dbt: {j['files']} models in {j['seconds']}s, {j['target_columns']} columns, "
          f"{j['unresolved_columns']} unresolved, {j['errors']} errors")
    for name in ("sqllineage_gold", "own_gold"):
        g = figures[name]
        print(f"  {name}: {g['cases']} table-level cases, ours {g['ours_accuracy']}"
              + (f", openlineage-sql {g['openlineage_accuracy']}" if "openlineage_accuracy" in g else ""))
    targets = {"table_15x_sqllineage": (figures.get("table_speedup_vs_sqllineage") or 0) >= 15,
               "tpcds_column_under_2s": max(figures["tpcds_column"]["max_statement_seconds"],
                                            figures["tpcds_sqlglot_column"]["max_statement_seconds"]) < 2.0}
    figures["targets_met"] = targets
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
