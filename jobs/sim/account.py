"""Seeding a simulated SageMaker account.

Everything the SageMaker API can express goes through the sim's HTTP API
(CreatePipeline, StartPipelineExecution, Create*Job, CreateModelPackage, S3...);
what only SageMaker itself could produce (execution/job status and times,
metrics, billable time, step runs) is set on moto's in-process objects.

`seed_execution` simulates SageMaker running a pipeline definition: it walks the
steps (only the taken branch of Condition steps) in dependency order, resolves
{"Get": ...} / {"Std:Join": ...} expressions, creates the concrete jobs, models
and model packages, and records the step runs ListPipelineExecutionSteps returns.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from jobs.sim.moto_sagemaker import SERVICE_MODEL, compact, tuning_summary
from jobs.sim.server import SimAws

DEMO_PIPELINES_DIR = Path(__file__).resolve().parents[1] / "demo" / "pipelines"
DOMAIN_NAME = "ml-platform"
DATA_BUCKET, ARTIFACT_BUCKET = "acme-ml-data", "acme-ml-artifacts"

JOB_STATUS = {"Succeeded": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Executing": "InProgress"}
DURATIONS = {  # seconds, (min, max)
    "Processing": (180, 720), "Training": (720, 2700), "Tuning": (2400, 5400),
    "Transform": (300, 900), "Model": (10, 40), "CreateModel": (10, 40), "RegisterModel": (5, 20),
    "Condition": (1, 3), "Fail": (1, 2), "Lambda": (5, 90), "Callback": (120, 1800),
    "EMR": (300, 1200), "EMRServerless": (300, 1200), "QualityCheck": (300, 600),
    "ClarifyCheck": (360, 720), "AutoML": (3600, 7200), "NotebookJob": (600, 1200),
}
JOB_STEP_TYPES = {"Processing", "Training", "Tuning", "Transform", "NotebookJob", "QualityCheck", "ClarifyCheck"}
_PATH_TOKEN = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


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
        pipeline.creation_time = pipeline.last_modified_time = _naive(created)
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
    start = _naive(start)
    epoch_ms = int(start.replace(tzinfo=timezone.utc).timestamp() * 1000)
    display_name = display_name or f"execution-{epoch_ms}"
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = set(parameters or {}) - set(declared)
    if unknown:
        raise ValueError(f"{pipeline_name} has no parameters {sorted(unknown)}")
    steps = _taken_steps(definition.get("Steps", []), condition_outcomes or {})
    if failed_step and failed_step not in steps:
        raise ValueError(f"step {failed_step!r} is not on the executed path")
    arn: str = sm.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineExecutionDisplayName=display_name,
        PipelineParameters=[{"Name": k, "Value": v} for k, v in (parameters or {}).items()],
    )["PipelineExecutionArn"]
    run = _Run(sim, region, pipeline["PipelineArn"], pipeline_name, arn, start, declared, parameters or {})
    run.rng = random.Random(f"{pipeline_name}|{start.isoformat()}|{display_name}")
    run.outcomes = condition_outcomes or {}
    run.json_paths = _json_get_paths(definition)
    if definition.get("PipelineExperimentConfig"):
        run.experiment = run.resolve(definition["PipelineExperimentConfig"])
    source = _source_execution(sim, region, cache_hit_from)
    slots = _schedule(steps, run, _cache_eligible(definition, steps, source))
    final_status, reason, slots = _apply_outcome(slots, status, failed_step, now)
    for slot in slots:
        run.execute(slot, steps[slot.name], source)
    _store_execution(sim, region, run, slots, final_status, reason)
    return arn


def seed_demo_account(
    sim: SimAws,
    region: str = "us-east-1",
    pipelines_dir: Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A realistic account: Studio domain, buckets, every demo pipeline with a few runs."""
    now = _naive(now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    files = sorted((pipelines_dir or DEMO_PIPELINES_DIR).glob("*.json"))
    definitions = {f.stem: json.loads(f.read_text()) for f in files}
    for bucket in (DATA_BUCKET, ARTIFACT_BUCKET):
        _ensure_bucket(sim.client("s3", region), bucket, region)
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
    summary["jobs"] = sorted(_job_arns(sim, region))
    return summary


# --- definition walking ------------------------------------------------------------


@dataclass
class _Slot:
    name: str
    type: str
    deps: set[str]
    start: datetime = datetime.min
    end: datetime | None = None
    status: str = "Succeeded"
    failure: str | None = None
    cached: bool = False


def _taken_steps(
    steps: list[dict[str, Any]], outcomes: dict[str, bool], parent: str | None = None
) -> dict[str, dict[str, Any]]:
    """Steps that run, in definition order, with an implicit dependency on their Condition."""
    taken: dict[str, dict[str, Any]] = {}
    for step in steps:
        taken[step["Name"]] = {**step, "_parent": parent}
        if step["Type"] == "Condition":
            branch = "IfSteps" if outcomes.get(step["Name"], True) else "ElseSteps"
            taken.update(_taken_steps(step["Arguments"].get(branch, []), outcomes, step["Name"]))
    return taken


def _references(value: Any) -> set[str]:
    """Step names referenced by {"Get": "Steps.X..."} anywhere in `value`."""
    if isinstance(value, dict):
        found = set()
        if isinstance(value.get("Get"), str) and value["Get"].startswith("Steps."):
            found.add(value["Get"].split(".")[1].split("[")[0])
        for key, item in value.items():
            if key not in ("IfSteps", "ElseSteps"):
                found |= _references(item)
        return found
    if isinstance(value, list):
        return set().union(*map(_references, value)) if value else set()
    return set()


def _dependencies(step: dict[str, Any], taken: dict[str, dict[str, Any]]) -> set[str]:
    deps = set(step.get("DependsOn") or []) | _references(step)
    if step["_parent"]:
        deps.add(step["_parent"])
    deps.discard(step["Name"])
    return {d for d in deps if d in taken}


def _topological(taken: dict[str, dict[str, Any]]) -> list[_Slot]:
    slots = {name: _Slot(name, step["Type"], _dependencies(step, taken)) for name, step in taken.items()}
    ordered: list[_Slot] = []
    done: set[str] = set()
    while len(ordered) < len(slots):
        ready = [s for s in slots.values() if s.name not in done and s.deps <= done]
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(set(slots) - done)}")
        ordered.append(ready[0])
        done.add(ready[0].name)
    return ordered


