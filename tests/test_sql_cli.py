"""`lineage-collector sql-lineage`: files, folders and stdin to the JSON shape of design §4."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from collector.sql import extract_sql
from jobs.cli import build_parser
from jobs.sql_cli import run


def call(argv: list[str], stdin: str = "") -> tuple[int, dict]:
    out = io.StringIO()
    code = run(build_parser().parse_args(["sql-lineage", *argv]), stdin=io.StringIO(stdin), stdout=out)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}


def test_folders_recursively_files_and_stdin(tmp_path: Path):
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "models" / "stg.sql").write_text("CREATE TABLE stg AS SELECT id, v FROM raw;")
    (tmp_path / "models" / "marts" / "mart.sql").write_text("INSERT INTO mart SELECT * FROM stg; SET x = 1;")
    (tmp_path / "models" / "notes.txt").write_text("not sql")
    single = tmp_path / "one.sql"
    single.write_text("SELECT 1")
    code, doc = call(["--dialect", "spark", str(tmp_path / "models"), str(single), "-"],
                     stdin="MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v")
    assert code == 0
    paths = [f["path"] for f in doc["files"]]
    assert paths == [str(tmp_path / "models" / "marts" / "mart.sql"), str(tmp_path / "models" / "stg.sql"),
                     str(single), "-"]
    mart, _, one, merged = doc["files"]
    assert set(mart) >= {"path", "sources", "targets", "intermediates", "columns", "statements"}
    assert (mart["sources"], mart["targets"], mart["intermediates"]) == (["stg"], ["mart"], [])
    # The star is expanded from stg's columns, known from the other file (processed first).
    assert mart["columns"] == [{"target": "mart.id", "sources": ["stg.id"]}, {"target": "mart.v", "sources": ["stg.v"]}]
    assert [s["sql_kind"] for s in mart["statements"]] == ["insert", "set"]
    assert set(mart["statements"][0]) >= {"index", "sql_kind", "sources", "targets", "columns", "error"}
    assert one["targets"] == [] and one["statements"][0]["sql_kind"] == "select"
    assert merged["columns"] == [{"target": "t.v", "sources": ["s.v"]}]


def test_schema_file_expands_stars(tmp_path: Path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"raw.events": {"ID": "int", "Payload": "string"}}))
    code, doc = call(["--dialect", "postgres", "--schema", str(schema), "-"],
                     stdin="CREATE TABLE out AS SELECT * FROM raw.events")
    assert code == 0
    assert doc["files"][0]["columns"] == [{"target": "out.id", "sources": ["raw.events.id"]},
                                          {"target": "out.payload", "sources": ["raw.events.payload"]}]


def test_missing_path_and_bad_schema_exit_2(tmp_path: Path, capsys):
    assert call([str(tmp_path / "nope.sql")])[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert call(["--schema", str(bad), "-"], stdin="select 1")[0] == 2
    assert "nope.sql" in capsys.readouterr().err


def test_console_script_end_to_end(tmp_path: Path):
    sql = tmp_path / "x.sql"
    sql.write_text("INSERT INTO a SELECT b.x FROM b")
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "sql-lineage", str(sql)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                    "PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["columns"] == [{"target": "a.x", "sources": ["b.x"]}]


def test_pathological_statement_stops_at_its_budget_and_keeps_table_lineage():
    selects = " UNION ALL ".join(f"SELECT c{i} AS a, c{i + 1} AS b FROM t{i}" for i in range(300))
    result = extract_sql(f"INSERT INTO big {selects}", "postgres", budget_seconds=0.0)
    statement = result.statements[0]
    assert statement.error and "stopped after" in statement.error
    assert result.targets == ["big"] and len(result.sources) == 300


def test_odd_sql_never_raises():
    for sql in ["", ";;;", "--only a comment", "SELECT (((", "CREATE TABLE", "INSERT INTO t VALUES (1, 2)",
                "WITH x AS (SELECT 1) SELECT * FROM x", "EXPLAIN SELECT 1", "CALL proc(1)",
                "BEGIN; COMMIT;", "{{ ref('unclosed' }}", "INSERT INTO t SELECT * FROM TABLE(fn(1))",
                "MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE"]:
        extract_sql(sql, "snowflake")


def test_unknown_dialect_exits_2_with_close_matches(capsys):
    assert call(["--dialect", "postgresql", "-"], stdin="select 1") == (2, {})
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["lineage-collector sql-lineage: unknown SQL dialect 'postgresql'; did you mean postgres, tsql, prql?"]
