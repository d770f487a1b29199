"""Which pipeline steps run which SQL files (pure).

The rule (docs/sql-lineage.md):
1. A step's definition references a file when any string in its Arguments (container entrypoint and
   arguments, processing inputs' S3 URIs, code location, environment values, ...) ends with the
   file's repo-relative path at a `/` boundary (`s3://b/code/models/orders.sql` and
   `/opt/ml/processing/input/code/models/orders.sql` both reference `models/orders.sql`), or is a
   bare file name that exactly one configured SQL file has. `via` = "code" for code locations,
   "argument" otherwise.
2. A pipeline tag `lineage:sql` lists links explicitly: `Step=path`, or `Step=repo-name:path`,
   separated by `;` or `,`; an item without `Step=` applies to every Processing step. `via` = "tag".
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from collector.sagemaker.transform import step_key
from graphstore.model import Graph

TAG = "lineage:sql"
_CODE_KEYS = {"ContainerEntrypoint", "Code", "CodeUri", "SourceDir", "EntryPoint", "S3Uri"}


def _steps(steps: list[Any]) -> Iterator[dict[str, Any]]:
    for step in steps or []:
        if not isinstance(step, dict):
            continue
        yield step
        arguments = step.get("Arguments") or {}
        if isinstance(arguments, dict):
            yield from _steps(arguments.get("IfSteps") or [])
            yield from _steps(arguments.get("ElseSteps") or [])


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key it sits under, string) for every string in a JSON value."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("IfSteps", "ElseSteps"):
                yield from _strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


class _FileIndex:
    def __init__(self, files: Iterable[Mapping[str, Any]]) -> None:
        self.by_path: dict[str, list[str]] = defaultdict(list)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_repo_path: dict[tuple[str, str], str] = {}
        for f in files:
            path = str(f["path"])
            self.by_path[path].append(f["key"])
            self.by_name[path.rsplit("/", 1)[-1]].append(f["key"])
            if f.get("repo_name"):
                self.by_repo_path[(str(f["repo_name"]), path)] = f["key"]

    def referenced(self, text: str) -> list[str]:
        text = text.strip()
        if not text.lower().endswith(".sql") or len(text) > 2048:
            return []
        parts = text.replace("\\", "/").split("/")
        for i in range(len(parts)):  # the longest repo-relative suffix that is a known file
            keys = self.by_path.get("/".join(parts[i:]))
            if keys:
                return keys
        keys = self.by_name.get(parts[-1], [])
        return keys if len(keys) == 1 and len(parts) == 1 else []

    def tagged(self, item: str) -> list[str]:
        repo, sep, path = item.partition(":")
        if sep and (repo, path) in self.by_repo_path:
            return [self.by_repo_path[(repo, path)]]
        return self.by_path.get(item, []) or self.referenced(item)


def _tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if isinstance(raw, list):
        return {str(t.get("Key")): str(t.get("Value")) for t in raw if isinstance(t, dict)}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def step_sql_links(pipelines: Iterable[Mapping[str, Any]], files: Iterable[Mapping[str, Any]]) -> Graph:
    index = _FileIndex(files)
    graph = Graph()
    for pipeline in pipelines:
        try:
            definition = json.loads(pipeline.get("definition") or "{}")
        except ValueError:
            continue
        steps = list(_steps(definition.get("Steps") or [])) if isinstance(definition, dict) else []
        arn = pipeline["arn"]
        names = {s.get("Name") for s in steps if s.get("Name")}
        for step in steps:
            name = step.get("Name")
            if not name:
                continue
            for key, text in _strings(step.get("Arguments") or {}):
                for file_key in index.referenced(text):
                    via = "code" if key in _CODE_KEYS else "argument"
                    graph.rel("RUNS", ("Step", step_key(arn, name)), ("SqlFile", file_key), {"via": via})
        tag = _tags(pipeline.get("tags")).get(TAG, "")
        for item in (i.strip() for i in tag.replace(";", ",").split(",")):
            if not item:
                continue
            step_name, sep, target = item.partition("=")
            targets = [step_name.strip()] if sep else [s.get("Name") for s in steps if s.get("Type") == "Processing"]
            target = target if sep else item
            for file_key in index.tagged(target.strip()):
                for name in targets:
                    if name is not None and name in names:  # None is never in names: the test tells mypy
                        graph.rel("RUNS", ("Step", step_key(arn, name)), ("SqlFile", file_key),
                                  {"via": "tag"})
    return graph
