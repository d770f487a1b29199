"""A scene as a PNG, drawn with Pillow (MIT-CMU licence; wheels for every platform, FreeType included).

Drawn at twice the output scale and scaled down, for smooth curves and text. Pillow's embedded font
(Aileron, CC0) is used, so the picture needs no system font and is the same on every machine.
"""
from __future__ import annotations

import io
import math
from itertools import pairwise

from PIL import Image, ImageDraw, ImageFont

from jobs.render.scene import LABEL_SIZE, LEGEND_SIZE, MARGIN, SUBTITLE_SIZE, TITLE_SIZE, EdgeShape, NodeShape, Scene

SUPERSAMPLE = 2
MAX_SIDE = 12000  # pixels drawn on a side at most; big graphs get a smaller scale
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: float) -> Font:
    return ImageFont.load_default(size=size)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _bezier(seg: tuple[tuple[float, float], ...], steps: int) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = seg
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
        out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


class _Painter:
    def __init__(self, scene: Scene, scale: float) -> None:
        self.k = scale * SUPERSAMPLE
        self.image = Image.new("RGB", (max(1, round(scene.width * self.k)), max(1, round(scene.height * self.k))),
                               "#ffffff")
        self.draw = ImageDraw.Draw(self.image)
        self.fonts: dict[tuple[float, bool], Font] = {}

    def font(self, size: float) -> Font:
        key = (size, False)
        if key not in self.fonts:
            self.fonts[key] = _font(size * self.k)
        return self.fonts[key]

    def p(self, x: float, y: float) -> tuple[float, float]:
        return x * self.k, y * self.k

    def text(self, x: float, y: float, text: str, size: float, fill: str, anchor: str) -> None:
        """Text at (x, y); anchor as Pillow's (`mm` centred, `ls` left on the baseline)."""
        self.draw.text(self.p(x, y), text, fill=fill, font=self.font(size), anchor=anchor)

    def fit(self, text: str, size: float, width: float) -> str:
        """The text, shortened in the middle until it fits `width` in Pillow's font."""
        font = self.font(size)
        while len(text) > 4 and font.getlength(text) > width * self.k:
            middle = len(text) // 2
            text = text[:middle - 1] + "…" + text[middle + 1:]
        return text

    def edge(self, shape: EdgeShape) -> None:
        points: list[tuple[float, float]] = []
        for seg in shape.segments:
            length = math.dist(seg[0], seg[3]) + math.dist(seg[1], seg[2])
            points += _bezier(seg, max(8, int(length / 6)))[0 if not points else 1:]
        scaled = [self.p(x, y) for x, y in points]
        width = max(1, round(1.4 * self.k))
        colour = _hex(shape.colour)
        if shape.dashed:
            self._dashed(scaled, colour, width)
        else:
            self.draw.line(scaled, fill=colour, width=width, joint="curve")
        (ax, ay), (bx, by) = scaled[-2], scaled[-1]
        angle = math.atan2(by - ay, bx - ax)
        size = 7 * self.k
        head = [(bx, by)] + [(bx - size * math.cos(angle + s * 0.42), by - size * math.sin(angle + s * 0.42))
                             for s in (-1, 1)]
        self.draw.polygon(head, fill=colour)

    def _dashed(self, points: list[tuple[float, float]], colour: tuple[int, int, int], width: int) -> None:
        on, off, pos, drawing = 5 * self.k, 4 * self.k, 0.0, True
        run: list[tuple[float, float]] = [points[0]]
        for a, b in pairwise(points):
            seg = math.dist(a, b)
            done = 0.0
            while seg - done > 1e-9:
                left = (on if drawing else off) - pos
                step = min(left, seg - done)
                done += step
                pos += step
                t = done / seg
                point = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
                if drawing:
                    run.append(point)
                if pos >= (on if drawing else off) - 1e-9:
                    if drawing and len(run) > 1:
                        self.draw.line(run, fill=colour, width=width)
                    drawing, pos, run = not drawing, 0.0, [point]
        if drawing and len(run) > 1:
            self.draw.line(run, fill=colour, width=width)

    def node(self, shape: NodeShape) -> None:
        b = shape.box
        self.draw.rounded_rectangle([self.p(b.x, b.y), self.p(b.x + b.w, b.y + b.h)], radius=shape.radius * self.k,
                                    fill=_hex(shape.fill), outline=_hex(shape.stroke), width=max(1, round(1.2 * self.k)))
        room = b.w - 8
        if shape.subtitle:
            self.text(b.cx, b.y + b.h / 2 - 6, self.fit(shape.label, LABEL_SIZE, room), LABEL_SIZE, shape.ink, "mm")
            self.text(b.cx, b.y + b.h / 2 + 8, self.fit(shape.subtitle, SUBTITLE_SIZE, room), SUBTITLE_SIZE,
                      shape.ink, "mm")
        else:
            self.text(b.cx, b.cy, self.fit(shape.label, LABEL_SIZE, room), LABEL_SIZE, shape.ink, "mm")

    def header(self, scene: Scene) -> None:
        if scene.title:
            self.text(MARGIN, MARGIN + TITLE_SIZE, scene.title, TITLE_SIZE, "#1f2328", "ls")
        for i, note in enumerate(scene.notes):
            self.text(MARGIN, scene.legend_y - 16 * len(scene.notes) + 16 * i + 8, note, LEGEND_SIZE, "#b42318", "ls")
        for item in scene.legend:
            y = scene.legend_y
            self.draw.rounded_rectangle([self.p(item.x, y), self.p(item.x + 18, y + 12)],
                                        radius=(6 if item.pill else 3) * self.k, fill=_hex(item.fill))
            self.text(item.x + 22, y + 10, item.name, LEGEND_SIZE, "#444c56", "ls")


def render_png(scene: Scene, *, scale: float = 2.0) -> bytes:
    """The scene as PNG bytes, `scale` pixels per unit (less for graphs too big to draw at that scale)."""
    scale = min(scale, MAX_SIDE / SUPERSAMPLE / max(scene.width, scene.height, 1))
    painter = _Painter(scene, scale)
    painter.header(scene)
    for edge in scene.edges:
        painter.edge(edge)
    for node in scene.nodes:
        painter.node(node)
    size = (max(1, round(scene.width * scale)), max(1, round(scene.height * scale)))
    out = io.BytesIO()
    painter.image.resize(size, Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()
