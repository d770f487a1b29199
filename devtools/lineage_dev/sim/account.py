"""Seeding a simulated SageMaker account: the public entry of lineage_dev.sim.

Everything the SageMaker API can express goes through the sim's HTTP API
(CreatePipeline, StartPipelineExecution, Create*Job, CreateModelPackage, S3...);
what only SageMaker itself could produce (execution/job status and times,
metrics, billable time, step runs) is set on moto's in-process objects.

`seed_execution` simulates SageMaker running a pipeline definition: it walks the
steps (only the taken branch of Condition steps) in dependency order
(lineage_dev.sim.schedule), resolves {"Get": ...} / {"Std:Join": ...} expressions
(lineage_dev.sim.execution), creates the concrete jobs, models and model packages
(lineage_dev.sim.steps, lineage_dev.sim.job_steps), and records the step runs
ListPipelineExecutionSteps returns.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lineage_dev.demo import PIPELINES_DIR as DEMO_PIPELINES_DIR
from lineage_dev.sim.endpoints_demo import seed_demo_endpoints
from lineage_dev.sim.execution import ARTIFACT_BUCKET, Run, ensure_bucket
from lineage_dev.sim.schedule import Slot, apply_outcome, cache_eligible, json_get_paths, schedule, taken_steps
from lineage_dev.sim.server import SimAws
from lineage_dev.sim.steps import execute_step
from lineage_dev.sim.values import as_text, naive_utc

DOMAIN_NAME = "ml-platform"
DATA_BUCKET = "acme-ml-data"


# --- public API ------------------------------------------------------------------


def seed_pipeline(
    sim: SimAws,
    name: str,
    definition: dict[str, Any],
    tags: dict[str, str] | None = None,
    region: str | None = None,
    *,
    role_arn: str | None = None,
    description: str | None = None,
    created: datetime | None = None,
) -> str:
    """CreatePipeline with the definition JSON; returns the pipeline ARN."""
    sm = sim.client("sagemaker", region)
    request: dict[str, Any] = {
        "PipelineName": name,
        "PipelineDefinition": json.dumps(definition),
        "RoleArn": role_arn or f"arn:aws:iam::{sim.account_id}:role/SageMakerPipelineExecutionRole",
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if description:
        request["PipelineDescription"] = description
    arn: str = sm.create_pipeline(**request)["PipelineArn"]
    pipeline = sim.sagemaker_backend(region).pipelines[name]
    if created:
        pipeline.creation_time = pipeline.last_modified_time = naive_utc(created)
    user = _domain_user(sim, region, (tags or {}).get("DomainName"))
    if user:
        pipeline.created_by = pipeline.last_modified_by = user
    return arn


def seed_execution(
    sim: SimAws,
    pipeline_name: str,
    *,
    status: str = "Succeeded",
    start: datetime,
    parameters: dict[str, str] | None = None,
    display_name: str | None = None,
    failed_step: str | None = None,
    cache_hit_from: str | None = None,
    condition_outcomes: dict[str, bool] | None = None,
    now: datetime | None = None,
    region: str | None = None,
) -> str:
    """Simulate one run of the pipeline's definition; returns the execution ARN.

    status: "Succeeded"; "Failed" at `failed_step` (default: the last step), where steps
    already running finish and later ones are absent; "Stopped" at `failed_step`, where
    running steps stop too; or "Executing", where the steps running at `now` (default:
    the wall clock, clipped into the run) stay Executing. A Fail step on the taken path
    fails the run.
    cache_hit_from: an earlier execution ARN; its cache-enabled steps (all job steps if
    the definition has no CacheConfig) are reused with their jobs.
    condition_outcomes: Condition step name -> branch taken (default True, the If branch).
    """
    if status not in ("Succeeded", "Failed", "Stopped", "Executing"):
        raise ValueError(f"unsupported execution status {status!r}")
    sm = sim.client("sagemaker", region)
    pipeline = sm.describe_pipeline(PipelineName=pipeline_name)
    definition = json.loads(pipeline["PipelineDefinition"])
    start = naive_utc(start)
    epoch_ms = int(start.replace(tzinfo=timezone.utc).timestamp() * 1000)
    display_name = display_name or f"execution-{epoch_ms}"
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = set(parameters or {}) - set(declared)
    if unknown:
        raise ValueError(f"{pipeline_name} has no parameters {sorted(unknown)}")
    steps = taken_steps(definition.get("Steps", []), condition_outcomes or {})
    if failed_step and failed_step not in steps:
        raise ValueError(f"step {failed_step!r} is not on the executed path")
    arn: str = sm.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineExecutionDisplayName=display_name,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in (parameters or {}).items()],
    )["PipelineExecutionArn"]
    run = Run(sim, region, pipeline["PipelineArn"], pipeline_name, arn, start, declared, parameters or {})
    run.rng = random.Random(f"{pipeline_name}|{start.isoformat()}|{display_name}")
    run.outcomes = condition_outcomes or {}
    run.json_paths = json_get_paths(definition)
    if definition.get("PipelineExperimentConfig"):
        run.experiment = run.resolve(definition["PipelineExperimentConfig"])
    source = _source_execution(sim, region, cache_hit_from)
    slots = schedule(steps, run.start, run.rng, cache_eligible(definition, steps, source))
    final_status, reason, slots = apply_outcome(slots, status, failed_step, now)
    for slot in slots:
        execute_step(run, slot, steps[slot.name], source)
    _store_execution(sim, region, run, slots, final_status, reason)
    return arn


def seed_demo_account(
    sim: SimAws,
    region: str = "us-east-1",
    pipelines_dir: Path | None = None,
    now: datetime | None = None,
    *,
    feature_store: bool = False,
) -> dict[str, Any]:
    """A realistic account: Studio domain, buckets, every demo pipeline with a few runs; with `feature_store`,
    also a feature group fed and read by a pipeline of its own (lineage_dev.sim.feature_store_demo)."""
    now = naive_utc(now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    files = sorted((pipelines_dir or DEMO_PIPELINES_DIR).glob("*.json"))
    definitions = {f.stem: json.loads(f.read_text()) for f in files}
    for bucket in (DATA_BUCKET, ARTIFACT_BUCKET):
        ensure_bucket(sim.client("s3", region), bucket, region)
    _seed_inputs(sim, region, definitions.values())
    domain = _create_domain(sim, region)
    summary: dict[str, Any] = {
        "domain": domain, "buckets": [DATA_BUCKET, ARTIFACT_BUCKET], "pipelines": {}, "executions": {},
    }
    cached, failed, executing = _demo_roles(definitions)
    for i, (name, definition) in enumerate(definitions.items()):
        tagged = len(definitions) < 3 or i < len(definitions) - 1
        tags = {"DomainName": DOMAIN_NAME, "Team": "data-science"} if tagged else {"Team": "analytics"}
        created = now - timedelta(days=14 - i)
        summary["pipelines"][name] = seed_pipeline(sim, name, definition, tags, region, created=created)
        base = now - timedelta(days=3) + timedelta(minutes=41 * i)
        runs = [seed_execution(sim, name, start=base, region=region)]
        cache_source = runs[0] if name == cached else None
        runs.append(seed_execution(sim, name, start=base + timedelta(days=1), cache_hit_from=cache_source,
                                   region=region))
        runs.append(seed_execution(sim, name, start=base + timedelta(days=2), region=region))
        if name == failed:
            runs.append(seed_execution(sim, name, status="Failed", start=base + timedelta(days=2, hours=4),
                                       failed_step=_first_training_step(definition), region=region))
        if name == executing:
            runs.append(seed_execution(sim, name, status="Executing", start=now - timedelta(minutes=25),
                                       now=now, region=region))
        summary["executions"][name] = runs
    if feature_store:
        from lineage_dev.sim.feature_store_demo import seed_feature_store

        summary["feature_store"] = seed_feature_store(sim, region, now, {"DomainName": DOMAIN_NAME, "Team": "data-science"})
    summary["jobs"] = sorted(_job_arns(sim, region))
    summary["hosting"] = seed_demo_endpoints(sim, region, DATA_BUCKET)
    return summary


# --- one execution ---------------------------------------------------------------


def _store_execution(
    sim: SimAws, region: str | None, run: Run, slots: list[Slot], status: str, reason: str | None
) -> None:
    pipeline = sim.sagemaker_backend(region).pipelines[run.pipeline_name]
    execution = pipeline.pipeline_executions[run.arn]
    ends = [s.end for s in slots if s.end] or [run.start]
    execution.pipeline_execution_status = status
    execution.pipeline_execution_failure_reason = reason
    execution.creation_time = execution.start_time = run.start
    execution.last_modified_time = max(s.start for s in slots) if status == "Executing" else max(ends)
    execution.pipeline_parameters = [{"Name": n, "Value": as_text(v)} for n, v in run.params.items()]
    execution.created_by = execution.last_modified_by = pipeline.created_by
    execution.sim_steps = run.records
    execution.sim_step_props = run.props
    execution.sim_experiment_config = run.experiment
    if pipeline.last_execution_time is None or pipeline.last_execution_time < run.start:
        pipeline.last_execution_time = run.start


def _source_execution(sim: SimAws, region: str | None, arn: str | None) -> Any:
    if arn is None:
        return None
    for candidate in sim.sagemaker_backend(region).pipelines.values():
        if arn in candidate.pipeline_executions:
            return candidate.pipeline_executions[arn]
    raise ValueError(f"cache_hit_from: unknown execution {arn}")


# --- the demo account ------------------------------------------------------------


def _demo_roles(definitions: dict[str, dict[str, Any]]) -> tuple[str | None, str | None, str | None]:
    """Which demo pipeline gets the cache-hit run, the failed run and the running one."""
    names = list(definitions)
    if not names:
        return None, None, None
    def caches(name: str) -> bool:
        steps = taken_steps(definitions[name].get("Steps", []), {}).values()
        return any((s.get("CacheConfig") or {}).get("Enabled") for s in steps)

    cached = next((n for n in names if caches(n)), names[0])
    trains = [n for n in names if _first_training_step(definitions[n])]
    failed = next((n for n in trains if n != cached), trains[0] if trains else names[0])
    executing = next((n for n in names if n not in (cached, failed)), names[0])
    return cached, failed, executing


def _first_training_step(definition: dict[str, Any]) -> str | None:
    taken = taken_steps(definition.get("Steps", []), {})
    for kind in ("Training", "Tuning"):
        names = [n for n, s in taken.items() if s["Type"] == kind]
        if names:
            return names[0]
    return None


def _domain_user(sim: SimAws, region: str | None, domain_name: str | None) -> dict[str, str] | None:
    domain = _domain_named(sim, region, domain_name)
    if domain is None:
        return None
    profile = "data-scientist"
    arn = f"arn:aws:sagemaker:{domain.region_name}:{domain.account_id}:user-profile/{domain.id}/{profile}"
    return {"UserProfileArn": arn, "UserProfileName": profile, "DomainId": domain.id}


def _domain_named(sim: SimAws, region: str | None, name: str | None) -> Any:
    return next((d for d in sim.sagemaker_backend(region).domains.values() if d.domain_name == name), None)


def _create_domain(sim: SimAws, region: str) -> dict[str, str]:
    sm = sim.client("sagemaker", region)
    existing = [d for d in sm.list_domains()["Domains"] if d["DomainName"] == DOMAIN_NAME]
    if not existing:
        sm.create_domain(
            DomainName=DOMAIN_NAME, AuthMode="IAM", VpcId="vpc-0a1b2c3d4e5f60789",
            SubnetIds=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{sim.account_id}:role/SageMakerStudioRole"},
            Tags=[{"Key": "Team", "Value": "ml-platform"}],
        )
        existing = [d for d in sm.list_domains()["Domains"] if d["DomainName"] == DOMAIN_NAME]
        domain = _domain_named(sim, region, DOMAIN_NAME)
        domain.creation_time = domain.last_modified_time = naive_utc(datetime.now(timezone.utc)) - timedelta(days=90)
    return {k: existing[0][k] for k in ("DomainId", "DomainName", "DomainArn")}


# Columns of the demo's input data, by a word in the object key (first match wins).
_SAMPLE_COLUMNS: list[tuple[str, dict[str, str]]] = [
    ("churn", {"customer_id": "int", "tenure_months": "int", "monthly_charges": "float", "contract": "str",
               "churned": "bool"}),
    ("segments", {"customer_id": "int", "segment": "str"}),
    ("fraud", {"transaction_id": "int", "merchant_id": "int", "amount": "float", "ts": "str", "is_fraud": "bool"}),
    ("merchant", {"merchant_id": "int", "risk_score": "float", "category": "str"}),
    ("clickstream", {"event_id": "int", "user_id": "int", "url": "str", "ts": "str"}),
    ("credit", {"applicant_id": "int", "income": "float", "debt_ratio": "float", "defaulted": "bool"}),
    ("demand", {"sku": "str", "day": "str", "units": "int", "price": "float"}),
    ("ltv", {"customer_id": "int", "orders": "int", "revenue": "float"}),
    ("autopilot", {"customer_id": "int", "tenure_months": "int", "monthly_charges": "float", "churned": "bool"}),
]


def _sample_table(key: str, rows: int = 50) -> Any:
    import pyarrow as pa

    columns = next((c for word, c in _SAMPLE_COLUMNS if word in key), {"id": "int", "value": "float"})
    rng = random.Random(key)
    make = {"int": lambda i: i + 1, "float": lambda i: round(rng.uniform(0, 100), 2),
            "str": lambda i: rng.choice(["a", "b", "c"]) + str(i), "bool": lambda i: rng.random() < 0.2}
    return pa.table({name: [make[kind](i) for i in range(rows)] for name, kind in columns.items()})


def _sample_body(key: str) -> bytes:
    """Realistic small data for an input object: Parquet, CSV or JSON by its name."""
    import io

    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if key.endswith(".json"):
        return b"{}"
    table = _sample_table(key)
    sink = io.BytesIO()
    if key.endswith(".parquet"):
        pq.write_table(table, sink)
    else:
        pcsv.write_csv(table, sink)
    return sink.getvalue()


def _seed_inputs(sim: SimAws, region: str, definitions: Any) -> None:
    """Small realistic objects for the static s3:// inputs the demo definitions read."""
    s3 = sim.client("s3", region)
    known = {DATA_BUCKET, ARTIFACT_BUCKET}
    for uri in sorted({u for d in definitions for u in _s3_strings(d)}):
        bucket, _, key = uri[5:].partition("/")
        if bucket in known and key:
            if "." not in key.rsplit("/", 1)[-1]:
                key = f"{key.rstrip('/')}/part-00000.snappy.parquet"
            if key.endswith((".py", ".sql")):
                body = b"# code placeholder written by the SageMaker simulator\n"
            else:
                body = _sample_body(key)
            s3.put_object(Bucket=bucket, Key=key, Body=body)


_OUTPUT_KEYS = {"ProcessingOutputConfig", "OutputDataConfig", "TransformOutput", "CheckpointConfig",
                "DebugHookConfig", "ProfilerConfig", "TensorBoardOutputConfig"}


def _s3_strings(value: Any) -> set[str]:
    """Literal s3:// strings in a definition, outside output configurations."""
    if isinstance(value, str):
        return {value} if value.startswith("s3://") else set()
    if isinstance(value, dict):
        return set().union(set(), *(_s3_strings(v) for k, v in value.items() if k not in _OUTPUT_KEYS))
    if isinstance(value, list):
        return set().union(set(), *(_s3_strings(v) for v in value))
    return set()


def _job_arns(sim: SimAws, region: str) -> set[str]:
    arns: set[str] = set()
    for pipeline in sim.sagemaker_backend(region).pipelines.values():
        for execution in pipeline.pipeline_executions.values():
            for step in getattr(execution, "sim_steps", []):
                for kind in ("ProcessingJob", "TrainingJob", "TransformJob", "TuningJob", "AutoMLJob"):
                    arn = step.get("Metadata", {}).get(kind, {}).get("Arn")
                    if arn:
                        arns.add(arn)
    return arns
