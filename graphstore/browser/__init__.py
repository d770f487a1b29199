"""Neo4j Browser, ready for the lineage graph: a style, a guide and a favourites archive.

* `lineage.grass` (package data): a colour, size and caption per label of graphstore.schema, runs
  filled by their status label (green succeeded, red failed, yellow running, grey stopped or
  deleted), the kind of a run in its border; relationship captions.
* the guide (`guide.html`, generated; package data too): slides in Browser's guide format that
  introduce the graph and give each query as runnable blocks, its example parameters first as
  `:param` blocks. The queries are `graphstore.queries.QUERIES` when that module exists, else
  graphstore.examples.EXAMPLES.
* `favorites.zip`: the same queries as `.cypher` files, which Browser imports as favourites when the
  archive is dropped onto it.

A server applies the first two when a user connects with two settings (see `browser_settings`):
`browser.post_connect_cmd` runs `:style URL` and `:play URL`, and
`browser.remote_content_hostname_whitelist` lets Browser fetch from that host.

    python -m graphstore.browser          # rewrite the packaged guide.html (after a query changed)
    python -m graphstore.browser DIR      # write style.grass, guide.html and favorites.zip into DIR
"""
from __future__ import annotations

import html
import importlib
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STYLE_PATH = HERE / "lineage.grass"
GUIDE_PATH = HERE / "guide.html"
# The names the files are served under, next to each other (a server mounts them at one prefix).
STYLE_FILE, GUIDE_FILE, FAVORITES_FILE = "style.grass", "guide.html", "favorites.zip"
FAVORITES_FOLDER = "Lineage"


@dataclass(frozen=True)
class GuideQuery:
    """A query as the guide and the favourites show it: runnable with its example parameters."""

    title: str
    description: str
    cypher: str
    params: Mapping[str, Any] = field(default_factory=dict)


# What the guide opens with: graph-shaped queries, where the style shows (the product's queries
# mostly return tables). Documentation only; nothing else runs them.
EXPLORE: tuple[GuideQuery, ...] = (
    GuideQuery(
        "The latest execution of every pipeline, its step runs and their jobs",
        "Runs are filled by status: green succeeded (or completed), red failed, yellow starting or running, "
        "grey stopped; the border tells what ran.",
        """MATCH (e:PipelineExecution)-[:OF]->(p:Pipeline)
WITH p, e ORDER BY e.start_time DESC
WITH p, collect(e)[0] AS latest
MATCH run = (r:StepRun)-[:IN]->(latest)-[:OF]->(p)
OPTIONAL MATCH job = (r)-[:RAN_AS]->(:Job)
RETURN run, job""",
    ),
    GuideQuery(
        "Failed step runs, with their execution, pipeline and job",
        "Status labels make runs easy to select: `StepRun:Failed`, `PipelineExecution:Succeeded`, "
        "`Job:InProgress`.",
        """MATCH run = (r:StepRun:Failed)-[:IN]->(:PipelineExecution)-[:OF]->(:Pipeline)
OPTIONAL MATCH job = (r)-[:RAN_AS]->(:Job)
RETURN run, job
LIMIT 100""",
    ),
    GuideQuery(
        "A pipeline's definition: its steps, their order and the data they read and write",
        "Lineage points the way data flows: `Dataset -[:FEEDS]-> Step -[:PRODUCES]-> Dataset`; `PRECEDES` orders steps.",
        """MATCH (p:Pipeline {name: $pipeline})-[:HAS_STEP]->(s:Step)
OPTIONAL MATCH flow = (s)-[:PRECEDES]->(:Step)
OPTIONAL MATCH data = (:Dataset)-[:FEEDS]->(s)
OPTIONAL MATCH out = (s)-[:PRODUCES]->(:Dataset)
RETURN p, s, flow, data, out""",
        {"pipeline": "churn-training"},
    ),
    GuideQuery(
        "Everything downstream of a dataset",
        "Follows FEEDS and PRODUCES across steps, jobs and pipelines, to models.",
        """MATCH path = (:Dataset {uri: $uri})-[:FEEDS|PRODUCES*1..8]->()
RETURN path
LIMIT 200""",
        {"uri": "s3://acme-ml-data/churn/raw/"},
    ),
)


def style() -> str:
    """The GraSS text of the lineage style."""
    return STYLE_PATH.read_text()


