"""Parse a SageMaker pipeline definition into its step DAG and data flow. Pure: JSON in, data out."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.sagemaker.expressions import (
    Resolver,
    property_path,
    render_condition,
    step_refs,
    walk_path,
)
from collector.sagemaker.feature_store import FeatureOutput, feature_store_outputs
from collector.sagemaker.io import DataRef, find_data

# Step type -> the kind of job a run of it creates (None: no SageMaker job).
JOB_KIND: dict[str, str] = {
    "Processing": "ProcessingJob",
    "Training": "TrainingJob",
    "Transform": "TransformJob",
    "Tuning": "TuningJob",
    "QualityCheck": "ProcessingJob",
    "ClarifyCheck": "ProcessingJob",
    "AutoML": "AutoMLJob",
    "Notebook": "TrainingJob",
}
KNOWN_TYPES = frozenset(JOB_KIND) | {
    "Model", "CreateModel", "RegisterModel", "Condition", "Fail", "Lambda", "Callback", "EMR",
    "EMRServerless", "Endpoint", "EndpointConfig",
}


class DefinitionError(ValueError):
    """The definition is not JSON or not shaped like a pipeline definition."""


@dataclass
class StepDef:
    name: str
    type: str
    order: int
    arguments: Any
    parent: str | None = None  # the Condition step that guards this one
    branch: str | None = None  # "if" | "else"
    display_name: str | None = None
    description: str | None = None
    depends_on: list[str] = field(default_factory=list)
    inputs: list[DataRef] = field(default_factory=list)
    outputs: list[DataRef] = field(default_factory=list)
    feature_outputs: list[FeatureOutput] = field(default_factory=list)  # processing outputs into Feature Store
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def job_kind(self) -> str | None:
        return JOB_KIND.get(self.type)

    @property
    def known_type(self) -> bool:
        return self.type in KNOWN_TYPES


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    via: str  # "dependsOn" | "ref:Get" | "condition"
    label: str | None = None


@dataclass
class PipelineDef:
    steps: list[StepDef]
    edges: list[Edge]
    parameters: dict[str, Any]  # name -> value used (execution value, else default)
    parameter_defaults: dict[str, Any]
    definition_hash: str

    def step(self, name: str) -> StepDef | None:
        return next((s for s in self.steps if s.name == name), None)


def load_definition(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(definition, Mapping):
        data = dict(definition)
    else:
        try:
            data = json.loads(definition)
        except (TypeError, ValueError) as exc:
            raise DefinitionError(f"definition is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Steps"), list):
        raise DefinitionError("definition has no Steps list")
    return data


def definition_hash(definition: str | Mapping[str, Any]) -> str:
    data = load_definition(definition)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def parse_definition(
    definition: str | Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    execution: Mapping[str, Any] | None = None,
) -> PipelineDef:
    """The steps (nested ones too), their edges and S3 inputs/outputs.

    `parameters` are an execution's parameter values (they override the defaults);
    `execution` holds execution variables such as PipelineExecutionId when known.
    """
    data = load_definition(definition)
    defaults = {p["Name"]: p.get("DefaultValue") for p in data.get("Parameters", []) or []
                if isinstance(p, dict) and "Name" in p}
    values = {**{k: v for k, v in defaults.items() if v is not None}, **(parameters or {})}
    steps = list(_flatten(data["Steps"]))
    by_name = {s.name: s for s in steps}
    resolver = Resolver(values, dict(execution or {}), lambda name, path: _step_property(by_name, name, path))

    edges: dict[tuple[str, str, str], Edge] = {}
    for step in steps:
        for upstream in step.depends_on:
            edges.setdefault((upstream, step.name, "dependsOn"), Edge(upstream, step.name, "dependsOn"))
        for upstream, get in step_refs(_own_arguments(step)):
            if upstream != step.name:
                edges.setdefault((upstream, step.name, "ref:Get"), Edge(upstream, step.name, "ref:Get", get))
        if step.parent:
            key = (step.parent, step.name, "condition")
            edges.setdefault(key, Edge(step.parent, step.name, "condition", step.branch))
        _describe(step, resolver)

    return PipelineDef(steps, list(edges.values()), values, defaults, definition_hash(data))


def _own_arguments(step: StepDef) -> Any:
    """A step's arguments without the steps nested in it (a Condition's branches)."""
    if step.type == "Condition" and isinstance(step.arguments, dict):
        return {k: v for k, v in step.arguments.items() if k not in ("IfSteps", "ElseSteps")}
    return step.arguments


def _flatten(raw_steps: list[Any], parent: str | None = None, branch: str | None = None,
             counter: list[int] | None = None) -> Iterator[StepDef]:
    counter = counter if counter is not None else [0]
    for raw in raw_steps:
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
            raise DefinitionError(f"step without a Name: {json.dumps(raw)[:120]}")
        step_type = str(raw.get("Type") or "Unknown")
        arguments = raw.get("Arguments", {})
        # Lambda and Callback keep their settings beside Arguments; treat them as arguments too.
        extra = {k: v for k, v in raw.items() if k in ("FunctionArn", "SqsQueueUrl", "OutputParameters",
                                                      "ClusterId", "StepConfig")}
        if extra and isinstance(arguments, dict):
            arguments = {**arguments, **extra}
        step = StepDef(
            name=raw["Name"], type=step_type, order=counter[0], arguments=arguments,
            parent=parent, branch=branch, display_name=raw.get("DisplayName"),
            description=raw.get("Description"),
            depends_on=[d for d in raw.get("DependsOn", []) or [] if isinstance(d, str)],
        )
        if raw.get("PropertyFiles"):
            step.attrs["property_files"] = [p.get("PropertyFileName") for p in raw["PropertyFiles"]
                                            if isinstance(p, dict)]
        counter[0] += 1
        yield step
        if step_type == "Condition" and isinstance(arguments, dict):
            yield from _flatten(arguments.get("IfSteps", []) or [], step.name, "if", counter)
            yield from _flatten(arguments.get("ElseSteps", []) or [], step.name, "else", counter)


def _step_property(by_name: Mapping[str, StepDef], name: str, path: str) -> Any:
    """What a `Steps.<name>.<path>` reference evaluates to, where the definition says it."""
    step = by_name.get(name)
    if step is None or not isinstance(step.arguments, dict):
        return None
    args = step.arguments
    if path == "ModelArtifacts.S3ModelArtifacts" and step.type == "Training":
        return _model_artifacts(step)
    if step.type == "Tuning":
        args = args.get("TrainingJobDefinition") or args
    return walk_path(args, property_path(path))


def _model_artifacts(step: StepDef) -> Any:
    output_path = (step.arguments.get("OutputDataConfig") or {}).get("S3OutputPath")
    if output_path is None:
        return None
    return {"Std:Join": {"On": "/", "Values": [
        output_path, "{Steps." + step.name + ".TrainingJobName}", "output", "model.tar.gz"]}}


def _describe(step: StepDef, resolver: Resolver) -> None:
    args = step.arguments if isinstance(step.arguments, dict) else {}
    if step.type == "Condition":
        refs = find_data(_own_arguments(step), resolver)
        step.attrs["conditions"] = [render_condition(c, resolver) for c in args.get("Conditions", [])]
    elif step.type == "Training":
        refs = find_data({k: v for k, v in args.items() if k != "OutputDataConfig"}, resolver)
        model = _model_artifacts(step)
        if model is not None:
            refs.append(DataRef("model", resolver.text(model) or "", "output"))
    else:
        refs = find_data(args, resolver)
    step.inputs = [r for r in refs if r.direction == "input"]
    step.outputs = [r for r in refs if r.direction == "output"]
    if step.type == "Processing":
        step.feature_outputs = feature_store_outputs(args, resolver)
    attrs = {
        "Fail": lambda: {"error_message": resolver.text(args.get("ErrorMessage"))},
        "Lambda": lambda: {"function_arn": resolver.text(args.get("FunctionArn"))},
        "Callback": lambda: {"queue_url": resolver.text(args.get("SqsQueueUrl"))},
        "EMR": lambda: {"cluster_id": resolver.text(args.get("ClusterId"))},
        "RegisterModel": lambda: {"model_package_group": resolver.text(args.get("ModelPackageGroupName"))},
    }.get(step.type)
    if attrs:
        step.attrs.update({k: v for k, v in attrs().items() if v is not None})
