"""SageMaker hosting responses -> plain graph data. Pure functions.

Deployment points the way data flows: `ModelPackage -INSTANTIATED_AS-> Model -DEPLOYED_AS {variant}->
EndpointConfig`, and an endpoint's history of configs is `EndpointConfig -DEPLOYED_TO {since}-> Endpoint`
edges. Those history edges are not graph data of their own: what an endpoint serves is reported as a
`Deployment` (endpoint, config, as of when), and graphstore.endpoint_state applies it against what the graph
holds, so a late event never reopens a config the endpoint has since left.

Endpoint, endpoint config and inference component ARNs are keyed lower-cased (SageMaker spells their
names lower-case in ARNs, and requests name them in any case); model ARNs stay as AWS gives them (the
key the pipeline source already uses).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collector.sagemaker.io import DataRef
from collector.sagemaker.transform import add_data, arn_parts, model_graph
from graphstore.model import Graph

# botocore's EndpointStatus enum, in the API's spelling (events spell it IN_SERVICE).
ENDPOINT_STATUSES = ("OutOfService", "Creating", "Updating", "SystemUpdating", "RollingBack", "InService",
                     "Deleting", "Failed", "UpdateRollbackFailed")
_SETTLED = frozenset({"InService", "OutOfService", "Failed", "UpdateRollbackFailed"})
# An endpoint serves its EndpointConfigName once in service; while creating or updating the config it is
# moving to may not be live yet.
SERVING = "InService"
CAPTURE = "data-capture"


def endpoint_key(arn: str) -> str:
    """Endpoint, endpoint config and inference component keys: the ARN lower-cased."""
    return arn.lower()


def status_rank(status: str | None) -> int:
    """At equal times a settled state (in service, failed) outranks one in progress."""
    return 2 if status in _SETTLED else 0


def _sibling_arn(arn: str, resource: str, name: str) -> str:
    """The ARN of another resource of the same partition, region and account."""
    parts = arn.split(":")
    return f"arn:{parts[1]}:sagemaker:{parts[3]}:{parts[4]}:{resource}/{name}"


def config_key(endpoint_arn: str, config_name: str) -> str:
    return endpoint_key(_sibling_arn(endpoint_arn, "endpoint-config", config_name))


def model_arn(sibling_arn: str, model_name: str, known: Mapping[str, str] | None = None) -> str:
    """A model's ARN from its name: as a listing gave it (`known`: name -> ARN), else built from the name."""
    if known and model_name in known:
        return known[model_name]
    return _sibling_arn(sibling_arn, "model", model_name)


def package_arn(model_arn_: str, name: str) -> str:
    """A container's ModelPackageName: an ARN as given, or an (unversioned) package name."""
    return name if name.startswith("arn:") else _sibling_arn(model_arn_, "model-package", name)


@dataclass(frozen=True)
class Deployment:
    """An endpoint serving a config as of `at` (graphstore.endpoint_state.EndpointState.record_deployments)."""

    endpoint: str
    config: str
    at: datetime

    def row(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "config": self.config, "at": self.at}


def listed_model_graph(model: Mapping[str, Any]) -> Graph:
    """A DescribeModel response as the endpoints source reads it: model_graph, its model package, its scope."""
    graph = model_graph(model)
    arn = model["ModelArn"]
    region, account = arn_parts(arn)
    ref = graph.node("Model", arn, {"region": region, "account": account, "retired": False,
                                    "execution_role": model.get("ExecutionRoleArn")})
    containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
    for container in containers:
        name = container.get("ModelPackageName")
        if isinstance(name, str) and name:
            graph.rel("INSTANTIATED_AS", ("ModelPackage", package_arn(arn, name)), ref)
    return graph


def _variant_props(kind: str, variant: Mapping[str, Any]) -> dict[str, Any]:
    serverless = variant.get("ServerlessConfig") or {}
    return {"variant": variant.get("VariantName"), "variant_kind": kind, "instance_type": variant.get("InstanceType"),
            "initial_instance_count": variant.get("InitialInstanceCount"),
            "initial_weight": variant.get("InitialVariantWeight"),
            "serverless_memory_mb": serverless.get("MemorySizeInMB"),
            "serverless_max_concurrency": serverless.get("MaxConcurrency")}


def endpoint_config_graph(config: Mapping[str, Any], models: Mapping[str, str] | None = None) -> Graph:
    """A DescribeEndpointConfig response: the config and each production and shadow variant's model."""
    arn = config["EndpointConfigArn"]
    region, account = arn_parts(arn)
    production = list(config.get("ProductionVariants") or [])
    shadow = list(config.get("ShadowProductionVariants") or [])
    capture = config.get("DataCaptureConfig") or {}
    graph = Graph()
    ref = graph.node("EndpointConfig", endpoint_key(arn), {
        "name": config.get("EndpointConfigName"), "arn_as_given": arn if arn != endpoint_key(arn) else None,
        "region": region, "account": account, "created": config.get("CreationTime"), "retired": False,
        "variants": _names(production), "shadow_variants": _names(shadow),
        "serverless": any(v.get("ServerlessConfig") for v in production + shadow),
        "data_capture_uri": capture.get("DestinationS3Uri"),
        "data_capture_sampling": capture.get("InitialSamplingPercentage"),
        "async_output_uri": ((config.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}).get("S3OutputPath"),
        "kms_key_id": config.get("KmsKeyId"),
    })
    for kind, variants in (("production", production), ("shadow", shadow)):
        for variant in variants:
            name = variant.get("ModelName")
            if not name:  # a variant of inference components names no model
                continue
            model = graph.node("Model", model_arn(arn, name, models), {"name": name})
            graph.rel("DEPLOYED_AS", model, ref, _variant_props(kind, variant), merge_on=("variant",))
    return graph


