"""`lineage-collector render`: pictures of lineage as HTML, SVG and PNG, and the layout under them.

The CLI tests sync the demo account through the real CLI (as tests/test_cli.py does) and render from
the graph that sync wrote; the layout and writer tests need no service.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

import pytest

from graphstore import palette
from jobs.render import render
from jobs.render.layout import crossings, fit_in_order, layered
from jobs.render.text import truncate
from lineage_dev.sim.account import seed_demo_account

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
SVG = "{http://www.w3.org/2000/svg}"
# A resource the page would fetch: src=/href= attributes, CSS url() and @import.
REMOTE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["']?\s*)(?:https?:)?//""", re.I)
TRANSLATE = re.compile(r"translate\(([-\d.]+),([-\d.]+)\)")


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=timeout, cwd=os.path.dirname(__file__))


@pytest.fixture(scope="module")
def synced_env(neo4j_server, driver, sim_server):
    """The demo account synced through the CLI (as in tests/test_cli.py), shared by this module's read-only tests."""
    from graphstore.writer import GraphWriter

    sim_server.reset()
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    GraphWriter(driver).ensure_schema()
    seed_demo_account(sim_server, now=NOW)
    uri, auth = neo4j_server
    env = {"NEO4J_URI": uri, "AWS_ENDPOINT_URL": sim_server.endpoint_url, "LINEAGE_REGIONS": "us-east-1"}
    if auth:
        env.update(NEO4J_USERNAME=auth[0], NEO4J_PASSWORD=auth[1])
    result = cli(env, "sync", "--json")
    assert result.returncode == 0, result.stderr
    return env


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render")


def lineage(env: dict[str, str], pipeline: str) -> dict:
    result = cli(env, "lineage", "--pipeline", pipeline)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rendered(env: dict[str, str], out_dir: Path, pipeline: str, ext: str) -> Path:
    """The picture of a pipeline, rendered once per module through the CLI."""
    path = out_dir / f"{pipeline}{ext}"
    if not path.exists():
        result = cli(env, "render", "--pipeline", pipeline, "-o", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"wrote {path}: ")
    return path


def svg_nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def node_x(g: ET.Element) -> float:
    return float(TRANSLATE.search(g.get("transform")).group(1))


