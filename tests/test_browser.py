"""Neo4j Browser, ready on connect: the lineage style, the guide and the favourites (graphstore.browser).

The files are checked against the schema and against Browser's own reading of them; then, for
real, headless Chromium (the Debian package, driven by Playwright) opens the Browser the local
Neo4j serves, connects, and finds the guide open and the style applied to a graph written by the
write path. That test is skipped only where Chromium or Playwright is missing, and fails instead
when LINEAGE_REQUIRE_BROWSER is set (.ci/run sets it). With LINEAGE_UPDATE_SCREENSHOT=1 it also
refreshes docs/img/browser-lineage.png, the README's picture.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import types
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from collector.sagemaker.transform import execution_graph, job_graph, pipeline_graph, step_run_graph
from graphstore import browser, schema
from graphstore.model import Graph

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "graph-model.md"
SCREENSHOT = ROOT / "docs" / "img" / "browser-lineage.png"
CHROMIUM = os.environ.get("LINEAGE_CHROMIUM", "/usr/bin/chromium")
RULES = browser.grass_rules(browser.style())
GREEN, RED, YELLOW, GREY = "#43A047", "#E53935", "#FDD835", "#9E9E9E"


# --- the style ------------------------------------------------------------------------------------


def _node_properties() -> dict[str, set[str]]:
    """label → the properties docs/graph-model.md lists for it ("Node properties"), plus its key."""
    table = DOC.read_text().split("## Node properties", 1)[1].split("\n\n", 2)[1]
    found: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        label, props = (cell.strip() for cell in line.strip("|").split("|", 1))
        found[label.strip("`")] = set(re.findall(r"[a-z_]+", re.sub(r"\([^)]*\)", "", props)))
    for node in schema.NODES:
        found.setdefault(node.label, set()).add(node.key)
    return found


def _style_of(labels: list[str]) -> dict[str, str]:
    """The properties Browser computes for a node with these labels: every matching rule, in order."""
    props: dict[str, str] = {}
    for selector, rule in RULES.items():
        tag, *classes = selector.split(".")
        if tag == "node" and set(classes) <= set(labels):
            props.update(rule)
    return props


def test_every_label_has_its_own_colour_and_a_readable_caption():
    labels = [n.label for n in schema.NODES] + list(schema.JOB_KINDS)
    properties = _node_properties()
    for label in labels:
        rule = RULES.get(f"node.{label}")
        # A label rule without a colour makes Browser add one of its own after ours, over the status colours.
        assert rule and rule.get("color") and rule.get("border-color"), label
    colours = [RULES[f"node.{label}"]["color"] for label in labels if label != "Job"]  # a job always has a kind
    assert len(set(colours)) == len(colours)
    assert not {c.upper() for c in colours} & {GREEN, RED, YELLOW, GREY}
    for node in schema.NODES:
        caption = RULES[f"node.{node.label}"]["caption"]
        assert "arn" not in caption and ":" not in caption, node.label  # Browser drops a value with a ':'
        assert set(re.findall(r"\{(\w+)\}", caption)) <= properties[node.label], (node.label, caption)
    assert RULES["node.ModelPackage"]["caption"] == "{group} v{version}"
    assert RULES["node.PipelineExecution"]["caption"] == "{execution_id}"


def test_runs_are_filled_by_status_and_keep_their_kind_in_the_border():
    expected = {"Succeeded": GREEN, "Completed": GREEN, "Failed": RED, "CompletedWithFailures": RED,
                "Starting": YELLOW, "Executing": YELLOW, "InProgress": YELLOW,
                "Stopping": GREY, "Stopped": GREY, "Deleting": GREY, "DeleteFailed": GREY}
    assert {x for n in schema.NODES for x in n.status_labels} == set(expected)
    for status, colour in expected.items():
        assert RULES[f"node.{status}"]["color"] == colour
        assert "border-color" not in RULES[f"node.{status}"] and "caption" not in RULES[f"node.{status}"]
    assert _style_of(["StepRun", "Failed"])["color"] == RED
    assert _style_of(["Job", "TrainingJob", "Completed"]) == {
        **_style_of(["Job", "TrainingJob"]), "color": GREEN, "text-color-internal": "#FFFFFF"}
    assert _style_of(["Job", "TrainingJob", "Completed"])["border-color"] == RULES["node.TrainingJob"]["border-color"]
    assert _style_of(["PipelineExecution", "Executing"])["caption"] == "{execution_id}"
    # A run without a status label (none known yet, or one AWS added later) keeps its label's colour.
    assert _style_of(["StepRun"])["color"] == RULES["node.StepRun"]["color"]


def test_the_guide_shows_the_status_colours_of_the_style():
    for colour, _, statuses in browser._SWATCHES:
        assert {RULES[f"node.{x}"]["color"] for x in statuses.split(" · ")} == {colour}
    assert {x for _, _, statuses in browser._SWATCHES for x in statuses.split(" · ")} == {
        x for n in schema.NODES for x in n.status_labels}


def test_every_relationship_type_has_a_caption():
    for rel_type in {r.type for r in schema.RELATIONSHIPS}:
        assert RULES[f"relationship.{rel_type}"]["caption"] == "<type>"
    assert RULES["relationship"]["caption"] == "<type>"


def test_the_style_is_what_browser_reads():
    text = browser.style()
    assert "/*" not in text and "//" not in text  # Browser's GraSS has no comments
    assert next(iter(RULES)) == "node" and len(RULES) == len(re.findall(r"^\S[^{]*\{$", text, re.M))
    assert all(RULES.values())
    first_status = min(list(RULES).index(f"node.{x}") for n in schema.NODES for x in n.status_labels)
    last_label = max(list(RULES).index(f"node.{label}") for label in [n.label for n in schema.NODES] + list(schema.JOB_KINDS))
    assert last_label < first_status  # later rules win: the status fill goes over the label's


# --- the guide and the favourites -------------------------------------------------------------------


class _Guide(HTMLParser):
    """The slides of a guide, each a list of its runnable blocks' texts (what Browser runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.slides: list[list[str]] = []
        self._pre: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "slide":
            self.slides.append([])
        elif tag == "pre" and "runnable" in (dict(attrs).get("class") or ""):
            self._pre = []

    def handle_data(self, data: str) -> None:
        if self._pre is not None:
            self._pre.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._pre is not None:
            self.slides[-1].append("".join(self._pre).strip())
            self._pre = None


