"""The graph schema as data: every node label with its key and indexes, every relationship with its
endpoints and identity. The writer refuses anything not declared here, and the tables of
docs/graph-model.md are generated from it (`python -m graphstore.schema_doc`).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class NodeLabel:
    label: str
    key: str  # the property a uniqueness constraint holds
    description: str
    key_form: str = ""  # how the key value is made, when it is not obvious
    indexes: tuple[str, ...] = ()  # secondary lookups
    extra_labels: tuple[str, ...] = ()  # further labels a node of this label may carry
    # Labels naming the node's current `status` (one at a time, set by the writer with the state): Neo4j
    # Browser styles by label only, so this is how its style colours runs by status.
    status_labels: tuple[str, ...] = ()
    # The properties a state read from AWS replaces whole (a read clears those it does not report);
    # an event's state only adds to them. See graphstore.model (`as_of`, `observed`).
    read_state: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relationship:
    type: str
    start: tuple[str, ...]  # any of these labels ...
    end: tuple[str, ...]  # ... to any of these: each pairing is written by the code
    identity: tuple[str, ...]  # properties MERGE matches on besides the endpoints (Graph.rel merge_on)
    description: str
    indexes: tuple[str, ...] = ()

    def pattern(self) -> str:
        identity = " {" + ", ".join(self.identity) + "}" if self.identity else ""
        return f"(:{'|'.join(self.start)})-[:{self.type}{identity}]->(:{'|'.join(self.end)})"


JOB_KINDS = ("ProcessingJob", "TrainingJob", "TransformJob", "TuningJob", "AutoMLJob")
# The statuses of the SageMaker APIs (their enums in botocore's model, tests/test_status_labels.py checks),
# each also a label (graphstore/browser/lineage.grass colours them); a status not listed (one AWS adds
# later) gives no status label.
EXECUTION_STATUSES = ("Executing", "Stopping", "Stopped", "Failed", "Succeeded", "CompletedWithFailures")
STEP_STATUSES = ("Starting", "Executing", "Stopping", "Stopped", "Failed", "Succeeded")
JOB_STATUSES = ("InProgress", "Stopping", "Stopped", "Failed", "Completed", "Deleting", "DeleteFailed")
_RUN_STATE = ("status", "end_time", "elapsed_sec", "failure_reason")

NODES: tuple[NodeLabel, ...] = (
    NodeLabel("Domain", "id", "A SageMaker Studio domain", "d-xxxx", ("name",)),
    NodeLabel("Pipeline", "arn", "A SageMaker pipeline and its current definition",
              indexes=("name", "domain_name", "retired_at")),
    NodeLabel("Step", "key", "A step of a pipeline definition", "pipeline arn + `/` + step name", ("name", "retired_at")),
    NodeLabel("PipelineExecution", "arn", "One execution of a pipeline",
              indexes=("status", "state_time", "start_time", "retired_at"),
              status_labels=EXECUTION_STATUSES, read_state=_RUN_STATE + ("last_modified",)),
    NodeLabel("StepRun", "key", "A step as run in one execution", "execution arn + `/` + step name",
              ("status", "state_time", "retired_at"), status_labels=STEP_STATUSES, read_state=_RUN_STATE),
    NodeLabel("Job", "arn", "A SageMaker job a step run ran, with its kind as a second label",
              "lower-cased, as some APIs return it; `arn_as_given` keeps another casing",
              ("name",), JOB_KINDS, status_labels=JOB_STATUSES, read_state=_RUN_STATE + ("metrics",)),
    NodeLabel("Dataset", "uri", "An S3 location read or written, partitions and part files folded into one prefix",
              "normalised S3 URI; a prefix ends with `/`", ("bucket", "retired_at")),
    NodeLabel("Bucket", "name", "An S3 bucket with its security posture"),
    NodeLabel("SchemaVersion", "id", "One schema a dataset (or a feature group) has had, with the diff from the one before",
              "dataset uri (feature group: its key) + `@` + fingerprint; a return to an older schema adds `#` + version"),
    NodeLabel("ModelPackageGroup", "arn", "A model registry group"),
    NodeLabel("ModelPackage", "arn", "A registered model version", indexes=("approval_status", "group"),
              read_state=("status", "approval_status")),
    NodeLabel("Model", "arn", "A SageMaker model", indexes=("name", "retired_at")),
    NodeLabel("Endpoint", "arn", "A SageMaker endpoint, from the endpoints source or a step run that created it",
              "lower-cased, as SageMaker spells it", ("name", "retired_at"),
              read_state=("status", "failure_reason", "last_modified", "config_name", "pending_config_name")),
    # --- endpoints (jobs/sources/endpoints) ---
    NodeLabel("EndpointConfig", "arn", "A SageMaker endpoint configuration: its production and shadow variants",
              "lower-cased, as SageMaker spells it", ("name", "retired_at")),
    NodeLabel("InferenceComponent", "arn", "A SageMaker inference component: a model hosted on an endpoint",
              "lower-cased, as SageMaker spells it", ("name", "retired_at"),
              read_state=("status", "failure_reason", "last_modified")),
    NodeLabel("Repo", "url", "A Git repository of SQL", "as configured; credentials are never stored"),
    NodeLabel("Commit", "sha", "A commit that changed configured SQL files", indexes=("time",)),
    NodeLabel("SqlFile", "key", "A SQL file at the branch head", "repo url + `:` + path", ("repo",)),
    NodeLabel("Table", "name", "A table named by SQL",
              "dialect-normalised, qualified as far as the SQL says; `USE db` applies"),
    NodeLabel("Column", "key", "A column of a table", "table + `.` + column", ("table",)),
    # SageMaker Feature Store (jobs/sources/feature_store)
    NodeLabel("FeatureGroup", "arn", "A SageMaker Feature Store feature group, its features as its schema",
              "lower-cased, as SageMaker spells it in job outputs; `arn_as_given` keeps another casing",
              ("name", "retired_at"), read_state=("status", "offline_store_status", "failure_reason")),
    # Not lineage: OpenLineage events the live emission could not send yet (docs/openlineage.md)
    NodeLabel("OpenLineageOutbox", "id", "An OpenLineage event waiting to be sent again, oldest first",
              "hash of the event JSON", ("seq",)),
    # Not lineage: which worker runs the scheduled reconciliation (graphstore/lease.py, docs/scaling.md)
    NodeLabel("Lease", "name", "A lease on work only one worker may do at a time, with its holder and expiry"),
)

_STEP_DATA = ("Step", "StepRun", "Job")
RELATIONSHIPS: tuple[Relationship, ...] = (
    # pipelines and their runs: structure points from the part to the whole
    Relationship("IN_DOMAIN", ("Pipeline",), ("Domain",), (),
                 "from the pipeline's `DomainName` tag (or `sagemaker:domain-arn`)"),
    Relationship("HAS_STEP", ("Pipeline",), ("Step",), (), "the steps of the current definition"),
    Relationship("PRECEDES", ("Step",), ("Step",), ("via",),
                 "step order; via `dependsOn`, `ref:Get` or `condition`; label (the Get path, or `if`/`else`), "
                 "definition_hash"),
    Relationship("OF", ("PipelineExecution",), ("Pipeline",), (), "the pipeline an execution ran"),
    Relationship("IN", ("StepRun",), ("PipelineExecution",), (), "the execution a step run belongs to"),
    Relationship("RUN_OF", ("StepRun",), ("Step",), (), "the step of the definition a step run ran"),
    Relationship("RAN_AS", ("StepRun",), ("Job",), (), "the job a step run started"),
    Relationship("PRODUCES", ("StepRun",), ("ModelPackage", "Model", "Endpoint"), (),
                 "what a step run created, from its Metadata"),
    Relationship("IN", ("ModelPackage",), ("ModelPackageGroup",), (), "the group of a model package"),
    Relationship("GENERATED_BY", ("ModelPackage",), ("PipelineExecution",), (),
                 "from the package's MetadataProperties"),
    # SageMaker data lineage points the way data flows
    Relationship("FEEDS", ("Dataset",), _STEP_DATA + ("ModelPackage", "Model"), ("name",),
                 "an input (name: input or channel name); uri as written (concrete or template); "
                 "definition_hash on definition-level edges"),
    Relationship("PRODUCES", _STEP_DATA, ("Dataset",), ("name",), "an output; properties as FEEDS"),
    # endpoints: deployment points the way data flows (model -> config -> endpoint), so downstream reaches endpoints
    Relationship("INSTANTIATED_AS", ("ModelPackage",), ("Model",), (),
                 "a model created from a registered model package (a container's ModelPackageName)"),
    Relationship("DEPLOYED_AS", ("Model",), ("EndpointConfig", "InferenceComponent"), ("variant",),
                 "a model in a variant of an endpoint config (variant_kind `production` or `shadow`, instance_type, "
                 "initial_instance_count, initial_weight, serverless_memory_mb, serverless_max_concurrency), or the "
                 "model an inference component hosts (variant: the component's variant)"),
    Relationship("DEPLOYED_TO", ("EndpointConfig", "InferenceComponent"), ("Endpoint",), ("since",),
                 "one per period an endpoint served a config (or hosted a component): since, until (unset while "
                 "current), current (true on at most one config per endpoint); never deleted, so history stays"),
    Relationship("PRODUCES", ("Endpoint",), ("Dataset",), ("name",),
                 "an endpoint's data capture destination (name `data-capture`); uri as configured"),
    # S3
    Relationship("IN_BUCKET", ("Dataset",), ("Bucket",), (), "the bucket a dataset lives in"),
    Relationship("HAS_SCHEMA", ("Dataset",), ("SchemaVersion",), (),
                 "every schema version of a dataset; current (true on exactly one), since, until"),
    Relationship("PREVIOUS", ("SchemaVersion",), ("SchemaVersion",), (), "the version this one replaced"),
    # SQL from Git; lineage edges are retired by the file that defines them, hence the `file` indexes
    Relationship("FEEDS", ("Table", "Dataset"), ("Table", "Dataset"), ("file",),
                 "table lineage of a SQL file (a Dataset for COPY, UNLOAD, INSERT DIRECTORY locations); "
                 "blob, parsed_at, commit, dialect, statements, sql_kind", ("file",)),
    Relationship("FEEDS", ("Column",), ("Column",), ("file",),
                 "column lineage of a SQL file; as table FEEDS, without sql_kind", ("file",)),
    Relationship("OF", ("Column",), ("Table",), (), "the table of a column"),
    Relationship("STORED_AT", ("Table",), ("Dataset",), (),
                 "where a table's data lives; via `sql` (a DDL LOCATION; then file, blob, parsed_at, commit, dialect), "
                 "`glue`, `settings` or `feature_store` (a feature group's offline store table); location", ("file",)),
    Relationship("DEFINES", ("SqlFile",), ("Table",), (),
                 "a table the file writes; file, blob, parsed_at, commit, dialect"),
    Relationship("READS", ("SqlFile",), ("Table",), (), "a table the file reads from outside itself; as DEFINES"),
    Relationship("IN", ("Commit", "SqlFile"), ("Repo",), (), "the repository of a commit or file"),
    Relationship("CHANGED", ("Commit",), ("SqlFile",), (),
                 "history; change (`A`, `M`, `D`, `R`), old_path for renames"),
    Relationship("RUNS", ("Step",), ("SqlFile",), (), "a SQL file a step runs; via `code`, `argument` or `tag`"),
    # SageMaker Feature Store: ingestion points the way data flows; the offline store is the group's data
    Relationship("PRODUCES", _STEP_DATA, ("FeatureGroup",), ("name",),
                 "a processing output with `FeatureStoreOutput` (name: its output name); feature_group as written, "
                 "definition_hash on definition-level edges"),
    Relationship("STORED_AT", ("FeatureGroup",), ("Dataset",), (),
                 "the group's offline store; via `offline_store` (its resolved S3 URI) or `under_offline_store` "
                 "(data read below it); location"),
    Relationship("HAS_SCHEMA", ("FeatureGroup",), ("SchemaVersion",), (),
                 "every feature set a group has had; current (true on exactly one), since, until"),
)

_NODES = {n.label: n for n in NODES}
# Every (type, start label, end label, identity) the writer may receive.
_DECLARED = frozenset((r.type, s, e, r.identity) for r in RELATIONSHIPS for s, e in product(r.start, r.end))

# The earlier API, derived from the declarations above.
NODE_KEYS: dict[str, str] = {n.label: n.key for n in NODES}
INDEXES: list[tuple[str, str]] = [(n.label, p) for n in NODES for p in n.indexes]
REL_INDEXES: list[tuple[str, str]] = list(dict.fromkeys((r.type, p) for r in RELATIONSHIPS for p in r.indexes))


def status_labels_of(label: str) -> tuple[str, ...]:
    """The status labels a node of this label may carry (none for labels without them)."""
    node = _NODES.get(label)
    return node.status_labels if node else ()


def read_state_of(label: str) -> tuple[str, ...]:
    """The state properties a read from AWS replaces whole (none declared: a read only sets what it reports)."""
    node = _NODES.get(label)
    return node.read_state if node else ()


def status_label(label: str, status: object) -> str | None:
    """The status label of a node of `label` with this status, or None (no status labels, or an unknown status)."""
    return status if isinstance(status, str) and status in status_labels_of(label) else None


def key_of(label: str) -> str:
    try:
        return NODE_KEYS[label]
    except KeyError:
        raise ValueError(f"label {label!r} is not declared in graphstore.schema.NODES") from None


def check_node(label: str, extra_labels: tuple[str, ...]) -> None:
    """Raise ValueError unless the label, and each extra label on it, is declared."""
    key_of(label)
    undeclared = [x for x in extra_labels if x not in _NODES[label].extra_labels]
    if undeclared:
        raise ValueError(f"extra label(s) {undeclared} on {label!r} are not declared in graphstore.schema.NODES")


def check_relationship(rel_type: str, start: str, end: str, identity: tuple[str, ...]) -> None:
    """Raise ValueError unless (:start)-[:rel_type {identity}]->(:end) is declared."""
    if (rel_type, start, end, identity) in _DECLARED:
        return
    shown = Relationship(rel_type, (start,), (end,), identity, "").pattern()
    declared = [r.pattern() for r in RELATIONSHIPS if r.type == rel_type]
    hint = f"; declared {rel_type}: {', '.join(declared)}" if declared else f"; no {rel_type} is declared"
    raise ValueError(f"relationship {shown} is not declared in graphstore.schema.RELATIONSHIPS{hint}")


def schema_statements() -> list[str]:
    """Idempotent DDL. Labels and property names come from the declarations above, never from input."""
    statements = [
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
        for label, prop in NODE_KEYS.items()
    ]
    statements += [
        f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        for label, prop in INDEXES
    ]
    statements += [
        f"CREATE INDEX rel_{rel_type.lower()}_{prop} IF NOT EXISTS FOR ()-[r:{rel_type}]-() ON (r.{prop})"
        for rel_type, prop in REL_INDEXES
    ]
    return statements
