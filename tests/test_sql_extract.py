"""SQL lineage extractor: table- and column-level lineage across dialects and constructs."""
from __future__ import annotations

import pytest

from collector.sql import SqlSource, extract_sources, extract_sql, normalize_schema


def one(sql: str, dialect: str | None = None, schema: dict | None = None):
    result = extract_sql(sql, dialect, normalize_schema(schema, dialect) if schema else None)
    assert not result.errors, result.errors
    return result


def tables(sql: str, dialect: str | None = None) -> tuple[set[str], set[str]]:
    result = one(sql, dialect)
    return set(result.sources), set(result.targets)


def columns(sql: str, dialect: str | None = None, schema: dict | None = None) -> dict[str, set[str]]:
    return {c.target: set(c.sources) for c in one(sql, dialect, schema).columns}


# --- table level: each construct ------------------------------------------------------------------

TABLE_CASES = [
    ("spark", "CREATE TABLE db.t AS SELECT a FROM db.s JOIN db.u ON s.k = u.k", {"db.s", "db.u"}, {"db.t"}),
    ("postgres", "CREATE VIEW v AS SELECT * FROM s WHERE x IN (SELECT x FROM u)", {"s", "u"}, {"v"}),
    ("mysql", "CREATE TABLE t LIKE s", {"s"}, {"t"}),
    ("postgres", "CREATE TABLE t (LIKE s INCLUDING ALL)", {"s"}, {"t"}),
    ("snowflake", "CREATE TABLE t CLONE s", {"S"}, {"T"}),
    ("postgres", "INSERT INTO t (a, b) SELECT a, b FROM s", {"s"}, {"t"}),
    ("hive", "INSERT OVERWRITE TABLE db.t PARTITION (dt='2024-01-01') SELECT a FROM db.s", {"db.s"}, {"db.t"}),
    ("spark", "INSERT INTO TABLE t SELECT a FROM s", {"s"}, {"t"}),
    ("snowflake", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = s.v "
                  "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)", {"S"}, {"T"}),
    ("postgres", "UPDATE t SET v = s.v FROM s WHERE t.id = s.id", {"s"}, {"t"}),
    ("postgres", "DELETE FROM t USING s WHERE t.id = s.id", {"s"}, {"t"}),
    ("tsql", "SELECT a, b INTO dbo.newt FROM dbo.s", {"dbo.s"}, {"dbo.newt"}),
    ("postgres", "SELECT a INTO newt FROM s", {"s"}, {"newt"}),
    ("snowflake", "COPY INTO raw.events FROM 's3://bucket/events/'", {"s3://bucket/events/"}, {"RAW.EVENTS"}),
    ("redshift", "COPY raw.events FROM 's3://bucket/events/' IAM_ROLE 'arn:aws:iam::1:role/r'",
     {"s3://bucket/events/"}, {"raw.events"}),
    ("redshift", "UNLOAD ('SELECT * FROM sales WHERE region = ''eu''') TO 's3://bucket/unload/' "
                 "IAM_ROLE 'arn:aws:iam::1:role/r'", {"sales"}, {"s3://bucket/unload/"}),
    ("snowflake", "COPY INTO 's3://bucket/out/' FROM (SELECT * FROM sales)", {"SALES"}, {"s3://bucket/out/"}),
    ("duckdb", "COPY (SELECT * FROM sales) TO 's3://bucket/out.parquet' (FORMAT PARQUET)", {"sales"},
     {"s3://bucket/out.parquet"}),
    ("hive", "INSERT OVERWRITE DIRECTORY 's3://bucket/dir/' SELECT * FROM t", {"t"}, {"s3://bucket/dir/"}),
    ("postgres", "WITH a AS (SELECT * FROM s), b AS (SELECT * FROM a JOIN u USING (id)) "
                 "INSERT INTO t SELECT * FROM b", {"s", "u"}, {"t"}),
    ("postgres", "WITH RECURSIVE r AS (SELECT id, parent FROM nodes WHERE parent IS NULL UNION ALL "
                 "SELECT n.id, n.parent FROM nodes n JOIN r ON n.parent = r.id) INSERT INTO tree SELECT * FROM r",
     {"nodes"}, {"tree"}),
    ("spark", "INSERT INTO t SELECT * FROM (SELECT a FROM (SELECT a FROM s) x) y", {"s"}, {"t"}),
    ("bigquery", "INSERT INTO ds.t SELECT a FROM ds.s UNION ALL SELECT a FROM ds.u EXCEPT DISTINCT "
                 "SELECT a FROM ds.w", {"ds.s", "ds.u", "ds.w"}, {"ds.t"}),
    ("postgres", "INSERT INTO t SELECT a FROM s INTERSECT SELECT a FROM u", {"s", "u"}, {"t"}),
    ("hive", "INSERT INTO t SELECT s.id, tag FROM s LATERAL VIEW explode(s.tags) x AS tag", {"s"}, {"t"}),
    ("snowflake", "CREATE TABLE t AS SELECT s.id, f.value FROM s, LATERAL FLATTEN(input => s.arr) f",
     {"S"}, {"T"}),
    ("trino", "CREATE TABLE t AS SELECT s.id, x FROM s CROSS JOIN UNNEST(s.arr) AS u(x)", {"s"}, {"t"}),
    ("postgres", "CREATE TABLE t AS SELECT g FROM generate_series(1, 10) AS g", set(), {"t"}),
    ("postgres", 'CREATE TABLE "Mixed"."Case" AS SELECT * FROM "Src"."Tbl"', {"Src.Tbl"}, {"Mixed.Case"}),
    ("postgres", "CREATE TABLE Upper.Name AS SELECT * FROM Src.Tbl", {"src.tbl"}, {"upper.name"}),
    ("snowflake", "CREATE TABLE db.sch.t AS SELECT * FROM db.sch.s", {"DB.SCH.S"}, {"DB.SCH.T"}),
    ("tsql", "INSERT INTO [warehouse].[dbo].[facts] SELECT * FROM [staging].[dbo].[rows]",
     {"staging.dbo.rows"}, {"warehouse.dbo.facts"}),
    ("bigquery", "CREATE OR REPLACE TABLE `proj.ds.out` AS SELECT * FROM `proj.ds.src`",
     {"proj.ds.src"}, {"proj.ds.out"}),
    ("athena", "CREATE TABLE t WITH (external_location = 's3://b/t/', format = 'PARQUET') AS SELECT a FROM s",
     {"s"}, {"t"}),
    ("databricks", "CREATE OR REPLACE TABLE main.gold.t USING DELTA AS SELECT * FROM main.silver.s",
     {"main.silver.s"}, {"main.gold.t"}),
    ("oracle", "INSERT INTO hr.emp_copy SELECT * FROM hr.employees", {"HR.EMPLOYEES"}, {"HR.EMP_COPY"}),
    ("redshift", "INSERT INTO t SELECT a FROM s WHERE EXISTS (SELECT 1 FROM u WHERE u.a = s.a)", {"s", "u"},
     {"t"}),
    ("mysql", "INSERT INTO t SELECT a FROM `db`.`s`", {"db.s"}, {"t"}),
    ("hive", "FROM src s INSERT OVERWRITE TABLE a SELECT s.x WHERE k = 1 INSERT OVERWRITE TABLE b SELECT y",
     {"src"}, {"a", "b"}),
    ("snowflake", "INSERT ALL INTO t1 (c) VALUES (a) INTO t2 VALUES (b) SELECT a, b FROM s", {"S"}, {"T1", "T2"}),
    ("tsql", "UPDATE t SET t.x = s.y FROM dbo.tbl t JOIN dbo.src s ON t.id = s.id", {"dbo.src"}, {"dbo.tbl"}),
    ("tsql", "DELETE t FROM dbo.tbl t JOIN dbo.src s ON t.id = s.id", {"dbo.src"}, {"dbo.tbl"}),
    ("oracle", "CREATE GLOBAL TEMPORARY TABLE gtt ON COMMIT PRESERVE ROWS AS SELECT a FROM s", {"S"}, {"GTT"}),
    ("postgres", "CREATE MATERIALIZED VIEW mv AS SELECT a FROM s", {"s"}, {"mv"}),
    ("spark", "CREATE TABLE t AS SELECT * FROM parquet.`s3://b/events/`", {"s3://b/events/"}, {"t"}),
    ("snowflake", "CREATE TABLE t AS SELECT $1:id::INT AS id FROM @raw_stage/events", {"@raw_stage/events"}, {"T"}),
    ("bigquery", "CREATE TABLE d.t AS SELECT * EXCEPT (secret) FROM d.s", {"d.s"}, {"d.t"}),
]


