"""SageMaker EventBridge events: routes (pure, collector.events.sagemaker) and their AWS follow-ups.

A pipeline the graph has not seen is fetched and parsed once (whatever the threads); a terminal
execution's steps and jobs are fetched once per batch, unless the graph already holds it terminal
(the sync's incremental rule). Neither goes to a region outside the configured ones (the ingest's
scope check skips such events before; this holds even without it).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from collector.events import CloudEvent
from collector.events.sagemaker import SOURCE, SageMakerEffect, detail_types, sagemaker_effect
from collector.sagemaker import fetch
from collector.sagemaker.definition import DefinitionError
from collector.sagemaker.transform import arn_parts
from graphstore.connection import OUTAGE_ERRORS, Neo4jOutage
from graphstore.state import GraphState
from jobs.sources.base import Effect, Pending, Route
from jobs.sources.sagemaker.sync import SageMakerSync

log = logging.getLogger("lineage.events")

PIPELINE_RETRY_SECONDS = 300.0  # a pipeline that could not be fetched is tried again after this
DOMAINS_TTL_SECONDS = 600.0


def routes() -> dict[str, Route]:
    def route(event: CloudEvent) -> Effect:
        effect = sagemaker_effect(event)
        return Effect(effect.kind, effect.graph, effect)

    return {f"{SOURCE}:{detail_type}": route for detail_type in detail_types()}


class SageMakerFollowUps:
    """First-sight pipeline fetches and terminal-execution enrichment for a batch of effects."""

    def __init__(self, aws: Aws, sync: SageMakerSync, state: GraphState, *,
                 regions: frozenset[str] | None = None) -> None:
        self.aws, self.sync, self.state = aws, sync, state
        self.regions = regions  # None: any
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._known_pipelines: dict[str, str | None] = {}  # arn -> name, for pipelines with a definition
        self._fetching: dict[str, threading.Event] = {}
        self._retry_pipeline_at: dict[str, float] = {}
        self._domains: dict[str | None, tuple[float, dict[str, str]]] = {}  # region (None: the default)

    def __call__(self, pending: Sequence[Pending]) -> None:
        effects = [(h, e.data) for h, e in pending if isinstance(e.data, SageMakerEffect)]
        self._ensure_pipelines({arn for _, effect in effects for arn in effect.pipelines})
        self._enrich_terminal_executions(effects)

    def _in_regions(self, arn: str, what: str) -> bool:
        region = arn_parts(arn)[0]
        if self.regions is None or region in self.regions:
            return True
        log.warning("%s %s: region %s is not configured (LINEAGE_REGIONS): not fetched", what, arn, region)
        with self._lock:
            self.counters["fetches_out_of_scope"] += 1
        return False

    def _ensure_pipelines(self, arns: set[str]) -> None:
        arns = {a for a in arns if self._in_regions(a, "pipeline")}
        with self._lock:
            unknown = sorted(a for a in arns if a not in self._known_pipelines)
        if not unknown:
            return
        known = self.state.pipelines_with_definition(unknown)
        with self._lock:
            self._known_pipelines.update(known)
        for arn in unknown:
            if arn not in known:
                self._fetch_pipeline(arn)

    def _fetch_pipeline(self, arn: str) -> None:
        with self._lock:
            if arn in self._known_pipelines or time.monotonic() < self._retry_pipeline_at.get(arn, 0.0):
                return
            running = self._fetching.get(arn)
            if running is None:
                self._fetching[arn] = threading.Event()
        if running is not None:  # another thread is fetching it: wait, so writes stay ordered
            running.wait(120)
            return
        try:
            region = arn_parts(arn)[0]
            client = self.aws.client("sagemaker", region)
            # DescribePipeline takes the name or the ARN; the ARN avoids guessing the name's case.
            self.sync.sync_pipeline(client, {"PipelineArn": arn, "PipelineName": arn}, self._domain_ids(client, region))
            name = self.state.pipeline_name(arn)
            with self._lock:
                self._known_pipelines[arn] = name
                self.counters["pipelines_fetched"] += 1
            log.info("pipeline %s fetched on first sight", arn)
        except (ClientError, BotoCoreError, DefinitionError) as exc:
            log.warning("pipeline %s: cannot fetch it on first sight (%s); the next sync will", arn,
                        describe_error(exc))
            with self._lock:
                self._retry_pipeline_at[arn] = time.monotonic() + PIPELINE_RETRY_SECONDS
                self.counters["pipeline_fetch_errors"] += 1
        except OUTAGE_ERRORS as exc:
            raise Neo4jOutage(describe_error(exc)) from exc
        finally:
            with self._lock:
                self._fetching.pop(arn).set()

    def _domain_ids(self, client: Any, region: str | None) -> dict[str, str]:
        cached = self._domains.get(region)
        if cached and time.monotonic() - cached[0] < DOMAINS_TTL_SECONDS:
            return cached[1]
        try:
            ids = {d["DomainName"]: d["DomainId"] for d in fetch.list_domains(client)}
        except (ClientError, BotoCoreError) as exc:
            log.warning("region %s: cannot list Studio domains (%s)", region, describe_error(exc))
            ids = {}
        self._domains[region] = (time.monotonic(), ids)
        return ids

    def _enrich_terminal_executions(self, effects: list[tuple[Any, SageMakerEffect]]) -> None:
        carriers: dict[str, list[Any]] = defaultdict(list)
        pipelines: dict[str, str] = {}
        for h, effect in effects:
            if effect.terminal_execution and self._in_regions(effect.terminal_execution[1], "execution"):
                pipeline_arn, execution_arn = effect.terminal_execution
                carriers[execution_arn].append(h)
                pipelines[execution_arn] = pipeline_arn
        if not carriers:
            return
        for execution_arn, (done, name) in self.state.executions_stored_terminal(pipelines).items():
            if done:
                self.counters["enrichments_skipped"] += 1
                continue
            pipeline_arn = pipelines[execution_arn]
            try:
                client = self.aws.client("sagemaker", arn_parts(pipeline_arn)[0])
                graph, jobs = self.sync.sync_execution(client, pipeline_arn, execution_arn, name)
            except OUTAGE_ERRORS as exc:
                raise Neo4jOutage(describe_error(exc)) from exc
            except (ClientError, BotoCoreError, DefinitionError) as exc:
                log.warning("execution %s: enrichment failed: %s", execution_arn, describe_error(exc))
                for h in carriers[execution_arn]:
                    h.fail("failed", f"enrichment of {execution_arn}: {describe_error(exc)}")
                self.counters["enrichment_errors"] += 1
                continue
            for h in carriers[execution_arn]:
                h.graph.update(graph)
            self.counters["enrichments"] += 1
            self.counters["jobs_described"] += jobs

