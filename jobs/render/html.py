"""A scene as one self-contained HTML page: the SVG, a style sheet and our script, all inline.

Nothing is fetched when the page is viewed (no script, style, font or image from the network), so it
works offline and from an attachment. The graph's data for the tooltips is a JSON island in the page.
"""
from __future__ import annotations

import json
from xml.sax.saxutils import escape

from jobs.render.scene import Scene
from jobs.render.script import SCRIPT
from jobs.render.svg import FONT, render_svg

STYLE = f"""
html, body {{ margin: 0; height: 100%; background: #ffffff; color: #1f2328; font-family: {FONT}; }}
#bar {{ position: fixed; top: 0; left: 0; right: 0; height: 28px; line-height: 28px; padding: 0 12px; font-size: 12px;
  color: #57606a; border-bottom: 1px solid #d0d7de; background: #f6f8fa; white-space: nowrap; overflow: hidden; }}
#view {{ position: absolute; top: 29px; left: 0; right: 0; bottom: 0; overflow: hidden; cursor: grab;
  touch-action: none; user-select: none; }}
#view.dragging {{ cursor: grabbing; }}
#view svg {{ display: block; }}
g.node {{ cursor: pointer; }}
g.node:hover rect.shape {{ stroke-width: 2.4; }}
g.node.sel rect.shape {{ stroke: #1f2328; stroke-width: 3; }}
g.node.up rect.shape, g.node.down rect.shape {{ stroke: #1f2328; stroke-width: 1.8; }}
path.edge.lit {{ stroke-width: 2.8; }}
.dim {{ opacity: 0.15; }}
#tip {{ position: fixed; display: none; max-width: 520px; pointer-events: none; background: #ffffff;
  border: 1px solid #d0d7de; border-radius: 6px; box-shadow: 0 6px 18px rgba(31, 35, 40, 0.18); padding: 8px 10px;
  font-size: 12px; z-index: 2; }}
#tip .head {{ font-weight: 600; margin-bottom: 4px; word-break: break-all; }}
#tip table {{ border-collapse: collapse; }}
#tip td {{ vertical-align: top; padding: 1px 8px 1px 0; white-space: pre-wrap; word-break: break-all; }}
#tip td.k {{ color: #57606a; white-space: nowrap; word-break: normal; }}
"""

HELP = "wheel: zoom · drag: pan · hover: properties · click: upstream and downstream · double-click or Esc: reset"


def _json_island(value: object) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` that could end or confuse the element."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(scene: Scene) -> str:
    data = {
        "width": scene.width, "height": scene.height,
        "nodes": {s.node.id: {"label": s.node.label, "kind": s.node.kind, "status": s.node.status,
                              "props": [list(p) for p in s.node.props]} for s in scene.nodes},
        "edges": [[s.edge.source, s.edge.target, s.edge.kind] for s in scene.edges],
    }
    title = escape(scene.title or "lineage")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f'<div id="bar">{escape(HELP)}</div>',
        '<div id="view">',
        render_svg(scene, standalone=False).rstrip("\n"),
        "</div>",
        '<div id="tip"></div>',
        f'<script type="application/json" id="lineage-data">{_json_island(data)}</script>',
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])
