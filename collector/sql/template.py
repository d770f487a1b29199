"""dbt-style Jinja templating: render `ref`, `source`, `config`, `var`, `this`, `is_incremental` and
simple control blocks so dbt models parse as SQL; unknown macros render as nothing.

Rendering is sandboxed (no attribute access to Python internals) and never fails the caller:
when Jinja cannot render a file, the tags are stripped by pattern instead.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedEnvironment

_HAS_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_DBT_HINT = re.compile(r"\{\{\s*(ref|source|config)\s*\(")


@dataclass
class Rendered:
    sql: str
    is_dbt: bool  # the file is a dbt model: a plain SELECT defines the model's table
    model: str | None = None  # the table a dbt model builds (schema.alias from config, else the file name)
    error: str | None = None  # why Jinja rendering fell back to stripping
    config: dict[str, Any] = field(default_factory=dict)


class _Quiet(Undefined):
    """An unknown name or macro: callable, iterable, attribute-able, renders as ''."""

    # Undefined types __call__ as NoReturn (it raises); a quiet Undefined returns itself instead.
    def __call__(self, *args: Any, **kwargs: Any) -> _Quiet:  # type: ignore[override]
        return self

    def __getattr__(self, name: str) -> _Quiet:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __str__(self) -> str:
        return ""

    def __bool__(self) -> bool:
        return False


def _quote_name(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def needs_rendering(text: str) -> bool:
    return bool(_HAS_TEMPLATE.search(text))


def render(text: str, model_name: str | None = None, variables: dict[str, Any] | None = None) -> Rendered:
    """Render a dbt/Jinja SQL file. `model_name` is the file's stem (a dbt model's default table name)."""
    is_dbt = bool(_DBT_HINT.search(text))
    if not needs_rendering(text):
        return Rendered(text, is_dbt=False)
    config: dict[str, Any] = {}
    variables = variables or {}

    def ref(*args: Any, **kwargs: Any) -> str:
        names = [a for a in args if isinstance(a, str)]
        return names[-1] if names else ""

    def source(source_name: str, table_name: str) -> str:
        return _quote_name(source_name, table_name)

    def set_config(*args: Any, **kwargs: Any) -> str:
        config.update(kwargs)
        return ""

    def var(name: str, default: Any = None) -> Any:
        return variables.get(name, default if default is not None else name)

    def env_var(name: str, default: Any = "") -> Any:
        return default

    env = SandboxedEnvironment(undefined=_Quiet, extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    context = {
        "ref": ref, "source": source, "config": set_config, "var": var, "env_var": env_var,
        "is_incremental": lambda: False, "this": model_name or "this", "target": {"name": "dev", "schema": ""},
        "log": lambda *a, **k: "", "return": lambda value=None: "",
    }
    try:
        sql = env.from_string(text).render(**context)
        error = None
    except (TemplateError, Exception) as exc:  # any Jinja failure: fall back to stripping tags
        sql, error = strip(text, model_name), f"template not rendered ({type(exc).__name__}: {exc}); tags stripped"
    model = None
    if is_dbt and model_name:
        alias = config.get("alias") or model_name
        schema = config.get("schema")
        model = _quote_name(str(schema), str(alias)) if isinstance(schema, str) and schema else str(alias)
    return Rendered(sql, is_dbt=is_dbt, model=model, error=error, config=config)


_REF = re.compile(r"\{\{\s*ref\s*\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?['\"]([^'\"]+)['\"][^)]*\)\s*\}\}")
_SOURCE = re.compile(r"\{\{\s*source\s*\(\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]\s*\)\s*\}\}")
_THIS = re.compile(r"\{\{\s*this\s*\}\}")
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_BLOCK = re.compile(r"\{%-?.*?-?%\}", re.S)
_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
_LEFTOVER = re.compile(r"(\{\{|\{%)[^\n]*")


def strip(text: str, model_name: str | None = None) -> str:
    """Pattern-based fallback: keep ref/source/this as names, drop every other tag."""
    text = _COMMENT.sub("", text)
    text = _REF.sub(lambda m: m.group(1), text)
    text = _SOURCE.sub(lambda m: f"{m.group(1)}.{m.group(2)}", text)
    text = _THIS.sub(model_name or "this", text)
    text = _BLOCK.sub("", text)
    text = _EXPR.sub("", text)
    return _LEFTOVER.sub("", text)  # an unclosed tag: drop it to the end of its line
