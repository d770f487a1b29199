"""SageMaker Feature Store: feature groups, their offline store and who writes into them -> graph data. Pure.

* A feature group (DescribeFeatureGroup, or a "SageMaker Feature Group State Change" event, which carries
  the same fields) is a `FeatureGroup` node keyed by its lower-cased ARN (job outputs name a group by its
  name; SageMaker spells feature group ARNs in lower case), with its status as state.
* Its features (FeatureDefinitions) are its schema, versioned as `SchemaVersion` nodes the way S3 dataset
  schemas are (collector/s3/versioning.py): a new version only when the fingerprint of the features
  changes, linked to the one it replaced (`PREVIOUS`) and carrying the diff.
* Its offline store (OfflineStoreConfig.S3StorageConfig.ResolvedOutputS3Uri) is a `Dataset`
  (`FeatureGroup -[:STORED_AT {via: 'offline_store'}]-> Dataset`), and the Glue table SageMaker
  registers for it (DataCatalogConfig) a `Table` stored at the same Dataset.
* A processing output with `FeatureStoreOutput` (in a pipeline definition or DescribeProcessingJob)
  writes into the group: `Step|StepRun|Job -[:PRODUCES {name}]-> FeatureGroup`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collector.s3.schema import Column, columns_json, diff, fingerprint
from collector.s3uri import dataset_uri, is_s3_uri, split
from collector.sagemaker.expressions import Resolver
from graphstore.model import Graph, NodeRef

# FeatureGroupStatus: Creating | Created | CreateFailed | Deleting | DeleteFailed. At equal times a settled
# state outranks a passing one; a status AWS adds later (an event's "Active") counts as settled.
_STATUS_RANK = {"Creating": 0, "Deleting": 1}
SCHEMA_FORMAT = "feature-group"


def feature_group_key(arn: str) -> str:
    return arn.lower()


def feature_group_arn(name_or_arn: str, region: str | None, account: str | None) -> str | None:
    """The ARN of a feature group named in a job's output (a name or already an ARN), in the job's
    region and account; None when a name cannot be placed."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    if not region or not account or "{" in name_or_arn:
        return None
    return f"arn:aws:sagemaker:{region}:{account}:feature-group/{name_or_arn}"


def _arn_scope(arn: str) -> tuple[str | None, str | None]:
    parts = arn.split(":")
    return (parts[3] or None, parts[4] or None) if len(parts) > 5 else (None, None)


def status_rank(status: str | None) -> int:
    return _STATUS_RANK.get(status or "", 2)


# --- who writes into a group ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureOutput:
    name: str           # the processing output's OutputName
    feature_group: str  # FeatureStoreOutput.FeatureGroupName as resolved (a name or an ARN)


def feature_store_outputs(request: Any, resolver: Resolver | None = None) -> list[FeatureOutput]:
    """The `FeatureStoreOutput`s of a processing request or DescribeProcessingJob response (pipeline
    definition arguments resolve through `resolver`). Unresolvable names are kept as {templates}."""
    if not isinstance(request, Mapping):
        return []
    config = request.get("ProcessingOutputConfig")
    outputs = config.get("Outputs") if isinstance(config, Mapping) else None
    resolver = resolver or Resolver()
    found: dict[tuple[str, str], FeatureOutput] = {}
    for i, output in enumerate(outputs if isinstance(outputs, list) else []):
        target = output.get("FeatureStoreOutput") if isinstance(output, Mapping) else None
        if not isinstance(target, Mapping):
            continue
        group = resolver.text(target.get("FeatureGroupName"))
        if not group:
            continue
        name = resolver.text(output.get("OutputName")) or f"output{i}"
        found.setdefault((name, group), FeatureOutput(name, group))
    return list(found.values())


def add_feature_outputs(graph: Graph, owner: NodeRef, outputs: Iterable[FeatureOutput], scope_arn: str,
                        **rel_props: Any) -> None:
    """`owner -[:PRODUCES {name}]-> FeatureGroup` for each output; a group is placed in the region and
    account of `scope_arn` (the pipeline, execution or job). Templated names are left out."""
    region, account = _arn_scope(scope_arn)
    for output in outputs:
        arn = feature_group_arn(output.feature_group, region, account)
        if arn is None:
            continue
        group = graph.node("FeatureGroup", feature_group_key(arn), {"name": arn.rsplit("/", 1)[-1]})
        graph.rel("PRODUCES", owner, group, {"name": output.name, "feature_group": output.feature_group,
                                             **rel_props}, merge_on=("name",))


# --- a feature group ----------------------------------------------------------------------------------


def feature_columns(group: Mapping[str, Any]) -> list[Column]:
    """The group's features as schema columns: type `Integral`, `Fractional`, `String`, or for a collection
    `List<String>`, `Set<Integral>`, `Vector<Fractional>[dimension]`; the record identifier and the event
    time feature are required (not nullable), every other feature may be absent from a record."""
    required = {group.get("RecordIdentifierFeatureName"), group.get("EventTimeFeatureName")}
    columns = []
    for feature in group.get("FeatureDefinitions") or []:
        if not isinstance(feature, Mapping) or not isinstance(feature.get("FeatureName"), str):
            continue
        kind = str(feature.get("FeatureType") or "unknown")
        collection = feature.get("CollectionType")
        if collection:
            kind = f"{collection}<{kind}>"
            dimension = ((feature.get("CollectionConfig") or {}).get("VectorConfig") or {}).get("Dimension")
            if dimension is not None:
                kind += f"[{dimension}]"
        name = feature["FeatureName"]
        columns.append(Column(name, kind, name not in required))
    return columns


@dataclass
class StoredFeatureSchema:
    """What the graph holds about a group's feature sets (graphstore.feature_store_state reads it)."""

    current_id: str | None = None
    current_fingerprint: str | None = None
    current_version: int = 0
    current_columns: list[Column] = field(default_factory=list)
    version_ids: set[str] = field(default_factory=set)


def offline_table_name(group: Mapping[str, Any]) -> str | None:
    """The Glue table of the offline store as SQL names it (`database.table`, lower case as Glue keeps it)."""
    catalog = (group.get("OfflineStoreConfig") or {}).get("DataCatalogConfig") or {}
    database, table = catalog.get("Database"), catalog.get("TableName")
    return f"{database}.{table}".lower() if database and table else None


def offline_store_dataset(group: Mapping[str, Any]) -> str | None:
    """The Dataset URI of the offline store: the resolved S3 location (the request's S3Uri otherwise)."""
    storage = (group.get("OfflineStoreConfig") or {}).get("S3StorageConfig") or {}
    uri = storage.get("ResolvedOutputS3Uri")
    return dataset_uri(uri, is_prefix=True) if is_s3_uri(uri) else None


def offline_prefixes(dataset: str) -> list[str]:
    """Where data read "from the offline store" may be named: its Dataset and, when that is the `data/`
    folder SageMaker writes under, the folder above it (the group's own root)."""
    prefixes = [dataset]
    if dataset.endswith("/data/"):
        prefixes.append(dataset[: -len("data/")])
    return prefixes


def _json(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True, default=str) if value else None


def _group_props(group: Mapping[str, Any]) -> dict[str, Any]:
    arn = group["FeatureGroupArn"]
    region, account = _arn_scope(arn)
    online = dict(group.get("OnlineStoreConfig") or {})
    online.pop("SecurityConfig", None)  # a KMS key id: not lineage
    offline = group.get("OfflineStoreConfig") or {}
    catalog = offline.get("DataCatalogConfig") or {}
    columns = feature_columns(group)
    return {
        "arn_as_given": arn if arn != feature_group_key(arn) else None,
        "name": group.get("FeatureGroupName"), "region": region, "account": account,
        "description": group.get("Description") or None, "role_arn": group.get("RoleArn"),
        "created": group.get("CreationTime"),
        "record_identifier": group.get("RecordIdentifierFeatureName"),
        "event_time_feature": group.get("EventTimeFeatureName"),
        "features": columns_json(columns) if columns else None,
        "feature_names": [c.name for c in columns] or None,
        "feature_count": len(columns) if columns else None,
        "online_store_enabled": online.get("EnableOnlineStore") if online else None,
        "online_store": _json(online),
        "offline_store_enabled": bool(offline),
        "offline_store_base_uri": (offline.get("S3StorageConfig") or {}).get("S3Uri"),
        "offline_store_uri": (offline.get("S3StorageConfig") or {}).get("ResolvedOutputS3Uri"),
        "offline_store_table": offline_table_name(group),
        "offline_store_catalog": catalog.get("Catalog"),
        "offline_table_format": offline.get("TableFormat"),
        "retired": False,
    }


def _state(group: Mapping[str, Any]) -> dict[str, Any]:
    offline_status = group.get("OfflineStoreStatus") or {}
    return {
        "status": group.get("FeatureGroupStatus"),
        "offline_store_status": offline_status.get("Status"),
        "failure_reason": group.get("FailureReason") or offline_status.get("BlockedReason"),
    }


def feature_group_graph(group: Mapping[str, Any], stored: StoredFeatureSchema | None,
                        described_at: datetime) -> Graph:
    """A DescribeFeatureGroup response: the group, its offline store Dataset and Glue Table, and its schema
    version (a new one when the features changed since `stored`). `described_at` is when it was read."""
    arn = group["FeatureGroupArn"]
    key = feature_group_key(arn)
    status = group.get("FeatureGroupStatus")
    modified = group.get("LastModifiedTime") or group.get("CreationTime")
    graph = Graph()
    last_update = group.get("LastUpdateStatus") or {}
    ref = graph.node("FeatureGroup", key, {
        **_group_props(group), "last_modified": group.get("LastModifiedTime"),
        "last_update_status": last_update.get("Status"), "last_update_failure": last_update.get("FailureReason"),
        "online_store_size_bytes": group.get("OnlineStoreTotalSizeBytes"),
        # what the listing is compared with on the next pass (jobs/sources/feature_store: the incremental rule)
        "described_at": described_at, "described_status": status or "",
        "described_offline_status": (group.get("OfflineStoreStatus") or {}).get("Status") or "",
    }, state=_state(group), state_time=modified, state_rank=status_rank(status))
    dataset = offline_store_dataset(group)
    if dataset:
        bucket = split(dataset)[0]
        data = graph.node("Dataset", dataset, {"bucket": bucket, "format": "parquet"})
        graph.rel("IN_BUCKET", data, graph.node("Bucket", bucket))
        location = (group["OfflineStoreConfig"].get("S3StorageConfig") or {}).get("ResolvedOutputS3Uri")
        graph.rel("STORED_AT", ref, data, {"via": "offline_store", "location": location})
        table = offline_table_name(group)
        if table:
            graph.rel("STORED_AT", graph.node("Table", table), data, {"via": "feature_store", "location": location})
    columns = feature_columns(group)
    if columns:
        _plan_schema(graph, ref, columns, stored or StoredFeatureSchema(),
                     group.get("LastModifiedTime") or group.get("CreationTime") or described_at)
    return graph


def _plan_schema(graph: Graph, ref: NodeRef, columns: list[Column], stored: StoredFeatureSchema,
                 since: datetime) -> None:
    key = ref[1]
    fp = fingerprint(columns)
    if stored.current_fingerprint == fp and stored.current_id:
        graph.node("SchemaVersion", stored.current_id, {"last_observed_at": since})
        return
    version = stored.current_version + 1
    version_id = f"{key}@{fp}"
    if version_id in stored.version_ids:  # back to an earlier feature set: a new version, history never loops
        version_id = f"{key}@{fp}#{version}"
    changes = diff(stored.current_columns, columns) if stored.current_id else None
    props: dict[str, Any] = {
        "feature_group": key, "fingerprint": fp, "version": version, "format": SCHEMA_FORMAT,
        "columns": columns_json(columns), "column_names": [c.name for c in columns],
        "column_count": len(columns), "observed_at": since, "last_observed_at": since,
        "previous": stored.current_id, "drift": bool(changes and changes.drift),
        "drift_kinds": changes.drift_kinds if changes else [],
    }
    if changes:
        props.update(added=changes.added, removed=changes.removed, type_changed=json.dumps(changes.type_changed),
                     nullability_changed=json.dumps(changes.nullability_changed), reordered=changes.reordered,
                     change_summary=changes.summary())
    new = graph.node("SchemaVersion", version_id, props)
    graph.node("FeatureGroup", key, {"schema_id": version_id, "schema_fingerprint": fp, "schema_version": version})
    graph.rel("HAS_SCHEMA", ref, new, {"current": True, "since": since})
    if stored.current_id:
        old = graph.node("SchemaVersion", stored.current_id)
        graph.rel("HAS_SCHEMA", ref, old, {"current": False, "until": since})
        graph.rel("PREVIOUS", new, old)


def feature_group_event_graph(group: Mapping[str, Any], event_time: datetime | None) -> Graph:
    """A "SageMaker Feature Group State Change" detail (times already parsed): the group's status as of the
    event, and what it says of the group. Its features are not versioned here (that needs what the graph
    holds): their fingerprint is kept as `event_schema_fingerprint`, and the next sync describes a group
    whose fingerprint differs from its current schema's. Its offline store names the base S3Uri only, so no
    Dataset is written either."""
    arn = group["FeatureGroupArn"]
    status = group.get("FeatureGroupStatus")
    times = [t for t in (event_time, group.get("LastModifiedTime"), group.get("CreationTime")) if t is not None]
    columns = feature_columns(group)
    props = _group_props(group)
    props.pop("offline_store_uri", None)
    graph = Graph()
    graph.node("FeatureGroup", feature_group_key(arn), {
        **props, "event_schema_fingerprint": fingerprint(columns) if columns else None,
    }, state=_state(group), state_time=max(times) if times else None, state_rank=status_rank(status))
    return graph


def offline_links_graph(links: Iterable[tuple[str, str, str]]) -> Graph:
    """`FeatureGroup -[:STORED_AT {via: 'under_offline_store'}]-> Dataset` for data read below a group's
    offline store (a training channel on a partition of it): (group key, dataset uri, offline store uri)."""
    graph = Graph()
    for key, dataset, location in links:
        graph.rel("STORED_AT", graph.node("FeatureGroup", key), graph.node("Dataset", dataset),
                  {"via": "under_offline_store", "location": location})
    return graph