def _runnables(text: str) -> list[list[str]]:
    parser = _Guide()
    parser.feed(text)
    return parser.slides


def test_the_guide_gives_every_query_its_parameters_first():
    queries = browser.guide_queries()
    slides = _runnables(browser.guide_html(queries))
    assert len(slides) == 1 + len(browser.EXPLORE) + len(queries) + 1
    for query, blocks in zip([*browser.EXPLORE, *queries], slides[1:-1], strict=True):
        assert blocks == [*browser.param_commands(query.params), query.cypher.strip()]
        assert all(f"${name}" in query.cypher for name in query.params)
        assert not set(re.findall(r"\$(\w+)", query.cypher)) - set(query.params), query.title
    assert '<pre class="runnable">:param uri =&gt; &#x27;s3://acme-ml-data/churn/raw/&#x27;</pre>' in browser.guide_html(queries)


def test_the_packaged_guide_is_current():
    assert browser.GUIDE_PATH.read_text() == browser.guide_html(), "run: python -m graphstore.browser"


def test_the_guide_takes_graphstore_queries_when_it_exists(monkeypatch: pytest.MonkeyPatch):
    query = types.SimpleNamespace(name="runs_of_pipeline", description="Runs of a `Pipeline`.",
                                  cypher="MATCH (p:Pipeline {name: $pipeline}) RETURN p LIMIT $limit",
                                  example_params={"pipeline": "churn-training"},
                                  validate=lambda params: {"pipeline": None, "limit": 100, **params})
    other = types.SimpleNamespace(name="pipelines", description="", cypher="MATCH (p:Pipeline) RETURN p",
                                  example_params={"depth": 3})  # not in its Cypher: no :param
    monkeypatch.setitem(sys.modules, "graphstore.queries", types.SimpleNamespace(QUERIES=(query, other)))
    assert browser.guide_queries() == [
        browser.GuideQuery("runs_of_pipeline", "Runs of a `Pipeline`.", query.cypher,
                           {"pipeline": "churn-training", "limit": 100}),
        browser.GuideQuery("pipelines", "", other.cypher, {})]
    assert "Runs of a <code>Pipeline</code>." in browser.guide_html()
    assert ":param limit =&gt; 100" in browser.guide_html()