def grass_rules(text: str) -> dict[str, dict[str, str]]:
    """selector → {property: value}, read as Neo4j Browser 5 reads a .grass file (its parseGrass: no
    comments; quotes only delimit; a property with a second `:` is dropped), in order: later rules win."""
    raw: dict[str, str] = {}
    selector, body, in_string, in_props, in_binding = "", "", False, False, False
    for c in text:
        if c in "'\"":
            in_string = not in_string
            continue
        if c == "{" and not in_string:
            if in_props:
                in_binding = True
            else:
                in_props = True
                continue
        elif c == "}" and not in_string:
            if in_binding:
                in_binding = False
            else:
                in_props = False
                raw[selector], selector, body = body, "", ""
                continue
        if in_props:
            body += c
        elif not c.isspace():
            selector += c
    rules: dict[str, dict[str, str]] = {}
    for name, declarations in raw.items():
        rules[name] = {}
        for declaration in declarations.split(";"):
            parts = declaration.split(":")
            if len(parts) == 2:
                rules[name][parts[0].strip()] = parts[1].strip()
    return rules


def guide_queries() -> list[GuideQuery]:
    """The product's named queries (graphstore.queries) when it exists, else the examples."""
    try:
        queries = importlib.import_module("graphstore.queries").QUERIES
    except (ImportError, AttributeError):
        from graphstore.examples import EXAMPLES

        return [GuideQuery(e.title, "", e.cypher, dict(e.params)) for e in EXAMPLES]
    entries: Iterable[Any] = queries.values() if isinstance(queries, Mapping) else queries
    return [GuideQuery(getattr(q, "title", None) or q.name, q.description or "", q.cypher, _example(q))
            for q in entries]


def _example(query: Any) -> dict[str, Any]:
    """A library query's example parameters, completed with the defaults of the others its Cypher names
    (`$limit` too: Browser refuses to run a query with a parameter unset)."""
    example = dict(getattr(query, "example_params", None) or {})
    validate = getattr(query, "validate", None)
    full = dict(validate(example)) if callable(validate) else example
    named = set(re.findall(r"\$(\w+)", query.cypher))
    return {name: value for name, value in full.items() if name in named}