def test_html_is_self_contained_and_holds_every_node(synced_env, out_dir):
    expected = {n["id"] for n in lineage(synced_env, "churn-training")["graphPipeline"]["nodes"]}
    page = rendered(synced_env, out_dir, "churn-training", ".html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script>" in page
    assert REMOTE.findall(page) == [] and "http" not in page  # not even a namespace name
    assert "<link" not in page and not re.search(r"<script[^>]*\bsrc=", page)
    ids = {html.unescape(v) for v in re.findall(r'data-id="([^"]*)"', page)}
    assert ids == expected
    island = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(island)
    assert set(data["nodes"]) == expected
    train = data["nodes"]["process:TrainChurnModel"]
    assert train["status"] == "Succeeded" and dict(map(tuple, train["props"]))["type"] == "Training"


def test_svg_has_a_shape_per_node_a_path_per_edge_and_flows_left_to_right(synced_env, out_dir):
    view = lineage(synced_env, "churn-training")["graphPipeline"]
    root = ET.parse(rendered(synced_env, out_dir, "churn-training", ".svg")).getroot()
    nodes = svg_nodes(root)
    assert set(nodes) == {n["id"] for n in view["nodes"]}
    for g in nodes.values():
        shapes = [c for c in g if c.tag in (f"{SVG}rect", f"{SVG}circle", f"{SVG}ellipse", f"{SVG}polygon", f"{SVG}path")]
        assert len(shapes) == 1, g.get("data-id")
    paths = list(root.iter(f"{SVG}path"))
    assert len(paths) == len(view["edges"]) and all(p.get("class") == "edge" for p in paths)
    assert sorted((p.get("data-source"), p.get("data-target"), p.get("data-kind")) for p in paths) == \
        sorted((e["source"], e["target"], e["kind"]) for e in view["edges"])
    for p in paths:  # the DAG is drawn left to right
        assert node_x(nodes[p.get("data-source")]) < node_x(nodes[p.get("data-target")]), p.get("data-source")
        assert "stroke-dasharray" not in p.attrib or p.get("data-kind") == "read"  # no edge drawn reversed


def fills_by_status(env: dict[str, str], out_dir: Path, pipeline: str) -> dict[str, set[str]]:
    steps = {n["id"]: (n.get("run") or {}).get("status") for n in lineage(env, pipeline)["graph"]["nodes"]}
    root = ET.parse(rendered(env, out_dir, pipeline, ".svg")).getroot()
    fills: dict[str, set[str]] = {}
    for node_id, g in svg_nodes(root).items():
        if node_id.startswith("process:"):
            fills.setdefault(steps[node_id.removeprefix("process:")] or "none", set()).add(g.find(f"{SVG}rect").get("fill"))
    return fills


def test_steps_are_coloured_by_their_latest_run(synced_env, out_dir):
    churn = fills_by_status(synced_env, out_dir, "churn-training")
    assert churn["Succeeded"] == {palette.SUCCEEDED} and churn["none"] == {palette.OTHER}
    failed = fills_by_status(synced_env, out_dir, "automl-and-notebook")
    assert failed["Failed"] == {palette.FAILED} and failed["Succeeded"] == {palette.SUCCEEDED}
    running = fills_by_status(synced_env, out_dir, "daily-scoring")
    assert running["Executing"] == {palette.RUNNING}


def test_png_is_a_picture_of_sensible_size(synced_env, out_dir):
    from PIL import Image

    path = rendered(synced_env, out_dir, "churn-training", ".png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and 800 <= image.width <= 12000 and 200 <= image.height <= 12000
        colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert tuple(int(palette.SUCCEEDED[i:i + 2], 16) for i in (1, 3, 5)) in colours
    assert tuple(int(palette.LABELS["Dataset"].fill[i:i + 2], 16) for i in (1, 3, 5)) in colours


def test_output_is_byte_identical_run_to_run(synced_env, out_dir):
    for ext in (".svg", ".html", ".png"):
        first = rendered(synced_env, out_dir, "churn-training", ext).read_bytes()
        again = out_dir / f"again{ext}"
        assert cli(synced_env, "render", "--pipeline", "churn-training", "-o", str(again)).returncode == 0
        assert again.read_bytes() == first, ext


def test_views_and_unknown_pipelines(synced_env, out_dir):
    path = out_dir / "steps.svg"
    result = cli(synced_env, "render", "--pipeline", "churn-training", "--view", "pipeline", "-o", str(path))
    assert result.returncode == 0, result.stderr
    steps_only = ET.parse(path).getroot()
    assert {g.get("data-kind") for g in svg_nodes(steps_only).values()} == {"process"}
    missing = cli(synced_env, "render", "--pipeline", "no-such-pipeline", "-o", str(out_dir / "x.svg"))
    assert missing.returncode == 2 and "pipeline not found" in missing.stderr


def test_any_graph_json_renders_and_a_saved_lineage_draws_as_the_pipeline(synced_env, out_dir):
    saved = out_dir / "churn.json"
    saved.write_text(cli(synced_env, "lineage", "--pipeline", "churn-training").stdout)
    from_file = out_dir / "from-file.svg"
    result = cli({"NEO4J_URI": "bolt://127.0.0.1:1"}, "render", "--graph", str(saved), "-o", str(from_file))
    assert result.returncode == 0, result.stderr
    assert from_file.read_bytes() == rendered(synced_env, out_dir, "churn-training", ".svg").read_bytes()

    graph = {"nodes": [{"id": "raw.customers", "kind": "Table"}, {"id": "stg.customers", "kind": "Table"},
                       {"id": "s3://acme-ml-data/churn/raw/", "kind": "Dataset"},
                       {"id": "run", "label": "TrainChurnModel", "kind": "StepRun", "status": "Failed"}],
             "edges": [{"source": "raw.customers", "target": "stg.customers", "kind": "FEEDS"},
                       {"source": "stg.customers", "target": "s3://acme-ml-data/churn/raw/", "kind": "STORED_AT"},
                       {"source": "s3://acme-ml-data/churn/raw/", "target": "run", "kind": "FEEDS"}]}
    result = subprocess.run([sys.executable, "-m", "jobs.cli", "render", "--graph", "-", "-o", str(out_dir / "q.svg")],
                            input=json.dumps(graph), capture_output=True, text=True, timeout=60, cwd=out_dir)
    assert result.returncode == 0, result.stderr
    nodes = svg_nodes(ET.parse(out_dir / "q.svg").getroot())
    assert nodes["run"].find(f"{SVG}rect").get("fill") == palette.FAILED
    assert nodes["raw.customers"].find(f"{SVG}rect").get("fill") == palette.LABELS["Table"].fill
    xs = [node_x(nodes[n["id"]]) for n in graph["nodes"]]
    assert xs == sorted(xs) and len(set(xs)) == 4

    bad = out_dir / "bad.json"
    bad.write_text('{"rows": []}')
    result = cli({}, "render", "--graph", str(bad), "-o", str(out_dir / "bad.svg"))
    assert result.returncode == 2 and "not a graph" in result.stderr and "Traceback" not in result.stderr


def test_a_query_subgraph_renders_downstream_of_a_dataset(synced_env, out_dir):
    path = out_dir / "downstream.svg"
    result = cli(synced_env, "render", "--query", "downstream", "--param", "node=s3://acme-ml-data/churn/raw/",
                 "--param", "depth=4", "-o", str(path))
    assert result.returncode == 0, result.stderr
    nodes = svg_nodes(ET.parse(path).getroot())
    assert any("raw" in node_id for node_id in nodes) and len(nodes) > 3
    bad = cli(synced_env, "render", "--query", "downstream", "--param", "depth=99", "--param",
              "node=s3://acme-ml-data/churn/raw/", "-o", str(out_dir / "bad.svg"))
    assert bad.returncode == 2 and "depth" in bad.stderr and "Traceback" not in bad.stderr
    flat = cli(synced_env, "render", "--query", "runs", "-o", str(out_dir / "runs.svg"))
    assert flat.returncode == 2 and "subgraph" in flat.stderr


def test_an_unknown_extension_is_refused_before_reading_anything():
    result = cli({"NEO4J_URI": "bolt://127.0.0.1:1"}, "render", "--pipeline", "p", "-o", "picture.jpg")
    assert result.returncode == 2 and "must end in .html" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not shutil.which("chromium"), reason="no headless Chromium on this machine")
def test_the_page_script_runs_and_highlights_upstream_and_downstream(synced_env, out_dir):
    """The page in headless Chromium with a probe: the script fits the view, a click lights the lineage."""
    page = rendered(synced_env, out_dir, "churn-training", ".html").read_text()
    probe = """<script>
      var g = document.querySelector('g.node[data-id="process:TrainChurnModel"]'), r = g.getBoundingClientRect();
      var at = {bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, pointerId: 1};
      var view = document.getElementById("view");
      view.dispatchEvent(new PointerEvent("pointerdown", at));
      view.dispatchEvent(new PointerEvent("pointerup", at));
      var mark = function (c) { return Array.from(document.querySelectorAll("g.node." + c)).map(function (n) {
        return n.getAttribute("data-id"); }).sort(); };
      document.title = JSON.stringify({sel: mark("sel"), up: mark("up"), down: mark("down"), dim: mark("dim").length,
        transform: document.getElementById("viewport").getAttribute("transform")});
    </script></body>"""
    probed = out_dir / "probe.html"
    probed.write_text(page.replace("</body>", probe))
    result = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                             "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)
    state = json.loads(html.unescape(re.search(r"<title>(\{.*?\})</title>", result.stdout).group(1)))
    assert state["transform"].startswith("translate(") and "scale(" in state["transform"]
    assert state["sel"] == ["process:TrainChurnModel"]
    assert "process:PreprocessChurnData" in state["up"] and "data:s3://acme-ml-data/churn/raw/" in state["up"]
    assert "process:EvaluateChurnModel" in state["down"] and "process:RegisterChurnModel-RegisterModel" in state["down"]
    assert state["dim"] > 0


# --- the layout and the writers, without services ------------------------------------------------------------


def test_cycles_are_broken_deterministically_and_drawn_against_their_direction():
    sizes = {v: (60.0, 28.0) for v in "abcd"}
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    one, two = layered(sizes, edges), layered(sizes, edges)
    assert one == two
    assert [r.reversed for r in one.routes] == [False, False, True, False]
    assert one.layers == {"a": 0, "b": 1, "c": 2, "d": 3}
    back = one.routes[2]
    assert back.points[0][0] > back.points[-1][0]  # from c (right) back to a (left)


def test_long_edges_bend_between_columns_and_sources_sit_by_their_consumer():
    sizes = {v: (80.0, 28.0) for v in ("a", "b", "c", "late-input")}
    layout = layered(sizes, [("a", "b"), ("b", "c"), ("a", "c"), ("late-input", "c")])
    assert layout.layers == {"a": 0, "b": 1, "c": 2, "late-input": 1}
    long = layout.routes[2]
    assert len(long.points) == 4  # out of a, across b's column, into c
    assert long.points[1][1] == long.points[2][1] and long.points[1][0] < long.points[2][0]
    boxes = layout.boxes
    assert long.points[0] == (boxes["a"].x + boxes["a"].w, boxes["a"].cy) and long.points[-1] == (boxes["c"].x, boxes["c"].cy)


def test_crossings_are_reduced():
    # a1->b2, a2->b1 cross in the given order; the sweeps untangle them.
    sizes = {v: (40.0, 20.0) for v in ("a1", "a2", "b1", "b2", "c1", "c2")}
    edges = [("a1", "b2"), ("a2", "b1"), ("b1", "c1"), ("b2", "c2")]
    layout = layered(sizes, edges)
    y = {v: b.cy for v, b in layout.boxes.items()}
    assert (y["a1"] < y["a2"]) == (y["b2"] < y["b1"]) == (y["c2"] < y["c1"])
    assert crossings([0, 1], [2, 3], [[3], [2], [], []]) == 1 and crossings([0, 1], [3, 2], [[3], [2], [], []]) == 0


def test_boxes_in_a_column_never_overlap():
    import random

    rng = random.Random(7)
    sizes = {f"n{i}": (rng.choice([60.0, 140.0, 220.0]), rng.choice([28.0, 40.0])) for i in range(120)}
    ids = list(sizes)
    edges = [(ids[i], ids[j]) for i in range(120) for j in range(i + 1, 120) if rng.random() < 0.03]
    layout = layered(sizes, edges)
    for a, b in edges:
        assert layout.boxes[a].x < layout.boxes[b].x
    columns: dict[int, list] = {}
    for v, lay in layout.layers.items():
        columns.setdefault(lay, []).append(layout.boxes[v])
    for boxes in columns.values():
        boxes.sort(key=lambda b: b.y)
        for upper, lower in pairwise(boxes):
            assert upper.y + upper.h <= lower.y + 1e-6


def test_fit_in_order_is_the_closest_spaced_placement():
    assert fit_in_order([0, 0, 0], [10, 10]) == [-10, 0, 10]
    assert fit_in_order([0, 50, 51], [10, 10]) == [0, 45.5, 55.5]


def test_long_labels_are_truncated_with_the_full_text_in_the_tooltip():
    uri = "s3://acme-ml-artifacts/churn/{Execution.PipelineExecutionId}/model/{Steps.Train.TrainingJobName}/output/model.tar.gz"
    assert truncate(uri, 40) == "s3://acme-ml-artifacts…/model.tar.gz"
    assert truncate("x" * 80, 20) == "x" * 12 + "…" + "x" * 7
    svg = render({"nodes": [{"id": uri, "kind": "Dataset"}], "edges": []}, ".svg").decode()
    assert f">{truncate(uri, 40)}</text>" in svg and f"<title>{uri}</title>" in svg


def test_big_graphs_are_cut_with_a_note_and_any_graph_shape_renders():
    graph = {"nodes": [{"id": f"n{i}", "kind": "Table", "rows": i} for i in range(1000)],
             "edges": [{"source": f"n{i}", "target": f"n{i + 1}", "kind": "FEEDS"} for i in range(999)]}
    root = ET.fromstring(render(graph, ".svg", max_nodes=50))
    assert len(svg_nodes(root)) == 50 and len(list(root.iter(f"{SVG}path"))) == 49
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "note"]
    assert notes == ["showing the first 50 of 1000 nodes (--max-nodes)", "950 edges to nodes left out are not drawn"]
    assert "<title>n7\nrows: 7</title>" in render(graph, ".svg", max_nodes=10).decode()
    with pytest.raises(ValueError, match="use one of"):
        render(graph, ".gif")