@pytest.mark.parametrize("dialect,sql,sources,targets", TABLE_CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                                           enumerate(TABLE_CASES)])
def test_table_lineage(dialect, sql, sources, targets):
    assert tables(sql, dialect) == (sources, targets)


@pytest.mark.parametrize("sql,dialect", [
    ("SET spark.sql.shuffle.partitions = 10", "spark"), ("USE analytics", "spark"),
    ("GRANT SELECT ON t TO ROLE r", "snowflake"), ("DROP TABLE IF EXISTS t", "postgres"),
    ("SHOW TABLES", "mysql"),
])
def test_statements_without_lineage_yield_no_edges(sql, dialect):
    result = one(sql, dialect)
    assert result.sources == [] and result.targets == [] and result.columns == []
    assert result.statements[0].sources == [] and result.statements[0].targets == []


def test_a_plain_select_reads_its_tables_and_writes_nothing():
    result = one("SELECT * FROM t JOIN u ON t.id = u.id WHERE t.k IN (SELECT k FROM w)", "postgres")
    assert (result.sources, result.targets, result.columns) == (["t", "u", "w"], [], [])
    assert result.statements[0].sql_kind == "select" and result.statements[0].sources == ["t", "u", "w"]


def test_use_qualifies_later_unqualified_names_and_temporary_tables_stay_in_the_file():
    result = one("""
        USE analytics;
        CREATE TEMPORARY VIEW staged AS SELECT id, amount FROM raw.orders;
        CREATE TABLE daily AS SELECT id, amount FROM staged;
        USE other;
        INSERT INTO totals SELECT id, amount FROM daily JOIN analytics.daily d2 USING (id);
    """, "spark")
    assert result.sources == ["raw.orders", "other.daily"]
    assert result.intermediates == ["staged", "analytics.daily"]
    assert result.targets == ["other.totals"]
    assert [s.sql_kind for s in result.statements] == ["use", "create_view", "create_table_as", "use", "insert"]
    # The temporary view is collapsed: the real table's columns feed what reads it.
    cols = {c.target: c.sources for c in result.columns}
    assert cols["analytics.daily.amount"] == ["raw.orders.amount"]


