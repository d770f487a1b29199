"""SageMaker hosting into the graph, one reconciliation per region: list -> describe what changed ->
transform -> write -> record deployments -> retire.

Per region, four complete listings (models, endpoint configs, endpoints, inference components). Configs
and models never change once created, so each is described once; an endpoint or a component is
described again only when its listing's LastModifiedTime differs from the one its last describe saw.
A describe that fails (AccessDenied, a resource deleted since the listing) is logged with the
resource's identity and the rest goes on; a listing that fails retires nothing of its kind.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from collector.sagemaker import endpoint_fetch as fetch
from collector.sagemaker.endpoints import (
    Deployment,
    endpoint_config_graph,
    endpoint_graph,
    endpoint_key,
    inference_component_graph,
    listed_model_graph,
)
from collector.sagemaker.transform import arn_parts
from graphstore.endpoint_state import EndpointState
from graphstore.model import Graph, observed
from graphstore.writer import GraphWriter
from jobs.sources.base import SyncReport

log = logging.getLogger("lineage.sync")

# label -> (its listing, the summary's ARN field, its name field); listed in this order (models first: configs name them)
_KINDS: dict[str, tuple[Callable[[Any], list[dict[str, Any]]], str, str]] = {
    "Model": (fetch.list_models, "ModelArn", "ModelName"),
    "EndpointConfig": (fetch.list_endpoint_configs, "EndpointConfigArn", "EndpointConfigName"),
    "Endpoint": (fetch.list_endpoints, "EndpointArn", "EndpointName"),
    "InferenceComponent": (fetch.list_inference_components, "InferenceComponentArn", "InferenceComponentName"),
}


def _key(label: str, arn: str) -> str:
    return arn if label == "Model" else endpoint_key(arn)


class EndpointsSync:
    def __init__(self, aws: Aws, writer: GraphWriter, state: EndpointState, *, retire_after_seconds: float = 0,
                 stop: threading.Event | None = None) -> None:
        self.aws, self.writer, self.state = aws, writer, state
        self.retire_after = timedelta(seconds=retire_after_seconds)
        self.stop = stop or threading.Event()

    def run(self, regions: list[str], report: SyncReport) -> dict[str, Any]:
        counters: Counter[str] = Counter()
        failures: list[str] = []
        for region in regions:
            if self.stop.is_set():
                break
            self._sync_region(region, report, counters, failures)
        summary: dict[str, Any] = dict(sorted(counters.items()))
        summary["describe_failures"] = failures
        return summary

    def _sync_region(self, region: str, report: SyncReport, counters: Counter[str], failures: list[str]) -> None:
        started = datetime.now(timezone.utc)
        client = self.aws.client("sagemaker", region)
        models: dict[str, str] = {}  # name -> ARN as listed, for configs and components naming models
        account: str | None = None  # from any listing of the region so far (one account's credentials)
        for label in ("Model", "EndpointConfig", "Endpoint", "InferenceComponent"):
            if self.stop.is_set():
                return
            lister, arn_field, name_field = _KINDS[label]
            try:
                summaries = lister(client)
            except (ClientError, BotoCoreError) as exc:
                message = f"region {region}: cannot list {label} resources: {describe_error(exc)}"
                log.error(message)
                report.errors.append(message)
                continue
            if label == "Model":
                models = {s[name_field]: s[arn_field] for s in summaries}
            account = account or next((arn_parts(s[arn_field])[1] for s in summaries), None)
            graph, deployments = Graph(), []
            known = self.state.described(label, [_key(label, s[arn_field]) for s in summaries])
            for summary in summaries:
                arn, name = summary[arn_field], summary[name_field]
                key = _key(label, arn)
                seen = known.get(key)
                if seen is not None and (seen is True or seen == summary.get("LastModifiedTime")):
                    counters[f"{label}_unchanged"] += 1
                    continue
                try:
                    part, found = self._describe(client, label, name, models, started)
                except ClientError as exc:
                    log.warning("cannot describe %s %s (%s): %s", label, arn, region, describe_error(exc))
                    failures.append(f"{label} {arn}: {describe_error(exc)}")
                    counters[f"{label}_describe_failed"] += 1
                    continue
                graph.update(part)
                deployments += found
                counters[f"{label}_described"] += 1
            if len(graph):
                report.writes.add(self.writer.write(observed(graph, started), source="endpoints"))
            if deployments:
                counters["deployments_opened"] += self.state.record_deployments(d.row() for d in deployments)
            if account:
                self._retire(label, region, account, [_key(label, s[arn_field]) for s in summaries], started, counters)

    def _describe(self, client: Any, label: str, name: str, models: dict[str, str],
                  started: datetime) -> tuple[Graph, list[Deployment]]:
        if label == "Model":
            model = fetch.describe_model(client, name)
            graph = listed_model_graph(model)
            graph.node("Model", model["ModelArn"], {"described_at": started})
            return graph, []
        if label == "EndpointConfig":
            config = fetch.describe_endpoint_config(client, name)
            graph = endpoint_config_graph(config, models)
            graph.node("EndpointConfig", endpoint_key(config["EndpointConfigArn"]), {"described_at": started})
            return graph, []
        if label == "Endpoint":
            endpoint = fetch.describe_endpoint(client, name)
            graph, deployments = endpoint_graph(endpoint)
            graph.node("Endpoint", endpoint_key(endpoint["EndpointArn"]),
                       {"described_modified": endpoint.get("LastModifiedTime")})
            return graph, deployments
        component = fetch.describe_inference_component(client, name)
        graph = inference_component_graph(component, models)
        graph.node("InferenceComponent", endpoint_key(component["InferenceComponentArn"]),
                   {"described_modified": component.get("LastModifiedTime")})
        return graph, []

    def _retire(self, label: str, region: str, account: str, present: list[str], listed_at: datetime,
                counters: Counter[str]) -> None:
        """A complete listing retires what it lacked, scoped to its account and region (the account as a listing
        of the region names it: when every listing of a region is empty, nothing is retired there)."""
        if self.stop.is_set():
            return
        retired = self.state.retire_missing(label, region, account, present, listed_at, listed_at - self.retire_after)
        for key in retired:
            log.info("%s %s retired: not in the listing of %s/%s", label, key, account, region)
        counters[f"{label}_retired"] += len(retired)
