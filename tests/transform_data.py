"""Fixtures for the pure-transform tests (tests/data/transform, see its README) and a canonical graph comparison.

API fixtures are botocore responses written as JSON: tests/data/transform/<service>/<Operation>.<name>.json.
`api()` turns their timestamp members into datetimes where botocore's output shape says so (boto3
returns `datetime`s), and `shape_errors()` checks a fixture against the same shape. Expected graphs
(inline dicts or tests/data/transform/expected/*.json) look like

    {"vars": {"EXEC": "arn:...:pipeline/p/execution/x"},
     "nodes": {"StepRun": {"${EXEC}/Train": {"name": "Train", "_state": {"status": "Succeeded"}}}},
     "rels": [["StepRun", "${EXEC}/Train", "RAN_AS", "Job", "arn:...", {"optional": "props"}]]}

The node set and the relationship multiset must match exactly; listed properties must be equal
(a `null` means the property must be absent: None is dropped). `_labels`, `_state` (status-bearing
properties), `_state_time` and `_rank` check the rest of a node. A JSON-text property compares
against an expected object or list by its decoded value.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import botocore.session
import pytest
from botocore.utils import parse_timestamp

from graphstore.model import Graph

DATA = Path(__file__).resolve().parent / "data" / "transform"


@pytest.fixture
def default_dataset_rules() -> Iterator[None]:
    """Dataset folding with the default rules, whatever another test configured (collector.s3uri.configure)."""
    from collector import s3uri

    before = s3uri.active_rules()
    s3uri.configure(s3uri.DEFAULT_RULES)
    yield
    s3uri.configure(before)


def path(relative: str) -> Path:
    return DATA / relative


def raw(relative: str) -> Any:
    return json.loads(path(relative).read_text(encoding="utf-8"))


def text(relative: str) -> str:
    return path(relative).read_text(encoding="utf-8")


# --- botocore shapes ------------------------------------------------------------------------------


@cache
def _service(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def output_shape(service: str, operation: str) -> Any:
    return _service(service).operation_model(operation).output_shape


def api_fixtures() -> Iterator[tuple[str, str, Path]]:
    """(service, operation, file) of every API fixture."""
    for service_dir in sorted(p for p in DATA.iterdir() if p.is_dir() and p.name in ("sagemaker", "s3")):
        for file in sorted(service_dir.glob("*.json")):
            yield service_dir.name, file.name.split(".", 1)[0], file


def api(service: str, name: str) -> dict[str, Any]:
    """A response as boto3 returns it: `name` is `<Operation>.<variant>`."""
    operation = name.split(".", 1)[0]
    return with_datetimes(raw(f"{service}/{name}.json"), output_shape(service, operation))


def s3_operation(method: str) -> str:
    """get_public_access_block -> GetPublicAccessBlock."""
    return "".join(part.title() for part in method.split("_"))


def posture(bucket: str) -> Any:
    """tests/data/transform/posture/<bucket>.json as the RawPosture fetch_posture would have built."""
    from collector.s3.posture import RawPosture

    doc = raw(f"posture/{bucket}.json")
    return RawPosture(doc["bucket"], responses=doc["responses"], errors=doc["errors"],
                      checked_at=datetime.fromisoformat(doc["checked_at"]))


def file_lineage(name: str) -> Any:
    """tests/data/transform/sql/<name>.lineage.json (a FileLineage as the extractor returns it) as a FileLineage."""
    from collector.sql.model import ColumnLineage, FileLineage, StatementLineage

    doc = raw(f"sql/{name}.lineage.json")
    statements = [StatementLineage(**{**s, "columns": [ColumnLineage(**c) for c in s["columns"]]})
                  for s in doc.pop("statements")]
    columns = [ColumnLineage(**c) for c in doc.pop("columns")]
    return FileLineage(**doc, statements=statements, columns=columns)


def with_datetimes(value: Any, shape: Any) -> Any:
    """ISO strings -> datetimes wherever the shape has a timestamp (botocore's parser: tz-aware)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "structure":
        return {k: with_datetimes(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if kind == "list":
        return [with_datetimes(v, shape.member) for v in value]
    if kind == "map":
        return {k: with_datetimes(v, shape.value) for k, v in value.items()}
    return value


def shape_errors(value: Any, shape: Any, where: str = "$") -> list[str]:
    """What in a JSON fixture does not fit a botocore output shape: unknown members, missing required
    members, wrong JSON types, values outside an enum, timestamps that are not ISO 8601."""
    if value is None:  # botocore leaves some members None (GetBucketLocation in us-east-1)
        return []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object for {shape.name}"]
        errors = [f"{where}.{m}: required member of {shape.name} missing"
                  for m in shape.required_members if m not in value]
        for key, item in value.items():
            if key not in shape.members:
                errors.append(f"{where}.{key}: not a member of {shape.name}")
            else:
                errors += shape_errors(item, shape.members[key], f"{where}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{where}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map"]
        return [e for k, item in value.items() for e in shape_errors(item, shape.value, f"{where}[{k!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        enum = getattr(shape, "enum", None)
        return [f"{where}: {value!r} not in {shape.name} {enum}"] if enum and value not in enum else []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: expected an integer"]
    if kind in ("float", "double"):
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{where}: expected a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == "timestamp":
        if isinstance(value, datetime):  # already loaded by api()
            return [] if value.tzinfo else [f"{where}: a naive datetime (boto3 returns tz-aware ones)"]
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return []
        except (AttributeError, ValueError):
            return [f"{where}: expected an ISO 8601 timestamp, got {value!r}"]
    return []


# --- canonical graph comparison -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical(graph: Graph) -> tuple[dict[tuple[str, str], dict[str, Any]], Counter]:
    """{(label, key): props + _labels/_state/_state_time/_rank} and a Counter of (start, type, end)."""
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    for ref, node in graph.nodes.items():
        props = {k: _plain(v) for k, v in node.props.items()}
        props.update(_labels=list(node.extra_labels), _state={k: _plain(v) for k, v in node.state.items()},
                     _state_time=_plain(node.state_time), _rank=node.state_rank)
        nodes[ref] = props
    rels = Counter((r.start[0], r.start[1], r.type, r.end[0], r.end[1]) for r in graph.rels.values())
    return nodes, rels


def _expand(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).safe_substitute(variables)
    if isinstance(value, list):
        return [_expand(v, variables) for v in value]
    if isinstance(value, dict):
        return {_expand(k, variables): _expand(v, variables) for k, v in value.items()}
    return value


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, (dict, list)) and isinstance(actual, str):
        try:
            actual = json.loads(actual)
        except ValueError:
            return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_same(actual[k], v) for k, v in expected.items())
    return actual == expected


def _prop_errors(where: str, actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    errors = []
    for name, want in expected.items():
        if name == "_state" and isinstance(want, dict):
            errors += _prop_errors(f"{where}._state", actual.get("_state", {}), want)
        elif want is None:
            if actual.get(name) is not None:
                errors.append(f"{where}.{name}: expected absent, got {actual[name]!r}")
        elif name not in actual:
            errors.append(f"{where}.{name}: missing (expected {want!r})")
        elif not _same(actual[name], want):
            errors.append(f"{where}.{name}: {actual[name]!r} != expected {want!r}")
    return errors


def graph_errors(graph: Graph, expected: dict[str, Any]) -> list[str]:
    expected = _expand({k: v for k, v in expected.items() if k != "vars"}, expected.get("vars", {}))
    nodes, rels = canonical(graph)
    want_nodes = {(label, key): props for label, by_key in expected.get("nodes", {}).items()
                  for key, props in by_key.items()}
    errors = [f"unexpected node {ref}" for ref in nodes.keys() - want_nodes.keys()]
    errors += [f"missing node {ref}" for ref in want_nodes.keys() - nodes.keys()]
    for ref in nodes.keys() & want_nodes.keys():
        errors += _prop_errors(f"{ref[0]}[{ref[1]}]", nodes[ref], want_nodes[ref] or {})
    want_rels = Counter(tuple(r[:5]) for r in expected.get("rels", []))
    errors += [f"unexpected rel {r} x{n}" for r, n in (rels - want_rels).items()]
    errors += [f"missing rel {r} x{n}" for r, n in (want_rels - rels).items()]
    for spec in expected.get("rels", []):
        if len(spec) > 5:
            candidates = [{k: _plain(v) for k, v in r.props.items()} for r in graph.rels.values()
                          if (r.start, r.type, r.end) == ((spec[0], spec[1]), spec[2], (spec[3], spec[4]))]
            if not any(not _prop_errors("", c, spec[5]) for c in candidates):
                errors.append(f"rel {tuple(spec[:5])}: no instance with {spec[5]} (have {candidates})")
    return errors


def assert_graph(graph: Graph, expected: dict[str, Any] | str) -> None:
    """Compare with an expected graph: a dict, or the name of tests/data/transform/expected/<name>.json."""
    if isinstance(expected, str):
        expected = raw(f"expected/{expected}.json")
    errors = graph_errors(graph, expected)
    assert not errors, "graph differs from the expected one:\n  " + "\n  ".join(sorted(errors))