def endpoint_graph(endpoint: Mapping[str, Any], state_time: datetime | None = None) -> tuple[Graph, list[Deployment]]:
    """A DescribeEndpoint response (or an event in its shape): the endpoint with its state, its data capture
    destination, and the deployment it reports (when in service). `state_time`: the state's own time when
    not its LastModifiedTime."""
    arn = endpoint["EndpointArn"]
    key = endpoint_key(arn)
    region, account = arn_parts(arn)
    status = endpoint.get("EndpointStatus")
    config_name = endpoint.get("EndpointConfigName")
    pending = endpoint.get("PendingDeploymentSummary") or {}
    modified = endpoint.get("LastModifiedTime")
    capture = endpoint.get("DataCaptureConfig") or {}
    graph = Graph()
    ref = graph.node("Endpoint", key, {
        # the name as the ARN spells it (lower-case), as the step runs that create endpoints name them
        "name": key.rsplit("/", 1)[-1], "display_name": endpoint.get("EndpointName"),
        "arn_as_given": arn if arn != key else None,
        "region": region, "account": account, "created": endpoint.get("CreationTime"), "retired": False,
        "variants": _names(endpoint.get("ProductionVariants") or []),
        "shadow_variants": _names(endpoint.get("ShadowProductionVariants") or []),
        "pending_since": pending.get("StartTime"),
        "last_deployment_time": modified if status == SERVING else None,
        "data_capture_status": capture.get("CaptureStatus"),
    }, state={
        "status": status, "failure_reason": endpoint.get("FailureReason"), "last_modified": modified,
        "config_name": config_name, "pending_config_name": pending.get("EndpointConfigName"),
    }, state_time=state_time or modified, state_rank=status_rank(status))
    deployments = []
    if config_name:
        config = graph.node("EndpointConfig", config_key(arn, config_name), {"name": config_name})
        at = modified or state_time  # the endpoint's own time: a read and an event of one deployment agree
        if status == SERVING and at is not None:
            deployments.append(Deployment(key, config[1], at))
    if pending.get("EndpointConfigName"):
        graph.node("EndpointConfig", config_key(arn, pending["EndpointConfigName"]),
                   {"name": pending["EndpointConfigName"]})
    if capture.get("DestinationS3Uri") and capture.get("EnableCapture", True):
        add_data(graph, ref, [DataRef(CAPTURE, capture["DestinationS3Uri"], "output")])
    return graph, deployments


def inference_component_graph(component: Mapping[str, Any], models: Mapping[str, str] | None = None) -> Graph:
    """A DescribeInferenceComponent response: the component, the model it hosts and the endpoint it runs on."""
    arn = component["InferenceComponentArn"]
    key = endpoint_key(arn)
    region, account = arn_parts(arn)
    status = component.get("InferenceComponentStatus")
    spec = component.get("Specification") or {}
    runtime = component.get("RuntimeConfig") or {}
    variant = component.get("VariantName")
    created, modified = component.get("CreationTime"), component.get("LastModifiedTime")
    graph = Graph()
    ref = graph.node("InferenceComponent", key, {
        "name": component.get("InferenceComponentName"), "region": region, "account": account,
        "created": created, "variant": variant, "endpoint_name": component.get("EndpointName"),
        "desired_copies": runtime.get("DesiredCopyCount"), "current_copies": runtime.get("CurrentCopyCount"),
        "retired": False,
    }, state={"status": status, "failure_reason": component.get("FailureReason"), "last_modified": modified},
        state_time=modified or created, state_rank=status_rank("InService" if status == "InService" else status))
    if spec.get("ModelName"):
        model = graph.node("Model", model_arn(arn, spec["ModelName"], models), {"name": spec["ModelName"]})
        graph.rel("DEPLOYED_AS", model, ref, {"variant": variant, "variant_kind": "inference-component"},
                  merge_on=("variant",))
    if component.get("EndpointArn") and created is not None:
        endpoint_ref = endpoint_key(component["EndpointArn"])
        endpoint = graph.node("Endpoint", endpoint_ref, {"name": endpoint_ref.rsplit("/", 1)[-1]})
        graph.rel("DEPLOYED_TO", ref, endpoint, {"since": created, "current": True}, merge_on=("since",))
    return graph


def _names(variants: Iterable[Mapping[str, Any]]) -> list[str] | None:
    names = [v["VariantName"] for v in variants if isinstance(v.get("VariantName"), str)]
    return names or None