def test_favorites_are_cypher_files_named_by_their_first_line():
    queries = browser.guide_queries()
    data = browser.favorites_zip(queries)
    assert data == browser.favorites_zip(queries)  # deterministic
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert len(names) == len(browser.EXPLORE) + len(queries) == len(set(names))
        assert all(n.startswith(f"{browser.FAVORITES_FOLDER}/") and n.endswith(".cypher") for n in names)
        texts = [zf.read(n).decode() for n in names]
    for query, text in zip([*browser.EXPLORE, *queries], texts, strict=True):
        assert text.startswith(f"// {query.title}\n") and text.rstrip().endswith(query.cypher.strip())
        assert all(f"{c};" in text for c in browser.param_commands(query.params))


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "it's a \\ path", ["a", 1], {"k": "v", "odd key": [1]}])
def test_param_values_are_cypher_literals(neo4j, value: Any):
    records, _, _ = neo4j.execute_query(f"RETURN {browser.cypher_literal(value)} AS v")
    assert records[0]["v"] == value


def test_the_guide_queries_run_with_their_example_parameters(neo4j):
    from graphstore.writer import GraphWriter

    GraphWriter(neo4j).write(_lineage())
    for query in [*browser.EXPLORE, *browser.guide_queries()]:
        neo4j.execute_query(query.cypher, dict(query.params))


def test_the_post_connect_command_applies_the_style_then_opens_the_guide():
    settings = browser.browser_settings("http://127.0.0.1:7474/lineage/", "127.0.0.1")
    assert settings == {
        "browser.post_connect_cmd": "style http://127.0.0.1:7474/lineage/style.grass; "
                                    "play http://127.0.0.1:7474/lineage/guide.html",
        "browser.remote_content_hostname_whitelist": "guides.neo4j.com,127.0.0.1"}


# --- for real, in Chromium ------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SM = "arn:aws:sagemaker:us-east-1:111122223333"


def _lineage() -> Graph:
    """Two pipelines as the sync writes them: churn-training's latest execution failed in Train after
    Preprocess succeeded; daily-scoring's is still scoring."""
    graph = Graph()
    runs = {
        "churn-training": ("Failed", [("Preprocess", "Succeeded", "ProcessingJob", "Completed"),
                                      ("Train", "Failed", "TrainingJob", "Failed")]),
        "daily-scoring": ("Executing", [("Prepare", "Succeeded", "ProcessingJob", "Completed"),
                                        ("Score", "Executing", "TransformJob", "InProgress")]),
    }
    fields = {"ProcessingJob": ("ProcessingJobArn", "ProcessingJobStatus", "ProcessingJobName", "processing-job"),
              "TrainingJob": ("TrainingJobArn", "TrainingJobStatus", "TrainingJobName", "training-job"),
              "TransformJob": ("TransformJobArn", "TransformJobStatus", "TransformJobName", "transform-job")}
    for name, (status, steps) in runs.items():
        pipeline = f"{SM}:pipeline/{name}"
        execution = f"{pipeline}/execution/{name[:5]}0001"
        graph.update(pipeline_graph({"PipelineArn": pipeline, "PipelineName": name}, {}, None, {}, None))
        graph.update(execution_graph({"PipelineExecutionArn": execution, "PipelineExecutionStatus": status,
                                      "StartTime": T0, "LastModifiedTime": T0 + timedelta(minutes=30)}, pipeline))
        for i, (step, step_status, kind, job_status) in enumerate(steps):
            arn_field, status_field, name_field, resource = fields[kind]
            job_name = f"{name}-{step.lower()}-0001"
            job_arn = f"{SM}:{resource}/{job_name}"
            end = {"EndTime": T0 + timedelta(minutes=10 * (i + 1))} if step_status != "Executing" else {}
            graph.update(step_run_graph(execution, {"StepName": step, "StepStatus": step_status, "StartTime": T0,
                                                    **end, "Metadata": {kind: {"Arn": job_arn}}}))
            graph.update(job_graph(kind, {arn_field: job_arn, name_field: job_name, status_field: job_status,
                                          "LastModifiedTime": T0 + timedelta(minutes=10 * (i + 1))}))
    return graph


