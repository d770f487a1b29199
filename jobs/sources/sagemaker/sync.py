"""SageMaker pipelines into the graph, one reconciliation: fetch -> transform -> write -> retire.

Per pipeline: what the graph already holds decides what is fetched. An execution stored
in a terminal state (as read from AWS) is never fetched again; a job stored complete is not
described again. What a pass reads is marked as observed from the time it started
(graphstore.model.observed), so it overrides any event stamped before it.
A failure on one pipeline is logged with its identity and the rest goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector.aws import Aws, describe_error
from collector.sagemaker import fetch
from collector.sagemaker.definition import DefinitionError, PipelineDef, parse_definition
from collector.sagemaker.transform import (
    arn_parts,
    created_resources,
    domains_graph,
    execution_graph,
    execution_id,
    job_graph,
    job_key,
    model_graph,
    model_package_graph,
    pipeline_domain,
    pipeline_graph,
    step_run_data_graph,
    step_run_graph,
)
from graphstore.model import Graph, observed
from graphstore.retirement import Retirement
from graphstore.state import GraphState
from graphstore.writer import GraphWriter
from jobs.sources.base import SyncReport

log = logging.getLogger("lineage.sync")


class SageMakerSync:
    def __init__(self, aws: Aws, writer: GraphWriter, state: GraphState, *, executions: int = 5,
                 workers: int = 4, progress: Callable[..., None] | None = None,
                 stop: threading.Event | None = None, retire_after_seconds: float = 0) -> None:
        self.aws = aws
        self.writer = writer
        self.state = state
        self.executions = executions
        self.workers = workers
        self.progress = progress or (lambda *_: None)
        self.stop = stop or threading.Event()
        self.retirement = Retirement(writer.driver, writer.database)
        self.retire_after = timedelta(seconds=retire_after_seconds)

    def run(self, regions: list[str], pipeline_names: list[str] | None = None,
            report: SyncReport | None = None) -> SyncReport:
        """Sync these regions into `report` (a new one when None); AWS calls are counted by the caller."""
        report = report or SyncReport()
        report.regions = list(regions)
        for region in regions:
            if self.stop.is_set():
                break
            self._sync_region(region, pipeline_names or [], report)
        return report

    def _sync_region(self, region: str, names: list[str], report: SyncReport) -> None:
        listed_at = datetime.now(timezone.utc)
        client = self.aws.client("sagemaker", region)
        try:
            domains = fetch.list_domains(client)
        except (ClientError, BotoCoreError) as exc:
            log.warning("region %s: cannot list Studio domains (%s); continuing without them",
                        region, describe_error(exc))
            domains = []
        report.writes.add(self.writer.write(domains_graph(domains, region), source="sync"))
        domain_ids = {d["DomainName"]: d["DomainId"] for d in domains}
        try:
            summaries = fetch.list_pipelines(client)
        except (ClientError, BotoCoreError) as exc:
            message = f"region {region}: cannot list pipelines: {describe_error(exc)}"
            log.error(message)
            report.errors.append(message)
            return
        wanted = [s for s in summaries if not names or s["PipelineName"] in names]
        self.progress(f"{region}: {len(wanted)} pipelines")
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            outcomes = pool.map(lambda s: self._sync_pipeline_safely(client, s, domain_ids), wanted)
            for done, (summary, outcome) in enumerate(zip(wanted, outcomes, strict=True), 1):
                name = summary["PipelineName"]
                if isinstance(outcome, str):
                    report.pipelines_failed += 1
                    report.errors.append(f"pipeline {name} ({region}): {outcome}")
                else:
                    report.pipelines += 1
                    report.executions_fetched += outcome["fetched"]
                    report.executions_skipped += outcome["skipped"]
                    report.jobs_described += outcome["jobs"]
                    report.writes.add(outcome["writes"])
                self.progress(f"{region}: {name}", done, len(wanted))
        if not names and summaries:
            _, account = arn_parts(summaries[0]["PipelineArn"])
            if account and not self.stop.is_set():  # a complete listing of this account and region
                retired = self.retirement.retire_missing_pipelines(
                    region, account, [s["PipelineArn"] for s in summaries], listed_at, listed_at - self.retire_after)
                for arn in retired:
                    log.info("pipeline %s retired: not in the listing of %s/%s", arn, account, region)
                report.retired_pipelines += len(retired)

    def _sync_pipeline_safely(self, client: Any, summary: dict[str, Any],
                              domain_ids: dict[str, str]) -> dict[str, Any] | str:
        if self.stop.is_set():
            return "not synced: stopping"
        started = time.perf_counter()
        try:
            outcome = self.sync_pipeline(client, summary, domain_ids)
        except (ClientError, BotoCoreError, DefinitionError) as exc:
            log.error("pipeline %s failed: %s", summary.get("PipelineArn"), describe_error(exc))
            return describe_error(exc)
        except Exception as exc:  # one bad pipeline must not stop the others
            log.exception("pipeline %s failed unexpectedly", summary.get("PipelineArn"))
            return describe_error(exc)
        log.info("pipeline %s synced", summary["PipelineName"], extra={"fields": {
            "pipeline": summary["PipelineName"], "executions_fetched": outcome["fetched"],
            "executions_skipped": outcome["skipped"], "jobs_described": outcome["jobs"],
            "nodes": outcome["writes"].nodes, "relationships": outcome["writes"].relationships,
            "seconds": round(time.perf_counter() - started, 3)}})
        return outcome

    def sync_pipeline(self, client: Any, summary: dict[str, Any], domain_ids: dict[str, str]) -> dict[str, Any]:
        started = datetime.now(timezone.utc)  # before this pipeline's first read: what follows is observed from here
        arn, name = summary["PipelineArn"], summary["PipelineName"]
        stored = self.state.pipeline(arn)
        pipeline: dict[str, Any] = dict(summary)
        if stored.definition and stored.last_modified and stored.last_modified == summary.get("LastModifiedTime"):
            definition = stored.definition
        else:
            pipeline.update(fetch.describe_pipeline(client, name))
            definition = pipeline.get("PipelineDefinition") or ""
        tags = fetch.list_tags(client, arn)
        parsed: PipelineDef | None = None
        try:
            parsed = parse_definition(definition)
        except DefinitionError as exc:
            log.error("pipeline %s: definition skipped: %s", arn, exc)
        graph = pipeline_graph(pipeline, tags, parsed, domain_ids, definition)

        fetched = skipped = jobs = 0
        for execution in fetch.list_recent_executions(client, name, self.executions):
            execution_arn = execution["PipelineExecutionArn"]
            if execution_arn in stored.terminal_executions:
                skipped += 1
                continue
            graph.update(execution_graph(execution, arn))
            jobs += self._sync_execution(client, arn, name, execution_arn, definition, parsed, graph)
            fetched += 1
        writes = self.writer.write(observed(graph, started), source="sync")
        domain = pipeline_domain(tags, domain_ids)
        if stored.domains - {domain}:  # a removed or changed domain tag
            self.state.retire_domain_links(arn, domain, tags.get("DomainName"))
        if parsed:
            self.state.retire_stale_definition(arn, parsed.definition_hash)
        return {"fetched": fetched, "skipped": skipped, "jobs": jobs, "writes": writes}

    def sync_execution(self, client: Any, pipeline_arn: str, execution_arn: str,
                       pipeline_name: str | None = None) -> tuple[Graph, int]:
        """One execution fetched as a sync fetches it (jobs stored complete are not described again),
        with the definition the graph holds; returned as graph data, not written. (graph, jobs described)"""
        started = datetime.now(timezone.utc)
        stored = self.state.pipeline(pipeline_arn)
        parsed: PipelineDef | None = None
        if stored.definition:
            try:
                parsed = parse_definition(stored.definition)
            except DefinitionError as exc:
                log.error("pipeline %s: definition skipped: %s", pipeline_arn, exc)
        graph = Graph()
        jobs = self._sync_execution(client, pipeline_arn, pipeline_name or pipeline_arn.rsplit("/", 1)[-1],
                                    execution_arn, stored.definition or "", parsed, graph)
        return observed(graph, started), jobs

    def _sync_execution(self, client: Any, pipeline_arn: str, pipeline_name: str, execution_arn: str,
                        definition: str, parsed: PipelineDef | None, graph: Graph) -> int:
        detail = fetch.describe_execution(client, execution_arn)
        parameters = fetch.execution_parameters(client, execution_arn)
        graph.update(execution_graph(detail, pipeline_arn, parameters))
        rows = fetch.execution_steps(client, execution_arn)
        resolved = None
        if parsed:
            resolved = parse_definition(definition, parameters, {
                "PipelineExecutionId": execution_id(execution_arn), "PipelineExecutionArn": execution_arn,
                "PipelineName": pipeline_name,
            })
        resources = []
        for row in rows:
            graph.update(step_run_graph(execution_arn, row))
            created = created_resources(row.get("Metadata") or {})
            resources += created
            step = resolved.step(row["StepName"]) if resolved else None
            if step and not created:  # what a job or model used is described concretely instead
                graph.update(step_run_data_graph(execution_arn, step))
        return self._describe_resources(client, resources, graph)

    def _describe_resources(self, client: Any, resources: list[tuple[str, str | None, str]], graph: Graph) -> int:
        done = self.state.terminal("Job", [job_key(arn) for label, _, arn in resources if label == "Job"])
        done |= self.state.terminal("Model", [arn for label, _, arn in resources if label == "Model"])
        described = 0
        for label, kind, arn in resources:
            if (job_key(arn) if label == "Job" else arn) in done:
                continue
            try:
                if label == "Job" and kind:
                    graph.update(job_graph(kind, fetch.describe_job(client, kind, arn)))
                    described += 1
                elif label == "ModelPackage":
                    graph.update(model_package_graph(fetch.describe_model_package(client, arn)))
                elif label == "Model":
                    graph.update(model_graph(fetch.describe_model(client, arn)))
            except ClientError as exc:
                # A job we may not describe still appears (from the step run); only its details are missing.
                log.warning("cannot describe %s %s: %s", kind or label, arn, describe_error(exc))
        return described
