"""Layered left-to-right layout of a directed graph (Sugiyama style), pure and deterministic.

1. Cycles are broken by a depth-first search in node order: an edge closing a cycle is laid out reversed.
2. Layers by longest path from the sources; a source then moves right next to its first consumer, so an
   input read late does not stretch across the picture.
3. Edges spanning several layers get a chain of dummy points, one per layer crossed.
4. Crossings are reduced by sweeps of barycentre ordering (down, then up), keeping the best order seen.
5. Columns are as wide as their widest node; vertical positions pull each node to the mean height of its
   neighbours, order and spacing kept by an exact least-squares fit (pool adjacent violators).
"""
from __future__ import annotations

import heapq
from bisect import bisect_right, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    x: float  # left
    y: float  # top
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Route:
    source: str
    target: str
    points: tuple[Point, ...]  # from the source's side to the target's side
    reversed: bool  # laid out against its direction to break a cycle
    loop: bool = False


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: tuple[Route, ...]  # one per edge given, in the same order
    layers: dict[str, int]
    width: float
    height: float


def break_cycles(count: int, succ: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    """The back edges of an iterative depth-first search from each node in index order."""
    state = [0] * count  # 0 new, 1 on the stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in range(count):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if state[child] == 1:
                    back.add((node, child))
                elif state[child] == 0:
                    state[child] = 1
                    stack.append((child, iter(succ[child])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def longest_path_layers(count: int, succ: Sequence[Sequence[int]], pred: Sequence[Sequence[int]]) -> list[int]:
    indegree = [len(p) for p in pred]
    ready = [v for v in range(count) if not indegree[v]]
    heapq.heapify(ready)
    layer = [0] * count
    order: list[int] = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for w in succ[v]:
            layer[w] = max(layer[w], layer[v] + 1)
            indegree[w] -= 1
            if not indegree[w]:
                heapq.heappush(ready, w)
    for v in order:  # sources next to their first consumer
        if not pred[v] and succ[v]:
            layer[v] = min(layer[w] for w in succ[v]) - 1
    return layer


def crossings(upper: Sequence[int], lower: Sequence[int], down: Sequence[Sequence[int]]) -> int:
    """Edge crossings between two adjacent layers (edges from `upper` to `lower`)."""
    pos = {v: i for i, v in enumerate(lower)}
    ends = [pos[w] for v in upper for w in sorted(down[v], key=pos.__getitem__)]
    seen: list[int] = []
    total = 0
    for end in ends:  # count earlier edges ending below this one
        total += len(seen) - bisect_right(seen, end)
        insort(seen, end)
    return total


def order_layers(layers: list[list[int]], succ: Sequence[Sequence[int]], pred: Sequence[Sequence[int]],
                 sweeps: int = 4) -> list[list[int]]:
    def total(ls: list[list[int]]) -> int:
        return sum(crossings(ls[i], ls[i + 1], succ) for i in range(len(ls) - 1))

    def barycentre(v: int, near: Sequence[int], pos: dict[int, int], current: dict[int, int]) -> tuple[float, int]:
        ns = [pos[u] for u in near if u in pos]
        return (sum(ns) / len(ns) if ns else float(current[v]), current[v])

    def sweep(ls: list[list[int]], rng: range, near: Sequence[Sequence[int]], step: int) -> None:
        for i in rng:
            pos = {v: j for j, v in enumerate(ls[i - step])}
            current = {v: j for j, v in enumerate(ls[i])}
            ls[i] = sorted(ls[i], key=lambda v: barycentre(v, near[v], pos, current))

    best, best_count = [list(layer) for layer in layers], total(layers)
    work = [list(layer) for layer in layers]
    for _ in range(sweeps):
        if not best_count:
            break
        sweep(work, range(1, len(work)), pred, 1)
        sweep(work, range(len(work) - 2, -1, -1), succ, -1)
        count = total(work)
        if count < best_count:
            best, best_count = [list(layer) for layer in work], count
    return best


def fit_in_order(desired: Sequence[float], gaps: Sequence[float]) -> list[float]:
    """Positions closest (least squares) to `desired` with p[i+1] - p[i] >= gaps[i], order kept."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, weight]
    for d, o in zip(desired, offsets, strict=True):
        blocks.append([d - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * weight) / (blocks[-1][1] + weight),
                          blocks[-1][1] + weight]
    values = [mean for mean, weight in blocks for _ in range(int(weight))]
    return [v + o for v, o in zip(values, offsets, strict=True)]


def split_long_edges(dag: Sequence[tuple[int, int]], layer: list[int], width: list[float], height: list[float]
                     ) -> tuple[list[list[int]], list[list[int]], dict[tuple[int, int], list[int]]]:
    """Dummy points on edges spanning several layers (appended to `layer`, `width`, `height`): the
    successors and predecessors of the graph with them, and each edge's chain of points."""
    gsucc: list[list[int]] = [[] for _ in layer]
    gpred: list[list[int]] = [[] for _ in layer]
    chains: dict[tuple[int, int], list[int]] = {}
    for s, t in dag:
        chain = [s]
        for lay in range(layer[s] + 1, layer[t]):
            chain.append(len(layer))
            layer.append(lay)
            width.append(0.0)
            height.append(2.0)
            gsucc.append([])
            gpred.append([])
        chain.append(t)
        for a, b in pairwise(chain):
            gsucc[a].append(b)
            gpred[b].append(a)
        chains[s, t] = chain
    return gsucc, gpred, chains


def place_vertically(rows: Sequence[list[int]], height: Sequence[float], succ: Sequence[Sequence[int]],
                     pred: Sequence[Sequence[int]], *, real: int, node_gap: float, passes: int = 3) -> list[float]:
    """Centre heights: stacked in order, then pulled to the mean of their neighbours, down, up, then both
    ways; dummy points (index >= `real`) need half the gap."""
    cy = [0.0] * len(height)
    for row in rows:
        top = 0.0
        for v in row:
            cy[v] = top + height[v] / 2
            top += height[v] + node_gap

    def gap(a: int, b: int) -> float:
        return (height[a] + height[b]) / 2 + (node_gap / 2 if a >= real or b >= real else node_gap)

    def pull(order: range, both: bool) -> None:
        for i in order:
            row = rows[i]
            desired = []
            for v in row:
                ns = [cy[u] for u in (list(pred[v]) + list(succ[v]) if both else pred[v] if order.step > 0 else succ[v])]
                desired.append(sum(ns) / len(ns) if ns else cy[v])
            for v, y in zip(row, fit_in_order(desired, [gap(a, b) for a, b in pairwise(row)]), strict=True):
                cy[v] = y

    depth = len(rows)
    for _ in range(passes):
        pull(range(1, depth), False)
        pull(range(depth - 2, -1, -1), False)
    pull(range(depth), True)
    return cy


def layered(sizes: Mapping[str, tuple[float, float]], edges: Sequence[tuple[str, str]], *,
            layer_gap: float = 72, node_gap: float = 16, margin: float = 16, sweeps: int = 4) -> Layout:
    """Boxes for `sizes` (id -> (width, height), in drawing order) and a route for each edge, left to right."""
    ids = list(sizes)
    index = {v: i for i, v in enumerate(ids)}
    n = len(ids)
    pairs = list(dict.fromkeys((index[s], index[t]) for s, t in edges))
    succ: list[list[int]] = [[] for _ in range(n)]
    for s, t in pairs:
        if s != t:
            succ[s].append(t)
    back = break_cycles(n, succ)
    dag = list(dict.fromkeys((t, s) if (s, t) in back else (s, t) for s, t in pairs if s != t))
    succ = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for s, t in dag:
        succ[s].append(t)
        pred[t].append(s)
    layer = longest_path_layers(n, succ, pred)

    width = [sizes[v][0] for v in ids]
    height = [sizes[v][1] for v in ids]
    gsucc, gpred, chains = split_long_edges(dag, layer, width, height)
    depth = max(layer, default=-1) + 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    for v in range(len(layer)):
        rows[layer[v]].append(v)
    rows = order_layers(rows, gsucc, gpred, sweeps)

    # x: one column per layer, nodes centred in it.
    col_w = [max((width[v] for v in row), default=0.0) for row in rows]
    col_x = [margin]
    for w in col_w[:-1]:
        col_x.append(col_x[-1] + w + layer_gap)
    cx = [col_x[layer[v]] + col_w[layer[v]] / 2 for v in range(len(layer))]

    cy = place_vertically(rows, height, gsucc, gpred, real=n, node_gap=node_gap)

    top = min((cy[v] - height[v] / 2 for v in range(n)), default=0.0)
    shift = margin - top
    boxes = {ids[v]: Box(cx[v] - width[v] / 2, cy[v] + shift - height[v] / 2, width[v], height[v]) for v in range(n)}

    routes: list[Route] = []  # one per edge given, in its order
    for s, t in ((index[a], index[b]) for a, b in edges):
        if s == t:
            own = boxes[ids[s]]
            routes.append(Route(ids[s], ids[t], ((own.x + own.w, own.cy), (own.x + own.w + 18, own.y - 12),
                                                 (own.x + own.w - 18, own.y)),
                                reversed=False, loop=True))
            continue
        flipped = (s, t) in back
        chain = chains[(t, s) if flipped else (s, t)]
        first, last = boxes[ids[chain[0]]], boxes[ids[chain[-1]]]
        points = [(first.x + first.w, first.cy)]
        for d in chain[1:-1]:  # straight across a column, so the curve bends between columns only
            left = col_x[layer[d]]
            points += [(left, cy[d] + shift), (left + col_w[layer[d]], cy[d] + shift)]
        points.append((last.x, last.cy))
        routes.append(Route(ids[s], ids[t], tuple(reversed(points)) if flipped else tuple(points), reversed=flipped))

    right = max([b.x + b.w for b in boxes.values()] + [p[0] for r in routes for p in r.points], default=0.0)
    bottom = max([b.y + b.h for b in boxes.values()] + [p[1] for r in routes for p in r.points], default=0.0)
    return Layout(boxes=boxes, routes=tuple(routes), layers={ids[v]: layer[v] for v in range(n)},
                  width=right + margin, height=bottom + margin)
