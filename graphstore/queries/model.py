"""What a library query is: a name, constant Cypher, declared and validated parameters, result columns.

Values travel only as parameters. What cannot be a parameter is structure: the upper bound of a
variable-length pattern (Cypher wants a literal) and the node filter of `level` (a parameter in a
shortest-path pattern makes planning slow). A lineage query therefore has a builder of constant texts,
one per (depth, level); `cypher` is the one for the maximum depth and level `all`, which filters
`length(p) <= $depth` and so runs as it is at any depth (the Neo4j Browser guide runs it), and
`Query.text(params)` is the one the library runs, whose patterns stop at `depth`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

MAX_DEPTH = 12
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
STRUCTURAL = ("depth", "level")  # the parameters a builder takes


class QueryError(ValueError):
    """A query that cannot be run as asked; the message names the query and what is wrong."""

    def __init__(self, query: str, message: str) -> None:
        super().__init__(f"query {query}: {message}")
        self.query = query
        self.detail = message


class UnknownQuery(QueryError):
    pass


class ParameterError(QueryError):
    """A parameter is missing, unknown, ill-typed or out of bounds (the message names it)."""


class NodeNotFound(QueryError):
    pass


class AmbiguousNode(QueryError):
    pass


class QueryTimeout(QueryError):
    pass


REQUIRED: Any = object()  # the default of a parameter that must be given


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # "string", "integer", "datetime" or "choice"
    description: str
    default: Any = None  # REQUIRED, None (optional) or a value
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    anchor: str | None = None  # the node kind this parameter names; the runner checks it exists

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        """`name` (required), `name=default`, or `name` (optional): for tables of parameters."""
        if self.required:
            return f"{self.name} (required)"
        return self.name if self.default is None else f"{self.name}={self.default}"

    def rule(self) -> str:
        """The constraint in words: what the error message says the value must be."""
        if self.type == "integer":
            return f"an integer between {self.minimum} and {self.maximum}"
        if self.type == "datetime":
            return "an ISO 8601 date-time (e.g. 2024-06-01T00:00:00Z) or date"
        if self.type == "choice":
            return f"one of {', '.join(self.choices)}"
        return "a non-empty string"

    def coerce(self, query: str, value: Any) -> Any:
        """The value as the Cypher expects it (int, ISO string, choice), or ParameterError."""
        if value is None:
            return None
        wrong = ParameterError(query, f"parameter {self.name} must be {self.rule()}")
        if self.type == "integer":
            if isinstance(value, bool):
                raise wrong
            try:
                number = int(value) if isinstance(value, int) else int(str(value).strip(), 10)
            except ValueError:
                raise wrong from None
            if (self.minimum is not None and number < self.minimum) or (
                    self.maximum is not None and number > self.maximum):
                raise wrong
            return number
        if self.type == "datetime":
            return _iso_datetime(value, wrong)
        text = value if isinstance(value, str) else None
        if text is None or not text.strip():
            raise wrong
        text = text.strip()
        if self.type == "choice" and text not in self.choices:
            raise wrong
        return text


_MAX_OFFSET = timedelta(hours=18)


def _iso_datetime(value: Any, wrong: ParameterError) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise wrong from None
    else:
        raise wrong
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    offset = moment.utcoffset() or timedelta()
    if abs(offset) > _MAX_OFFSET or offset % timedelta(minutes=1):
        raise wrong  # Python takes up to ±23:59:59.999999; Neo4j (java.time) whole minutes within ±18:00
    return moment.isoformat()


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    json: bool = False  # stored as JSON text: decoded in results
    in_table: bool = True  # shown by the CLI's table format (json and csv have every column)


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    cypher: str
    params: tuple[Param, ...]
    columns: tuple[Column, ...]
    example_params: Mapping[str, Any] = field(default_factory=dict)
    family: str = ""
    graph: bool = False  # QueryLibrary.subgraph serves it
    # Plan leaves other than seeks this query may start from, with the reason (tests/test_query_plans.py).
    index_scans: Mapping[str, str] = field(default_factory=dict)
    build: Callable[..., str] | None = None  # (depth=, level=) -> the constant text of that variant

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def text(self, params: Mapping[str, Any]) -> str:
        """The constant text to run with these (validated) parameters: the builder's variant for their
        depth and level, or `cypher`."""
        if self.build is None:
            return self.cypher
        names = {p.name for p in self.params}
        return self.build(**{k: params[k] for k in STRUCTURAL if k in names and params.get(k) is not None})

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared parameter, coerced, with defaults; ParameterError naming the first bad one."""
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(self.name, f"unknown parameter {unknown[0]} (parameters: {', '.join(sorted(known))})")
        out: dict[str, Any] = {}
        for p in self.params:
            given = params.get(p.name)
            if given is None or (isinstance(given, str) and not given.strip()):
                if p.required:
                    raise ParameterError(self.name, f"parameter {p.name} is required: {p.description}")
                out[p.name] = p.default
                continue
            out[p.name] = p.coerce(self.name, given)
        return out


def depth_param(default: int = 6, description: str = "") -> Param:
    return Param("depth", "integer", description or f"how many relationships away at most (1 to {MAX_DEPTH})",
                 default, 1, MAX_DEPTH)


def limit_param(default: int = DEFAULT_LIMIT) -> Param:
    return Param("limit", "integer", f"rows at most (1 to {MAX_LIMIT:,})", default, 1, MAX_LIMIT)
