"""SageMaker hosting for moto's server: endpoint configs, endpoints, inference components, model listing.

moto keeps endpoint configs and endpoints without shadow variants, cannot update an endpoint to another
config, ignores ListEndpoints' time filters and has no inference components. These handlers replace its
endpoint operations with a store of their own kept on moto's SageMaker backend (`sim_hosting`, so moto's
reset clears it too). Models stay moto's (CreateModel/DescribeModel); ListModels is answered here from
them. Every response is checked against botocore's output shape (moto_sagemaker.validate_output).

Like SageMaker, ARNs of endpoints, endpoint configs and inference components spell the name lower-case.
An endpoint is InService at once; `hold_updates(sim, name)` makes its next UpdateEndpoint stay Updating
with a pending deployment until `finish_update(sim, name)`. `set_times` moves a resource's times (tests).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores, utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

from lineage_dev.sim.moto_sagemaker import SERVICE_MODEL, compact, paginate, validate_output

Handler = Callable[[SageMakerResponse], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {}


def _op(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[name] = handler
        return handler

    return register


def install() -> None:
    """Patch SageMakerResponse with this module's operations (idempotent)."""
    for op, handler in _HANDLERS.items():
        setattr(SageMakerResponse, camelcase_to_underscores(op), _method(op, handler))


def _method(op: str, handler: Handler) -> Callable[[SageMakerResponse], ActionResult]:
    has_output = SERVICE_MODEL.operation_model(op).output_shape is not None

    def method(self: SageMakerResponse) -> ActionResult:
        payload = handler(self)
        if has_output:
            validate_output(op, payload)
        return ActionResult(payload)

    method.__name__ = camelcase_to_underscores(op)
    return method


# --- the store ---------------------------------------------------------------------------------------------


@dataclass
class Config:
    name: str
    arn: str
    request: dict[str, Any]
    created: datetime


@dataclass
class Endpoint:
    name: str
    arn: str
    config: str
    created: datetime
    modified: datetime
    status: str = "InService"
    failure_reason: str | None = None
    pending: tuple[str, datetime] | None = None  # (config name, since) while an update is held
    hold: bool = False


@dataclass
class Component:
    name: str
    arn: str
    endpoint: str
    request: dict[str, Any]
    created: datetime
    modified: datetime
    status: str = "InService"


@dataclass
class Hosting:
    configs: dict[str, Config] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)


def hosting_of(sm: Any) -> Hosting:
    store = getattr(sm, "sim_hosting", None)
    if store is None:
        store = sm.sim_hosting = Hosting()
    return store


def _store(r: SageMakerResponse) -> Hosting:
    return hosting_of(r.sagemaker_backend)


def _arn(r: SageMakerResponse, resource: str, name: str) -> str:
    sm = r.sagemaker_backend
    return f"arn:aws:sagemaker:{sm.region_name}:{sm.account_id}:{resource}/{name.lower()}"


