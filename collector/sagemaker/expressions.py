"""Evaluate the expression language of SageMaker pipeline definitions, as far as it can be known.

Values are literals or {"Get": "Parameters.X" | "Execution.X" | "Steps.X.<path>"},
{"Std:Join": {"On", "Values"}}, {"Std:JsonGet": {"PropertyFile" | "S3Uri", "Path"}}.
What cannot be known statically becomes a readable template such as
"{Execution.PipelineExecutionId}" instead of being dropped.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})
_TOKEN = re.compile(r"\.?([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS


def step_name_of(get_path: str) -> str | None:
    """'Steps.Train.ModelArtifacts.S3ModelArtifacts' -> 'Train'."""
    if not get_path.startswith("Steps."):
        return None
    match = re.match(r"Steps\.([^.\[]+)", get_path)
    return match.group(1) if match else None


def step_refs(value: Any) -> Iterator[tuple[str, str]]:
    """Every (step name, Get path) referenced anywhere inside a JSON value."""
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str):
            name = step_name_of(get)
            if name:
                yield name, get
        for item in value.values():
            yield from step_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from step_refs(item)


def property_path(path: str) -> list[str | int]:
    """"Outputs['train'].S3Output.S3Uri" -> ['Outputs', 'train', 'S3Output', 'S3Uri']."""
    tokens: list[str | int] = []
    for name, index, quoted, dquoted in _TOKEN.findall(path):
        if name:
            tokens.append(name)
        elif index:
            tokens.append(int(index))
        else:
            tokens.append(quoted or dquoted)
    return tokens


_NAME_FIELDS = ("OutputName", "InputName", "ChannelName", "Name")


def walk_path(value: Any, tokens: list[str | int]) -> Any:
    """Follow a property path through request-shaped JSON; None when it does not lead anywhere."""
    for token in tokens:
        if isinstance(token, int):
            value = value[token] if isinstance(value, list) and token < len(value) else None
        elif isinstance(value, list):  # Outputs['train'] selects the element with that name
            value = next((v for v in value if isinstance(v, dict)
                          and any(v.get(f) == token for f in _NAME_FIELDS)), None)
        elif isinstance(value, dict):
            value = value.get(token)
        else:
            return None
        if value is None:
            return None
    return value


StepPropertyLookup = Callable[[str, str], Any]  # (step name, property path after the name) -> raw value or None


@dataclass
class Resolver:
    parameters: Mapping[str, Any] = field(default_factory=dict)
    execution: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"PipelineExecutionId": "abc"}
    step_property: StepPropertyLookup | None = None
    _depth: int = 0

    def text(self, value: Any) -> str | None:
        """The value as text, with unknown parts as {templates}; None for non-scalar JSON."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        if not is_expression(value):
            return None
        (kind, body), = value.items()
        if kind == "Get":
            return self._get(str(body))
        if kind == "Std:Join" and isinstance(body, dict):
            parts = [self.text(v) for v in body.get("Values", [])]
            return str(body.get("On", "")).join(p if p is not None else "{?}" for p in parts)
        if kind == "Std:JsonGet" and isinstance(body, dict):
            source = body.get("PropertyFile") or body.get("S3Uri")
            where = source.get("Get") if isinstance(source, dict) and "Get" in source else self.text(source)
            return "{" + f"{where}:{body.get('Path', '')}" + "}"
        return None

    def _get(self, path: str) -> str:
        head, _, rest = path.partition(".")
        if head == "Parameters" and rest in self.parameters:
            return _scalar(self.parameters[rest])
        if head == "Execution" and rest in self.execution:
            return _scalar(self.execution[rest])
        if head == "Steps" and self.step_property and self._depth < 8:
            name = step_name_of(path)
            if name:
                raw = self.step_property(name, path[len("Steps.") + len(name):].lstrip("."))
                if raw is not None:
                    inner = Resolver(self.parameters, self.execution, self.step_property, self._depth + 1)
                    resolved = inner.text(raw)
                    if resolved is not None:
                        return resolved
        return "{" + path + "}"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


_CONDITION_OPS = {
    "Equals": "==", "GreaterThan": ">", "GreaterThanOrEqualTo": ">=",
    "LessThan": "<", "LessThanOrEqualTo": "<=",
}


def render_condition(condition: Any, resolver: Resolver) -> str:
    """A readable form of one condition, e.g. '{Steps.Eval.PropertyFiles.Report:auc} >= 0.7'."""
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("Type", "?")
    if kind in _CONDITION_OPS:
        left = resolver.text(condition.get("LeftValue"))
        right = resolver.text(condition.get("RightValue"))
        return f"{left} {_CONDITION_OPS[kind]} {right}"
    if kind == "Not":
        return f"not ({render_condition(condition.get('Condition') or condition.get('Expression'), resolver)})"
    if kind == "Or":
        return " or ".join(f"({render_condition(c, resolver)})" for c in condition.get("Conditions", []))
    if kind == "In":
        values = ", ".join(str(resolver.text(v)) for v in condition.get("Values") or condition.get("InValues") or [])
        return f"{resolver.text(condition.get('QueryValue'))} in [{values}]"
    return json.dumps(condition, sort_keys=True)
