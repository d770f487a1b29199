"""Running one step of a simulated execution, and the handlers for steps that create no job.

`execute_step` reuses a cache hit's step run or calls the handler for the step's
type (job-creating types live in lineage_dev.sim.job_steps), then records the step run.
"""

from __future__ import annotations

from typing import Any

from lineage_dev.sim.execution import ARTIFACT_BUCKET, Outcome, Run
from lineage_dev.sim.job_steps import JOB_HANDLERS
from lineage_dev.sim.moto_sagemaker import compact
from lineage_dev.sim.schedule import Slot
from lineage_dev.sim.values import api_request, as_text, described, stable_id


def _model(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    if slot.status != "Succeeded":
        return None, {}
    name = run.job_name(slot.name)
    args = run.resolve(step["Arguments"], slot.name)
    run.sm.create_model(**api_request("CreateModel", {**args, "ModelName": name}))
    run.backend._models[name].creation_time = slot.end
    return {"Model": {"Arn": run.backend._models[name].arn}}, described(run.sm.describe_model(ModelName=name))


def _register_model(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
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
    arn = run.sm.create_model_package(**api_request("CreateModelPackage", args))["ModelPackageArn"]
    run.backend.model_packages[arn].creation_time = slot.end
    return {"RegisterModel": {"Arn": arn}}, described(run.sm.describe_model_package(ModelPackageName=arn))


def _condition(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    outcome = "True" if run.outcomes.get(slot.name, True) else "False"
    return {"Condition": {"Outcome": outcome}}, {"Outcome": outcome}


def _fail(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    message = as_text(run.resolve(step.get("Arguments", {}).get("ErrorMessage", ""), slot.name))
    slot.failure = message or "Fail step reached"
    return {"Fail": {"ErrorMessage": message}}, {}


def _outputs(run: Run, slot: Slot, step: dict[str, Any]) -> list[dict[str, str]]:
    samples = {"Integer": "1", "Float": "0.9", "Boolean": "true"}
    token = stable_id(run.arn + slot.name, 6)
    return [
        {"Name": o["OutputName"], "Value": samples.get(o.get("OutputType", "String"), f"{o['OutputName']}-{token}")}
        for o in step.get("OutputParameters", [])
    ]


def _lambda(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    outputs = _outputs(run, slot, step) if slot.status == "Succeeded" else []
    arn = as_text(run.resolve(step.get("FunctionArn", ""), slot.name))
    props = {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}
    return {"Lambda": compact({"Arn": arn, "OutputParameters": outputs or None})}, props


def _callback(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    outputs = _outputs(run, slot, step) if slot.status == "Succeeded" else []
    queue = as_text(run.resolve(step.get("SqsQueueUrl", ""), slot.name))
    meta = {"CallbackToken": stable_id(run.arn + slot.name, 10), "SqsQueueUrl": queue,
            "OutputParameters": outputs or None}
    return {"Callback": compact(meta)}, {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}


def _emr(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step.get("Arguments", {}), slot.name)
    cluster = args.get("ClusterId") or f"j-{stable_id(run.arn + slot.name, 13).upper()}"
    emr_step = f"s-{stable_id(run.arn + slot.name + 'step', 13).upper()}"
    region = run.region or run.sim.region
    log = f"s3://aws-logs-{run.sim.account_id}-{region}/elasticmapreduce/{cluster}/steps/{emr_step}/"
    return {"EMR": {"ClusterId": cluster, "StepId": emr_step, "StepName": slot.name, "LogFilePath": log}}, {}


def _emr_serverless(run: Run, slot: Slot, step: dict[str, Any]) -> Outcome:
    args = run.resolve(step.get("Arguments", {}), slot.name)
    app = str(args.get("ApplicationId") or stable_id(run.arn, 16))
    job_run = stable_id(run.arn + slot.name, 16)
    meta = {"ApplicationId": app, "JobRunId": job_run, "JobRunName": slot.name,
            "LogFilePath": f"s3://{ARTIFACT_BUCKET}/emr-serverless/applications/{app}/jobs/{job_run}/"}
    return {"EMRServerless": meta}, {}


_HANDLERS = {
    **JOB_HANDLERS, "Model": _model, "CreateModel": _model, "RegisterModel": _register_model,
    "Condition": _condition, "Fail": _fail, "Lambda": _lambda, "Callback": _callback,
    "EMR": _emr, "EMRServerless": _emr_serverless,
}


def execute_step(run: Run, slot: Slot, step: dict[str, Any], source: Any) -> None:
    """Run one scheduled step: reuse `source`'s step run on a cache hit, else call its type's handler."""
    meta: dict[str, Any] | None = None
    if slot.cached and source is not None:
        meta = next(s.get("Metadata") for s in source.sim_steps if s["StepName"] == slot.name)
        run.props[slot.name] = source.sim_step_props.get(slot.name, {})
    else:
        handler = _HANDLERS.get(slot.type)
        if handler:
            meta, run.props[slot.name] = handler(run, slot, step)
    run.record(slot, step, meta, source if slot.cached else None)