def _when(value: Any) -> datetime | None:
    """A request's timestamp (botocore sends epoch seconds) as naive UTC, moto's convention."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, timezone.utc)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _within(when: datetime, r: SageMakerResponse, prefix: str) -> bool:
    after, before = _when(r._get_param(f"{prefix}After")), _when(r._get_param(f"{prefix}Before"))
    return (after is None or when > after) and (before is None or when < before)


def _listing(r: SageMakerResponse, items: list[Any], name: Callable[[Any], str], created: Callable[[Any], datetime],
             modified: Callable[[Any], datetime] | None = None) -> tuple[list[Any], str | None]:
    contains = r._get_param("NameContains") or ""
    chosen = [i for i in items if contains in name(i) and _within(created(i), r, "CreationTime")
              and (modified is None or _within(modified(i), r, "LastModifiedTime"))]
    by = r._get_param("SortBy") or "CreationTime"
    chosen.sort(key=lambda i: (name(i) if by == "Name" else created(i), name(i)),
                reverse=(r._get_param("SortOrder") or "Descending") == "Descending")
    return paginate(chosen, r._get_param("NextToken"), r._get_param("MaxResults"), default=10)


def _missing(what: str, arn: str) -> ValidationError:
    return ValidationError(message=f"Could not find {what} \"{arn}\".")


# --- models --------------------------------------------------------------------------------------------------


@_op("ListModels")
def list_models(r: SageMakerResponse) -> dict[str, Any]:
    models = list(r.sagemaker_backend._models.values())
    page, token = _listing(r, models, lambda m: m.model_name, lambda m: _when(m.creation_time) or utcnow())
    return compact({"Models": [{"ModelName": m.model_name, "ModelArn": m.arn, "CreationTime": m.creation_time}
                               for m in page], "NextToken": token})


# --- endpoint configs ----------------------------------------------------------------------------------------


@_op("CreateEndpointConfig")
def create_endpoint_config(r: SageMakerResponse) -> dict[str, Any]:
    name = r._get_param("EndpointConfigName")
    store = _store(r)
    arn = _arn(r, "endpoint-config", name)
    if name in store.configs:
        raise ValidationError(message=f"Cannot create already existing endpoint configuration \"{arn}\".")
    request = copy.deepcopy(dict(r.params or {}))
    for variant in request.get("ProductionVariants", []) + request.get("ShadowProductionVariants", []):
        if variant.get("ModelName") and variant["ModelName"] not in r.sagemaker_backend._models:
            raise ValidationError(message=f"Could not find model \"{_arn(r, 'model', variant['ModelName'])}\".")
    store.configs[name] = Config(name, arn, request, utcnow())
    return {"EndpointConfigArn": arn}


def _config(r: SageMakerResponse, name: str) -> Config:
    config = _store(r).configs.get(name)
    if config is None:
        raise _missing("endpoint configuration", _arn(r, "endpoint-config", name))
    return config


@_op("DescribeEndpointConfig")
def describe_endpoint_config(r: SageMakerResponse) -> dict[str, Any]:
    config = _config(r, r._get_param("EndpointConfigName"))
    members = SERVICE_MODEL.operation_model("DescribeEndpointConfig").output_shape.members
    payload = {k: v for k, v in config.request.items() if k in members and k != "Tags"}
    payload.update(EndpointConfigArn=config.arn, CreationTime=config.created)
    return compact(payload)


@_op("ListEndpointConfigs")
def list_endpoint_configs(r: SageMakerResponse) -> dict[str, Any]:
    page, token = _listing(r, list(_store(r).configs.values()), lambda c: c.name, lambda c: c.created)
    return compact({"EndpointConfigs": [{"EndpointConfigName": c.name, "EndpointConfigArn": c.arn,
                                         "CreationTime": c.created} for c in page], "NextToken": token})


@_op("DeleteEndpointConfig")
def delete_endpoint_config(r: SageMakerResponse) -> dict[str, Any]:
    name = r._get_param("EndpointConfigName")
    _config(r, name)
    del _store(r).configs[name]
    return {}


# --- endpoints ------------------------------------------------------------------------------------------------


@_op("CreateEndpoint")
def create_endpoint(r: SageMakerResponse) -> dict[str, Any]:
    name, config_name = r._get_param("EndpointName"), r._get_param("EndpointConfigName")
    store = _store(r)
    arn = _arn(r, "endpoint", name)
    if name in store.endpoints:
        raise ValidationError(message=f"Cannot create already existing endpoint \"{arn}\".")
    _config(r, config_name)
    now = utcnow()
    store.endpoints[name] = Endpoint(name, arn, config_name, now, now)
    return {"EndpointArn": arn}


def _endpoint(r: SageMakerResponse, name: str) -> Endpoint:
    endpoint = _store(r).endpoints.get(name)
    if endpoint is None:
        raise _missing("endpoint", _arn(r, "endpoint", name))
    return endpoint


def _variant_summaries(config: Config, kind: str) -> list[dict[str, Any]]:
    out = []
    for v in config.request.get(kind, []):
        serverless = v.get("ServerlessConfig")
        summary = {"VariantName": v["VariantName"], "CurrentWeight": v.get("InitialVariantWeight", 1.0),
                   "DesiredWeight": v.get("InitialVariantWeight", 1.0)}
        if serverless:
            summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = serverless
        elif v.get("InitialInstanceCount") is not None:
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = v["InitialInstanceCount"]
        out.append(summary)
    return out


@_op("DescribeEndpoint")
def describe_endpoint(r: SageMakerResponse) -> dict[str, Any]:
    e = _endpoint(r, r._get_param("EndpointName"))
    config = _config(r, e.config)
    payload: dict[str, Any] = {
        "EndpointName": e.name, "EndpointArn": e.arn, "EndpointConfigName": e.config,
        "ProductionVariants": _variant_summaries(config, "ProductionVariants"),
        "ShadowProductionVariants": _variant_summaries(config, "ShadowProductionVariants") or None,
        "EndpointStatus": e.status, "FailureReason": e.failure_reason,
        "CreationTime": e.created, "LastModifiedTime": e.modified,
    }
    capture = config.request.get("DataCaptureConfig")
    if capture:
        payload["DataCaptureConfig"] = {
            "EnableCapture": capture.get("EnableCapture", True), "CaptureStatus": "Started",
            "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
            "DestinationS3Uri": capture["DestinationS3Uri"],
            "KmsKeyId": capture.get("KmsKeyId") or "alias/aws/sagemaker"}  # required in the summary shape
    if e.pending:
        pending_config = _config(r, e.pending[0])
        payload["PendingDeploymentSummary"] = {
            "EndpointConfigName": e.pending[0], "StartTime": e.pending[1],
            "ProductionVariants": [{"VariantName": v["VariantName"]}
                                   for v in pending_config.request.get("ProductionVariants", [])]}
    return compact(payload)


@_op("ListEndpoints")
def list_endpoints(r: SageMakerResponse) -> dict[str, Any]:
    status = r._get_param("StatusEquals")
    items = [e for e in _store(r).endpoints.values() if status is None or e.status == status]
    page, token = _listing(r, items, lambda e: e.name, lambda e: e.created, lambda e: e.modified)
    return compact({"Endpoints": [{"EndpointName": e.name, "EndpointArn": e.arn, "CreationTime": e.created,
                                   "LastModifiedTime": e.modified, "EndpointStatus": e.status} for e in page],
                    "NextToken": token})


@_op("UpdateEndpoint")
def update_endpoint(r: SageMakerResponse) -> dict[str, Any]:
    e = _endpoint(r, r._get_param("EndpointName"))
    config_name = r._get_param("EndpointConfigName")
    _config(r, config_name)
    if e.status != "InService":
        raise ValidationError(message=f"Cannot update in-progress endpoint \"{e.arn}\".")
    now = utcnow()
    if e.hold:
        e.status, e.pending, e.modified, e.hold = "Updating", (config_name, now), now, False
    else:
        e.config, e.modified = config_name, now
    return {"EndpointArn": e.arn}


@_op("DeleteEndpoint")
def delete_endpoint(r: SageMakerResponse) -> dict[str, Any]:
    name = r._get_param("EndpointName")
    _endpoint(r, name)
    del _store(r).endpoints[name]
    return {}


# --- inference components --------------------------------------------------------------------------------------


@_op("CreateInferenceComponent")
def create_inference_component(r: SageMakerResponse) -> dict[str, Any]:
    name = r._get_param("InferenceComponentName")
    store = _store(r)
    endpoint = _endpoint(r, r._get_param("EndpointName"))
    arn = _arn(r, "inference-component", name)
    if name in store.components:
        raise ValidationError(message=f"Cannot create already existing inference component \"{arn}\".")
    request = copy.deepcopy(dict(r.params or {}))
    model = (request.get("Specification") or {}).get("ModelName")
    if model and model not in r.sagemaker_backend._models:
        raise ValidationError(message=f"Could not find model \"{_arn(r, 'model', model)}\".")
    now = utcnow()
    store.components[name] = Component(name, arn, endpoint.name, request, now, now)
    return {"InferenceComponentArn": arn}


def _component(r: SageMakerResponse, name: str) -> Component:
    component = _store(r).components.get(name)
    if component is None:
        raise _missing("inference component", _arn(r, "inference-component", name))
    return component


@_op("DescribeInferenceComponent")
def describe_inference_component(r: SageMakerResponse) -> dict[str, Any]:
    c = _component(r, r._get_param("InferenceComponentName"))
    spec = c.request.get("Specification") or {}
    copies = (c.request.get("RuntimeConfig") or {}).get("CopyCount")
    return compact({
        "InferenceComponentName": c.name, "InferenceComponentArn": c.arn, "EndpointName": c.endpoint,
        "EndpointArn": _arn(r, "endpoint", c.endpoint), "VariantName": c.request.get("VariantName"),
        "Specification": {k: v for k, v in spec.items() if k in ("ModelName", "StartupParameters",
                                                                 "ComputeResourceRequirements")} or None,
        "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies} if copies is not None else None,
        "CreationTime": c.created, "LastModifiedTime": c.modified, "InferenceComponentStatus": c.status,
    })


@_op("ListInferenceComponents")
def list_inference_components(r: SageMakerResponse) -> dict[str, Any]:
    endpoint = r._get_param("EndpointNameEquals")
    items = [c for c in _store(r).components.values() if endpoint is None or c.endpoint == endpoint]
    page, token = _listing(r, items, lambda c: c.name, lambda c: c.created, lambda c: c.modified)
    return compact({"InferenceComponents": [{
        "InferenceComponentName": c.name, "InferenceComponentArn": c.arn, "EndpointName": c.endpoint,
        "EndpointArn": _arn(r, "endpoint", c.endpoint), "VariantName": c.request.get("VariantName"),
        "CreationTime": c.created, "LastModifiedTime": c.modified, "InferenceComponentStatus": c.status,
    } for c in page], "NextToken": token})


@_op("DeleteInferenceComponent")
def delete_inference_component(r: SageMakerResponse) -> dict[str, Any]:
    name = r._get_param("InferenceComponentName")
    _component(r, name)
    del _store(r).components[name]
    return {}


# --- test and demo controls (in process, on the server's backend) ---------------------------------------------------


def hold_updates(sm: Any, endpoint: str) -> None:
    """The endpoint's next UpdateEndpoint stays Updating, its new config pending, until finish_update."""
    hosting_of(sm).endpoints[endpoint].hold = True


def finish_update(sm: Any, endpoint: str, when: datetime | None = None) -> None:
    e = hosting_of(sm).endpoints[endpoint]
    if e.pending:
        e.config, e.pending = e.pending[0], None
    e.status, e.modified = "InService", when.astimezone(timezone.utc).replace(tzinfo=None) if when else utcnow()


def set_times(sm: Any, endpoint: str, *, created: datetime | None = None, modified: datetime | None = None) -> None:
    e = hosting_of(sm).endpoints[endpoint]
    if created:
        e.created = created.astimezone(timezone.utc).replace(tzinfo=None)
    if modified:
        e.modified = modified.astimezone(timezone.utc).replace(tzinfo=None)