def test_file_sources_targets_and_intermediates():
    result = one("""
        CREATE TABLE tmp_orders AS SELECT * FROM raw_orders WHERE status = 'ok';
        INSERT INTO facts SELECT o.id, c.name FROM tmp_orders o JOIN customers c ON o.cid = c.id;
        INSERT INTO audit SELECT COUNT(*) AS n FROM facts;
        DROP TABLE tmp_orders;
    """, "postgres")
    assert set(result.sources) == {"raw_orders", "customers"}
    assert set(result.intermediates) == {"tmp_orders", "facts"}
    assert result.targets == ["audit"]
    assert [s.index for s in result.statements] == [0, 1, 2, 3]


def test_a_statement_that_does_not_parse_is_reported_and_the_file_goes_on():
    result = extract_sql("INSERT INTO a SELECT x FROM b;\nSELECT FROM WHERE ((;\nINSERT INTO c SELECT y FROM d;",
                         "postgres")
    assert [bool(s.error) for s in result.statements] == [False, True, False]
    assert result.statements[1].line == 2 and "Error" in result.statements[1].error
    assert set(result.targets) == {"a", "c"} and set(result.sources) == {"b", "d"}


def test_semicolons_in_strings_and_comments_do_not_split_statements():
    result = one("INSERT INTO t SELECT ';' AS s, x FROM a; -- a comment; with semicolons\n"
                 "/* block; comment */ INSERT INTO u SELECT y FROM b", "postgres")
    assert [s.targets for s in result.statements] == [["t"], ["u"]]


