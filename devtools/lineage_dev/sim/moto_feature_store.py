"""SageMaker Feature Store for moto's server: what moto lacks of the feature group control plane.

moto 5 creates and describes a feature group with a few of its fields (no online store, no table format, no
LastModifiedTime) and has no ListFeatureGroups, UpdateFeatureGroup or DeleteFeatureGroup. These handlers
replace its two and add the others, registered with lineage_dev.sim.moto_sagemaker's `operation`, so every
response is checked against botocore's output shape before it is sent (an invalid one is a
SimInvalidResponse error and is recorded in moto_sagemaker.INVALID_RESPONSES).

State lives on moto's SageMaker backend (``SageMakerModelBackend.sim_feature_groups``: name -> the
DescribeFeatureGroup response as stored), so moto's reset clears it. A group is created `Created` with its
offline store `Active`, as AWS reports it once creation is done; `set_status` moves it (tests, the demo).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from lineage_dev.sim import moto_sagemaker
from lineage_dev.sim.moto_sagemaker import backend, operation, paginate

_GLUE_DATABASE = "sagemaker_featurestore"


def feature_groups(sm: SageMakerModelBackend) -> dict[str, dict[str, Any]]:
    """name -> stored DescribeFeatureGroup fields, on moto's backend object."""
    groups: dict[str, dict[str, Any]] | None = getattr(sm, "sim_feature_groups", None)
    if groups is None:
        groups = {}
        sm.sim_feature_groups = groups  # type: ignore[attr-defined]
    return groups


def _find(sm: SageMakerModelBackend, name_or_arn: str) -> dict[str, Any]:
    name = name_or_arn.rsplit("feature-group/", 1)[-1]
    groups = feature_groups(sm)
    group = groups.get(name) or next((g for n, g in groups.items() if n.lower() == name.lower()), None)
    if group is None:
        raise moto_sagemaker_not_found(name_or_arn)
    return group


def moto_sagemaker_not_found(name: str) -> Exception:
    from moto.sagemaker.exceptions import ResourceNotFound

    return ResourceNotFound(message=f"Resource Not Found: FeatureGroup with name {name} does not exist.")


def set_status(sm: SageMakerModelBackend, name: str, status: str, *, offline_status: str | None = None,
               failure: str | None = None, when: datetime | None = None) -> None:
    """What only SageMaker itself does: move a group's FeatureGroupStatus (and offline store status)."""
    group = _find(sm, name)
    group["FeatureGroupStatus"] = status
    if offline_status:
        group["OfflineStoreStatus"] = {"Status": offline_status}
    if failure:
        group["FailureReason"] = failure
    if when is not None:
        group["LastModifiedTime"] = when


@operation("CreateFeatureGroup")
def create_feature_group(r: SageMakerResponse) -> dict[str, Any]:
    sm = backend(r)
    name = r._get_param("FeatureGroupName")
    if name in feature_groups(sm):
        raise ValidationError(message=f"Resource Already Exists: FeatureGroup with name {name} already exists.")
    now = utcnow()
    epoch = int(now.timestamp())
    arn = f"arn:aws:sagemaker:{sm.region_name}:{sm.account_id}:feature-group/{name.lower()}"
    group: dict[str, Any] = {
        "FeatureGroupArn": arn, "FeatureGroupName": name,
        "RecordIdentifierFeatureName": r._get_param("RecordIdentifierFeatureName"),
        "EventTimeFeatureName": r._get_param("EventTimeFeatureName"),
        "FeatureDefinitions": copy.deepcopy(r._get_param("FeatureDefinitions") or []),
        "CreationTime": now, "LastModifiedTime": now, "FeatureGroupStatus": "Created",
        "RoleArn": r._get_param("RoleArn"), "Description": r._get_param("Description"),
    }
    online = r._get_param("OnlineStoreConfig")
    if online:
        group["OnlineStoreConfig"] = copy.deepcopy(online)
    offline = copy.deepcopy(r._get_param("OfflineStoreConfig"))
    if offline:
        storage = offline.setdefault("S3StorageConfig", {})
        base = str(storage.get("S3Uri", "")).rstrip("/")
        storage["ResolvedOutputS3Uri"] = (
            f"{base}/{sm.account_id}/sagemaker/{sm.region_name}/offline-store/{name}-{epoch}/data")
        if not offline.get("DisableGlueTableCreation"):
            catalog = offline.setdefault("DataCatalogConfig", {})
            catalog.setdefault("TableName", f"{name.replace('-', '_')}_{epoch}")
            catalog.setdefault("Database", _GLUE_DATABASE)
            catalog.setdefault("Catalog", "AwsDataCatalog")
        offline.setdefault("TableFormat", "Glue")
        group["OfflineStoreConfig"] = offline
        group["OfflineStoreStatus"] = {"Status": "Active"}
    feature_groups(sm)[name] = group
    return {"FeatureGroupArn": arn}


