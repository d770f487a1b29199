"""The reference part of docs/queries.md, generated from the library (graphstore.queries.QUERIES).

    python -m graphstore.queries.doc [docs/queries.md]             # rewrite the reference; keep the examples
    python -m graphstore.queries.doc [docs/queries.md] --examples  # also run every example on NEO4J_URI
                                                                   # (a graph built by `python -m tests.query_graph`)

The text between `<!-- queries:begin -->` and `<!-- queries:end -->` is generated, except each query's
example result (between `<!-- example:NAME:begin -->` and `<!-- example:NAME:end -->`), which is kept as
it is unless `--examples` runs the query again. tests/test_queries.py fails while the doc is stale.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from graphstore.queries.cypher import KIND_HELP
from graphstore.queries.library import QUERIES, QueryLibrary, QueryResult
from graphstore.queries.model import Param, Query

BEGIN = "<!-- queries:begin -->"
END = "<!-- queries:end -->"
NOTE = ("<!-- generated from graphstore/queries by `python -m graphstore.queries.doc`: edit the library, "
        "not this (the example results are kept; --examples runs them again) -->")
DEFAULT_DOC = Path("docs/queries.md")
EXAMPLE_ROWS = 6


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _param_rule(p: Param) -> str:
    if p.type == "integer":
        return f"{p.minimum} to {p.maximum:,}" if p.maximum is not None else ""
    if p.type == "choice":
        return ", ".join(f"`{c}`" for c in p.choices)
    if p.type == "datetime":
        return "ISO 8601"
    return ""


def _default(p: Param) -> str:
    if p.required:
        return "required"
    return "" if p.default is None else f"`{p.default}`"


def cli_example(q: Query) -> str:
    parts = ["lineage-collector", "query", q.name]
    for p in q.params:
        value = q.example_params.get(p.name)
        if value is None or (value == p.default and not p.required):
            continue
        parts += ["--param", f"{p.name}={value}"]
    return " ".join(parts)


def _example_marker(name: str) -> tuple[str, str]:
    return f"<!-- example:{name}:begin -->", f"<!-- example:{name}:end -->"


def examples_in(doc: str) -> dict[str, str]:
    """The example results a document holds, by query name."""
    found = {}
    for q in QUERIES:
        begin, end = _example_marker(q.name)
        if begin in doc and end in doc:
            found[q.name] = doc.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    return found


def example_text(result: QueryResult, rows: int = EXAMPLE_ROWS) -> str:
    columns = result.table_columns()
    cells = result.cells(48)[:rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in cells]
    shown = f"{min(rows, len(result.rows))} of {len(result.rows)} rows" if len(result.rows) > rows else \
        f"{len(result.rows)} row{'' if len(result.rows) == 1 else 's'}"
    return "\n".join(lines) + f"\n\n_{shown}._"


def reference(examples: dict[str, str]) -> str:
    out = [NOTE, "", "| query | parameters | description |", "|---|---|---|"]
    for q in QUERIES:
        params = ", ".join(f"`{p.describe()}`" for p in q.params)
        out.append(f"| [`{q.name}`](#{q.name}) | {_cell(params)} | {_cell(q.description)} |")
    out += ["", "A `node` parameter names a node by its natural key; `kind` says which kind (default `auto`: "
            "told from the value's shape, or, for a plain name, from the one kind of node the graph has by "
            "that name; two kinds by one name is an error that asks for `kind`):", "", kinds_table()]
    family = ""
    for q in QUERIES:
        if q.family != family:
            family = q.family
            out += ["", f"## {family.capitalize()}"]
        out += ["", f"### `{q.name}`", "", q.description + ".", "", "| parameter | type | default | allowed | meaning |",
                "|---|---|---|---|---|"]
        for p in q.params:
            out.append(f"| `{p.name}` | {p.type} | {_default(p)} | {_cell(_param_rule(p))} | {_cell(p.description)} |")
        out += ["", "| column | meaning |", "|---|---|"]
        out += [f"| `{c.name}` | {_cell(c.description)} |" for c in q.columns]
        if q.index_scans:
            out += [""] + [f"Starts from an index scan of `{index}`: {why}." for index, why in q.index_scans.items()]
        begin, end = _example_marker(q.name)
        text, note = q.cypher, []
        if q.build is not None and "// hop " in q.cypher:  # a level per hop, written out: shown at depth 2
            text = q.text({**q.example_params, "depth": 2})
            note = ["", "One level per hop, written out: shown here at depth 2. The runner builds the text for the "
                        "depth asked; the Browser guide and the favourites hold the 12-level text, whose levels "
                        "beyond `$depth` do not run."]
        out += ["", "```sh", cli_example(q), "```", "", "```cypher", text, "```", *note, "",
                "Example result (the test graph):", "", begin, examples.get(q.name, ""), end]
    return "\n".join(out) + "\n"


def kinds_table() -> str:
    return "\n".join(["| kind | the node given as |", "|---|---|"] +
                     [f"| `{kind}` | {_cell(text)} |" for kind, text in KIND_HELP.items()])


def regenerate(doc: str, examples: dict[str, str] | None = None) -> str:
    if BEGIN not in doc or END not in doc:
        raise ValueError(f"the document has no {BEGIN!r} … {END!r} section")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    kept = {**examples_in(doc), **(examples or {})}
    return f"{head}{BEGIN}\n{reference(kept)}{END}{tail}"


def run_examples(uri: str) -> dict[str, str]:
    from graphstore.connection import open_driver

    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    driver = open_driver(uri, (user, password) if user and password is not None else None)
    try:
        library = QueryLibrary(driver, os.environ.get("NEO4J_DATABASE"), timeout=300)
        return {q.name: example_text(library.run(q.name, q.example_params)) for q in QUERIES}
    finally:
        driver.close()


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--examples"]
    path = Path(args[0]) if args else DEFAULT_DOC
    text = path.read_text()
    examples = run_examples(os.environ.get("NEO4J_URI", "bolt://localhost:7687")) if "--examples" in argv else None
    try:
        updated = regenerate(text, examples)
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    if updated != text:
        path.write_text(updated)
    print(f"{path}: {'updated' if updated != text else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