def cypher_literal(value: Any) -> str:
    """A Cypher expression for a parameter value (what `:param name => …` evaluates)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"datetime('{value.isoformat()}')"
    if isinstance(value, date):
        return f"date('{value.isoformat()}')"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_name(str(k))}: {cypher_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    raise TypeError(f"no Cypher literal for {type(value).__name__}")


def _name(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "`" + name.replace("`", "``") + "`"


def param_commands(params: Mapping[str, Any]) -> list[str]:
    return [f":param {_name(name)} => {cypher_literal(value)}" for name, value in params.items()]


def _code(text: str) -> str:
    """Markdown-ish `code` spans of a description as <code>, the rest escaped."""
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _query_slide(query: GuideQuery, heading: str) -> str:
    lines = [f"<h3>{html.escape(query.title)}</h3>"]
    if query.description:
        lines.append(f"<p>{_code(query.description)}</p>")
    if query.params:
        lines.append("<p>Set its parameters first (click the ▶ of each, or edit the value):</p>")
        lines += [f'<pre class="runnable">{html.escape(c)}</pre>' for c in param_commands(query.params)]
    lines.append(f'<pre class="runnable">{html.escape(query.cypher)}</pre>')
    return _slide(heading, lines)


def _slide(heading: str, lines: list[str]) -> str:
    body = "\n".join("      " + line for line in lines)
    return (f'  <slide class="row-fluid">\n    <div class="col-sm-12">\n      <p class="lead">{html.escape(heading)}</p>\n'
            f"{body}\n    </div>\n  </slide>")


_SWATCHES = (("#43A047", "#FFFFFF", "Succeeded · Completed"), ("#E53935", "#FFFFFF", "Failed · CompletedWithFailures"),
             ("#FDD835", "#2A2C34", "Starting · Executing · InProgress"),
             ("#9E9E9E", "#FFFFFF", "Stopping · Stopped · Deleting · DeleteFailed"))


def guide_html(queries: Sequence[GuideQuery] | None = None, explore: Sequence[GuideQuery] = EXPLORE) -> str:
    """The guide: an introduction, the graph views of `explore`, then one slide per query."""
    queries = guide_queries() if queries is None else queries
    swatches = " ".join(f'<span style="background:{bg};color:{fg};padding:2px 8px;border-radius:10px">'
                        f"{html.escape(text)}</span>" for bg, fg, text in _SWATCHES)
    intro = _slide("SageMaker lineage", [
        "<h3>The lineage graph</h3>",
        "<p>Pipelines, their steps and executions, the jobs each step run started, the S3 datasets they read "
        "and wrote, the models they registered, and SQL lineage from Git, kept current by the collector.</p>",
        "<p>Lineage relationships point the way data flows (<code>Dataset -[:FEEDS]-&gt; Step -[:PRODUCES]-&gt; "
        "Dataset</code>), so <code>(x)-[:FEEDS|PRODUCES*]-&gt;(y)</code> is downstream of <code>x</code>; "
        "structure points from the part to the whole (<code>StepRun -[:IN]-&gt; PipelineExecution -[:OF]-&gt; "
        "Pipeline</code>).</p>",
        f"<p>Runs, executions and jobs are filled by their status: {swatches}.</p>",
        "<p>Click a block to put it in the editor, or its ▶ to run it. Every label and relationship:</p>",
        '<pre class="runnable">CALL db.schema.visualization()</pre>',
        f"<p>The next {len(explore)} slides draw parts of the graph; then {len(queries)} questions the "
        "collector's queries answer.</p>",
    ])
    slides = [intro]
    slides += [_query_slide(q, f"Explore {i} of {len(explore)}") for i, q in enumerate(explore, 1)]
    slides += [_query_slide(q, f"Question {i} of {len(queries)}") for i, q in enumerate(queries, 1)]
    slides.append(_slide("Keep it", [
        "<h3>The style and the queries, anywhere</h3>",
        "<p>This style and guide are applied when you connect to the collector's local Neo4j. On another "
        "Neo4j, run <code>:style URL</code> with the address of <code>style.grass</code> (or drop the file "
        "onto Browser) and <code>:play URL</code> with the address of this guide; "
        f"<code>{FAVORITES_FILE}</code>, served beside them, holds these queries for Browser's favourites "
        "(Favorites → Import).</p>",
        '<pre class="runnable">:style</pre>',
    ]))
    return ('<article class="guide">\n<carousel class="deck container-fluid">\n'
            + "\n".join(slides) + "\n</carousel>\n</article>\n")


def _favorite_name(title: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", title)).strip("_")[:80] + ".cypher"


def favorites_zip(queries: Sequence[GuideQuery] | None = None, explore: Sequence[GuideQuery] = EXPLORE) -> bytes:
    """Favourites for Browser's import: one `.cypher` file per query in one folder. The first line names
    the favourite (`// title`); the example parameters come first as `:param` statements."""
    queries = guide_queries() if queries is None else queries
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for query in [*explore, *queries]:
            lines = [f"// {query.title}"]
            lines += [f"// {line}" for line in query.description.splitlines()]
            lines += [f"{command};" for command in param_commands(query.params)]
            lines.append(query.cypher)
            info = zipfile.ZipInfo(f"{FAVORITES_FOLDER}/{_favorite_name(query.title)}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, "\n".join(lines) + "\n")
    return target.getvalue()


def post_connect_command(base_url: str) -> str:
    """Browser's post-connect command: apply the style, open the guide. `base_url` is where the files
    are served, ending with `/` (e.g. http://127.0.0.1:7474/lineage/)."""
    return f"style {base_url}{STYLE_FILE}; play {base_url}{GUIDE_FILE}"


def browser_settings(base_url: str, host: str) -> dict[str, str]:
    """The Neo4j settings that make Browser apply the style and open the guide on connect. `host` is the
    host name of `base_url` as users' browsers see it: Browser fetches only from listed hosts."""
    return {
        "browser.post_connect_cmd": post_connect_command(base_url),
        "browser.remote_content_hostname_whitelist": f"guides.neo4j.com,{host}",
    }


def write_assets(folder: Path, queries: Sequence[GuideQuery] | None = None) -> dict[str, Path]:
    """Write the style, the guide and the favourites into `folder` (created); returns name → path."""
    queries = guide_queries() if queries is None else queries
    folder.mkdir(parents=True, exist_ok=True)
    contents = {STYLE_FILE: style().encode(), GUIDE_FILE: guide_html(queries).encode(),
                FAVORITES_FILE: favorites_zip(queries)}
    written = {}
    for name, data in contents.items():
        path = folder / name
        partial = path.with_name(path.name + ".tmp")
        partial.write_bytes(data)
        partial.replace(path)
        written[name] = path
    return written