def _require_browser() -> Any:
    """Playwright's sync API, or a skip (a failure when LINEAGE_REQUIRE_BROWSER is set) saying what is missing."""
    missing = []
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium ({CHROMIUM}; apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("Playwright for Python (pip install playwright)")
    if missing:
        reason = "a real browser test needs " + " and ".join(missing)
        if os.environ.get("LINEAGE_REQUIRE_BROWSER"):
            pytest.fail(reason + " (LINEAGE_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    return sync_api


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    """A local Neo4j with the Browser and its files, holding _lineage() as the write path writes it."""
    from neo4j import GraphDatabase

    from graphstore.writer import GraphWriter
    from lineage_dev.local_neo4j import start_local_neo4j

    _require_browser()
    with start_local_neo4j() as server, GraphDatabase.driver(server.uri) as driver:
        writer = GraphWriter(driver)
        writer.ensure_schema()
        writer.write(_lineage(), source="test")
        yield server, driver


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = _require_browser()
    sync_api.expect.set_options(timeout=60_000)  # a loaded CI machine renders slowly
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(chromium: Any, served: Any) -> Iterator[Any]:
    """A Browser tab on the printed address, connected (the server has no auth)."""
    server, _ = served
    assert server.browser_url.startswith("http://127.0.0.1:")  # the host the whitelist names
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})  # its own localStorage
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(server.browser_url)
    tab.get_by_test_id("authenticationMethod").select_option("NO_AUTH")
    tab.get_by_test_id("connect").click()
    try:
        yield tab
    finally:
        context.close()


def _nodes_drawn(frame: Any) -> dict[str, dict[str, str]]:
    """The nodes of a graph frame by the id Browser gives them (graph-node<id>): fill, border, caption."""
    drawn = frame.locator("svg g.node").evaluate_all(
        "nodes => nodes.map(g => ({id: g.getAttribute('aria-label').replace('graph-node', ''),"
        " caption: Array.from(g.querySelectorAll('text.caption')).map(t => t.textContent.trim()).join(' '),"
        " fill: g.querySelector('circle.b-outline').getAttribute('fill'),"
        " stroke: g.querySelector('circle.b-outline').getAttribute('stroke')}))")
    return {n.pop("id"): n for n in drawn}


