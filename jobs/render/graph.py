"""What a picture draws: any {"nodes": [...], "edges": [...]} graph, normalised.

A node needs an `id`; `label` (default: the id), `kind` (a node label such as `Step`, or a lineage view
kind such as `process`), `status` (colours it by run status) and `subtitle` (a second line) are used when
present; every other key is a property shown in the tooltip. An edge needs `source` and `target`; `kind`
picks its style. `from_lineage` turns the lineage JSON of a pipeline into such a graph.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RESERVED = ("id", "label", "kind", "status", "subtitle")
PLACEHOLDER = re.compile(r"\{[A-Za-z][\w.\[\]'\"-]*\}")  # {Execution.PipelineExecutionId}, {Steps.X.Y}


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    status: str | None = None
    subtitle: str | None = None
    props: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str = ""
    props: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Picture:
    """A graph ready to draw: nodes in a stable order, edges between them only, and what was left out."""
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    notes: tuple[str, ...] = field(default=())


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _props(item: Mapping[str, Any], skip: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, value in item.items():
        if key in skip or value is None or value == "" or value == [] or value == {}:
            continue
        if key == "props" and isinstance(value, Mapping):
            out += [(str(k), _text(v)) for k, v in value.items() if v not in (None, "", [], {})]
        else:
            out.append((str(key), _text(value)))
    return tuple(out)


def picture(graph: Mapping[str, Any], *, title: str = "", max_nodes: int = 300) -> Picture:
    """Normalise a {"nodes", "edges"} graph; keep the first `max_nodes` nodes (with a note saying so)."""
    nodes: dict[str, Node] = {}
    for item in graph.get("nodes") or []:
        node_id = _text(item["id"])
        if node_id in nodes:
            continue
        status = item.get("status")
        nodes[node_id] = Node(id=node_id, label=_text(item.get("label") or node_id), kind=_text(item.get("kind") or ""),
                              status=_text(status) if status else None,
                              subtitle=_text(item["subtitle"]) if item.get("subtitle") else None,
                              props=_props(item, RESERVED))
    notes: list[str] = []
    total = len(nodes)
    if total > max_nodes:
        nodes = dict(list(nodes.items())[:max_nodes])
        notes.append(f"showing the first {max_nodes} of {total} nodes (--max-nodes)")
    edges: dict[tuple[str, str, str], Edge] = {}
    dropped = 0
    for item in graph.get("edges") or []:
        source, target, kind = _text(item["source"]), _text(item["target"]), _text(item.get("kind") or "")
        if source not in nodes or target not in nodes:
            dropped += 1
            continue
        edges.setdefault((source, target, kind),
                         Edge(source, target, kind, _props(item, ("source", "target", "kind"))))
    if dropped and total > max_nodes:
        notes.append(f"{dropped} edges to nodes left out are not drawn")
    return Picture(title=title, nodes=tuple(nodes.values()), edges=tuple(edges.values()), notes=tuple(notes))


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _refs(refs: list[dict[str, str]]) -> str:
    return "\n".join(f"{r['name']}: {r['uri']}" for r in refs)


def from_lineage(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """The `graphPipeline` of a lineage JSON, its steps carrying type, latest-run status and details."""
    view = lineage["graphPipeline"]
    steps = {n["id"]: n for n in lineage.get("graph", {}).get("nodes", [])}
    artifacts = {a["id"]: a for a in lineage.get("graph", {}).get("artifacts", [])}
    vias: dict[tuple[str, str], list[str]] = {}
    for e in lineage.get("graph", {}).get("edges", []):
        how = e["via"] + (f" ({e['label']})" if e.get("label") else "")
        vias.setdefault((f"process:{e['from']}", f"process:{e['to']}"), []).append(how)
    executed = bool(lineage.get("latestExecution"))
    nodes: list[dict[str, Any]] = []
    for node in view["nodes"]:
        out: dict[str, Any] = {"id": node["id"], "label": node["label"], "kind": node["kind"]}
        if node["kind"] == "process" and node["label"] in steps:
            step = steps[node["label"]]
            run = step.get("run") or {}
            status = run.get("status") or ("NotStarted" if executed else None)
            out["status"] = status
            out["subtitle"] = " · ".join(p for p in (step["type"], status, _duration(run.get("elapsedSec"))) if p)
            out["props"] = {
                "type": step["type"], "status": status, "started": run.get("startTime"), "ended": run.get("endTime"),
                "elapsed": _duration(run.get("elapsedSec")), "job": run.get("jobArn"),
                "cache hit": run.get("cacheHit") or None, "failure": run.get("failureReason"),
                "condition": run.get("conditionOutcome"),
                **{f"metric {k}": v for k, v in sorted((run.get("metrics") or {}).items())},
                "parent": step.get("parent"), "branch": step.get("branch"),
                "conditions": "\n".join(step.get("conditions") or []), "error": step.get("error_message"),
                "inputs": _refs(step.get("inputs", [])), "outputs": _refs(step.get("outputs", [])),
                "run inputs": _refs(run.get("inputs", [])), "run outputs": _refs(run.get("outputs", [])),
            }
        elif node["kind"] == "data":
            out["label"] = PLACEHOLDER.sub("{…}", node["label"])  # the full URI is in the tooltip
            uri = node["id"].removeprefix("data:")
            s3 = artifacts.get(uri, {}).get("s3") or {}
            out["props"] = {"uri": uri, "encryption": s3.get("encryption"), "versioning": s3.get("versioning"),
                            "public access": s3.get("publicAccess")}
        nodes.append(out)
    edges = []
    for edge in view["edges"]:
        out = {"source": edge["source"], "target": edge["target"], "kind": edge["kind"]}
        if edge["kind"] == "dependsOn" and (edge["source"], edge["target"]) in vias:
            out["via"] = ", ".join(vias[edge["source"], edge["target"]])
        edges.append(out)
    return {"nodes": nodes, "edges": edges}


def lineage_title(lineage: Mapping[str, Any]) -> str:
    name = lineage["pipeline"]["name"]
    latest = lineage.get("latestExecution")
    if not latest:
        return f"{name} (no execution)" if "summary" in lineage else name
    started = (latest.get("startTime") or "")[:16].replace("T", " ")
    return f"{name} · latest execution {latest.get('status')}" + (f" · started {started}" if started else "")


def graph_json(text: str, name: str = "") -> tuple[dict[str, Any], str]:
    """(graph, title) of a JSON text: a lineage JSON (its graphPipeline) or any {"nodes", "edges"} graph."""
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if isinstance(given, dict) and isinstance(given.get("graphPipeline"), dict) and "pipeline" in given:
        return from_lineage(given), lineage_title(given)
    if not isinstance(given, dict) or not isinstance(given.get("nodes"), list) \
            or not all(isinstance(n, dict) and "id" in n for n in given["nodes"]) \
            or not all(isinstance(e, dict) and "source" in e and "target" in e for e in given.get("edges") or []):
        raise ValueError('not a graph: expected {"nodes": [{"id", ...}], "edges": [{"source", "target", ...}]}')
    return given, name
