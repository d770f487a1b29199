"""One parsed statement -> what it writes, what it reads, and the query whose columns feed the target."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from collector.sql.names import Namer, location_of

NO_LINEAGE: dict[type, str] = {
    getattr(exp, name): name.lower()
    for name in ("Set", "Use", "Grant", "Revoke", "Drop", "Describe", "Show", "Transaction", "Commit",
                 "Rollback", "Analyze", "Pragma", "Kill", "Comment", "Declare")
    if isinstance(getattr(exp, name, None), type)
}

_EXCHANGE = re.compile(r"^\s*TABLE\s+(\S+)\s+EXCHANGE\s+PARTITION\s*\(.*\)\s*WITH\s+TABLE\s+(\S+)\s*$",
                       re.I | re.S)
_RENAME = re.compile(r"^\s*TABLE\s+(\S+)\s+TO\s+(\S+)\s*$", re.I | re.S)
_UNLOAD = re.compile(r"^\s*\(\s*'((?:[^']|'')*)'\s*\)\s*TO\s*'([^']+)'", re.I | re.S)


@dataclass
class Target:
    name: str  # a table name, or a storage location for COPY/UNLOAD/INSERT DIRECTORY
    is_location: bool = False
    temporary: bool = False
    columns: list[str] | None = None  # explicit column list (INSERT INTO t (a, b) ...)
    defined_columns: list[str] | None = None  # CREATE TABLE t (a INT, ...): the table's schema
    location: str | None = None  # LOCATION / external_location given in the DDL


@dataclass
class Analysis:
    kind: str
    targets: list[Target] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # The query whose projections feed the first target's columns, in target column order.
    query: exp.Expr | None = None
    by_name: bool = False
    like: str | None = None  # CREATE TABLE t LIKE s: t gets s's columns
    # Several targets fed by their own queries (multi-table inserts); else (targets[0], query).
    column_parts: list[tuple[Target, exp.Expr]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # DROP TABLE/VIEW: tables the session discards
    renamed: tuple[str, str] | None = None  # ALTER TABLE a RENAME TO b: (a, b)


def _temporary(node: exp.Expr, namer: Namer) -> bool:
    props = node.args.get("properties")
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.TemporaryProperty) and "oracle" in type(namer.dialect).__name__.lower() \
                and str(prop.args.get("this") or "").upper() == "GLOBAL":
            return False  # an Oracle global temporary table is a catalog table with session-private rows
        if isinstance(prop, (exp.TemporaryProperty, exp.VolatileProperty)):
            return True
    return False


def _cte_names(statement: exp.Expr, namer: Namer) -> set[str]:
    return {namer.dialect.normalize_identifier(cte.args["alias"].this.copy()).name
            for cte in statement.find_all(exp.CTE) if cte.args.get("alias") and cte.args["alias"].this}


def read_tables(node: exp.Expr | None, namer: Namer, ctes: set[str],
                skip: set[int] | None = None) -> list[str]:
    """Real tables (and locations) read anywhere under `node`, in order of appearance."""
    if node is None:
        return []
    found: dict[str, None] = {}
    for table in node.find_all(exp.Table, bfs=False):
        if skip and id(table) in skip:
            continue
        location = location_of(table)
        if location:
            found[location] = None
            continue
        if not table.args.get("db") and isinstance(table.this, exp.Identifier) \
                and namer.dialect.normalize_identifier(table.this.copy()).name in ctes:
            continue
        name = namer.name(table)
        if name:
            found[name] = None
    return list(found)


def _table_target(node: exp.Expr | None, namer: Namer, temporary: bool = False) -> Target | None:
    columns = None
    defined = None
    if isinstance(node, exp.Schema):
        idents = [c for c in node.expressions if isinstance(c, (exp.Identifier, exp.Column))]
        defs = [c for c in node.expressions if isinstance(c, exp.ColumnDef)]
        if idents:
            columns = [namer.dialect.normalize_identifier(exp.to_identifier(c.name)).name for c in idents]
        if defs:
            defined = [namer.dialect.normalize_identifier(c.this.copy()).name for c in defs
                       if isinstance(c.this, exp.Identifier)]
        node = node.this
    location = location_of(node)
    if location:
        return Target(location, is_location=True)
    if not isinstance(node, exp.Table):
        return None
    is_temp = temporary or node.name.startswith("#") or bool(node.this.args.get("temporary"))
    if is_temp and not node.args.get("db") and isinstance(node.this, exp.Identifier):
        name: str | None = namer.dialect.normalize_identifier(node.this.copy()).name  # session-scoped
        if node.this.args.get("temporary"):
            name = f"#{name}"
    else:
        name = namer.name(node)
    if name is None:
        return None
    return Target(name, temporary=is_temp, columns=columns, defined_columns=defined)


def _target_node(node: exp.Expr | None) -> exp.Expr | None:
    return node.this if isinstance(node, exp.Schema) else node


def _ddl_location(create: exp.Create) -> str | None:
    props = create.args.get("properties")
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.LocationProperty):
            return location_of(prop.this)
        if isinstance(prop, exp.Property) and prop.name.lower() in ("external_location", "location", "path"):
            return location_of(prop.args.get("value"))
    return None


def analyze(statement: exp.Expr, namer: Namer, dbt_model: str | None = None) -> Analysis:
    """Classify one statement and find its targets, sources and lineage query. USE updates `namer`."""
    ctes = _cte_names(statement, namer)
    for kind_type, kind in NO_LINEAGE.items():
        if isinstance(statement, kind_type):
            if isinstance(statement, exp.Use):
                namer.use(statement)
            if isinstance(statement, exp.Drop) and str(statement.args.get("kind") or "").upper() in (
                    "TABLE", "VIEW", "MATERIALIZED VIEW"):
                dropped = [t for node in statement.args.get("tables") or [statement.this]
                           if isinstance(node, exp.Table) and (t := _table_target(node, namer))]
                namer.temporary.difference_update(t.name for t in dropped)
                return Analysis(kind, dropped=[t.name for t in dropped])
            return Analysis(kind)

    if isinstance(statement, exp.Create):
        return _create(statement, namer, ctes)
    if isinstance(statement, exp.Cache):  # Spark CACHE TABLE t AS SELECT: a session table
        target = _table_target(statement.this, namer, temporary=True)
        query = statement.args.get("expression")
        return _with_target("cache_table_as", target, statement.this, query, namer, ctes, statement)
    if isinstance(statement, exp.Insert):
        target = _table_target(statement.this, namer)
        kind = "insert_overwrite" if statement.args.get("overwrite") else "insert"
        query = statement.args.get("expression")
        result = _with_target(kind, target, statement.this, query, namer, ctes, statement)
        result.by_name = bool(statement.args.get("by_name"))
        return result
    if isinstance(statement, exp.Merge):
        return _merge(statement, namer, ctes)
    if isinstance(statement, exp.MultitableInserts):
        return _multi_insert(statement, namer, ctes)
    if isinstance(statement, exp.Update):
        return _update(statement, namer, ctes)
    if isinstance(statement, exp.Delete):
        node = _target_node(statement.this)
        skip = {id(node)}
        for ref in statement.args.get("tables") or []:  # T-SQL/MySQL `DELETE t FROM tbl t JOIN ...`
            skip.add(id(ref))
            node = _aliased(statement, ref, skip) or node
        skip.add(id(node))
        target = _table_target(node, namer)
        sources = read_tables(statement, namer, ctes, skip)
        return Analysis("delete", [target] if target else [], [s for s in sources if not target or s != target.name])
    if isinstance(statement, exp.Copy):
        return _copy(statement, namer, ctes)
    if isinstance(statement, exp.Subquery) and not statement.alias:  # a parenthesised SELECT: ((SELECT ...))
        statement = statement.unnest()
    if isinstance(statement, (exp.Select, exp.SetOperation)):
        holder = _into_holder(statement)  # `SELECT ... INTO t FROM a UNION SELECT ... FROM b`: INTO sits on the first
        if holder is not None:
            into = holder.args["into"]
            target = _table_target(into.this, namer, temporary=bool(into.args.get("temporary")))
            query = statement.copy()
            held = _into_holder(query)
            if held is not None:
                held.set("into", None)
            return _with_target("select_into", target, into.this, query, namer, ctes, statement)
        if dbt_model:
            target = _table_target(exp.to_table(dbt_model, dialect=namer.dialect), namer)
            return _with_target("dbt_model", target, None, statement, namer, ctes, statement)
        return Analysis("select", sources=read_tables(statement, namer, ctes))  # a SELECT reads its tables
    if isinstance(statement, exp.Alter):
        return _alter(statement, namer)
    if isinstance(statement, exp.Command):
        return _command(statement, namer)
    return Analysis(type(statement).__name__.lower())


def _into_holder(query: exp.Expr) -> exp.Select | None:
    """The SELECT of a query that carries its INTO: the query itself, or the leftmost SELECT of a set operation."""
    node = query
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    return node if isinstance(node, exp.Select) and node.args.get("into") is not None else None


def _with_target(kind: str, target: Target | None, target_node: exp.Expr | None,
                 query: exp.Expr | None, namer: Namer, ctes: set[str], statement: exp.Expr) -> Analysis:
    skip = {id(_target_node(target_node))} if target_node is not None else set()
    if target and target.temporary and not target.is_location:
        namer.temporary.add(target.name)
    # The target node itself is skipped; a target read back inside its own statement stays a source.
    sources = read_tables(statement, namer, ctes, skip)
    if isinstance(query, exp.Expression) and not isinstance(query, (exp.Query, exp.Subquery)):
        query = None  # VALUES and friends carry no column lineage
    while isinstance(query, exp.Subquery) and not query.alias:  # CREATE VIEW v AS ((SELECT ...))
        query = query.this
    if query is not None and statement.args.get("with_") is not None and query.args.get("with_") is None:
        query = query.copy()
        query.set("with_", statement.args["with_"].copy())
    return Analysis(kind, [target] if target else [], sources, query)


def _create(statement: exp.Create, namer: Namer, ctes: set[str]) -> Analysis:
    kind_word = str(statement.args.get("kind") or "TABLE").upper()
    temporary = _temporary(statement, namer)
    target = _table_target(statement.this, namer, temporary)
    if target is None or kind_word not in ("TABLE", "VIEW", "MATERIALIZED VIEW", "DYNAMIC TABLE"):
        return Analysis(f"create_{kind_word.lower().replace(' ', '_')}")
    target.location = _ddl_location(statement)
    view = "VIEW" in kind_word
    if view and isinstance(statement.this, exp.Schema):  # CREATE VIEW v (c1, c2 COMMENT '...') AS ...
        target.columns = [namer.dialect.normalize_identifier(exp.to_identifier(c.name)).name
                          for c in statement.this.expressions if isinstance(c, (exp.Identifier, exp.ColumnDef))]
        target.defined_columns = None
    query = statement.args.get("expression")
    if isinstance(query, exp.Expression) and isinstance(query, (exp.Query, exp.Subquery)):
        return _with_target("create_view" if view else "create_table_as", target, statement.this, query, namer,
                            ctes, statement)
    like = statement.find(exp.LikeProperty)
    clone = statement.args.get("clone")
    source_node = like.this if like is not None else (clone.this if clone is not None else None)
    if isinstance(source_node, exp.Table):
        source = namer.name(source_node)
        if temporary:
            namer.temporary.add(target.name)
        return Analysis("create_table_clone" if clone is not None else "create_table_like",
                        [target], [source] if source else [], like=source)
    if temporary:
        namer.temporary.add(target.name)
    return Analysis("create_view" if view else "create_table", [target])


def _multi_insert(statement: exp.MultitableInserts, namer: Namer, ctes: set[str]) -> Analysis:
    """Hive `FROM src INSERT ... SELECT ... INSERT ...` and Snowflake/Oracle `INSERT ALL|FIRST ... SELECT`."""
    source = statement.args.get("source")
    analysis = Analysis("multi_insert")
    skip: set[int] = set()
    for item in statement.expressions:
        insert = item.this if isinstance(item, exp.ConditionalInsert) else item
        if not isinstance(insert, exp.Insert):
            continue
        target = _table_target(insert.this, namer)
        if target is None:
            continue
        skip.add(id(_target_node(insert.this)))
        analysis.targets.append(target)
        query = _multi_insert_query(insert, source)
        if query is not None:
            analysis.column_parts.append((target, query))
    analysis.sources = read_tables(statement, namer, ctes, skip)
    return analysis


def _multi_insert_query(insert: exp.Insert, source: exp.Expr | None) -> exp.Expr | None:
    body = insert.expression
    if isinstance(body, exp.Select) and source is not None and not body.args.get("from_"):
        return body.copy().from_(source.copy())  # Hive: each SELECT reads the shared FROM
    if isinstance(body, exp.Values) and isinstance(source, exp.Query) and body.expressions:
        values = body.expressions[0].expressions
        names = [c.name for c in insert.this.expressions] if isinstance(insert.this, exp.Schema) else []
        projections = [exp.alias_(v.copy(), names[i], quoted=True) if i < len(names) else v.copy()
                       for i, v in enumerate(values)]
        return exp.select(*projections).from_(exp.Subquery(this=source.copy(), alias=exp.TableAlias(
            this=exp.to_identifier("_source"))))
    return body if isinstance(body, exp.Query) else None


def _merge(statement: exp.Merge, namer: Namer, ctes: set[str]) -> Analysis:
    target = _table_target(statement.this, namer)
    skip = {id(_target_node(statement.this))}
    sources = [s for s in read_tables(statement, namer, ctes, skip) if not target or s != target.name]
    analysis = Analysis("merge", [target] if target else [], sources)
    analysis.query = _merge_query(statement)
    return analysis


def _merge_query(statement: exp.Merge) -> exp.Expr | None:
    """MERGE as a SELECT of the values it assigns, FROM its USING source joined to the target."""
    using = statement.args.get("using")
    if using is None:
        return None
    assignments: dict[str, exp.Expr] = {}
    whens = statement.args.get("whens")
    for when in (whens.expressions if whens else []):
        action = when.args.get("then")
        if isinstance(action, exp.Update):
            for eq in action.expressions:
                if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                    assignments.setdefault(eq.this.name, eq.expression)
        elif isinstance(action, exp.Insert):
            cols = action.this.expressions if isinstance(action.this, (exp.Schema, exp.Tuple)) else []
            values = action.expression
            vals = values.expressions if isinstance(values, exp.Tuple) else []
            if not vals and isinstance(values, exp.Values) and values.expressions:
                vals = values.expressions[0].expressions
            for col, val in zip(cols, vals, strict=False):  # uneven column and value lists: pair what pairs
                assignments.setdefault(col.name, val)
    if not assignments:
        return None
    select = exp.select(*[exp.alias_(v.copy(), k, quoted=True) for k, v in assignments.items()])
    select = select.from_(using.copy()).join(statement.this.copy(), join_type="cross")
    with_ = statement.args.get("with_")
    if with_ is not None:
        select.set("with_", with_.copy())
    return select


def _aliased(statement: exp.Expr, ref: exp.Expr, skip: set[int]) -> exp.Table | None:
    """The table that an unqualified target name refers to by its alias (`UPDATE t ... FROM dbo.x t`)."""
    if not isinstance(ref, exp.Table) or ref.args.get("db") or not isinstance(ref.this, exp.Identifier):
        return None
    for table in statement.find_all(exp.Table):
        if table is not ref and id(table) not in skip and table.alias == ref.name and table.name != ref.name:
            skip.add(id(table))
            return table
    return None


def _update(statement: exp.Update, namer: Namer, ctes: set[str]) -> Analysis:
    skip = {id(_target_node(statement.this))}
    target = _table_target(_aliased(statement, statement.this, skip) or statement.this, namer)
    sources = [s for s in read_tables(statement, namer, ctes, skip) if not target or s != target.name]
    analysis = Analysis("update", [target] if target else [], sources)
    assignments = [(eq.this.name, eq.expression) for eq in statement.expressions
                   if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)]
    if assignments:
        select = exp.select(*[exp.alias_(v.copy(), k, quoted=True) for k, v in assignments])
        select = select.from_(statement.this.copy())
        from_ = statement.args.get("from_")
        if from_ is not None:
            select = select.join(from_.this.copy(), join_type="cross")
        for join in statement.args.get("joins") or []:
            select = select.join(join.copy())
        with_ = statement.args.get("with_")
        if with_ is not None:
            select.set("with_", with_.copy())
        analysis.query = select
        analysis.targets[0].columns = [k for k, _ in assignments] if analysis.targets else None
    return analysis


def _copy(statement: exp.Copy, namer: Namer, ctes: set[str]) -> Analysis:
    files = statement.args.get("files") or []
    this = statement.this
    this_location = location_of(this)
    if statement.args.get("kind") and this_location is None:  # COPY INTO t FROM 'location'
        target = _table_target(this, namer)
        sources: list[str] = [loc for f in files if (loc := location_of(f))]
        sources += read_tables(exp.Tuple(expressions=[f.copy() for f in files if not location_of(f)]), namer, ctes)
        return Analysis("copy", [target] if target else [], sources)
    # COPY t TO 'location', COPY (SELECT ...) TO ..., Snowflake COPY INTO 'location' FROM (SELECT ...)
    if this_location:
        target_locations, readers = [this_location], files
    else:
        target_locations, readers = [loc for f in files if (loc := location_of(f))], [this]
    sources = []
    query = None
    for node in readers:
        if isinstance(node, exp.Table) and not location_of(node):
            name = namer.name(node)
            sources += [name] if name else []
        elif node is not None:
            sources += read_tables(node, namer, ctes)
            query = node.this if isinstance(node, exp.Subquery) else query
    return Analysis("unload" if target_locations else "copy",
                    [Target(loc, is_location=True) for loc in target_locations], sources, query)


def _alter(statement: exp.Alter, namer: Namer) -> Analysis:
    """ALTER TABLE a RENAME TO b: b holds what a held. Snowflake ALTER TABLE a SWAP WITH b: each
    table receives the other's rows, so both are written (and each reads the other)."""
    this = _table_target(statement.this, namer)
    actions = statement.args.get("actions") or []
    action = actions[0] if len(actions) == 1 else None
    other = _table_target(action.this, namer) if isinstance(action, (exp.AlterRename, exp.SwapTable)) else None
    if this is None or other is None:
        return Analysis("alter")
    if isinstance(action, exp.AlterRename):
        old_node = _target_node(statement.this)
        if not action.this.args.get("db") and isinstance(old_node, exp.Table) and old_node.args.get("db"):
            renamed = action.this.copy()  # RENAME TO a bare name keeps the table in its schema
            renamed.set("db", old_node.args["db"].copy())
            renamed.set("catalog", old_node.args["catalog"].copy() if old_node.args.get("catalog") else None)
            other = _table_target(renamed, namer) or other
        return _renamed(this, other, namer)
    return Analysis("swap", [this, other], [other.name, this.name])


