"""All Cypher lives in graphstore: no string in the other product packages reads like a Cypher query."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CYPHER = re.compile(r"\b(?:OPTIONAL\s+)?MATCH\s*\(|\bMERGE\s*\(|\bUNWIND\s+\$|\bDETACH\s+DELETE\b|"
                    r"\bCREATE\s+(?:CONSTRAINT|INDEX)\b|\bRETURN\s+[\w.]+\s+AS\s+\w+|\bCALL\s*\{")


def strings_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_the_pattern_knows_cypher_when_it_sees_it():
    assert CYPHER.search("UNWIND $rows AS r MERGE (n:Dataset {uri: r.key})")
    assert CYPHER.search("MATCH (p:Pipeline {arn: $arn}) RETURN p.name AS name")
    assert not CYPHER.search("MERGE INTO target t USING source s ON t.id = s.id")  # SQL, not Cypher
    assert not CYPHER.search("SELECT a AS b FROM t")


def test_no_cypher_outside_graphstore():
    found = []
    for package in ("collector", "jobs", "config"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in strings_of(path):
                if CYPHER.search(text):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
    assert found == [], "Cypher belongs in graphstore/:\n" + "\n".join(found)