def test_lowercase_and_uppercase_case_rules_and_quoted_identifiers():
    assert tables('INSERT INTO "Sales"."Q1" SELECT * FROM Raw.Orders', "postgres") == ({"raw.orders"}, {"Sales.Q1"})
    assert tables('INSERT INTO "Sales".q1 SELECT * FROM Raw.Orders', "snowflake") == ({"RAW.ORDERS"}, {"Sales.Q1"})


# --- column level ---------------------------------------------------------------------------------


def test_columns_through_aliases_expressions_case_casts_functions_and_joins():
    cols = columns("""
        CREATE TABLE out AS
        SELECT o.id AS order_id,
               CAST(o.amount AS DECIMAL(10, 2)) * fx.rate AS amount_eur,
               CASE WHEN c.vip THEN 'vip' ELSE c.segment END AS segment,
               UPPER(TRIM(c.name)) AS name,
               1 AS one
        FROM orders o JOIN customers c ON o.cid = c.id LEFT JOIN fx ON fx.cur = o.cur
    """, "postgres")
    assert cols == {
        "out.order_id": {"orders.id"},
        "out.amount_eur": {"orders.amount", "fx.rate"},
        "out.segment": {"customers.vip", "customers.segment"},
        "out.name": {"customers.name"},
        "out.one": set(),
    }


def test_columns_through_ctes_subqueries_unions_and_windows():
    cols = columns("""
        INSERT INTO ranked (id, total, rnk)
        WITH base AS (SELECT id, amount, region FROM sales),
             agg AS (SELECT id, SUM(amount) AS total, MAX(region) AS region FROM base GROUP BY id)
        SELECT id, total, RANK() OVER (PARTITION BY region ORDER BY total DESC)
        FROM (SELECT id, total, region FROM agg UNION ALL SELECT id, refund, region FROM refunds) u
    """, "postgres")
    assert cols == {
        "ranked.id": {"sales.id", "refunds.id"},
        "ranked.total": {"sales.amount", "refunds.refund"},
        "ranked.rnk": {"sales.region", "refunds.region", "sales.amount", "refunds.refund"},
    }


def test_columns_through_scalar_subqueries_and_lateral_views():
    cols = columns("""
        INSERT INTO t SELECT s.id, (SELECT MAX(p.price) FROM prices p WHERE p.id = s.id) AS top, tag
        FROM s LATERAL VIEW explode(s.tags) x AS tag
    """, "hive")
    assert cols == {"t.id": {"s.id"}, "t.top": {"prices.price"}, "t.tag": {"s.tags"}}


def test_insert_without_column_list_maps_by_position_to_the_known_schema():
    cols = columns("INSERT INTO t SELECT x + 1, y FROM s", "postgres", schema={"t": ["a", "b"]})
    assert cols == {"t.a": {"s.x"}, "t.b": {"s.y"}}


def test_select_star_is_expanded_from_the_schema_or_reported_unresolved():
    sql = "CREATE TABLE t AS SELECT * FROM s JOIN u ON s.id = u.sid"
    cols = columns(sql, "spark", schema={"s": {"id": "int", "a": "string"}, "u": ["sid", "b"]})
    assert cols == {"t.id": {"s.id"}, "t.a": {"s.a"}, "t.sid": {"u.sid"}, "t.b": {"u.b"}}
    result = extract_sql(sql, "spark")
    assert {c.target: c.sources for c in result.columns} == {"t.*": ["s.*", "u.*"]}
    assert result.statements[0].unresolved == ["*"]


def test_star_expanded_from_an_earlier_create_table_in_the_same_run():
    result = extract_sources([
        SqlSource("b.sql", "CREATE TABLE mart AS SELECT * FROM stage"),
        SqlSource("a.sql", "CREATE TABLE stage (id INT, name STRING); INSERT INTO stage SELECT id, name FROM raw"),
    ], "spark")
    assert {c.target: c.sources for c in result[0].columns} == {"mart.id": ["stage.id"], "mart.name": ["stage.name"]}


def test_merge_and_update_columns():
    cols = columns("""
        MERGE INTO dim d USING (SELECT id, name, city FROM staging) s ON d.id = s.id
        WHEN MATCHED THEN UPDATE SET name = s.name, city = UPPER(s.city)
        WHEN NOT MATCHED THEN INSERT (id, name, city) VALUES (s.id, s.name, s.city)
    """, "databricks")
    assert cols == {"dim.name": {"staging.name"}, "dim.city": {"staging.city"}, "dim.id": {"staging.id"}}
    assert columns("UPDATE t SET v = s.v * 2 FROM s WHERE t.id = s.id", "postgres") == {"t.v": {"s.v"}}


