"""A picture laid out and styled: boxes, colours, truncated labels, edge curves, header and legend.

The SVG, HTML and PNG writers draw a `Scene` and decide nothing of their own, so the three agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from graphstore import palette
from jobs.render.graph import Edge, Node, Picture
from jobs.render.layout import Box, Point, layered
from jobs.render.text import text_width, truncate

LABEL_SIZE, SUBTITLE_SIZE, TITLE_SIZE, LEGEND_SIZE = 12.0, 10.0, 15.0, 11.0
LABEL_CHARS, SUBTITLE_CHARS = 40, 48
MIN_W, MAX_W, PAD = 72.0, 300.0, 12.0
PILL_KINDS = frozenset({"data", "Dataset", "Table", "Column", "Bucket", "SchemaVersion"})
STATUS_ORDER = ("Succeeded", "Failed", "Executing", "Starting")
MARGIN = 16.0


@dataclass(frozen=True)
class NodeShape:
    node: Node
    box: Box
    radius: float
    pill: bool
    fill: str
    stroke: str
    ink: str
    label: str  # as drawn (maybe truncated)
    subtitle: str


@dataclass(frozen=True)
class EdgeShape:
    edge: Edge
    segments: tuple[tuple[Point, Point, Point, Point], ...]  # cubic Bézier pieces
    colour: str
    dashed: bool
    reversed: bool


@dataclass(frozen=True)
class LegendItem:
    name: str
    fill: str
    pill: bool
    x: float


@dataclass(frozen=True)
class Scene:
    title: str
    notes: tuple[str, ...]
    legend: tuple[LegendItem, ...]
    legend_y: float
    top: float  # where the graph starts below the header
    nodes: tuple[NodeShape, ...]
    edges: tuple[EdgeShape, ...]
    width: float
    height: float


def kind_name(kind: str) -> str:
    return palette.KINDS.get(kind, kind) or "node"


def node_size(node: Node) -> tuple[float, float]:
    label = truncate(node.label, LABEL_CHARS)
    subtitle = truncate(node.subtitle or "", SUBTITLE_CHARS)
    text = max(text_width(label, LABEL_SIZE), text_width(subtitle, SUBTITLE_SIZE))
    return min(MAX_W, max(MIN_W, text + 2 * PAD)), 40.0 if node.subtitle else 28.0


def curve(points: tuple[Point, ...], loop: bool) -> tuple[tuple[Point, Point, Point, Point], ...]:
    """Cubic pieces through the points, leaving and entering each one horizontally."""
    if loop:
        (x0, y0), (x1, y1), (x2, y2) = points
        return (((x0, y0), (x1, y0), (x1, y1), ((x1 + x2) / 2, y1)),
                (((x1 + x2) / 2, y1), (x2, y1), (x2, y1), (x2, y2)))
    pieces = []
    for (ax, ay), (bx, by) in pairwise(points):
        dx = max(abs(bx - ax) / 2, 12.0) * (1 if bx >= ax else -1)
        pieces.append(((ax, ay), (ax + dx, ay), (bx - dx, by), (bx, by)))
    return tuple(pieces)


def _legend(picture: Picture) -> list[tuple[str, str, bool]]:
    kinds: dict[str, tuple[str, bool]] = {}
    statuses: set[str] = set()
    for node in picture.nodes:
        if node.status:
            statuses.add(node.status)
        else:
            kinds.setdefault(kind_name(node.kind), (palette.label_style(node.kind).fill, node.kind in PILL_KINDS))
    ordered = [s for s in STATUS_ORDER if s in statuses] + sorted(statuses - set(STATUS_ORDER))
    return ([(name, fill, pill) for name, (fill, pill) in kinds.items()]
            + [(status, palette.status_style(status).fill, False) for status in ordered])


def scene(picture: Picture) -> Scene:
    sizes = {node.id: node_size(node) for node in picture.nodes}
    layout = layered(sizes, [(e.source, e.target) for e in picture.edges], margin=MARGIN)

    legend, x = [], MARGIN
    for name, fill, pill in _legend(picture):
        legend.append(LegendItem(name, fill, pill, x))
        x += 22 + text_width(name, LEGEND_SIZE) + 14
    title_h = 28.0 if picture.title else 6.0
    legend_y = MARGIN + title_h + 16.0 * len(picture.notes)
    top = legend_y + (24.0 if legend else 0.0)

    nodes = []
    for node in picture.nodes:
        style = palette.node_style(node.kind, node.status)
        box = layout.boxes[node.id]
        pill = node.kind in PILL_KINDS
        nodes.append(NodeShape(node, Box(box.x, box.y + top, box.w, box.h), box.h / 2 if pill else 6.0, pill,
                               style.fill, style.border, style.text, truncate(node.label, LABEL_CHARS),
                               truncate(node.subtitle or "", SUBTITLE_CHARS)))
    edges = []
    for edge, route in zip(picture.edges, layout.routes, strict=True):
        colour, dashed = palette.edge_style(edge.kind)
        points = tuple((px, py + top) for px, py in route.points)
        edges.append(EdgeShape(edge, curve(points, route.loop), colour, dashed or route.reversed, route.reversed))

    width = max(layout.width, x + MARGIN,
                MARGIN * 2 + text_width(picture.title, TITLE_SIZE),
                *(MARGIN * 2 + text_width(note, LEGEND_SIZE) for note in picture.notes))
    return Scene(picture.title, picture.notes, tuple(legend), legend_y, top, tuple(nodes), tuple(edges),
                 round(width), round(layout.height + top))
