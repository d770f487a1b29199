"""The FastAPI application: the earlier tools' HTTP API, read-only, every answer from Neo4j (no AWS call).

Errors are `{"message": ...}`: 400 for a bad or missing parameter, 401 without a valid bearer token (when
LINEAGE_API_TOKENS is set; /health stays open), 404 for what the graph does not hold, 413/411 for a body too
large or of no declared length, 503 when Neo4j does not answer, 504 when a read runs past its transaction
timeout, and 500 `{"message": "internal error", "requestId"}`, the trace logged with that id.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from neo4j import Driver, GraphDatabase
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from config import Settings
from graphstore.api_reads import ApiReads, ReadTimeout
from graphstore.connection import Neo4jOutage
from graphstore.queries import (
    QUERIES,
    REQUIRED,
    AmbiguousNode,
    NodeNotFound,
    ParameterError,
    QueryError,
    QueryLibrary,
    QueryTimeout,
    UnknownQuery,
)
from graphstore.views import PipelineNotFound
from jobs.api import models
from jobs.api.openapi import MAX_OFFSET, MAX_PAGE, VIEWS, LineageApi, errors

log = logging.getLogger("lineage.api")
NEO4J = (401, 500, 503, 504)  # every route that reads the graph may answer these


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SqlRequest(BaseModel):
    sql: str = Field(description="the SQL text (one or more statements)")
    dialect: str | None = Field(None, description="sqlglot dialect name (spark, snowflake, bigquery, postgres, ...)")


def version() -> str:
    try:
        return metadata.version("sagemaker-lineage-collector")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    """true/false/1/0 (any case); absent or empty is the default."""
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be true, false, 1 or 0")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _int(name: str, value: str | None, default: int, minimum: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer between {minimum} and {maximum}") from None
    if not minimum <= number <= maximum:
        raise ApiError(400, f"{name} must be an integer between {minimum} and {maximum}")
    return number


def open_api_driver(settings: Settings) -> Driver:
    """A driver that fails fast: a short connection timeout and few retries, so an outage is a quick 503."""
    return GraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth, user_agent="sagemaker-lineage-collector",
                                notifications_min_severity="OFF", connection_timeout=3.0,
                                max_transaction_retry_time=2.0, connection_acquisition_timeout=10.0)


def _query_json(q: Any) -> dict[str, Any]:
    return {
        "name": q.name, "description": q.description, "family": q.family, "graph": bool(getattr(q, "graph", False)),
        "params": [{"name": p.name, "type": p.type, "description": p.description, "required": p.required,
                    "default": None if p.default is REQUIRED else p.default, "minimum": p.minimum,
                    "maximum": p.maximum, "choices": list(p.choices) or None} for p in q.params],
        "columns": [{"name": c.name, "description": c.description} for c in q.columns],
        "example": dict(q.example_params),
    }


def create_app(settings: Settings, driver: Driver | None = None) -> FastAPI:
    own_driver = driver is None
    neo4j = driver or open_api_driver(settings)
    database = settings.neo4j_database
    timeout = settings.api_neo4j_timeout_seconds
    reads = ApiReads(neo4j, database, timeout=timeout)
    library = QueryLibrary(neo4j, database, timeout=timeout)
    tokens = [t.get_secret_value().encode() for t in settings.api_tokens if t.get_secret_value()]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own_driver:
            neo4j.close()

    app = LineageApi(title="sagemaker-lineage-collector", version=version(), lifespan=lifespan,
                  description="Read-only lineage from Neo4j: pipelines, lineage, datasets, SQL, the query library.")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    @app.exception_handler(Neo4jOutage)
    async def _outage(_: Request, exc: Neo4jOutage) -> JSONResponse:
        log.warning("Neo4j did not answer: %s", exc)
        return JSONResponse({"message": "Neo4j unavailable"}, status_code=503)

    @app.exception_handler(ReadTimeout)
    async def _timeout(_: Request, exc: ReadTimeout) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=504)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return JSONResponse({"message": f"{where}: {first.get('msg', 'invalid')}"}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = uuid.uuid4().hex
        response: Response
        if tokens and request.url.path != "/health" and request.method != "OPTIONS":
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not any(secrets.compare_digest(token.strip().encode(), t)
                                                     for t in tokens):
                response = JSONResponse({"message": "unauthorized"}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                response.headers["X-Request-ID"] = request_id
                return response
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            problem: tuple[int, str] | None = None
            if length is None:
                problem = (411, "a Content-Length is required")
            elif not length.isdigit():
                problem = (400, "bad Content-Length")
            elif int(length) > settings.api_max_body_bytes:
                problem = (413, f"body too large (at most {settings.api_max_body_bytes} bytes)")
            if problem:
                response = JSONResponse({"message": problem[1]}, status_code=problem[0])
                response.headers["X-Request-ID"] = request_id
                return response
        try:
            response = await call_next(request)
        except Exception:
            log.exception("internal error requestId=%s %s %s", request_id, request.method, request.url.path)
            response = JSONResponse({"message": "internal error", "requestId": request_id}, status_code=500)
        response.headers["X-Request-ID"] = request_id
        return response

    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Request-ID"])

    @app.get("/health", tags=["health"], response_model=models.Health, responses=errors(500))
    def health() -> dict[str, Any]:
        """ok when Neo4j answers, degraded when it does not."""
        try:
            reads.ping()
            up = True
        except Exception as exc:
            log.warning("health: Neo4j did not answer: %s", exc)
            up = False
        return {"status": "ok" if up else "degraded", "version": version(), "neo4j": up}

    @app.get("/inventory", tags=["sagemaker"], response_model=models.Inventory, responses=errors(*NEO4J))
    def inventory(regions: str | None = None) -> dict[str, Any]:
        """Region -> Studio domains and pipelines (comma-separated regions; all when absent)."""
        return reads.api_inventory(_csv(regions) or None)

    @app.get("/sagemaker/pipelines", tags=["sagemaker"], response_model=models.PipelinePage,
             responses=errors(400, *NEO4J))
    def pipelines(region: str | None = None, limit: str | None = None, offset: str | None = None) -> dict[str, Any]:
        """One page of pipelines (by region, name), with `total` and `nextOffset` (null on the last page)."""
        return reads.pipeline_page(region or None, _int("limit", limit, 100, 1, MAX_PAGE),
                                   _int("offset", offset, 0, 0, MAX_OFFSET))

    def _view(view: str | None) -> str:
        if view in (None, ""):
            return "both"
        if view not in VIEWS:
            raise ApiError(400, "view must be pipeline, data or both")
        return view

    @app.get("/lineage", tags=["lineage"], response_model=models.Lineage, response_model_exclude_unset=True,
             responses=errors(400, 404, *NEO4J))
    def lineage(pipeline: str | None = None, region: str | None = None, domain: str | None = None,
                includeLatestExec: str | None = None, view: str | None = None) -> dict[str, Any]:
        """The `lineage` command's JSON: pipeline, summary, graph {nodes, edges, artifacts}, graphPipeline."""
        if not pipeline:
            raise ApiError(400, "pipeline is required")
        include = parse_bool("includeLatestExec", includeLatestExec, True)
        try:
            return reads.lineage(pipeline, region=region or None, domain=domain or None,
                                 include_latest_exec=include, view=_view(view))
        except PipelineNotFound:
            raise ApiError(404, "pipeline not found or domain filter mismatched") from None

    @app.get("/lineage/by-domain", tags=["lineage"], response_model=models.LineageByDomain,
             response_model_exclude_unset=True, responses=errors(400, *NEO4J))
    def lineage_by_domain(region: str | None = None, domain: str | None = None,
                          includeLatestExec: str | None = None, view: str | None = None) -> dict[str, Any]:
        """Every pipeline of a domain with its lineage; one failing pipeline is an error entry."""
        if not domain:
            raise ApiError(400, "domain is required")
        include = parse_bool("includeLatestExec", includeLatestExec, True)
        chosen = _view(view)
        results: list[dict[str, Any]] = []
        for row in reads.domain_pipelines(region or None, domain):
            try:
                data = reads.lineage(row["name"], region=row["region"], include_latest_exec=include, view=chosen)
                results.append({"pipeline": row["name"], "ok": True, "data": data})
            except (Neo4jOutage, ReadTimeout):
                raise
            except Exception:
                entry = f"{uuid.uuid4().hex}"
                log.exception("lineage of %s failed in by-domain requestId=%s", row["name"], entry)
                results.append({"pipeline": row["name"], "ok": False,
                                "error": f"internal error (requestId {entry})"})
        return {"region": region or None, "domain": domain, "count": len(results), "results": results}

    def _dataset(bucket: str, prefix: str) -> dict[str, Any]:
        found = reads.schema_versions(f"s3://{bucket}/{prefix}")
        if found is None:
            raise ApiError(404, "dataset not found")
        return found

    @app.get("/datasets/{bucket}/{prefix:path}/schema/versions", tags=["datasets"],
             response_model=models.DatasetSchemaVersions, responses=errors(404, *NEO4J))
    def schema_versions(bucket: str, prefix: str) -> dict[str, Any]:
        """Every schema version of the dataset at s3://bucket/prefix, newest first."""
        return _dataset(bucket, prefix)

    @app.get("/datasets/{bucket}/{prefix:path}/schema", tags=["datasets"], response_model=models.DatasetSchema,
             responses=errors(404, *NEO4J))
    def schema(bucket: str, prefix: str) -> dict[str, Any]:
        """The current schema of the dataset at s3://bucket/prefix (`schema` null when none was read yet)."""
        found = _dataset(bucket, prefix)
        current = next((v for v in found["versions"] if v["current"]), None)
        return {"dataset": found["dataset"], "schema": current}

    @app.post("/sql/lineage", tags=["sql"], response_model=models.SqlLineage, response_model_exclude_unset=True,
              responses=errors(400, 401, 411, 413, 500))
    def sql_lineage(body: SqlRequest) -> dict[str, Any]:
        """Table- and column-level lineage of the SQL text (parsed here; no Neo4j), as `sql-lineage` prints it."""
        from collector.sql import SqlSource, extract_sources

        if body.dialect:
            from sqlglot.dialects.dialect import Dialect

            try:
                Dialect.get_or_raise(body.dialect)
            except ValueError:
                raise ApiError(400, f"unknown dialect {body.dialect}") from None
        results = extract_sources([SqlSource("-", body.sql)], body.dialect or None, {}, column_lineage=True,
                                  budget_seconds=settings.sql_column_budget_seconds)
        return {"files": [r.as_dict() for r in results]}

    @app.get("/queries", tags=["queries"], response_model=models.QueryList, responses=errors(401, 500))
    def queries() -> dict[str, Any]:
        """The query library: each query's parameters and columns."""
        return {"queries": [_query_json(q) for q in QUERIES]}

    @app.get("/queries/{name}", tags=["queries"], response_model=models.QueryAnswer,
             responses=errors(400, 404, *NEO4J))
    def run_query(name: str, request: Request) -> dict[str, Any]:
        """Run a query of the library; its parameters as query parameters (`?node=...&depth=3`)."""
        params = dict(request.query_params)
        try:
            return library.run(name, params).as_dict()
        except (UnknownQuery, NodeNotFound) as exc:
            raise ApiError(404, str(exc)) from None
        except QueryTimeout as exc:
            raise ApiError(504, str(exc)) from None
        except (ParameterError, AmbiguousNode, QueryError) as exc:
            raise ApiError(400, str(exc)) from None

    return app


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    log.info("serving the lineage API on http://%s:%d", host, port)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
