"""The product's wheel and image hold the product only: nothing of the dev tools, nothing that needs moto.

The dev tools (simulated AWS account, demo, local Neo4j launcher) are their own distribution,
devtools/ (package lineage_dev). The wheel is built once per module from a copy of this checkout,
as `pip install .` builds it (an isolated build, in a temporary folder).
"""
from __future__ import annotations

import ast
import email.parser
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("collector", "config", "graphstore", "jobs")
DEV_ONLY = ("moto", "lineage_dev")
# The only places the product may name the dev tools: the `dev neo4j` and `demo` commands import
# them inside the function and say in one line when they are not installed.
LAZY_DEV_IMPORTS = {("jobs/cli.py", "cmd_dev", "lineage_dev"), ("jobs/cli.py", "cmd_demo", "lineage_dev")}
NOT_INSTALLED = "lineage-collector: the dev tools are not installed (pip install -e ./devtools, or make install)"
# The product's files that are not Python: what graphstore.browser serves to Neo4j Browser.
PACKAGE_DATA = {"graphstore/browser/lineage.grass", "graphstore/browser/guide.html"}
# Not copied into the build: what .gitignore keeps out of the repository, and the repository itself.
UNTRACKED = (".git", ".venv", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache", ".env",
             ".cache", "neo4j-data")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*UNTRACKED))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                             "--wheel-dir", str(work / "out"), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    (built,) = (work / "out").glob("sagemaker_lineage_collector-*.whl")
    with zipfile.ZipFile(built) as zf:
        yield zf