@operation("DescribeFeatureGroup")
def describe_feature_group(r: SageMakerResponse) -> dict[str, Any]:
    group = _find(backend(r), r._get_param("FeatureGroupName"))
    payload = moto_sagemaker.compact(copy.deepcopy(group))
    # FeatureDefinitions page (2,500 by default, as AWS); NextToken is DescribeFeatureGroup's own.
    features, token = paginate(payload.get("FeatureDefinitions", []), r._get_param("NextToken"), None, 2500)
    payload["FeatureDefinitions"] = features
    payload["NextToken"] = token or ""  # a required member of the output shape; "" when no more
    return payload


@operation("ListFeatureGroups")
def list_feature_groups(r: SageMakerResponse) -> dict[str, Any]:
    contains = r._get_param("NameContains") or ""
    status = r._get_param("FeatureGroupStatusEquals")
    offline = r._get_param("OfflineStoreStatusEquals")
    after, before = r._get_param("CreationTimeAfter"), r._get_param("CreationTimeBefore")
    groups = [
        g for g in feature_groups(backend(r)).values()
        if contains in g["FeatureGroupName"]
        and (status is None or g.get("FeatureGroupStatus") == status)
        and (offline is None or (g.get("OfflineStoreStatus") or {}).get("Status") == offline)
        and _between(g["CreationTime"], after, before)
    ]
    sort_by = r._get_param("SortBy") or "CreationTime"
    key = {"Name": lambda g: g["FeatureGroupName"], "FeatureGroupStatus": lambda g: g.get("FeatureGroupStatus", ""),
           "OfflineStoreStatus": lambda g: (g.get("OfflineStoreStatus") or {}).get("Status", "")}.get(
        sort_by, lambda g: g["CreationTime"])
    ordered = sorted(groups, key=lambda g: (key(g), g["FeatureGroupName"]),
                     reverse=(r._get_param("SortOrder") or "Descending") == "Descending")
    page, token = paginate(ordered, r._get_param("NextToken"), r._get_param("MaxResults"), 10)
    summaries = [{k: g.get(k) for k in ("FeatureGroupName", "FeatureGroupArn", "CreationTime",
                                        "FeatureGroupStatus", "OfflineStoreStatus")} for g in page]
    return moto_sagemaker.compact({"FeatureGroupSummaries": summaries, "NextToken": token})


@operation("UpdateFeatureGroup")
def update_feature_group(r: SageMakerResponse) -> dict[str, Any]:
    """Features can only be added (AWS's rule); online store TTL changes are kept as given."""
    group = _find(backend(r), r._get_param("FeatureGroupName"))
    known = {f["FeatureName"] for f in group["FeatureDefinitions"]}
    additions = r._get_param("FeatureAdditions") or []
    clash = sorted(known & {f["FeatureName"] for f in additions})
    if clash:
        raise ValidationError(message=f"Feature(s) {', '.join(clash)} already exist in the feature group.")
    group["FeatureDefinitions"] = group["FeatureDefinitions"] + copy.deepcopy(additions)
    online = r._get_param("OnlineStoreConfig")
    if online:
        group.setdefault("OnlineStoreConfig", {}).update(copy.deepcopy(online))
    # moto's clock may equal the creation second; AWS's LastModifiedTime always moves on an update
    group["LastModifiedTime"] = max(utcnow(), group["LastModifiedTime"] + timedelta(seconds=1))
    group["LastUpdateStatus"] = {"Status": "Successful"}
    return {"FeatureGroupArn": group["FeatureGroupArn"]}


def delete_feature_group(self: SageMakerResponse) -> ActionResult:
    """DeleteFeatureGroup has no output shape: nothing to validate, an empty answer."""
    group = _find(backend(self), self._get_param("FeatureGroupName"))
    del feature_groups(backend(self))[group["FeatureGroupName"]]
    return ActionResult({})


def _time(value: Any) -> datetime | None:
    """A timestamp request parameter (the JSON protocol sends epoch seconds) as moto's naive UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
    return moto_sagemaker._naive(value) if isinstance(value, datetime) else None


def _between(when: datetime, after: Any, before: Any) -> bool:
    naive, low, high = moto_sagemaker._naive(when), _time(after), _time(before)
    return (low is None or naive > low) and (high is None or naive < high)


def install() -> None:
    """Patch moto's SageMakerResponse with these handlers (and moto_sagemaker's; idempotent)."""
    moto_sagemaker.install()
    SageMakerResponse.delete_feature_group = delete_feature_group  # type: ignore[attr-defined]
