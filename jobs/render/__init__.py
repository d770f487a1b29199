"""Pictures of lineage without Neo4j Browser: `lineage-collector render`.

Any {"nodes": [...], "edges": [...]} graph (a pipeline's `graphPipeline`, a query's subgraph) is laid out
left to right (`layout`, pure), styled with the shared palette (`graphstore.palette`, via `scene`) and
written as a static SVG (`svg`), a self-contained interactive HTML page (`html`: the SVG and our own
small script, nothing fetched at view time) or a PNG (`png`, drawn with Pillow).

`render --query NAME --param k=v` is to come with the query library (graphstore.queries, its
`QueryLibrary.subgraph(name, params)` gives this same {"nodes", "edges"} shape): one more member of the
command's `--pipeline`/`--graph` group whose graph is that subgraph, drawn by `render_file` unchanged.
Until then `render --graph -` draws any such JSON from stdin.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.render.graph import Picture, from_lineage, graph_json, lineage_title, picture
from jobs.render.scene import scene

FORMATS = (".html", ".htm", ".svg", ".png")

__all__ = ["FORMATS", "Drawn", "from_lineage", "graph_json", "lineage_title", "render", "render_file"]


@dataclass(frozen=True)
class Drawn:
    nodes: int
    edges: int
    notes: tuple[str, ...]


def render(graph: Mapping[str, Any], fmt: str, *, title: str = "", max_nodes: int = 300) -> bytes:
    """The picture of `graph` in `fmt` (a file extension of FORMATS) as bytes."""
    return _render(picture(graph, title=title, max_nodes=max_nodes), fmt)


def _render(drawing: Picture, fmt: str) -> bytes:
    drawn = scene(drawing)
    if fmt == ".png":
        from jobs.render.png import render_png

        return render_png(drawn)
    if fmt in (".html", ".htm"):
        from jobs.render.html import render_html

        return render_html(drawn).encode()
    if fmt == ".svg":
        from jobs.render.svg import render_svg

        return render_svg(drawn).encode()
    raise ValueError(f"cannot write {fmt or 'a file without an extension'}: use one of {', '.join(FORMATS)}")


def render_file(graph: Mapping[str, Any], path: Path, *, title: str = "", max_nodes: int = 300) -> Drawn:
    """Write the picture of `graph` to `path`, in the format its extension names."""
    drawing = picture(graph, title=title, max_nodes=max_nodes)
    path.write_bytes(_render(drawing, path.suffix.lower()))
    return Drawn(len(drawing.nodes), len(drawing.edges), drawing.notes)
