"""The node and relationship tables of docs/graph-model.md, generated from graphstore.schema.

    python -m graphstore.schema_doc [docs/graph-model.md]   # rewrite the generated section in place
    python -m graphstore.schema_doc --print                 # print the tables
"""
from __future__ import annotations

import sys
from pathlib import Path

from graphstore.schema import NODES, RELATIONSHIPS

BEGIN = "<!-- schema:begin -->"
END = "<!-- schema:end -->"
NOTE = "<!-- generated from graphstore/schema.py by `python -m graphstore.schema_doc`: edit the schema, not this -->"
DEFAULT_DOC = Path("docs/graph-model.md")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def graph_model_tables() -> str:
    lines = [NOTE, "", "### Nodes", "", "| label | key | indexed | description |", "|---|---|---|---|"]
    for n in NODES:
        label = f"`{n.label}`" + (f" + one of {_code(n.extra_labels)}" if n.extra_labels else "")
        label += f" + its status: one of {_code(n.status_labels)}" if n.status_labels else ""
        key = f"`{n.key}`" + (f" ({n.key_form})" if n.key_form else "")
        lines.append(f"| {_cell(label)} | {_cell(key)} | {_code(n.indexes)} | {_cell(n.description)} |")
    lines += ["", "### Relationships", "",
              "| type | from → to | identity | indexed | description |", "|---|---|---|---|---|"]
    for r in RELATIONSHIPS:
        ends = f"{', '.join(r.start)} → {', '.join(r.end)}"
        lines.append(f"| `{r.type}` | {ends} | {_code(r.identity)} | {_code(r.indexes)} | {_cell(r.description)} |")
    return "\n".join(lines) + "\n"


def generated_section(doc: str) -> str:
    """The text between the markers of a document (ValueError when they are missing)."""
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {BEGIN!r} … {END!r} section")
    return doc[start + len(BEGIN):end].strip("\n") + "\n"


def regenerate(doc: str) -> str:
    generated_section(doc)  # the markers must be there
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{graph_model_tables()}{END}{tail}"


def main(argv: list[str]) -> int:
    if argv == ["--print"]:
        sys.stdout.write(graph_model_tables())
        return 0
    path = Path(argv[0]) if argv else DEFAULT_DOC
    text = path.read_text()
    try:
        updated = regenerate(text)
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    if updated != text:
        path.write_text(updated)
    print(f"{path}: {'updated' if updated != text else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