def _schedule(taken: dict[str, dict[str, Any]], run: _Run, cached: set[str]) -> list[_Slot]:
    slots = _topological(taken)
    ends: dict[str, datetime] = {}
    for slot in slots:
        ready = max((ends[d] for d in slot.deps), default=run.start + timedelta(seconds=run.rng.randint(5, 20)))
        slot.start = ready + timedelta(seconds=run.rng.randint(3, 25))
        slot.cached = slot.name in cached
        low, high = (2, 6) if slot.cached else DURATIONS.get(slot.type, (30, 120))
        slot.end = ends[slot.name] = slot.start + timedelta(seconds=run.rng.randint(low, high))
    return slots


def _apply_outcome(
    slots: list[_Slot], status: str, failed_step: str | None, now: datetime | None
) -> tuple[str, str | None, list[_Slot]]:
    """Final execution status, failure reason and the step runs that happened."""
    if not slots:
        return status, None, []
    by_name = {s.name: s for s in slots}
    fail_steps = [s for s in slots if s.type == "Fail"]
    if status == "Executing":
        return status, None, _cut_executing(slots, _naive(now or datetime.now(timezone.utc)))
    if status == "Succeeded" and not fail_steps:
        return status, None, slots
    failing = by_name[failed_step] if failed_step else (fail_steps[0] if fail_steps else slots[-1])
    assert failing.end is not None
    kept = [s for s in slots if s is failing or s.start < failing.end]
    if status == "Stopped":  # a stop request ends everything that is still running
        for slot in kept:
            if slot.end and slot.end >= failing.end:
                slot.status, slot.end = "Stopped", failing.end
        return "Stopped", None, kept
    failing.status = "Failed"  # steps already running finish; nothing new starts
    if failing.type != "Fail":
        failing.failure = _failure_message(failing)
    return "Failed", "Step failure: One or multiple steps failed.", kept


def _cut_executing(slots: list[_Slot], now: datetime) -> list[_Slot]:
    cutoff = min(now, max(s.start for s in slots) + timedelta(seconds=60))
    cutoff = max(cutoff, min(s.start for s in slots) + timedelta(seconds=1))
    kept = [s for s in slots if s.start <= cutoff]
    running = [s for s in kept if s.end and s.end > cutoff] or [max(kept, key=lambda s: s.start)]
    for slot in running:
        slot.status, slot.end = "Executing", None
    return kept


def _failure_message(slot: _Slot) -> str:
    if slot.type in JOB_STEP_TYPES:
        return ("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"ValueError: "
                "Input contains NaN\"\nCommand \"/usr/bin/python3 script.py\", exit code: 1")
    return f"ClientError: step {slot.name} failed: internal simulated error"


def _cache_eligible(definition: dict[str, Any], taken: dict[str, dict[str, Any]], source: Any) -> set[str]:
    if source is None:
        return set()
    previous = {s["StepName"] for s in getattr(source, "sim_steps", []) if s["StepStatus"] == "Succeeded"}
    configured = [n for n, s in taken.items() if (s.get("CacheConfig") or {}).get("Enabled")]
    if not any("CacheConfig" in s for s in definition.get("Steps", [])):
        configured = [n for n, s in taken.items() if s["Type"] in JOB_STEP_TYPES]
    return {n for n in configured if n in previous}


def _demo_roles(definitions: dict[str, dict[str, Any]]) -> tuple[str | None, str | None, str | None]:
    """Which demo pipeline gets the cache-hit run, the failed run and the running one."""
    names = list(definitions)
    if not names:
        return None, None, None
    def caches(name: str) -> bool:
        steps = _taken_steps(definitions[name].get("Steps", []), {}).values()
        return any((s.get("CacheConfig") or {}).get("Enabled") for s in steps)

    cached = next((n for n in names if caches(n)), names[0])
    trains = [n for n in names if _first_training_step(definitions[n])]
    failed = next((n for n in trains if n != cached), trains[0] if trains else names[0])
    executing = next((n for n in names if n not in (cached, failed)), names[0])
    return cached, failed, executing


