"""The graph schema as data: each label's key property, and the indexes queries rely on.

docs/graph-model.md describes the same model for people; keep the two in step.
"""
from __future__ import annotations

NODE_KEYS: dict[str, str] = {
    "Domain": "id",
    "Pipeline": "arn",
    "Step": "key",
    "PipelineExecution": "arn",
    "StepRun": "key",
    "Job": "arn",
    "Dataset": "uri",
    "Bucket": "name",
    "SchemaVersion": "id",
    "ModelPackageGroup": "arn",
    "ModelPackage": "arn",
    "Model": "arn",
    "Endpoint": "arn",
    "Repo": "url",
    "Commit": "sha",
    "SqlFile": "key",
    "Table": "name",
    "Column": "key",
}

# Extra labels a node may carry beside its keyed label (MERGE always uses the keyed label).
JOB_LABELS = ("ProcessingJob", "TrainingJob", "TransformJob", "TuningJob", "AutoMLJob")

# Secondary lookups: (label, property).
INDEXES: list[tuple[str, str]] = [
    ("Pipeline", "name"),
    ("Step", "name"),
    ("PipelineExecution", "status"),
    ("StepRun", "status"),
    ("Dataset", "bucket"),
    ("Domain", "name"),
    ("ModelPackage", "approval_status"),
    ("SqlFile", "repo"),
    ("Column", "table"),
]

# Relationship property lookups: (type, property). SQL lineage edges are retired by the file that defines them.
REL_INDEXES: list[tuple[str, str]] = [
    ("FEEDS", "file"),
    ("STORED_AT", "file"),
]

RELATIONSHIPS: dict[str, str] = {
    "PRECEDES": "Step -> Step {via: dependsOn | ref:Get | condition}",
    "FEEDS": "Dataset -> Step | Job | Table; Table -> Table; Column -> Column",
    "PRODUCES": "Step | Job -> Dataset; StepRun -> ModelPackage | Model",
    "HAS_STEP": "Pipeline -> Step",
    "IN_DOMAIN": "Pipeline -> Domain",
    "OF": "PipelineExecution -> Pipeline",
    "IN": "StepRun -> PipelineExecution; ModelPackage -> ModelPackageGroup",
    "RUN_OF": "StepRun -> Step",
    "RAN_AS": "StepRun -> Job",
    "IN_BUCKET": "Dataset -> Bucket",
    "HAS_SCHEMA": "Dataset -> SchemaVersion",
    "PREVIOUS": "SchemaVersion -> SchemaVersion",
    "STORED_AT": "Table -> Dataset",
    "DEFINES": "SqlFile -> Table",
    "READS": "SqlFile -> Table",
    "CHANGED": "Commit -> SqlFile {change: A | M | D | R}",
    "RUNS": "Step -> SqlFile {via: code | argument | tag}",
}


def key_of(label: str) -> str:
    try:
        return NODE_KEYS[label]
    except KeyError:
        raise ValueError(f"label {label!r} is not in graphstore.schema.NODE_KEYS") from None


def schema_statements() -> list[str]:
    """Idempotent DDL. Labels and property names come from the tables above, never from input."""
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
