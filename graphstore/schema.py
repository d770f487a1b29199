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
