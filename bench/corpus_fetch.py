"""The SQL benchmark corpus, fetched from published sdists on PyPI into a cache (never committed).

    python bench/corpus_fetch.py [--cache DIR]   # prints the corpus folder

Three sdists, pinned by version and sha256 (bench/corpus/README.md says what comes from each):
TPC-H / TPC-DS queries and schemas from sqlglot's test fixtures, TPC-DS as INSERT statements and
sqllineage's own table-lineage test cases (gold) from sqllineage, the jaffle_shop dbt project from
dbt-osmosis. Files are extracted into the layout bench/sql.py reads; a second run only checks.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

SDISTS = {
    "sqlglot": ("30.30.0", "b8e344042c85d7baa1d0d827127dfe1611ce9ac59bceab6fe370665baeb14ce7"),
    "sqllineage": ("1.5.9", "f4b9eb0d7e2de52d3d35b4452f39f00bde1cf45d5b3bd4086e4bfe38432aa5f1"),
    "dbt-osmosis": ("1.5.0", "13f7fc15b6aa25a6e9c99a272bda7e55fc79088e2aa2ebd20b0a8de5f14e4e97"),
}
DEFAULT_CACHE = Path(os.environ.get("LINEAGE_BENCH_CACHE", Path.home() / ".cache" / "lineage-collector" / "bench-corpus"))
# sqllineage's dialect names (sqlfluff's) -> sqlglot's; the others are not scored.
DIALECTS = {"ansi": "", "non-validating": "", "sparksql": "spark", "hive": "hive", "databricks": "databricks",
            "snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift", "postgres": "postgres",
            "greenplum": "postgres", "tsql": "tsql", "mysql": "mysql", "mariadb": "mysql", "oracle": "oracle",
            "athena": "athena", "trino": "trino", "duckdb": "duckdb", "clickhouse": "clickhouse",
            "sqlite": "sqlite", "teradata": "teradata", "exasol": "exasol", "db2": ""}


def _download(name: str, cache: Path) -> Path:
    """The sdist by pip (the registry's ordinary client), checked against the recorded sha256."""
    version, sha = SDISTS[name]
    folder = cache / "sdists"
    found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}.tar.gz"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                        f"{name}=={version}", "-d", str(folder)], check=True, timeout=600)
        found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}.tar.gz"))
    if not found or hashlib.sha256(found[0].read_bytes()).hexdigest() != sha:
        raise SystemExit(f"{name} {version}: sdist missing or sha256 mismatch, not using it")
    return found[0]


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile() and "/" in m.name}


def _queries(fixture: str) -> list[str]:
    """The input side of sqlglot's optimizer fixture pairs (query; expected; query; expected; ...)."""
    # comment lines and the fixtures' "# execute: true" meta lines go
    text = "\n".join(line for line in fixture.splitlines() if not line.lstrip().startswith(("--", "#")))
    statements = [s.strip() for s in text.split(";") if s.strip()]
    return statements[0::2]


def _python_dict(source: str, name: str) -> Any:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def gold_cases(tests: dict[str, str]) -> list[dict[str, Any]]:
    """sqllineage's `assert_table_lineage_equal(sql, sources, targets, dialect)` calls whose arguments
    are literals (a parametrized dialect list counts), as gold cases."""
    cases = []
    for path, source in sorted(tests.items()):
        for func in ast.walk(ast.parse(source)):
            if not isinstance(func, ast.FunctionDef):
                continue
            params: list[str] = []
            for deco in func.decorator_list:
                if isinstance(deco, ast.Call) and deco.args and isinstance(deco.args[0], ast.Constant) \
                        and deco.args[0].value == "dialect":
                    try:
                        params = list(ast.literal_eval(deco.args[1]))
                    except ValueError:
                        params = []
            for call in ast.walk(func):
                if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "assert_table_lineage_equal"):
                    continue
                args = list(call.args) + [None] * 4
                kw = {k.arg: k.value for k in call.keywords}
                try:
                    sql = _sql_literal(args[0], func)
                    sources = _literal(kw.get("source_tables", args[1]))
                    targets = _literal(kw.get("target_tables", args[2]))
                except ValueError:
                    continue
                dialect_node = kw.get("dialect", args[3])
                dialects = ["ansi"] if dialect_node is None else (
                    [dialect_node.value] if isinstance(dialect_node, ast.Constant) else params)
                for dialect in dialects:
                    if dialect in DIALECTS and sql:
                        cases.append({"file": path, "test": func.name, "dialect": DIALECTS[dialect],
                                      "sql": sql, "sources": sorted(map(str, sources or [])),
                                      "targets": sorted(map(str, targets or []))})
    return cases


def _literal(node: ast.expr | None) -> Any:
    return None if node is None else ast.literal_eval(node)


def _sql_literal(node: ast.expr | None, func: ast.FunctionDef) -> str:
    """The SQL argument: a literal, or a local `sql = "..."` assigned in the test before the call."""
    if isinstance(node, ast.Name):
        found = [n.value for n in ast.walk(func) if isinstance(n, ast.Assign) and
                 any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)]
        if len(found) != 1:
            raise ValueError(node.id)
        node = found[0]
    value = ast.literal_eval(node) if node is not None else None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def fetch(cache: Path = DEFAULT_CACHE) -> Path:
    corpus = cache / "corpus"
    if (corpus / "DONE").exists():
        return corpus
    sqlglot = _members(_download("sqlglot", cache))
    lineage = _members(_download("sqllineage", cache))
    osmosis = _members(_download("dbt-osmosis", cache))
    for folder, fixture in (("tpch", "tpc-h/tpc-h.sql"), ("tpcds", "tpc-ds/tpc-ds.sql")):
        for i, query in enumerate(_queries(sqlglot[f"tests/fixtures/optimizer/{fixture}"].decode()), 1):
            _write(corpus / folder / f"q{i:02d}.sql", query + "\n")
    helpers = sqlglot["tests/helpers.py"].decode()
    _write(corpus / "tpch_schema.json", json.dumps(_python_dict(helpers, "TPCH_SCHEMA")))
    _write(corpus / "tpcds_schema.json", json.dumps(_python_dict(helpers, "TPCDS_SCHEMA")))
    for name, data in lineage.items():
        if match := re.fullmatch(r"sqllineage/data/tpcds/(query\d+\.sql)", name):
            _write(corpus / "tpcds_insert" / match.group(1), data.decode())
    tests = {n: d.decode() for n, d in lineage.items() if n.startswith("tests/sql/table/") and n.endswith(".py")}
    _write(corpus / "sqllineage_gold.json", json.dumps(gold_cases(tests), indent=1))
    seeds: dict[str, list[str]] = {}
    for name, data in osmosis.items():
        if name.startswith("demo_duckdb/models/") and name.endswith(".sql"):
            _write(corpus / "jaffle_shop" / "models" / name.removeprefix("demo_duckdb/models/"), data.decode())
        elif re.fullmatch(r"demo_duckdb/seeds/raw_\w+\.csv", name):
            seeds[Path(name).stem] = data.decode().splitlines()[0].split(",")
    _write(corpus / "jaffle_shop_schema.json", json.dumps(seeds))
    _write(corpus / "DONE", "")
    return corpus


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    print(fetch(parser.parse_args().cache))
