"""Handlers for the step types that create SageMaker jobs.

Processing (and the QualityCheck / ClarifyCheck steps built on it), Training and
NotebookJob, Tuning, Transform and AutoML: each creates its job through the sim's
API, then sets what only SageMaker could (status, times, metrics, best candidate)
on moto's object and writes the job's outputs to S3.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta
from typing import Any

from lineage_dev.sim.execution import ARTIFACT_BUCKET, Outcome, Run
from lineage_dev.sim.moto_sagemaker import compact, tuning_summary
from lineage_dev.sim.schedule import Slot
from lineage_dev.sim.values import api_request, as_text, described, lookup, metric_value, stable_id, typed

JOB_STATUS = {"Succeeded": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Executing": "InProgress"}


def _experiment(run: Run, step: str) -> dict[str, Any]:
    if not run.experiment:
        return {}
    return {"ExperimentConfig": {**run.experiment, "TrialComponentDisplayName": step}}


def _processing(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, prefix=args.get("ProcessingJobName"))
    request = {**args, "ProcessingJobName": name, **_experiment(run, slot.name)}
    run.sm.create_processing_job(**api_request("CreateProcessingJob", request))
    job = run.backend.processing_jobs[name]
    job.creation_time, job.processing_start_time, job.processing_end_time = run.times(slot)
    job.last_modified_time = job.processing_end_time or job.processing_start_time
    job.processing_job_status = JOB_STATUS[slot.status]
    job.failure_reason = job.exit_message = slot.failure
    props = described(run.sm.describe_processing_job(ProcessingJobName=name))
    props["PropertyFiles"] = _property_files(run, slot, step, args)
    return {"ProcessingJob": {"Arn": job.arn}}, props


def _property_files(run: Run, slot: Slot, step: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
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
            if isinstance(uri, str):  # a FeatureStoreOutput has no S3 location
                run.touch(uri)
    return reports


def _report(rng: random.Random, paths: set[str]) -> dict[str, Any]:
    """A JSON report where each dotted path holds a plausible metric value."""
    report: dict[str, Any] = {}
    for path in sorted(paths) or ["metrics.accuracy.value"]:
        keys = [k for k in re.split(r"[.\[\]'\"]+", path) if k and not k.isdigit()]
        node = report
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        if keys:
            node[keys[-1]] = metric_value(rng, path)
    return report


def _training(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    job = _create_training(run, slot, run.job_name(slot.name, prefix=args.get("TrainingJobName")), args)
    props = described(run.sm.describe_training_job(TrainingJobName=job.training_job_name))
    return {"TrainingJob": {"Arn": job.arn}}, props


def _create_training(
    run: Run, slot: Slot, name: str, args: dict[str, Any], objective: dict[str, Any] | None = None
) -> Any:
    args = {"ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}, **args}
    request = {**args, "TrainingJobName": name, **_experiment(run, slot.name)}
    run.sm.create_training_job(**api_request("CreateTrainingJob", request))
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
    run: Run, args: dict[str, Any], objective: dict[str, Any] | None, when: datetime | None
) -> list[dict[str, Any]]:
    names = [m["Name"] for m in args.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])]
    if not names:
        metric = str((args.get("HyperParameters") or {}).get("eval_metric", "loss"))
        names = [f"train:{metric}", f"validation:{metric}"]
    if objective and objective.get("MetricName") not in names:
        names.append(objective["MetricName"])
    return [{"MetricName": n, "Value": metric_value(run.rng, n), "Timestamp": when} for n in names]


def _tuning(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, limit=32, prefix=args.get("HyperParameterTuningJobName"))
    request = {**args, "HyperParameterTuningJobName": name}
    run.sm.create_hyper_parameter_tuning_job(**api_request("CreateHyperParameterTuningJob", request))
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
    props = described(run.sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))
    props["TrainingJobSummaries"] = ranked + [s for s in summaries if s not in ranked]
    return {"TuningJob": {"Arn": tuning.arn}}, props


def _tuning_trial(
    run: Run, slot: Slot, tuning: Any, definition: dict[str, Any], ranges: dict[str, Any],
    objective: dict[str, Any], index: int,
) -> Any:
    """One training job launched by the tuning job (its children all share the step's window)."""
    tuned = _sample_ranges(run, ranges)
    args = {**definition, "HyperParameters": {**(definition.get("StaticHyperParameters") or {}), **tuned}}
    trial_slot = Slot(slot.name, "Training", set(), slot.start, slot.end, slot.status, slot.failure)
    name = f"{tuning.hyper_parameter_tuning_job_name}-{index:03d}-{stable_id(tuning.arn + str(index), 8)}"
    job = _create_training(run, trial_slot, name, args, objective)
    job.tuning_job_arn, job.tuned_hyper_parameters = tuning.arn, tuned
    return job


def _sample_ranges(run: Run, ranges: dict[str, Any]) -> dict[str, str]:
    tuned: dict[str, str] = {}
    for r in ranges.get("ContinuousParameterRanges", []):
        tuned[r["Name"]] = str(round(run.rng.uniform(float(r["MinValue"]), float(r["MaxValue"])), 4))
    for r in ranges.get("IntegerParameterRanges", []):
        tuned[r["Name"]] = str(run.rng.randint(int(r["MinValue"]), int(r["MaxValue"])))
    for r in ranges.get("CategoricalParameterRanges", []):
        tuned[r["Name"]] = run.rng.choice(r["Values"])
    return tuned


def _transform(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step["Arguments"], slot.name)
    name = run.job_name(slot.name, prefix=args.get("TransformJobName"))
    request = {**args, "TransformJobName": name, **_experiment(run, slot.name)}
    run.sm.create_transform_job(**api_request("CreateTransformJob", request))
    job = run.backend.transform_jobs[name]
    job.creation_time, job.transform_start_time, job.transform_end_time = run.times(slot)
    job.last_modified_time = job.transform_end_time or job.transform_start_time
    job.transform_job_status = JOB_STATUS[slot.status]
    job.failure_reason = slot.failure
    if slot.status == "Succeeded":
        source = str(lookup(args, "TransformInput.DataSource.S3DataSource.S3Uri") or "input")
        output = str(lookup(args, "TransformOutput.S3OutputPath") or "").rstrip("/")
        run.touch(f"{output}/{source.rstrip('/').rsplit('/', 1)[-1]}.out")
    return {"TransformJob": {"Arn": job.arn}}, described(run.sm.describe_transform_job(TransformJobName=name))


def _check(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
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
    meta = {k: (v if isinstance(v, bool) else as_text(v)) for k, v in compact(meta).items()}
    return {slot.type: meta}, {**props, **{k: v for k, v in meta.items() if "Baseline" in k}}


def _bool(value: Any) -> bool | None:
    return None if value is None else typed("Boolean", value)


def _automl(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    """The step's CreateAutoMLJob (v1) request, sent as CreateAutoMLJobV2 (all moto has)."""
    args = run.resolve(step.get("Arguments", {}), slot.name)
    name = run.job_name(slot.name, limit=32, prefix=args.get("AutoMLJobName"))
    run.sm.create_auto_ml_job_v2(**api_request("CreateAutoMLJobV2", _automl_v2_request(args, name)))
    job = run.backend.auto_ml_jobs[name]
    created, _, ended = run.times(slot)
    job.creation_time, job.end_time, job.last_modified_time = created, ended, ended or created
    job.auto_ml_job_status = JOB_STATUS[slot.status]
    job.auto_ml_job_secondary_status = "ModelTuning" if slot.status == "Executing" else job.auto_ml_job_status
    job.failure_reason, job.partial_failure_reasons = slot.failure, None
    job.model_deploy_config = job.model_deploy_result = None  # moto invents an endpoint
    output = str(lookup(args, "OutputDataConfig.S3OutputPath") or f"s3://{ARTIFACT_BUCKET}/automl").rstrip("/")
    job.auto_ml_job_artifacts = {
        "CandidateDefinitionNotebookLocation": f"{output}/{name}/sagemaker-automl-candidates/notebooks/"
                                               "SageMakerAutopilotCandidateDefinitionNotebook.ipynb",
        "DataExplorationNotebookLocation": f"{output}/{name}/sagemaker-automl-candidates/notebooks/"
                                           "SageMakerAutopilotDataExplorationNotebook.ipynb",
    }
    job.best_candidate = _best_candidate(run, job, output) if slot.status == "Succeeded" else None
    props = described(run.sm.describe_auto_ml_job_v2(AutoMLJobName=name))
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


def _best_candidate(run: Run, job: Any, output: str) -> dict[str, Any]:
    candidate = f"{job.auto_ml_job_name}-t1-1-{stable_id(job.arn, 12)}"[:63]
    model_data = f"{output}/{job.auto_ml_job_name}/sagemaker-automl-candidates/model/{candidate}/model.tar.gz"
    run.touch(model_data)
    metric = (job.auto_ml_job_objective or {}).get("MetricName") or "F1"
    return {
        "CandidateName": candidate,
        "FinalAutoMLJobObjectiveMetric": {"Type": "Maximize", "MetricName": metric,
                                          "Value": metric_value(run.rng, metric)},
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


JOB_HANDLERS = {
    "Processing": _processing, "Training": _training, "NotebookJob": _training, "Tuning": _tuning,
    "Transform": _transform, "QualityCheck": _check, "ClarifyCheck": _check, "AutoML": _automl,
}
