"""The API's answers as pydantic models: what /openapi.json publishes and what every answer is checked against.

Every model forbids keys it does not declare (`additionalProperties: false`), so an answer that grew a key the
schema does not know fails loudly (a 500 with a request id) instead of drifting from the published schema. A key
the views leave out when it does not apply (`summary` without the latest execution, a step's `parent`) is
`Absent`: not required, never null; routes serialize with `exclude_unset`, so an answer has the keys the
views gave it, and no others.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

Number = int | float  # as stored: an integer stays an integer


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """A key that may be missing but is never null."""
    return Field(None, json_schema_extra=_no_default)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Out):
    message: str
    requestId: str | SkipJsonSchema[None] = absent()  # 500 only: the id of the log line with the trace


class Health(Out):
    status: Literal["ok", "degraded"]
    version: str
    neo4j: bool


class Domain(Out):
    DomainId: str | None
    DomainName: str | None


class PipelineRow(Out):
    name: str
    arn: str
    lastModifiedTime: str | None
    tags: dict[str, Any]
    matchedDomain: str | None


class InventoryRegion(Out):
    region: str
    domains: list[Domain]
    pipelines: list[PipelineRow]


class Inventory(Out):
    regions: list[InventoryRegion]


class PagedPipeline(PipelineRow):
    region: str | None


class PipelinePage(Out):
    region: str | None
    total: int
    limit: int
    offset: int
    nextOffset: int | None = Field(description="the offset of the next page; null on the last page")
    pipelines: list[PagedPipeline]


# --- lineage (graphstore.views.Views.lineage) -------------------------------------------------------------

class PipelineRef(Out):
    name: str
    arn: str
    lastModifiedTime: str | None


class Summary(Out):
    overallStatus: str
    nodeStatus: dict[str, int]
    elapsedSec: Number | None


class DataRef(Out):
    name: str | None
    uri: str


class Run(Out):
    status: str | None
    startTime: str | None
    endTime: str | None
    elapsedSec: Number | None
    jobArn: str | None
    metrics: dict[str, Any]
    cacheHit: bool | None
    failureReason: str | None
    inputs: list[DataRef]
    outputs: list[DataRef]
    conditionOutcome: Any = absent()


class Node(Out):
    id: str
    type: str | None
    inputs: list[DataRef]
    outputs: list[DataRef]
    parent: str | SkipJsonSchema[None] = absent()
    branch: str | SkipJsonSchema[None] = absent()
    conditions: list[str] | SkipJsonSchema[None] = absent()
    error_message: str | SkipJsonSchema[None] = absent()
    job_kind: str | SkipJsonSchema[None] = absent()
    run: Run | SkipJsonSchema[None] = absent()


class Edge(Out):
    from_: str = Field(alias="from")
    to: str
    via: str | None
    label: str | None


class S3Posture(Out):
    encryption: str = Field(description="aws:kms, AES256, aws:kms:dsse, None (no default encryption) or Unknown")
    versioning: str = Field(description="Enabled, Suspended, Disabled or Unknown")
    publicAccess: str = Field(description="Blocked, NotBlocked, Public or Unknown")
    tags: dict[str, Any]


class Artifact(Out):
    id: str
    uri: str
    bucket: str
    key: str
    s3: S3Posture


class Graph(Out):
    nodes: list[Node]
    edges: list[Edge]
    artifacts: list[Artifact]


class FlowNode(Out):
    id: str = Field(description="`process:<step>` or `data:<s3 uri>`")
    kind: Literal["process", "data"]
    label: str


class FlowEdge(Out):
    source: str
    target: str
    kind: Literal["dependsOn", "read", "write"]


class GraphPipeline(Out):
    """Processes (steps) and data, for a graph library: every edge's ends are nodes of `nodes`."""
    nodes: list[FlowNode]
    edges: list[FlowEdge]


class LatestExecution(Out):
    arn: str
    status: str | None
    startTime: str | None
    endTime: str | None
    parameters: dict[str, Any]


class Lineage(Out):
    pipeline: PipelineRef
    summary: Summary | SkipJsonSchema[None] = absent()
    graph: Graph
    graphPipeline: GraphPipeline
    latestExecution: LatestExecution | SkipJsonSchema[None] = absent()


class DomainLineage(Out):
    pipeline: str
    ok: Literal[True]
    data: Lineage


class DomainLineageFailed(Out):
    pipeline: str
    ok: Literal[False]
    error: str


class LineageByDomain(Out):
    region: str | None
    domain: str
    count: int
    results: list[DomainLineage | DomainLineageFailed]


# --- datasets -------------------------------------------------------------------------------------------

class SchemaVersion(Out):
    id: str
    version: int | None
    current: bool
    fingerprint: str | None
    format: str | None
    columns: list[dict[str, Any]] = Field(description="[{name, type, nullable}], in the dataset's order")
    columnCount: int | None
    observedAt: str | None
    object: str | None
    rowCount: int | None
    drift: bool | None
    driftKinds: list[str] | None
    added: list[str] | None
    removed: list[str] | None
    change: str | None


class DatasetSchema(Out):
    dataset: str
    schema_: SchemaVersion | None = Field(alias="schema", description="null when no schema was read yet")


class DatasetSchemaVersions(Out):
    dataset: str
    current: str | None
    versions: list[SchemaVersion]


# --- SQL (collector.sql.model) --------------------------------------------------------------------------

class ColumnLineage(Out):
    target: str
    sources: list[str]


class StatementLineage(Out):
    index: int
    sql_kind: str
    sources: list[str]
    targets: list[str]
    columns: list[ColumnLineage]
    error: str | None
    line: int
    locations: dict[str, str] | SkipJsonSchema[None] = absent()
    unresolved: list[str] | SkipJsonSchema[None] = absent()


class FileLineage(Out):
    path: str
    sources: list[str]
    targets: list[str]
    intermediates: list[str]
    columns: list[ColumnLineage]
    statements: list[StatementLineage]
    locations: dict[str, str] | SkipJsonSchema[None] = absent()
    error: str | SkipJsonSchema[None] = absent()


class SqlLineage(Out):
    files: list[FileLineage]


# --- the query library ----------------------------------------------------------------------------------

class QueryParam(Out):
    name: str
    type: Literal["string", "integer", "datetime", "choice"]
    description: str
    required: bool
    default: Any
    minimum: int | None
    maximum: int | None
    choices: list[str] | None


class QueryColumn(Out):
    name: str
    description: str


class QueryInfo(Out):
    name: str
    description: str
    family: str
    graph: bool
    params: list[QueryParam]
    columns: list[QueryColumn]
    example: dict[str, Any]


class QueryList(Out):
    queries: list[QueryInfo]


class QueryAnswer(Out):
    query: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
