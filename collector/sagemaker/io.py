"""Find the S3 locations a step or job reads and writes, in any request or Describe* shape.

One walker serves every step type, including unknown ones: each string (or expression)
that resolves to an s3:// URI is an input or an output, decided by the field names on
its path, and named after the nearest InputName/OutputName/ChannelName or its field.

Direction: the outermost field on the path that holds only inputs (ProcessingInputs,
InputDataConfig, ...) or only outputs (ProcessingOutputConfig, OutputDataConfig, an AutoML
job's BestCandidate and AutoMLJobArtifacts, ...) decides, whatever the names below it say: a
processing input's DatasetDefinition.AthenaDatasetDefinition.OutputS3Uri is where the query
result lands that the job then reads. Elsewhere a field named output/destination/target (or
a container argument flag such as --output-path) on the path makes it an output.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from collector.s3uri import dataset_uri, is_s3_uri, normalize
from collector.sagemaker.expressions import Resolver, is_expression

# Debugging/profiling side outputs and bookkeeping: not data lineage.
IGNORED_FIELDS = frozenset({
    "ProfilerConfig", "DebugHookConfig", "TensorBoardOutputConfig", "DebugRuleConfigurations",
    "ProfilerRuleConfigurations", "CheckpointConfig", "ExperimentConfig", "Tags", "RoleArn",
    "DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses", "ModelArtifacts",
    "CacheConfig", "RetryPolicies", "PropertyFiles",
})
_NAME_FIELDS = ("InputName", "OutputName", "ChannelName", "ChannelType")
_OUTPUT_FIELD = re.compile(r"output|destination|target", re.IGNORECASE)
# Fields of the Create*/Describe* shapes whose whole subtree is one direction.
_INPUT_SCOPES = frozenset({"ProcessingInputs", "InputDataConfig", "AutoMLJobInputDataConfig", "TransformInput"})
_OUTPUT_SCOPES = frozenset({"ProcessingOutputConfig", "OutputDataConfig", "TransformOutput",
                            # DescribeAutoMLJob(V2): the best candidate's model data and artifacts, the notebooks
                            "BestCandidate", "AutoMLJobArtifacts"})
_FIELD_NAMES = {"ModelDataUrl": "model", "S3ModelArtifacts": "model", "OutputDataConfig": "output",
                "TransformInput": "input", "TransformOutput": "output"}
_GENERIC = frozenset({"S3Uri", "S3Input", "S3Output", "S3DataSource", "DataSource", "S3OutputPath",
                      "S3Location", "Uri", "Url", "Values", "Arguments", "Args"})


@dataclass(frozen=True)
class DataRef:
    name: str
    uri: str  # as resolved: concrete, or a readable {template}
    direction: str  # "input" | "output"

    @property
    def dataset(self) -> str:
        return dataset_uri(self.uri)

    @property
    def templated(self) -> bool:
        return "{" in self.uri


def find_data(value: Any, resolver: Resolver | None = None) -> list[DataRef]:
    """Every S3 URI in `value` with its direction and name, de-duplicated, in document order."""
    resolver = resolver or Resolver()
    seen: dict[tuple[str, str, str], DataRef] = {}
    for ref in _walk(value, resolver, (), None):
        seen.setdefault((ref.direction, ref.name, ref.uri), ref)
    return list(seen.values())


def _walk(value: Any, resolver: Resolver, path: tuple[str, ...], name: str | None) -> Iterator[DataRef]:
    if is_expression(value) or isinstance(value, str):
        text = value if isinstance(value, str) else resolver.text(value)
        if is_s3_uri(text):
            yield _ref(text, path, name)
        return
    if isinstance(value, dict):
        name = next((str(value[f]) for f in _NAME_FIELDS if isinstance(value.get(f), str)), name)
        for key, item in value.items():
            if key not in IGNORED_FIELDS:
                yield from _walk(item, resolver, path + (key,), name)
    elif isinstance(value, list):
        previous = ""
        for item in value:
            # Container arguments: "--output-path", "s3://..." says the direction by the flag before it.
            flag = (previous,) if previous.startswith("-") else ()
            yield from _walk(item, resolver, path + flag, name)
            previous = item if isinstance(item, str) else ""


def direction_of(path: tuple[str, ...]) -> str:
    """The direction ("input" or "output") of an S3 URI at this path of field names; see the module docstring."""
    for part in path:
        if part in _INPUT_SCOPES:
            return "input"
        if part in _OUTPUT_SCOPES:
            return "output"
    return "output" if any(_OUTPUT_FIELD.search(p) for p in path) else "input"


def _ref(uri: str, path: tuple[str, ...], name: str | None) -> DataRef:
    direction = direction_of(path)
    if name is None:
        name = next((_FIELD_NAMES[p] for p in reversed(path) if p in _FIELD_NAMES), None)
    if name is None:
        meaningful = [p.lstrip("-") for p in path if p not in _GENERIC]
        name = ".".join(meaningful[-2:]) if meaningful else "data"
    return DataRef(name=name, uri=normalize(uri), direction=direction)
