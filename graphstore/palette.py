"""The one palette of the graph's pictures: a style per node label, runs by status, a colour per relationship.

Pure data, so everything that draws the graph agrees: the Neo4j Browser style (the GraSS of
graphstore/browser, whose `color`, `border-color` and `text-color-internal` are these values; a test
checks they stay equal) and `lineage-collector render` (jobs/render). `grass()` writes these colours as
GraSS rules. A run's status is also a label of the node (graphstore.schema's status labels), so Browser
colours runs by status as the renderer does: Succeeded green, Failed red, Executing/Starting yellow,
other statuses grey.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Style:
    fill: str  # GraSS `color`
    border: str  # GraSS `border-color`
    text: str  # GraSS `text-color-internal`


DARK: Final = "#2A2C34"
LIGHT: Final = "#FFFFFF"
DEFAULT: Final = Style("#A5ABB6", "#9AA1AC", LIGHT)  # a node of a label not listed

LABELS: Final[dict[str, Style]] = {
    "Domain": Style("#604A0E", "#423204", LIGHT),
    "Pipeline": Style("#1F5FA8", "#143E6E", LIGHT),
    "Step": Style("#8AB4E8", "#4C8EDA", DARK),
    "PipelineExecution": Style("#6A4C9C", "#4A3470", LIGHT),
    "StepRun": Style("#B39DDB", "#7E57C2", DARK),
    "Job": Style("#F79767", "#F36924", DARK),
    "ProcessingJob": Style("#F79767", "#D9531E", DARK),
    "TrainingJob": Style("#DA7194", "#CC3C6C", DARK),
    "TransformJob": Style("#C97B2E", "#8F5518", DARK),
    "TuningJob": Style("#ECB5C9", "#DA7298", DARK),
    "AutoMLJob": Style("#E27D60", "#B85A40", DARK),
    "Dataset": Style("#57C7E3", "#23B3D7", DARK),
    "Bucket": Style("#264653", "#132328", LIGHT),
    "SchemaVersion": Style("#A8DADC", "#6FB7BA", DARK),
    "ModelPackageGroup": Style("#8D6E63", "#5D4037", LIGHT),
    "ModelPackage": Style("#880E4F", "#560027", LIGHT),
    "Model": Style("#D81B60", "#A00037", LIGHT),
    "Endpoint": Style("#3949AB", "#00227B", LIGHT),
    # endpoints source: configs and components in lighter shades of the endpoint's
    "EndpointConfig": Style("#7986CB", "#49599A", DARK),
    "InferenceComponent": Style("#9FA8DA", "#6F79A8", DARK),
    "Repo": Style("#6D4C41", "#40241A", LIGHT),
    "Commit": Style("#BCAAA4", "#8C7B75", DARK),
    "SqlFile": Style("#FFAB91", "#C97B63", DARK),
    "Table": Style("#0097A7", "#006978", LIGHT),
    "Column": Style("#80DEEA", "#4BACB8", DARK),
    # SageMaker Feature Store
    "FeatureGroup": Style("#00897B", "#005B4F", LIGHT),
    "OpenLineageOutbox": Style("#CFD8DC", "#90A4AE", DARK),
    "Lease": Style("#E0E0E0", "#757575", DARK),
}

SUCCEEDED: Final = "#43A047"
FAILED: Final = "#E53935"
RUNNING: Final = "#FDD835"
OTHER: Final = "#9E9E9E"
# SageMaker's statuses of executions, step runs and jobs. A status not listed is drawn as OTHER.
STATUS: Final[dict[str, Style]] = {
    "Succeeded": Style(SUCCEEDED, "#2E7D32", LIGHT), "Completed": Style(SUCCEEDED, "#2E7D32", LIGHT),
    "Failed": Style(FAILED, "#B71C1C", LIGHT),
    "Starting": Style(RUNNING, "#C6A700", DARK), "Executing": Style(RUNNING, "#C6A700", DARK),
    "InProgress": Style(RUNNING, "#C6A700", DARK),
    "Stopping": Style(OTHER, "#707070", LIGHT), "Stopped": Style(OTHER, "#707070", LIGHT),
}
STATUS_OTHER: Final = Style(OTHER, "#707070", LIGHT)

# The kinds of the lineage JSON's `graphPipeline` view, drawn as the labels they stand for.
KINDS: Final[dict[str, str]] = {"process": "Step", "data": "Dataset"}

# Relationship types (GraSS `relationship.X { color }`); the view's edge kinds map onto them.
RELATIONSHIPS: Final[dict[str, str]] = {
    "FEEDS": "#23B3D7", "PRODUCES": "#23B3D7", "PRECEDES": "#4C8EDA", "RAN_AS": "#F36924", "GENERATED_BY": "#880E4F",
    "INSTANTIATED_AS": "#D81B60", "DEPLOYED_AS": "#3949AB", "DEPLOYED_TO": "#3949AB",
}
RELATIONSHIP_DEFAULT: Final = "#A5ABB6"
EDGE_KINDS: Final[dict[str, str]] = {"dependsOn": "PRECEDES", "read": "FEEDS", "write": "PRODUCES"}
DASHED: Final = frozenset({"FEEDS"})  # in pictures, reads are dashed so they part from writes of the same colour

# Labels not listed get one of these, by a checksum of the name (stable from run to run, unlike hash()).
FALLBACK: Final = ("#FFE081", "#8DCC93", "#F16667", "#FFC454", "#C990C0", "#569480", "#D9C8AE", "#4C8EDA")


def label_style(kind: str) -> Style:
    """The style of a node of this label or view kind."""
    label = KINDS.get(kind, kind)
    if label in LABELS:
        return LABELS[label]
    if not label:
        return DEFAULT
    fill = FALLBACK[zlib.crc32(label.encode()) % len(FALLBACK)]
    return Style(fill, darker(fill), text_colour(fill))


def status_style(status: str) -> Style:
    return STATUS.get(status, STATUS_OTHER)


def node_style(kind: str, status: str | None = None) -> Style:
    """A run's status wins over its label."""
    return status_style(status) if status else label_style(kind)


def edge_style(kind: str) -> tuple[str, bool]:
    """(colour, dashed) of a relationship type or view edge kind."""
    rel = EDGE_KINDS.get(kind, kind)
    return RELATIONSHIPS.get(rel, RELATIONSHIP_DEFAULT), rel in DASHED


def text_colour(fill: str) -> str:
    """Dark or light text, whichever contrasts more with the fill (WCAG relative luminance)."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return DARK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.18 else LIGHT


def darker(fill: str) -> str:
    r, g, b = (int(int(fill[i:i + 2], 16) * 0.72) for i in (1, 3, 5))
    return f"#{r:02X}{g:02X}{b:02X}"


def grass() -> str:
    """These colours as GraSS rules (Neo4j Browser's style sheet): one per label, status and relationship type."""
    rules = [f"node {{ color: {DEFAULT.fill}; border-color: {DEFAULT.border}; text-color-internal: {DEFAULT.text}; }}"]
    rules += [f"node.{label} {{ color: {s.fill}; border-color: {s.border}; text-color-internal: {s.text}; }}"
              for label, s in LABELS.items()]
    rules += [f"node.{status} {{ color: {s.fill}; text-color-internal: {s.text}; }}" for status, s in STATUS.items()]
    rules.append(f"relationship {{ color: {RELATIONSHIP_DEFAULT}; }}")
    rules += [f"relationship.{rel} {{ color: {colour}; }}" for rel, colour in RELATIONSHIPS.items()]
    return "\n".join(rules) + "\n"