@pytest.mark.parametrize("dialect", ["spark", "hive", "databricks", "snowflake", "bigquery", "redshift", "postgres",
                                     "tsql", "mysql", "athena", "duckdb", "oracle", "trino", "clickhouse"])
def test_the_same_model_in_every_dialect(dialect):
    sql = ("INSERT INTO mart.orders_daily SELECT o.order_date, COUNT(*) AS n, SUM(o.amount) AS total "
           "FROM raw.orders o JOIN raw.customers c ON o.customer_id = c.id GROUP BY o.order_date")
    result = one(sql, dialect)
    upper = dialect in ("snowflake", "oracle")
    norm = (lambda s: s.upper()) if upper else (lambda s: s)
    assert set(result.sources) == {norm("raw.orders"), norm("raw.customers")}
    assert result.targets == [norm("mart.orders_daily")]
    cols = {c.target: set(c.sources) for c in result.columns}
    assert cols[norm("mart.orders_daily.total")] == {norm("raw.orders.amount")}
    assert cols[norm("mart.orders_daily.order_date")] == {norm("raw.orders.order_date")}


# --- dbt ------------------------------------------------------------------------------------------


def test_dbt_model_is_rendered_and_defines_its_table():
    model = """
    {{ config(materialized='incremental', schema='marts') }}
    {% set statuses = ['placed', 'shipped'] %}
    with orders as (select * from {{ ref('stg_orders') }}),
         payments as (select * from {{ source('stripe', 'payments') }})
    select orders.order_id,
           {% for s in statuses %}sum(case when orders.status = '{{ s }}' then payments.amount end) as {{ s }}_amount,
           {% endfor %}
           {{ my_macro('x') }} count(*) as n
    from orders left join payments on orders.order_id = payments.order_id
    {% if is_incremental() %} where orders.updated_at > (select max(updated_at) from {{ this }}) {% endif %}
    group by 1
    """
    result = extract_sources([SqlSource("models/orders.sql", model)], "postgres",
                             normalize_schema({"stg_orders": ["order_id", "status", "updated_at"],
                                               "stripe.payments": ["order_id", "amount"]}, "postgres"))[0]
    assert result.errors == []
    assert set(result.sources) == {"stg_orders", "stripe.payments"}
    assert result.targets == ["marts.orders"]
    assert result.statements[0].sql_kind == "dbt_model"
    cols = {c.target: set(c.sources) for c in result.columns}
    assert cols["marts.orders.placed_amount"] == {"stg_orders.status", "stripe.payments.amount"}
    assert cols["marts.orders.order_id"] == {"stg_orders.order_id"}


def test_unrenderable_template_falls_back_to_stripping_tags():
    result = extract_sql("{% call weird() %}{% endcall %}{{ ref('a') }\nselect x from {{ ref('b') }}",
                         "postgres", path="models/m.sql")
    assert "b" in result.sources


def test_columns_of_multi_table_inserts_unnest_and_tsql_temp_tables():
    assert columns("FROM src s INSERT OVERWRITE TABLE a SELECT s.x INSERT OVERWRITE TABLE b SELECT y", "hive") == {
        "a.x": {"src.x"}, "b.y": {"src.y"}}
    assert columns("INSERT ALL INTO t1 (c) VALUES (a) SELECT a FROM s", "snowflake") == {"T1.C": {"S.A"}}
    # Unqualified columns next to a UDTF: the UDTF's own outputs, else the one real table.
    assert columns("CREATE TABLE d.t AS SELECT id, e FROM d.s, UNNEST(arr) AS e", "bigquery") == {
        "d.t.id": {"d.s.id"}, "d.t.e": {"d.s.arr"}}
    result = one("SELECT a INTO #stage FROM s; INSERT INTO dbo.final SELECT a FROM #stage", "tsql")
    assert result.intermediates == ["#stage"] and result.targets == ["dbo.final"]
    assert {c.target: c.sources for c in result.columns} == {"dbo.final.a": ["s.a"]}