@pytest.fixture(scope="module")
def unpacked(wheel: zipfile.ZipFile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    wheel.extractall(target)
    return target


def product_files(wheel: zipfile.ZipFile) -> list[str]:
    return [n for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")]


def test_the_wheel_holds_the_product_modules_only(wheel: zipfile.ZipFile) -> None:
    files = product_files(wheel)
    dev = [n for n in files if n.startswith("lineage_dev/") or n.endswith((".java", ".xml", ".json"))
           or any(part in n.split("/") for part in ("sim", "demo", "neo4j_launcher", "pipelines"))
           or n.endswith("/local_neo4j.py")]
    assert dev == []
    assert [n for n in files if n.split("/")[0] not in PRODUCT or not (n.endswith(".py") or n in PACKAGE_DATA)] == []
    assert set(files) >= PACKAGE_DATA  # Neo4j Browser's style and guide, read by graphstore.browser
    assert {n.split("/")[0] for n in files} == set(PRODUCT)
    assert {"jobs/cli.py", "graphstore/writer.py", "collector/__init__.py", "config/settings.py"} <= set(files)


def test_the_wheel_requires_neither_moto_nor_the_dev_tools(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = email.parser.Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist") or []
    unconditional = [r for r in requires if "extra ==" not in r]
    assert unconditional and not [r for r in unconditional if r.lower().startswith(("moto", "sagemaker-lineage-collector-dev"))]


def imported_modules(source: str) -> list[tuple[str, str]]:
    """(enclosing function or "", module) of every import in source, module-level and inside functions,
    including importlib.import_module("...") and __import__("...") with a literal name."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                found.extend((function, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((function, child.module))
            elif (isinstance(child, ast.Call) and child.args and isinstance(child.args[0], ast.Constant)
                  and isinstance(child.args[0].value, str)
                  and (getattr(child.func, "attr", None) == "import_module" or getattr(child.func, "id", None)
                       in ("__import__", "import_module"))):
                found.append((function, child.args[0].value))
            visit(child, inner)

    visit(ast.parse(source), "")
    return found


def test_no_module_of_the_wheel_imports_moto_or_the_dev_tools(wheel: zipfile.ZipFile) -> None:
    sources = [n for n in product_files(wheel) if n.endswith(".py")]
    dev_imports = {(path, function, module.split(".")[0])
                   for path in sources for function, module in imported_modules(wheel.read(path).decode())
                   if module.split(".")[0] in DEV_ONLY}
    assert len(sources) > 50
    assert dev_imports - LAZY_DEV_IMPORTS == set()


def run_without_dev_tools(unpacked: Path, code: str) -> subprocess.CompletedProcess:
    """Python in a process where the product comes from the unpacked wheel only and moto and lineage_dev are absent."""
    prelude = f"""
import importlib.abc, sys
from importlib.machinery import PathFinder
WHEEL = {str(unpacked)!r}

class WheelOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        spec = PathFinder.find_spec(name, path or [WHEEL]) if top in {PRODUCT!r} else None
        if top in {DEV_ONLY!r} or (top in {PRODUCT!r} and spec is None):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return spec

sys.meta_path.insert(0, WheelOnly())
"""
    return subprocess.run([sys.executable, "-I", "-c", prelude + code], cwd=unpacked, capture_output=True, text=True,
                          timeout=120)


def test_every_module_of_the_wheel_imports_without_moto_or_the_dev_tools(wheel: zipfile.ZipFile, unpacked: Path) -> None:
    modules = sorted(n.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                     for n in product_files(wheel) if n.endswith(".py"))
    result = run_without_dev_tools(unpacked, f"""
import importlib
for name in {modules!r}:
    module = importlib.import_module(name)
    assert module.__file__.startswith(WHEEL), (name, module.__file__)
print(len({modules!r}))
""")
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split() == [str(len(modules))]


@pytest.mark.parametrize("command", [["demo", "--no-wait"], ["dev", "neo4j"]])
def test_dev_commands_say_in_one_line_that_the_dev_tools_are_missing(unpacked: Path, command: list[str]) -> None:
    result = run_without_dev_tools(unpacked, f"from jobs.cli import main\nsys.exit(main({command!r}))")
    assert (result.returncode, result.stdout, result.stderr) == (2, "", NOT_INSTALLED + "\n")


def dockerfile_instructions() -> list[list[str]]:
    """Each instruction of deploy/Dockerfile as its words, continuation lines joined, comments dropped."""
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [words.split() for words in "\n".join(lines).replace("\\\n", " ").splitlines() if words.strip()]


def test_the_image_copies_and_installs_the_product_only() -> None:
    instructions = dockerfile_instructions()
    copied = [src for words in instructions if words[:1] == ["COPY"] for src in words[1:-1] if not src.startswith("--")]
    assert set(copied) == {"pyproject.toml", "README.md", "constraints.txt", *PRODUCT}
    runs = " ".join(" ".join(words) for words in instructions if words[:1] == ["RUN"])
    assert "pip install" in runs and not any(word in runs for word in ("devtools", "lineage_dev", "moto", " -e "))
    stages = [i for i, words in enumerate(instructions) if words[:1] == ["FROM"]]
    assert len(stages) == 2  # wheels built in the first stage; the second installs them only
    runtime = instructions[stages[1]:]
    assert not any(words[:1] == ["COPY"] for words in runtime)  # nothing of the source tree in the runtime stage
    runtime_runs = " ".join(" ".join(words) for words in runtime if words[:1] == ["RUN"])
    assert "--no-index" in runtime_runs and "--no-cache-dir" in runtime_runs
    assert ["ARG", 'EXTRAS=""'] in runtime  # no extra unless asked (docker-compose.yml's api asks for [api])
    directives = {words[0]: words[1:] for words in runtime}
    assert directives["USER"] != ["root"] and directives["STOPSIGNAL"] == ["SIGTERM"]
    assert directives["ENTRYPOINT"] == ['["lineage-collector"]'] and directives["CMD"] == ['["run"]']
    assert "/health/live" in " ".join(directives["HEALTHCHECK"])
    assert not any(word in " ".join(" ".join(w) for w in instructions).upper()
                   for word in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID=", "NEO4J_PASSWORD="))


def test_the_runtime_install_alone_syncs_and_consumes(wheel: zipfile.ZipFile, tmp_path: Path, settings_env, sim,
                                                     neo4j) -> None:
    """What the image's runtime stage holds, tried outside a container: the wheel with its default dependencies
    only, in a fresh virtual environment, runs the worker's commands against the simulated account and Neo4j."""
    import json
    import os

    from lineage_dev.sim.account import seed_demo_account
    from tests import event_samples as ev
    from tests.test_consumer import depth, make_queue, send

    venv = tmp_path / "runtime"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "-c", str(ROOT / "constraints.txt"), wheel.filename],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                               check=True).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert not names & {"moto", "pytest", "testcontainers", "playwright", "sagemaker-lineage-collector-dev",
                        "fastapi", "uvicorn", "hypothesis", "schemathesis"}
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"runtime venv: {size / 1e6:.0f} MB, {len(names)} distributions")

    env = {**os.environ, **settings_env, "LINEAGE_LOG_FORMAT": "json"}
    env.pop("PYTHONPATH", None)
    collector = str(venv / "bin" / "lineage-collector")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([collector, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert run("--help").returncode == 0
    seed_demo_account(sim)
    synced = run("sync", "--json")
    assert synced.returncode == 0, synced.stderr[-4000:]
    assert json.loads(synced.stdout)["pipelines"] == 7
    url, dlq = make_queue(sim.client("sqs"), "runtime-events")
    send(sim.client("sqs"), url, [ev.s3_eventbridge("acme-ml-data", f"landing/t/part-{i}.parquet", "created",
                                                    datetime(2024, 6, 3, tzinfo=timezone.utc), size=10 + i,
                                                    sequencer=f"{i + 1:018X}") for i in range(5)])
    consumed = run("consume", "--queue-url", url, "--until-empty")
    assert consumed.returncode == 0, consumed.stderr[-4000:]
    assert depth(sim.client("sqs"), url) == 0 and depth(sim.client("sqs"), dlq) == 0
    records, _, _ = neo4j.execute_query("MATCH (d:Dataset) WHERE d.object_count >= 5 RETURN count(d) AS n")
    assert records[0]["n"] >= 1
