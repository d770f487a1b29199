"""Our own gold cases (tests/data/sql_gold/cases.json): file-level sources, targets, intermediates and
column edges for plain SELECTs, T-SQL batches and procedures, later statements acting on earlier targets,
and column naming, across dialects. Each case is a test; the rules are in docs/sql-lineage.md."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector.sql import extract_sql

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "sql_gold" / "cases.json").read_text(encoding="utf-8"))


def test_the_cases_cover_every_dialect_asked_for():
    assert len(CASES) >= 80 and len({c["id"] for c in CASES}) == len(CASES)
    assert {"tsql", "postgres", "snowflake", "spark", "hive", "bigquery", "mysql", "duckdb", "redshift", "trino",
            "oracle"} <= {c["dialect"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_gold_case(case: dict[str, Any]):
    result = extract_sql(case["sql"], case["dialect"])
    got = {"sources": sorted(result.sources), "targets": sorted(result.targets),
           "intermediates": sorted(result.intermediates)}
    want = {"sources": case["sources"], "targets": case["targets"], "intermediates": case.get("intermediates", [])}
    assert got == want, result.errors
    if "columns" in case:
        assert {c.target: sorted(c.sources) for c in result.columns} == case["columns"]
