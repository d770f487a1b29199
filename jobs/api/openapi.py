"""The published OpenAPI document, made to say what the API does.

The routes read their query parameters as text and check them themselves (so a bad value is a 400 with a
message that names it, never FastAPI's 422); this module gives those parameters their real types and bounds,
drops the 422 no route answers, and lists each query of the library as its own path (`/queries/upstream`,
...) with its parameters, example and answer (the route is the one `/queries/{name}`).
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from graphstore.queries import QUERIES
from graphstore.queries.model import Param
from graphstore.queries.model import Query as LibraryQuery
from jobs.api.models import ErrorBody

MAX_PAGE = 1000
MAX_OFFSET = 10_000_000
VIEWS = ("pipeline", "data", "both")
ERROR = {"$ref": "#/components/schemas/ErrorBody"}

_BOOL = {"type": "boolean", "default": True, "description": "true/false/1/0 (any case); default true"}
_NAME = {"type": "string", "minLength": 1}
# The routes' parameters, by name (one meaning everywhere), as their handlers check them, with an example from
# the demo account (`make demo`).
PARAMETERS: dict[str, dict[str, Any]] = {
    "regions": {"type": "string", "description": "comma-separated regions; all when absent"},
    "region": {"type": "string", "description": "one region; all when absent"},
    "domain": {**_NAME, "description": "a Studio domain name or id"},
    "pipeline": {**_NAME, "description": "the pipeline name"},
    "includeLatestExec": _BOOL,
    "view": {"type": "string", "enum": list(VIEWS), "default": "both"},
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    "bucket": {**_NAME, "description": "the S3 bucket"},
    "prefix": {**_NAME, "description": "the dataset's prefix in the bucket (slashes allowed)"},
}
EXAMPLES = {"regions": "us-east-1", "region": "us-east-1", "domain": "ml-platform", "pipeline": "churn-training",
            "bucket": "acme-ml-data", "prefix": "churn/raw"}
REQUIRED = {("/lineage", "pipeline"), ("/lineage/by-domain", "domain")}

ERRORS = {
    400: "a missing or bad parameter",
    401: "no valid bearer token (when LINEAGE_API_TOKENS is set)",
    404: "not in the graph",
    411: "a POST without a Content-Length",
    413: "a body over LINEAGE_API_MAX_BODY_BYTES",
    500: "internal error (with the requestId of the log line)",
    503: "Neo4j unavailable",
    504: "a read ran past its transaction timeout",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` for these error statuses, every one an ErrorBody."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}


def _library_schema(param: Param) -> dict[str, Any]:
    schema: dict[str, Any]
    if param.type == "integer":
        schema = {"type": "integer", "minimum": param.minimum, "maximum": param.maximum}
    elif param.type == "choice":
        schema = {"type": "string", "enum": list(param.choices)}
    elif param.type == "datetime":
        schema = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    else:
        schema = {"type": "string", "pattern": r"\S"}  # blank is absent
    if not param.required and param.default is not None:
        schema["default"] = param.default
    return schema


def _library_operation(q: LibraryQuery, error_codes: list[str]) -> dict[str, Any]:
    names = [p.name for p in q.params]
    columns = [c.name for c in q.columns]
    answer = {
        "type": "object", "additionalProperties": False,
        "required": ["query", "params", "columns", "rows", "truncated"],
        "properties": {
            "query": {"const": q.name},
            "params": {"type": "object", "additionalProperties": False, "required": names,
                       "properties": {n: {} for n in names}, "description": "every parameter, as the query ran"},
            "columns": {"const": columns},
            "rows": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                "required": columns, "properties": {c: {} for c in columns}}},
            "truncated": {"type": "boolean", "description": "as many rows as the limit"},
        },
    }
    parameters = []
    for p in q.params:
        entry: dict[str, Any] = {"name": p.name, "in": "query", "required": p.required,
                                 "description": p.description, "schema": _library_schema(p)}
        if not p.required:
            entry["allowEmptyValue"] = True  # empty is absent: the default
        if p.name in q.example_params:
            entry["example"] = q.example_params[p.name]
        parameters.append(entry)
    responses: dict[str, Any] = {"200": {"description": "the query's columns and rows",
                                         "content": {"application/json": {"schema": answer}}}}
    for code in error_codes:
        responses[code] = {"description": ERRORS[int(code)], "content": {"application/json": {"schema": ERROR}}}
    return {"get": {"tags": ["queries"], "summary": f"Query {q.name}", "description": q.description,
                    "operationId": f"query_{q.name.replace('-', '_')}", "parameters": parameters,
                    "responses": responses}}


def truthful(schema: dict[str, Any]) -> dict[str, Any]:
    """The generated document with the parameters' real types, no 422, and the library's queries as paths."""
    for path, item in schema["paths"].items():
        for operation in item.values():
            operation["responses"].pop("422", None)
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if name not in PARAMETERS:
                    continue
                parameter["schema"] = dict(PARAMETERS[name])
                if parameter["in"] == "query":
                    parameter["required"] = (path, name) in REQUIRED
                    if not parameter["required"]:
                        parameter["allowEmptyValue"] = True  # empty is absent: the default
                if name in EXAMPLES:
                    parameter["example"] = EXAMPLES[name]
    generic = schema["paths"]["/queries/{name}"]["get"]
    error_codes = [c for c in generic["responses"] if c != "200"]
    generic["description"] += " Each query's parameters are those of its own path (`/queries/upstream`, ...)."
    generic["parameters"] = [{"name": "name", "in": "path", "required": True, "description": "a query of the library",
                              "schema": {"type": "string", "enum": [q.name for q in QUERIES]}}]
    for q in QUERIES:
        schema["paths"][f"/queries/{q.name}"] = _library_operation(q, error_codes)
    components = schema.get("components", {}).get("schemas", {})
    if "SqlRequest" in components:
        from sqlglot.dialects.dialect import Dialects

        dialects = sorted(d.value for d in Dialects if d.value)
        components["SqlRequest"]["properties"]["dialect"]["anyOf"] = [{"type": "string", "enum": dialects},
                                                                       {"type": "null"}]
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


class LineageApi(FastAPI):
    """FastAPI whose /openapi.json is `truthful`."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            self.openapi_schema = truthful(super().openapi())
        return self.openapi_schema
