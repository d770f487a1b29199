"""A scene as SVG text: one `<g class="node">` with one shape per node, one `<path class="edge">` per edge.

Byte-identical for the same scene (fixed number formatting, no time stamps, ids in drawing order).
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from jobs.render.scene import LABEL_SIZE, LEGEND_SIZE, MARGIN, SUBTITLE_SIZE, TITLE_SIZE, EdgeShape, NodeShape, Scene

FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def num(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _tooltip(lines: list[str]) -> str:
    return f"<title>{escape(chr(10).join(lines))}</title>"


def _marker(colour: str) -> str:
    return f"arrow-{colour.lstrip('#')}"


def _edge(shape: EdgeShape) -> str:
    (x, y) = shape.segments[0][0]
    d = [f"M{num(x)},{num(y)}"]
    for _, (c1x, c1y), (c2x, c2y), (ex, ey) in shape.segments:
        d.append(f"C{num(c1x)},{num(c1y)} {num(c2x)},{num(c2y)} {num(ex)},{num(ey)}")
    e = shape.edge
    dash = ' stroke-dasharray="5 4"' if shape.dashed else ""
    about = [f"{e.source} → {e.target}" + (f" ({e.kind})" if e.kind else "")]
    about += [f"{k}: {v}" for k, v in e.props] + (["(drawn against its direction: it closes a cycle)"]
                                                  if shape.reversed else [])
    return (f'<path class="edge" d="{" ".join(d)}" fill="none" stroke="{shape.colour}" stroke-width="1.4"{dash}'
            f' marker-end="url(#{_marker(shape.colour)})" data-source={quoteattr(e.source)}'
            f' data-target={quoteattr(e.target)} data-kind={quoteattr(e.kind)}>{_tooltip(about)}</path>')


def _node(shape: NodeShape) -> str:
    b, n = shape.box, shape.node
    about = [n.label] + ([n.subtitle] if n.subtitle else []) + [f"{k}: {v}" for k, v in n.props]
    status = f" data-status={quoteattr(n.status)}" if n.status else ""
    parts = [f'<g class="node" data-id={quoteattr(n.id)} data-kind={quoteattr(n.kind)}{status}'
             f' transform="translate({num(b.x)},{num(b.y)})">', _tooltip(about),
             f'<rect class="shape" width="{num(b.w)}" height="{num(b.h)}" rx="{num(shape.radius)}"'
             f' fill="{shape.fill}" stroke="{shape.stroke}" stroke-width="1.2"/>']
    weight = "" if shape.pill else ' font-weight="600"'
    label_y = b.h / 2 - 2 if shape.subtitle else b.h / 2 + LABEL_SIZE * 0.36
    parts.append(f'<text class="label" x="{num(b.w / 2)}" y="{num(label_y)}" fill="{shape.ink}"'
                 f' font-size="{num(LABEL_SIZE)}"{weight} text-anchor="middle">{escape(shape.label)}</text>')
    if shape.subtitle:
        parts.append(f'<text class="subtitle" x="{num(b.w / 2)}" y="{num(b.h / 2 + 12)}" fill="{shape.ink}"'
                     f' font-size="{num(SUBTITLE_SIZE)}" text-anchor="middle" opacity="0.85">'
                     f'{escape(shape.subtitle)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _header(scene: Scene) -> list[str]:
    out = []
    y = MARGIN + TITLE_SIZE
    if scene.title:
        out.append(f'<text class="title" x="{num(MARGIN)}" y="{num(y)}" font-size="{num(TITLE_SIZE)}"'
                   f' font-weight="600" fill="#1f2328">{escape(scene.title)}</text>')
    for i, note in enumerate(scene.notes):
        out.append(f'<text class="note" x="{num(MARGIN)}" y="{num(scene.legend_y - 16 * len(scene.notes) + 16 * i + 8)}"'
                   f' font-size="{num(LEGEND_SIZE)}" fill="#b42318">{escape(note)}</text>')
    for item in scene.legend:
        radius = 6 if item.pill else 3
        out.append(f'<g class="legend-item"><rect x="{num(item.x)}" y="{num(scene.legend_y)}" width="18" height="12"'
                   f' rx="{radius}" fill="{item.fill}"/><text x="{num(item.x + 22)}" y="{num(scene.legend_y + 10)}"'
                   f' font-size="{num(LEGEND_SIZE)}" fill="#444c56">{escape(item.name)}</text></g>')
    return out


def render_svg(scene: Scene, *, standalone: bool = True) -> str:
    """The scene as an SVG document (`standalone`: with the XML declaration and namespace, for a .svg file)."""
    colours = sorted({e.colour for e in scene.edges})
    markers = "".join(
        f'<marker id="{_marker(c)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        f' orient="auto-start-reverse"><polygon points="0,1 10,5 0,9" fill="{c}"/></marker>' for c in colours)
    w, h = num(scene.width), num(scene.height)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>'] if standalone else []
    namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""  # HTML knows <svg> without it
    lines += [
        f'<svg{namespace} class="lineage" width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
        f' font-family="{FONT}">',
        f"<title>{escape(scene.title or 'lineage')}</title>",
        f"<defs>{markers}</defs>",
        f'<rect class="background" width="{w}" height="{h}" fill="#ffffff"/>',
        '<g id="viewport">',
        '<g class="header">', *_header(scene), "</g>",
        '<g class="edges">', *(_edge(e) for e in scene.edges), "</g>",
        '<g class="nodes">', *(_node(n) for n in scene.nodes), "</g>",
        "</g>",
        "</svg>",
    ]
    return "\n".join(lines) + "\n"
