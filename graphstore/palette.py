"""The one palette of the graph's pictures: a colour per node label (or lineage-view kind), runs by status.

Pure data, so anything that draws the graph shares it: `lineage-collector render` (jobs/render) and the
Neo4j Browser style (GraSS). Colours are `#rrggbb`; `text_colour` picks dark or light text for a fill.
"""
from __future__ import annotations

import zlib
from typing import Final

# Latest-run status of a step run or execution (SageMaker's values). Unlisted statuses are grey.
SUCCEEDED: Final = "#3fa556"
FAILED: Final = "#e0464e"
RUNNING: Final = "#f4c430"
OTHER: Final = "#a5abb6"
STATUS: Final[dict[str, str]] = {
    "Succeeded": SUCCEEDED, "Completed": SUCCEEDED,
    "Failed": FAILED,
    "Executing": RUNNING, "Starting": RUNNING, "InProgress": RUNNING,
}

# Node labels of the graph (graphstore/schema.py). Status-bearing labels (StepRun, PipelineExecution)
# are drawn by status when they have one; their entry here is the colour without one.
LABELS: Final[dict[str, str]] = {
    "Domain": "#9aa5c4",
    "Pipeline": "#4c8eda",
    "Step": "#57c7e3",
    "PipelineExecution": "#6f8fd6",
    "StepRun": OTHER,
    "Job": "#d9c8ae",
    "Dataset": "#c990c0",
    "Bucket": "#ecb5c9",
    "SchemaVersion": "#da7194",
    "ModelPackageGroup": "#ffb366",
    "ModelPackage": "#f79767",
    "Model": "#e9a36f",
    "Endpoint": "#c58b5c",
    "Repo": "#569480",
    "Commit": "#7fb5a3",
    "SqlFile": "#95c9b4",
    "Table": "#b5a4e0",
    "Column": "#d3c9f0",
}
STATUS_LABELS: Final = frozenset({"StepRun", "PipelineExecution"})

# The kinds of the lineage JSON's `graphPipeline` view, drawn as the labels they stand for.
KINDS: Final[dict[str, str]] = {"process": "Step", "data": "Dataset"}

# Relationship types and `graphPipeline` edge kinds: (stroke colour, dashed).
EDGES: Final[dict[str, tuple[str, bool]]] = {
    "dependsOn": ("#6b7280", False), "PRECEDES": ("#6b7280", False),
    "read": ("#8e6aa8", True), "FEEDS": ("#8e6aa8", True),
    "write": ("#b0568f", False), "PRODUCES": ("#b0568f", False),
}
EDGE_DEFAULT: Final = ("#9ca3af", False)

# Deterministic colours for labels not listed above (chosen by a checksum of the name, not hash()).
FALLBACK: Final = ("#ffe081", "#8dcc93", "#f16667", "#ffc454", "#da7194", "#569480", "#d9c8ae", "#ecb5c9")


def label_colour(kind: str) -> str:
    """The fill of a node of this label or view kind."""
    label = KINDS.get(kind, kind)
    if label in LABELS:
        return LABELS[label]
    return FALLBACK[zlib.crc32(label.encode()) % len(FALLBACK)]


def status_colour(status: str) -> str:
    return STATUS.get(status, OTHER)


def node_colour(kind: str, status: str | None = None) -> str:
    """A run's status wins over its label: Succeeded green, Failed red, Executing/Starting yellow, others grey."""
    return status_colour(status) if status else label_colour(kind)


def edge_style(kind: str) -> tuple[str, bool]:
    return EDGES.get(kind, EDGE_DEFAULT)


def text_colour(fill: str) -> str:
    """Dark text on light fills, white on dark ones (WCAG relative luminance)."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return "#1f2328" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.22 else "#ffffff"


def border_colour(fill: str) -> str:
    """A darker shade of a fill, for outlines."""
    r, g, b = (int(int(fill[i:i + 2], 16) * 0.72) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"
