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


def test_the_image_copies_and_installs_the_product_only() -> None:
    lines = [line.split() for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()]
    copied = [src for words in lines if words[:1] == ["COPY"] for src in words[1:-1] if not src.startswith("--")]
    assert set(copied) == {"pyproject.toml", "README.md", "constraints.txt", *PRODUCT}
    runs = " ".join(" ".join(words) for words in lines if words[:1] == ["RUN"])
    assert "pip install" in runs and not any(word in runs for word in ("devtools", "lineage_dev", "moto", " -e "))