def test_browser_applies_the_style_and_opens_the_guide_on_connect(served: Any, page: Any, tmp_path: Path):
    from playwright.sync_api import expect

    server, driver = served
    first = browser.EXPLORE[0]
    records, _, _ = driver.execute_query(
        f"CALL () {{ {first.cypher} }} UNWIND nodes(run) + coalesce(nodes(job), []) AS n WITH DISTINCT n "
        "RETURN toString(id(n)) AS id, labels(n) AS labels, coalesce(n.name, n.execution_id) AS name")
    expected = {r["id"]: (r["name"], r["labels"]) for r in records}
    assert len(expected) == 12  # 2 pipelines, their latest executions, 4 step runs and their 4 jobs
    by_name = {name: node_id for node_id, (name, _) in expected.items()}

    # Post-connect: a frame for each command, the guide open on its first slide.
    commands = page.get_by_test_id("frameCommand")
    expect(commands.filter(has_text=f":style {server.browser_file(browser.STYLE_FILE)}")).to_have_count(1)
    guide = page.get_by_test_id("frame").filter(has_text=f":play {server.browser_file(browser.GUIDE_FILE)}")
    expect(guide.get_by_test_id("carousel")).to_contain_text("The lineage graph")

    # The first graph of the guide, run from its block (by the ▶ Browser puts before it).
    guide.get_by_test_id("nextSlide").click()
    block = guide.locator("pre.runnable").filter(has_text="MATCH (e:PipelineExecution)")
    assert block.inner_text().strip() == first.cypher.strip()
    block.locator("i").first.click()
    result = page.get_by_test_id("frame").filter(has=page.locator("svg g.node")).first
    expect(result.locator("svg g.node")).to_have_count(len(expected))
    drawn = _nodes_drawn(result)
    assert set(drawn) == set(expected)
    for node_id, (name, labels) in expected.items():  # each node as the style says for its labels
        style = _style_of(labels)
        assert (drawn[node_id]["fill"], drawn[node_id]["stroke"]) == (style["color"], style["border-color"]), name
        assert name.startswith(drawn[node_id]["caption"].rstrip("\u2026")), (name, drawn[node_id])
    fills = {name: drawn[node_id]["fill"] for name, node_id in by_name.items()}
    assert fills["Train"] == RED and fills["churn0001"] == RED and fills["churn-training-train-0001"] == RED
    assert fills["Preprocess"] == GREEN and fills["churn-training-preprocess-0001"] == GREEN
    assert fills["Score"] == YELLOW and fills["daily0001"] == YELLOW and fills["daily-scoring-score-0001"] == YELLOW
    assert drawn[by_name["churn-training-train-0001"]]["stroke"] == RULES["node.TrainingJob"]["border-color"]
    assert drawn[by_name["Train"]]["caption"] == "Train"  # captions name things, not ARNs
    # The overview beside the graph is the legend: status labels with their colours.
    expect(result.get_by_test_id("property-details-overview-node-label-Failed")).to_be_visible()

    shot = tmp_path / "browser-lineage.png"
    page.set_viewport_size({"width": 1200, "height": 700})
    result.get_by_title("Fullscreen").click()
    page.wait_for_timeout(2500)  # let the layout settle
    result.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    if os.environ.get("LINEAGE_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_the_favorites_archive_imports_into_browser(served: Any, page: Any):
    from playwright.sync_api import expect

    server, _ = served
    page.get_by_test_id("carousel").wait_for()  # connected; post-connect ran
    # What dropping the downloaded file onto the Browser window does.
    page.evaluate("""async url => {
        const blob = await (await fetch(url)).blob();
        const data = new DataTransfer();
        data.items.add(new File([blob], 'favorites.zip', {type: 'application/zip'}));
        document.querySelector('.filedrop').dispatchEvent(
            new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", server.browser_file(browser.FAVORITES_FILE))
    page.get_by_test_id("navigationFavorites").click()
    page.get_by_text(browser.FAVORITES_FOLDER, exact=True).click()
    queries = [*browser.EXPLORE, *browser.guide_queries()]
    expect(page.locator("[data-testid^='scriptTitle-']")).to_have_count(len(queries))
    # A favourite runs its :param statements, then the query that needs them.
    definition = browser.EXPLORE[2]
    assert list(definition.params) == ["pipeline"]
    page.get_by_test_id(f"navicon-{definition.title}").click()
    page.get_by_test_id("contextMenuRun").click()
    statements = page.get_by_test_id("multi-statement-list-title")
    expect(statements).to_have_count(2)
    expect(statements.nth(0)).to_have_text(":param pipeline => 'churn-training'")
    expect(statements.nth(1)).to_contain_text("MATCH (p:Pipeline {name: $pipeline})")
    icons = page.get_by_test_id("multi-statement-list-icon")
    expect(icons).to_have_count(2)
    for icon in icons.all():  # the query found its parameter
        expect(icon).to_have_attribute("title", "Status: success")