def _first_training_step(definition: dict[str, Any]) -> str | None:
    taken = _taken_steps(definition.get("Steps", []), {})
    for kind in ("Training", "Tuning"):
        names = [n for n, s in taken.items() if s["Type"] == kind]
        if names:
            return names[0]
    return None


# --- one execution -----------------------------------------------------------------


@dataclass
class _Run:
    sim: SimAws
    region: str | None
    pipeline_arn: str
    pipeline_name: str
    arn: str
    start: datetime
    declared: dict[str, dict[str, Any]]
    given: dict[str, str]
    rng: random.Random = field(default_factory=random.Random)
    props: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    buckets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sm = self.sim.client("sagemaker", self.region)
        self.s3 = self.sim.client("s3", self.region)
        self.backend = self.sim.sagemaker_backend(self.region)
        self.id = self.arn.rsplit("/", 1)[-1]
        self.params = {
            n: _typed(p.get("Type", "String"), self.given.get(n, p.get("DefaultValue")))
            for n, p in self.declared.items()
        }
        self.experiment: dict[str, Any] | None = None
        self.outcomes: dict[str, bool] = {}
        self.json_paths: dict[tuple[str, str], set[str]] = {}

    # expressions
    def resolve(self, value: Any, step: str = "") -> Any:
        if isinstance(value, list):
            return [self.resolve(v, step) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(value["Get"], step)
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return str(join.get("On", "")).join(_text(self.resolve(v, step)) for v in join.get("Values", []))
        if set(value) == {"Std:JsonGet"}:
            json_get = value["Std:JsonGet"]
            found = _lookup(self.resolve(json_get.get("PropertyFile"), step), str(json_get.get("Path", "")))
            return found if found is not None else _metric_value(self.rng, str(json_get.get("Path", "")))
        if len(value) == 1 and next(iter(value)).startswith("Std:"):
            return f"sim-unresolved:{next(iter(value))}"
        return {k: self.resolve(v, step) for k, v in value.items()}

    def get(self, expr: str, step: str) -> Any:
        head, _, rest = expr.partition(".")
        if head == "Parameters" and rest in self.params:
            return self.params[rest]
        if head == "Execution":
            variables = {
                "PipelineExecutionId": self.id, "PipelineExecutionArn": self.arn,
                "PipelineName": self.pipeline_name, "PipelineArn": self.pipeline_arn,
                "StartDateTime": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "CurrentDateTime": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "TrainingJobName": self.job_name(step), "ProcessingJobName": self.job_name(step),
            }
            if rest in variables:
                return variables[rest]
        if head == "Steps":
            name, _, path = rest.partition(".")
            found = _lookup(self.props.get(name), path)
            if found is not None:
                return found
        return f"sim-unresolved:{expr}"

    def job_name(self, step: str, limit: int = 63, prefix: Any = None) -> str:
        """SageMaker-style generated name; a name in the definition is a custom prefix."""
        if isinstance(prefix, str) and prefix:
            base = prefix
        else:
            base = f"pipelines-{self.id}-{_slug(step)}" if limit > 32 else f"{self.id}-{_slug(step)}"
        return f"{base[: limit - 11].rstrip('-')}-{_token(self.arn + step, 10)}"

    def times(self, slot: _Slot) -> tuple[datetime, datetime, datetime | None]:
        """(created, started, ended) of the job behind a step run."""
        created = slot.start + timedelta(seconds=2)
        started = created + timedelta(seconds=self.rng.randint(30, 90))
        ended = slot.end - timedelta(seconds=1) if slot.end else None
        if ended and ended < started:
            started = created
        return created, started, ended

    # steps
    def execute(self, slot: _Slot, step: dict[str, Any], source: Any) -> None:
        meta: dict[str, Any] | None = None
        if slot.cached and source is not None:
            meta = next(s.get("Metadata") for s in source.sim_steps if s["StepName"] == slot.name)
            self.props[slot.name] = source.sim_step_props.get(slot.name, {})
        else:
            handler = _HANDLERS.get(slot.type)
            if handler:
                meta, self.props[slot.name] = handler(self, slot, step)
        cache_hit = {"SourcePipelineExecutionArn": source.arn} if slot.cached and source else None
        self.records.append(compact({
            "StepName": slot.name,
            "StepDisplayName": step.get("DisplayName"),
            "StepDescription": step.get("Description"),
            "StartTime": slot.start,
            "EndTime": slot.end,
            "StepStatus": slot.status,
            "AttemptCount": 1,
            "FailureReason": slot.failure,
            "CacheHitResult": cache_hit,
            "Metadata": meta or None,
        }))

    def touch(self, uri: str, body: bytes = b"placeholder written by the SageMaker simulator\n") -> None:
        """Put a small object at (or under) an s3:// URI produced by a step."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return
        bucket, _, key = uri[5:].partition("/")
        if "." not in key.rsplit("/", 1)[-1]:
            key = f"{key.rstrip('/')}/part-00000".lstrip("/")
        if bucket not in self.buckets:
            _ensure_bucket(self.s3, bucket, self.region or self.sim.region)
            self.buckets.add(bucket)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)


def _request(operation: str, args: dict[str, Any]) -> dict[str, Any]:
    """The request fields the operation accepts, typed as its input shape wants them.

    SageMaker substitutes parameter values into whatever field holds them (a Float
    parameter in ContainerArguments becomes a string); botocore needs exact types.
    """
    shape = SERVICE_MODEL.operation_model(operation).input_shape
    accepted = {k: v for k, v in args.items() if k in shape.members and v is not None}
    coerced: dict[str, Any] = _coerce(accepted, shape)
    return coerced


def _coerce(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _coerce(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(v, shape.value) for k, v in value.items()}
    if kind == "string" and isinstance(value, (bool, int, float)):
        return _text(value)
    if kind in ("integer", "long", "float", "double") and isinstance(value, (str, int, float)):
        try:
            number = float(value)
        except ValueError:
            return value  # botocore will name the field
        return int(number) if kind in ("integer", "long") else number
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


def _described(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _experiment(run: _Run, step: str) -> dict[str, Any]:
    if not run.experiment:
        return {}
    return {"ExperimentConfig": {**run.experiment, "TrialComponentDisplayName": step}}


Outcome = tuple[dict[str, Any] | None, dict[str, Any]]


def _processing(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, prefix=args.get("ProcessingJobName"))
    request = {**args, "ProcessingJobName": name, **_experiment(run, slot.name)}
    run.sm.create_processing_job(**_request("CreateProcessingJob", request))
    job = run.backend.processing_jobs[name]
    job.creation_time, job.processing_start_time, job.processing_end_time = run.times(slot)
    job.last_modified_time = job.processing_end_time or job.processing_start_time
    job.processing_job_status = JOB_STATUS[slot.status]
    job.failure_reason = job.exit_message = slot.failure
    props = _described(run.sm.describe_processing_job(ProcessingJobName=name))
    props["PropertyFiles"] = _property_files(run, slot, step, args)
    return {"ProcessingJob": {"Arn": job.arn}}, props


def _property_files(run: _Run, slot: _Slot, step: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """JSON reports for the step's PropertyFiles (holding every path a JsonGet reads), written to S3 with
    a placeholder object for each other output."""
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    uris = {o["OutputName"]: o.get("S3Output", {}).get("S3Uri") for o in outputs}
    reports: dict[str, Any] = {}
    for spec in step.get("PropertyFiles", []):
        paths = run.json_paths.get((slot.name, spec["PropertyFileName"]), set())
        reports[spec["PropertyFileName"]] = _report(run.rng, paths)
        uri = uris.pop(spec.get("OutputName"), None)
        if slot.status == "Succeeded" and isinstance(uri, str):
            run.touch(f"{uri.rstrip('/')}/{spec['FilePath']}", json.dumps(reports[spec["PropertyFileName"]]).encode())
    if slot.status == "Succeeded":
        for uri in uris.values():
            run.touch(uri)
    return reports


def _training(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    job = _create_training(run, slot, run.job_name(slot.name, prefix=args.get("TrainingJobName")), args)
    props = _described(run.sm.describe_training_job(TrainingJobName=job.training_job_name))
    return {"TrainingJob": {"Arn": job.arn}}, props


def _create_training(
    run: _Run, slot: _Slot, name: str, args: dict[str, Any], objective: dict[str, Any] | None = None
) -> Any:
    args = {"ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}, **args}
    request = {**args, "TrainingJobName": name, **_experiment(run, slot.name)}
    run.sm.create_training_job(**_request("CreateTrainingJob", request))
    job = run.backend.training_jobs[name]
    job.creation_time, job.training_start_time, job.training_end_time = run.times(slot)
    job.last_modified_time = job.training_end_time or job.training_start_time
    job.training_job_status = JOB_STATUS[slot.status]
    job.secondary_status = "Training" if job.training_job_status == "InProgress" else job.training_job_status
    job.secondary_status_transitions = _transitions(job)
    job.failure_reason = slot.failure
    if job.training_end_time:
        job.training_time_in_seconds = int((job.training_end_time - job.training_start_time).total_seconds())
        job.billable_time_in_seconds = job.training_time_in_seconds
    job.final_metric_data_list = None
    if slot.status == "Succeeded":
        job.final_metric_data_list = _metrics(run, args, objective, job.training_end_time)
        run.touch(job.model_artifacts["S3ModelArtifacts"])
    return job


def _transitions(job: Any) -> list[dict[str, Any]]:
    phases = [
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading input data"),
        ("Training", "Training image download completed. Training in progress."),
    ]
    if job.training_end_time:
        phases += [("Uploading", "Uploading generated training model"), (job.secondary_status, "Training job ended")]
    moments = [job.creation_time, job.training_start_time, job.training_start_time + timedelta(seconds=40)]
    if job.training_end_time:
        moments += [job.training_end_time - timedelta(seconds=20), job.training_end_time]
    transitions = []
    for i, (status, message) in enumerate(phases):
        entry = {"Status": status, "StartTime": moments[i], "StatusMessage": message}
        if i + 1 < len(moments):
            entry["EndTime"] = moments[i + 1]
        transitions.append(entry)
    return transitions


def _metrics(
    run: _Run, args: dict[str, Any], objective: dict[str, Any] | None, when: datetime | None
) -> list[dict[str, Any]]:
    names = [m["Name"] for m in args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])]
    if not names:
        metric = str((args.get("HyperParameters") or {}).get("eval_metric", "loss"))
        names = [f"train:{metric}", f"validation:{metric}"]
    if objective and objective.get("MetricName") not in names:
        names.append(objective["MetricName"])
    return [{"MetricName": n, "Value": _metric_value(run.rng, n), "Timestamp": when} for n in names]


def _metric_value(rng: random.Random, name: str) -> float:
    """A plausible value for a metric or report path, judged by its name."""
    lowered = name.lower()
    if "count" in lowered:
        return float(rng.randint(10_000, 500_000))
    if any(word in lowered for word in ("loss", "rmse", "mse", "mae", "error", "drift", "psi")):
        return round(rng.uniform(0.02, 0.3), 4)
    return round(rng.uniform(0.78, 0.96), 4)


def _json_get_paths(definition: Any) -> dict[tuple[str, str], set[str]]:
    """(step, property file) -> the JsonGet paths read from it anywhere in the definition."""
    found: dict[tuple[str, str], set[str]] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            json_get = value.get("Std:JsonGet")
            source = json_get.get("PropertyFile") if isinstance(json_get, dict) else None
            if isinstance(source, dict) and str(source.get("Get", "")).startswith("Steps."):
                _, step, _, name = (source["Get"].split(".") + ["", "", "", ""])[:4]
                found.setdefault((step, name), set()).add(str(json_get.get("Path", "")))
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(definition)
    return found


def _report(rng: random.Random, paths: set[str]) -> dict[str, Any]:
    """A JSON report where each dotted path holds a plausible metric value."""
    report: dict[str, Any] = {}
    for path in sorted(paths) or ["metrics.accuracy.value"]:
        keys = [k for k in re.split(r"[.\[\]'\"]+", path) if k and not k.isdigit()]
        node = report
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        if keys:
            node[keys[-1]] = _metric_value(rng, path)
    return report


def _tuning(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, limit=32, prefix=args.get("HyperParameterTuningJobName"))
    request = {**args, "HyperParameterTuningJobName": name}
    run.sm.create_hyper_parameter_tuning_job(**_request("CreateHyperParameterTuningJob", request))
    tuning = run.backend.hyper_parameter_tuning_jobs[name]
    config = args["HyperParameterTuningJobConfig"]
    objective = config.get("HyperParameterTuningJobObjective") or {"Type": "Maximize", "MetricName": "validation:auc"}
    definition = args.get("TrainingJobDefinition") or (args.get("TrainingJobDefinitions") or [{}])[0]
    count = min(3, int(config.get("ResourceLimits", {}).get("MaxNumberOfTrainingJobs", 3)))
    ranges = definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
    trials = [_tuning_trial(run, slot, tuning, definition, ranges, objective, i) for i in range(1, count + 1)]
    created, _, ended = run.times(slot)
    tuning.creation_time, tuning.hyper_parameter_tuning_end_time = created, ended
    tuning.last_modified_time = ended or created
    tuning.hyper_parameter_tuning_job_status = JOB_STATUS[slot.status]
    tuning.failure_reason = slot.failure
    statuses = [t.training_job_status for t in trials]
    completed, running, failed = (statuses.count(s) for s in ("Completed", "InProgress", "Failed"))
    tuning.training_job_status_counters = {
        "Completed": completed, "InProgress": running, "RetryableError": 0,
        "NonRetryableError": failed, "Stopped": statuses.count("Stopped"),
    }
    tuning.objective_status_counters = {"Succeeded": completed, "Pending": running, "Failed": failed}
    summaries = [tuning_summary(t, config) for t in trials]
    ranked = sorted(
        (s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s),
        key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
        reverse=objective.get("Type", "Maximize") == "Maximize",
    )
    tuning.best_training_job = ranked[0] if ranked else None
    tuning.OverallBestTrainingJob = tuning.tuning_job_completion_details = None
    tuning.consumed_resources = {"RuntimeInSeconds": int(((ended or created) - created).total_seconds())}
    props = _described(run.sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))
    props["TrainingJobSummaries"] = ranked + [s for s in summaries if s not in ranked]
    return {"TuningJob": {"Arn": tuning.arn}}, props


def _tuning_trial(
    run: _Run, slot: _Slot, tuning: Any, definition: dict[str, Any], ranges: dict[str, Any],
    objective: dict[str, Any], index: int,
) -> Any:
    """One training job launched by the tuning job (its children all share the step's window)."""
    tuned = _sample_ranges(run, ranges)
    args = {**definition, "HyperParameters": {**(definition.get("StaticHyperParameters") or {}), **tuned}}
    trial_slot = _Slot(slot.name, "Training", set(), slot.start, slot.end, slot.status, slot.failure)
    name = f"{tuning.hyper_parameter_tuning_job_name}-{index:03d}-{_token(tuning.arn + str(index), 8)}"
    job = _create_training(run, trial_slot, name, args, objective)
    job.tuning_job_arn, job.tuned_hyper_parameters = tuning.arn, tuned
    return job


def _sample_ranges(run: _Run, ranges: dict[str, Any]) -> dict[str, str]:
    tuned: dict[str, str] = {}
    for r in ranges.get("ContinuousParameterRanges", []):
        tuned[r["Name"]] = str(round(run.rng.uniform(float(r["MinValue"]), float(r["MaxValue"])), 4))
    for r in ranges.get("IntegerParameterRanges", []):
        tuned[r["Name"]] = str(run.rng.randint(int(r["MinValue"]), int(r["MaxValue"])))
    for r in ranges.get("CategoricalParameterRanges", []):
        tuned[r["Name"]] = run.rng.choice(r["Values"])
    return tuned


def _transform(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, prefix=args.get("TransformJobName"))
    request = {**args, "TransformJobName": name, **_experiment(run, slot.name)}
    run.sm.create_transform_job(**_request("CreateTransformJob", request))
    job = run.backend.transform_jobs[name]
    job.creation_time, job.transform_start_time, job.transform_end_time = run.times(slot)
    job.last_modified_time = job.transform_end_time or job.transform_start_time
    job.transform_job_status = JOB_STATUS[slot.status]
    job.failure_reason = slot.failure
    if slot.status == "Succeeded":
        source = str(_lookup(args, "TransformInput.DataSource.S3DataSource.S3Uri") or "input")
        output = str(_lookup(args, "TransformOutput.S3OutputPath") or "").rstrip("/")
        run.touch(f"{output}/{source.rstrip('/').rsplit('/', 1)[-1]}.out")
    return {"TransformJob": {"Arn": job.arn}}, _described(run.sm.describe_transform_job(TransformJobName=name))


def _model(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    if slot.status != "Succeeded":
        return None, {}
    name = run.job_name(slot.name)
    args = run.resolve(step["Arguments"], slot.name)
    run.sm.create_model(**_request("CreateModel", {**args, "ModelName": name}))
    run.backend._models[name].creation_time = slot.end
    return {"Model": {"Arn": run.backend._models[name].arn}}, _described(run.sm.describe_model(ModelName=name))


def _register_model(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    if slot.status != "Succeeded":
        return None, {}
    args = run.resolve(step["Arguments"], slot.name)
    group = args.get("ModelPackageGroupName")
    if group and group not in run.backend.model_package_groups:
        description = f"Models registered by {run.pipeline_name}"
        run.sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription=description)
        run.backend.model_package_groups[group].creation_time = slot.start
    args["MetadataProperties"] = {**(args.get("MetadataProperties") or {}), "GeneratedBy": run.arn}
    args.setdefault("ModelApprovalStatus", "PendingManualApproval")
    arn = run.sm.create_model_package(**_request("CreateModelPackage", args))["ModelPackageArn"]
    run.backend.model_packages[arn].creation_time = slot.end
    return {"RegisterModel": {"Arn": arn}}, _described(run.sm.describe_model_package(ModelPackageName=arn))


def _condition(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    outcome = "True" if run.outcomes.get(slot.name, True) else "False"
    return {"Condition": {"Outcome": outcome}}, {"Outcome": outcome}


def _fail(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    message = _text(run.resolve(step.get("Arguments", {}).get("ErrorMessage", ""), slot.name))
    slot.failure = message or "Fail step reached"
    return {"Fail": {"ErrorMessage": message}}, {}


def _outputs(run: _Run, slot: _Slot, step: dict[str, Any]) -> list[dict[str, str]]:
    samples = {"Integer": "1", "Float": "0.9", "Boolean": "true"}
    token = _token(run.arn + slot.name, 6)
    return [
        {"Name": o["OutputName"], "Value": samples.get(o.get("OutputType", "String"), f"{o['OutputName']}-{token}")}
        for o in step.get("OutputParameters", [])
    ]


def _lambda(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    outputs = _outputs(run, slot, step) if slot.status == "Succeeded" else []
    arn = _text(run.resolve(step.get("FunctionArn", ""), slot.name))
    props = {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}
    return {"Lambda": compact({"Arn": arn, "OutputParameters": outputs or None})}, props


def _callback(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    outputs = _outputs(run, slot, step) if slot.status == "Succeeded" else []
    queue = _text(run.resolve(step.get("SqsQueueUrl", ""), slot.name))
    meta = {"CallbackToken": _token(run.arn + slot.name, 10), "SqsQueueUrl": queue, "OutputParameters": outputs or None}
    return {"Callback": compact(meta)}, {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}


def _emr(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step.get("Arguments", {}), slot.name)
    cluster = args.get("ClusterId") or f"j-{_token(run.arn + slot.name, 13).upper()}"
    emr_step = f"s-{_token(run.arn + slot.name + 'step', 13).upper()}"
    region = run.region or run.sim.region
    log = f"s3://aws-logs-{run.sim.account_id}-{region}/elasticmapreduce/{cluster}/steps/{emr_step}/"
    return {"EMR": {"ClusterId": cluster, "StepId": emr_step, "StepName": slot.name, "LogFilePath": log}}, {}


def _check(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    """QualityCheck / ClarifyCheck: a processing job plus baseline metadata."""
    _, props = _processing(run, slot, step)
    outputs = props.get("ProcessingOutputConfig", {}).get("Outputs", [])
    out = str(outputs[0]["S3Output"]["S3Uri"]).rstrip("/") if outputs else f"s3://{ARTIFACT_BUCKET}/checks/{run.id}"
    level = {k: run.resolve(v, slot.name) for k, v in step.items() if k not in ("Arguments", "_parent")}
    meta: dict[str, Any] = {
        "CheckType": level.get("CheckType"),
        "ModelPackageGroupName": level.get("ModelPackageGroupName"),
        "CheckJobArn": props.get("ProcessingJobArn"),
        "SkipCheck": _bool(level.get("SkipCheck")),
        "RegisterNewBaseline": _bool(level.get("RegisterNewBaseline")),
        "CalculatedBaselineConstraints": f"{out}/constraints.json",
        "BaselineUsedForDriftCheckConstraints": level.get("SuppliedBaselineConstraints") or f"{out}/constraints.json",
        "ViolationReport": f"{out}/constraint_violations.json",
    }
    if slot.type == "QualityCheck":
        meta["CalculatedBaselineStatistics"] = f"{out}/statistics.json"
        meta["BaselineUsedForDriftCheckStatistics"] = (
            level.get("SuppliedBaselineStatistics") or f"{out}/statistics.json"
        )
    meta = {k: (v if isinstance(v, bool) else _text(v)) for k, v in compact(meta).items()}
    return {slot.type: meta}, {**props, **{k: v for k, v in meta.items() if "Baseline" in k}}


def _automl(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    """The step's CreateAutoMLJob (v1) request, sent as CreateAutoMLJobV2 (all moto has)."""
    args = run.resolve(step.get("Arguments", {}), slot.name)
    name = run.job_name(slot.name, limit=32, prefix=args.get("AutoMLJobName"))
    run.sm.create_auto_ml_job_v2(**_request("CreateAutoMLJobV2", _automl_v2_request(args, name)))
    job = run.backend.auto_ml_jobs[name]
    created, _, ended = run.times(slot)
    job.creation_time, job.end_time, job.last_modified_time = created, ended, ended or created
    job.auto_ml_job_status = JOB_STATUS[slot.status]
    job.auto_ml_job_secondary_status = "ModelTuning" if slot.status == "Executing" else job.auto_ml_job_status
    job.failure_reason, job.partial_failure_reasons = slot.failure, None
    job.model_deploy_config = job.model_deploy_result = None  # moto invents an endpoint
    output = str(_lookup(args, "OutputDataConfig.S3OutputPath") or f"s3://{ARTIFACT_BUCKET}/automl").rstrip("/")
    job.auto_ml_job_artifacts = {
        "CandidateDefinitionNotebookLocation": f"{output}/{name}/sagemaker-automl-candidates/notebooks/"
                                               "SageMakerAutopilotCandidateDefinitionNotebook.ipynb",
        "DataExplorationNotebookLocation": f"{output}/{name}/sagemaker-automl-candidates/notebooks/"
                                           "SageMakerAutopilotDataExplorationNotebook.ipynb",
    }
    job.best_candidate = _best_candidate(run, job, output) if slot.status == "Succeeded" else None
    props = _described(run.sm.describe_auto_ml_job_v2(AutoMLJobName=name))
    return {"AutoMLJob": {"Arn": job.arn}}, props


def _automl_v2_request(args: dict[str, Any], name: str) -> dict[str, Any]:
    channels = args.get("InputDataConfig") or []
    config = args.get("AutoMLJobConfig") or {}
    tabular = {
        "TargetAttributeName": next((c["TargetAttributeName"] for c in channels if c.get("TargetAttributeName")), "y"),
        "ProblemType": args.get("ProblemType"),
        "CompletionCriteria": config.get("CompletionCriteria") or {},
        "Mode": config.get("Mode"),
        "CandidateGenerationConfig": config.get("CandidateGenerationConfig"),
    }
    keep = ("ChannelType", "ContentType", "CompressionType", "DataSource")
    return {
        "AutoMLJobName": name,
        "AutoMLJobInputDataConfig": [{k: c[k] for k in keep if k in c} for c in channels],
        "OutputDataConfig": args.get("OutputDataConfig"),
        "AutoMLProblemTypeConfig": {"TabularJobConfig": compact(tabular)},
        "RoleArn": args.get("RoleArn"),
        "AutoMLJobObjective": args.get("AutoMLJobObjective"),
        "SecurityConfig": config.get("SecurityConfig"),
    }


def _best_candidate(run: _Run, job: Any, output: str) -> dict[str, Any]:
    candidate = f"{job.auto_ml_job_name}-t1-1-{_token(job.arn, 12)}"[:63]
    model_data = f"{output}/{job.auto_ml_job_name}/sagemaker-automl-candidates/model/{candidate}/model.tar.gz"
    run.touch(model_data)
    metric = (job.auto_ml_job_objective or {}).get("MetricName") or "F1"
    return {
        "CandidateName": candidate,
        "FinalAutoMLJobObjectiveMetric": {"Type": "Maximize", "MetricName": metric,
                                          "Value": _metric_value(run.rng, metric)},
        "ObjectiveStatus": "Succeeded",
        "CandidateSteps": [{
            "CandidateStepType": "AWS::SageMaker::TrainingJob",
            "CandidateStepArn": job.arn.replace(":automl-job/", ":training-job/") + "-t1-1",
            "CandidateStepName": f"{job.auto_ml_job_name}-t1-1",
        }],
        "CandidateStatus": "Completed",
        "InferenceContainers": [{
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/autogluon-inference:0.4.3-cpu-py38-ubuntu20.04",
            "ModelDataUrl": model_data,
            "Environment": {
                "MODEL_NAME": candidate,
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                "SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label,probability",
                "SAGEMAKER_PROGRAM": "tabular_serve.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            },
        }],
        "CreationTime": job.creation_time,
        "EndTime": job.end_time,
        "LastModifiedTime": job.last_modified_time,
    }


def _emr_serverless(run: _Run, slot: _Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step.get("Arguments", {}), slot.name)
    app = str(args.get("ApplicationId") or _token(run.arn, 16))
    job_run = _token(run.arn + slot.name, 16)
    meta = {"ApplicationId": app, "JobRunId": job_run, "JobRunName": slot.name,
            "LogFilePath": f"s3://{ARTIFACT_BUCKET}/emr-serverless/applications/{app}/jobs/{job_run}/"}
    return {"EMRServerless": meta}, {}


_HANDLERS = {
    "Processing": _processing, "Training": _training, "NotebookJob": _training, "Tuning": _tuning,
    "Transform": _transform, "Model": _model, "CreateModel": _model, "RegisterModel": _register_model,
    "Condition": _condition, "Fail": _fail, "Lambda": _lambda, "Callback": _callback,
    "EMR": _emr, "EMRServerless": _emr_serverless, "QualityCheck": _check, "ClarifyCheck": _check, "AutoML": _automl,
}


def _store_execution(
    sim: SimAws, region: str | None, run: _Run, slots: list[_Slot], status: str, reason: str | None
) -> None:
    pipeline = sim.sagemaker_backend(region).pipelines[run.pipeline_name]
    execution = pipeline.pipeline_executions[run.arn]
    ends = [s.end for s in slots if s.end] or [run.start]
    execution.pipeline_execution_status = status
    execution.pipeline_execution_failure_reason = reason
    execution.creation_time = execution.start_time = run.start
    execution.last_modified_time = max(s.start for s in slots) if status == "Executing" else max(ends)
    execution.pipeline_parameters = [{"Name": n, "Value": _text(v)} for n, v in run.params.items()]
    execution.created_by = execution.last_modified_by = pipeline.created_by
    execution.sim_steps = run.records
    execution.sim_step_props = run.props
    execution.sim_experiment_config = run.experiment
    if pipeline.last_execution_time is None or pipeline.last_execution_time < run.start:
        pipeline.last_execution_time = run.start


# --- helpers -------------------------------------------------------------------------


def _lookup(value: Any, path: str) -> Any:
    """Follow a property path like "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"."""
    for name, index, key1, key2 in _PATH_TOKEN.findall(path):
        key = name or key1 or key2
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and index:
            value = value[int(index)] if int(index) < len(value) else None
        elif isinstance(value, list) and key:
            value = next((v for v in value if isinstance(v, dict) and _named(v, key)), None)
        else:
            return None
    return value


def _named(item: dict[str, Any], name: str) -> bool:
    """Lists in describe outputs are indexed by their *Name field (OutputName, ChannelName...)."""
    return any(k.endswith("Name") and v == name for k, v in item.items())


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "Integer":
        return int(value)
    if kind == "Float":
        return float(value)
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else _typed("Boolean", value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "step"


def _token(seed: str, length: int) -> str:
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while len(out) < length:
        number, digit = divmod(number, 36)
        out += alphabet[digit]
    return out


def _naive(when: datetime) -> datetime:
    """moto keeps naive UTC datetimes."""
    return when if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None)


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)


def _source_execution(sim: SimAws, region: str | None, arn: str | None) -> Any:
    if arn is None:
        return None
    for candidate in sim.sagemaker_backend(region).pipelines.values():
        if arn in candidate.pipeline_executions:
            return candidate.pipeline_executions[arn]
    raise ValueError(f"cache_hit_from: unknown execution {arn}")


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
        domain.creation_time = domain.last_modified_time = _naive(datetime.now(timezone.utc)) - timedelta(days=90)
    return {k: existing[0][k] for k in ("DomainId", "DomainName", "DomainArn")}


def _seed_inputs(sim: SimAws, region: str, definitions: Any) -> None:
    """Placeholder objects for the static s3:// inputs the demo definitions read."""
    s3 = sim.client("s3", region)
    known = {DATA_BUCKET, ARTIFACT_BUCKET}
    for uri in sorted({u for d in definitions for u in _s3_strings(d)}):
        bucket, _, key = uri[5:].partition("/")
        if bucket in known and key:
            if "." not in key.rsplit("/", 1)[-1]:
                key = f"{key.rstrip('/')}/part-00000.csv"
            body = b"{}" if key.endswith(".json") else b"id,value\n1,0.5\n"
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