def _renamed(old: Target, new: Target, namer: Namer) -> Analysis:
    if old.name in namer.temporary:
        namer.temporary.discard(old.name)
        namer.temporary.add(new.name)
        new.temporary = True
    return Analysis("rename", [new], [old.name], renamed=(old.name, new.name))


def _command_table(text: str, namer: Namer) -> Target | None:
    try:
        return _table_target(exp.to_table(text, dialect=namer.dialect), namer)
    except Exception:
        return None


def _command(statement: exp.Command, namer: Namer) -> Analysis:
    word = str(statement.this).upper()
    text = statement.expression.name if isinstance(statement.expression, exp.Literal) else \
        str(statement.expression or "")
    if word == "ALTER" and (match := _EXCHANGE.match(text)):  # Hive: t1 takes the partition out of t2
        t1, t2 = _command_table(match.group(1), namer), _command_table(match.group(2), namer)
        if t1 and t2:
            return Analysis("exchange_partition", [t1, t2], [t2.name])
    if word == "RENAME" and (match := _RENAME.match(text)):  # MySQL RENAME TABLE a TO b
        old, new = _command_table(match.group(1), namer), _command_table(match.group(2), namer)
        if old and new:
            return _renamed(old, new, namer)
    if word == "UNLOAD":
        match = _UNLOAD.match(text)
        if match:
            inner = match.group(1).replace("''", "'")
            try:
                query = sqlglot.parse_one(inner, read=namer.dialect)
            except Exception:
                query = None
            ctes = _cte_names(query, namer) if query is not None else set()
            return Analysis("unload", [Target(match.group(2), is_location=True)],
                            read_tables(query, namer, ctes), query)
    return Analysis("command")

