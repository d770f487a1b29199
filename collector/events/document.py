"""JSON text -> a document safe to validate: any failure is a MalformedMessage, never another exception.

`json.loads` alone raises RecursionError for deep nesting, accepts NaN and Infinity, and returns lone
surrogates (`"\\ud800"`) that no UTF-8 encoder (the Neo4j driver's included) can write. `load`
rejects all of these with a reason; `check` walks a document iteratively (no recursion, so no depth
can overflow the stack) for the same limits.
"""
from __future__ import annotations

import json
import math
from typing import Any

from collector.events.model import MalformedMessage

MAX_DEPTH = 64          # AWS event shapes nest about 8 levels deep; envelopes add a few
_INT_RANGE = 1 << 63    # Neo4j integers are 64-bit


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range")
    return value


def load(text: str, what: str) -> Any:
    """Parse JSON text and `check` it; raises MalformedMessage naming `what` and the reason."""
    try:
        doc = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise MalformedMessage(f"{what} is not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise MalformedMessage(f"{what} is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # NaN, Infinity, 1e999, an integer with more digits than int() converts
        raise MalformedMessage(f"{what} is not JSON ({exc})") from None
    check(doc, what)
    return doc


def check(doc: Any, what: str) -> None:
    """Raise MalformedMessage if the document nests deeper than MAX_DEPTH, holds text that is not valid
    Unicode (lone surrogates) in a key or a value, or an integer outside 64 bits."""
    if not _fine(doc):
        raise MalformedMessage(f"{what}: {_problem(doc)}")


def _fine(doc: Any) -> bool:
    """The fast pass: no paths kept (most documents are fine)."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and not _utf8(value):
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, item in value.items():
                if not key.isascii() and not _utf8(key):
                    return False
                push((item, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            stack.extend((item, depth + 1) for item in value)
        elif kind is int and not -_INT_RANGE <= value < _INT_RANGE:
            return False
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem(doc: Any) -> str:
    """The slow pass, for the reason: the first problem found, with where it is."""
    stack: list[tuple[Any, int, str]] = [(doc, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str) and not _utf8(value):
            return f"{path or 'text'} holds a lone surrogate, not valid Unicode"
        if isinstance(value, (dict, list)) and depth >= MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key!s:.40}" if path else f"{key!s:.40}"
                if not _utf8(key):
                    return f"key {where.encode('utf-8', 'backslashreplace').decode()!r} holds a lone surrogate, " \
                           "not valid Unicode"
                stack.append((item, depth + 1, where))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and not -_INT_RANGE <= value < _INT_RANGE:
            return f"{path or 'value'} is an integer outside 64 bits"
    return "invalid"