def test_the_palette_is_the_browser_style():
    """graphstore/palette.py is the one palette: the Neo4j Browser style sheet, where there is one, uses its colours."""
    rules = {sel: dict(re.findall(r"([\w-]+):\s*([^;]+);", body))
             for sel, body in re.findall(r"((?:node|relationship)(?:\.\w+)?)\s*\{([^}]*)\}", palette.grass())}
    assert rules["node.Dataset"] == {"color": palette.LABELS["Dataset"].fill, "border-color": palette.LABELS["Dataset"].border,
                                     "text-color-internal": palette.LABELS["Dataset"].text}
    assert rules["node.Failed"]["color"] == palette.FAILED and rules["relationship.FEEDS"]["color"] == "#23B3D7"
    for style_sheet in sorted((Path(__file__).parents[1] / "graphstore").glob("browser/*.grass")):
        declared = {sel: dict(re.findall(r"([\w-]+):\s*([^;]+);", body))
                    for sel, body in re.findall(r"((?:node|relationship)(?:\.\w+)?)\s*\{([^}]*)\}", style_sheet.read_text())}
        for sel, colours in rules.items():
            given = {k: v.strip().upper() for k, v in declared.get(sel, {}).items() if k in colours}
            assert given == {k: v.upper() for k, v in colours.items() if k in given}, (style_sheet.name, sel)
