"""The simulated AWS account (lineage_dev.sim), exercised only through plain boto3 clients."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from lineage_dev.sim import faults
from lineage_dev.sim.account import DEMO_PIPELINES_DIR, seed_demo_account, seed_execution, seed_pipeline
from lineage_dev.sim.server import SimAws

DEFINITION = json.loads((Path(__file__).parent / "data" / "sim_housing_pipeline.json").read_text())
START = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
IF_BRANCH = ["Preprocess", "Train", "Tune", "Evaluate", "CheckAccuracy", "Register", "CreateModel", "BatchScore", "NotifyTeam"]
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def assert_valid_output(operation: str, response: dict[str, Any]) -> None:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, SAGEMAKER.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()


def steps_of(sm: Any, execution_arn: str) -> dict[str, dict[str, Any]]:
    pages = sm.get_paginator("list_pipeline_execution_steps").paginate(PipelineExecutionArn=execution_arn)
    return {s["StepName"]: s for page in pages for s in page["PipelineExecutionSteps"]}


def arn_name(arn: str) -> str:
    return arn.split("/", 1)[1]


@pytest.fixture
def housing(sim: SimAws) -> str:
    seed_pipeline(sim, "housing", DEFINITION, tags={"DomainName": "ml-platform"})
    return seed_execution(sim, "housing", start=START, parameters={"InputDataUrl": "s3://sim-data/housing/2024-05-01/"})


# --- pipelines and executions ------------------------------------------------------------


def test_list_pipeline_execution_steps_pages_and_validates(sim: SimAws, housing: str) -> None:
    sm = sim.client("sagemaker")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sm.list_pipeline_execution_steps(PipelineExecutionArn=housing, MaxResults=2, SortOrder="Ascending", **kwargs)
        assert_valid_output("ListPipelineExecutionSteps", page)
        seen += [s["StepName"] for s in page["PipelineExecutionSteps"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 5 and len(seen) == len(set(seen)) == len(IF_BRANCH)
    assert set(seen) == set(IF_BRANCH)  # the Fail step of the else branch never ran

    ascending = sm.list_pipeline_execution_steps(PipelineExecutionArn=housing, SortOrder="Ascending")["PipelineExecutionSteps"]
    descending = sm.list_pipeline_execution_steps(PipelineExecutionArn=housing)["PipelineExecutionSteps"]
    assert [s["StartTime"] for s in ascending] == sorted(s["StartTime"] for s in ascending)
    assert [s["StepName"] for s in descending] == [s["StepName"] for s in reversed(ascending)]
    assert ascending[0]["StepName"] == "Preprocess"


def test_steps_follow_dependencies_and_carry_metadata(sim: SimAws, housing: str) -> None:
    steps = steps_of(sim.client("sagemaker"), housing)
    for later, earlier in [("Train", "Preprocess"), ("Tune", "Preprocess"), ("Evaluate", "Train"),
                           ("CheckAccuracy", "Evaluate"), ("Register", "CheckAccuracy"), ("CreateModel", "Tune"),
                           ("BatchScore", "CreateModel"), ("NotifyTeam", "Register")]:
        assert steps[later]["StartTime"] >= steps[earlier]["EndTime"], (later, earlier)
    assert all(s["StepStatus"] == "Succeeded" and s["EndTime"] > s["StartTime"] for s in steps.values())
    assert steps["Preprocess"]["StepDisplayName"] == "Preprocess housing data"
    metadata = {name: step["Metadata"] for name, step in steps.items()}
    assert ":processing-job/" in metadata["Preprocess"]["ProcessingJob"]["Arn"]
    assert ":training-job/" in metadata["Train"]["TrainingJob"]["Arn"]
    assert ":hyper-parameter-tuning-job/" in metadata["Tune"]["TuningJob"]["Arn"]
    assert ":transform-job/" in metadata["BatchScore"]["TransformJob"]["Arn"]
    assert ":model/" in metadata["CreateModel"]["Model"]["Arn"]
    assert metadata["Register"]["RegisterModel"]["Arn"].endswith(":model-package/sim-housing-models/1")
    assert metadata["CheckAccuracy"] == {"Condition": {"Outcome": "True"}}
    assert metadata["NotifyTeam"]["Lambda"]["Arn"].endswith(":function:notify-model-registered")
    assert [p["Name"] for p in metadata["NotifyTeam"]["Lambda"]["OutputParameters"]] == ["message_id"]


def test_list_pipelines_pages_with_next_token(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    names = [f"pipe-{i:02d}" for i in range(7)]
    for i, name in enumerate(names):
        seed_pipeline(sim, name, DEFINITION, created=START + timedelta(hours=i))
    seed_pipeline(sim, "other", DEFINITION)

    listed: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sm.list_pipelines(PipelineNamePrefix="pipe-", SortBy="Name", SortOrder="Ascending", MaxResults=3, **kwargs)
        assert_valid_output("ListPipelines", page)
        listed += [p["PipelineName"] for p in page["PipelineSummaries"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert listed == names and pages == 3

    newest_first = [p["PipelineName"] for p in sm.list_pipelines(PipelineNamePrefix="pipe-")["PipelineSummaries"]]
    assert newest_first == list(reversed(names))  # default: CreationTime, Descending
    with pytest.raises(ClientError) as error:
        sm.list_pipelines(NextToken="not-a-token")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_executions_have_seeded_status_times_and_parameters(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    seed_pipeline(sim, "housing", DEFINITION)
    ok = seed_execution(sim, "housing", start=START, display_name="nightly-1")
    failed = seed_execution(sim, "housing", status="Failed", failed_step="Train", start=START + timedelta(days=1))
    now = START + timedelta(days=2, minutes=5)
    running = seed_execution(sim, "housing", status="Executing", start=START + timedelta(days=2), now=now)

    first = sm.list_pipeline_executions(PipelineName="housing", MaxResults=2)
    assert_valid_output("ListPipelineExecutions", first)
    second = sm.list_pipeline_executions(PipelineName="housing", MaxResults=2, NextToken=first["NextToken"])
    summaries = first["PipelineExecutionSummaries"] + second["PipelineExecutionSummaries"]
    assert "NextToken" not in second
    assert [s["PipelineExecutionArn"] for s in summaries] == [running, failed, ok]
    assert [s["PipelineExecutionStatus"] for s in summaries] == ["Executing", "Failed", "Succeeded"]
    assert [s["StartTime"] for s in summaries] == [START + timedelta(days=d) for d in (2, 1, 0)]
    ascending = sm.list_pipeline_executions(PipelineName="housing", SortOrder="Ascending")["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionArn"] for s in ascending] == [ok, failed, running]

    described = sm.describe_pipeline_execution(PipelineExecutionArn=ok)
    assert_valid_output("DescribePipelineExecution", described)
    steps = steps_of(sm, ok)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert described["PipelineExecutionDisplayName"] == "nightly-1"
    assert described["CreationTime"] == START
    assert described["LastModifiedTime"] == max(s["EndTime"] for s in steps.values())
    assert described["PipelineExperimentConfig"] == {"ExperimentName": "housing", "TrialName": ok.rsplit("/", 1)[1]}
    assert "FailureReason" not in described
    params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=ok)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in params} == {
        "InputDataUrl": "s3://sim-data/housing/raw/", "ProcessingInstanceCount": "1", "AccuracyThreshold": "0.8"}

    failure = sm.describe_pipeline_execution(PipelineExecutionArn=failed)
    assert failure["PipelineExecutionStatus"] == "Failed" and failure["FailureReason"]
    failed_steps = steps_of(sm, failed)
    assert failed_steps["Train"]["StepStatus"] == "Failed" and "AlgorithmError" in failed_steps["Train"]["FailureReason"]
    assert "Evaluate" not in failed_steps and "Register" not in failed_steps
    train = sm.describe_training_job(TrainingJobName=arn_name(failed_steps["Train"]["Metadata"]["TrainingJob"]["Arn"]))
    assert train["TrainingJobStatus"] == "Failed" and train["FailureReason"]

    running_steps = steps_of(sm, running)
    executing = [s for s in running_steps.values() if s["StepStatus"] == "Executing"]
    assert executing and all("EndTime" not in s for s in executing)
    assert all(s["StartTime"] <= now for s in running_steps.values())
    assert sm.describe_pipeline_execution(PipelineExecutionArn=running)["PipelineExecutionStatus"] == "Executing"


def test_condition_else_branch_reaches_fail_step(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    seed_pipeline(sim, "housing", DEFINITION)
    arn = seed_execution(sim, "housing", start=START, condition_outcomes={"CheckAccuracy": False})
    steps = steps_of(sm, arn)
    assert set(steps) == {"Preprocess", "Train", "Tune", "Evaluate", "CheckAccuracy", "AccuracyTooLow"}
    assert steps["CheckAccuracy"]["Metadata"] == {"Condition": {"Outcome": "False"}}
    message = f"Execution {arn.rsplit('/', 1)[1]} failed: accuracy below 0.8"
    assert steps["AccuracyTooLow"]["Metadata"] == {"Fail": {"ErrorMessage": message}}
    assert steps["AccuracyTooLow"]["StepStatus"] == "Failed"
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Failed"


def test_cache_hits_reuse_the_source_jobs(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    seed_pipeline(sim, "housing", DEFINITION)
    first = seed_execution(sim, "housing", start=START)
    second = seed_execution(sim, "housing", start=START + timedelta(days=1), cache_hit_from=first)
    before, after = steps_of(sm, first), steps_of(sm, second)
    for name in ("Preprocess", "Train"):  # the steps with CacheConfig.Enabled
        assert after[name]["CacheHitResult"] == {"SourcePipelineExecutionArn": first}
        assert after[name]["Metadata"] == before[name]["Metadata"]
    assert "CacheHitResult" not in after["Evaluate"]
    evaluate = sm.describe_processing_job(ProcessingJobName=arn_name(after["Evaluate"]["Metadata"]["ProcessingJob"]["Arn"]))
    model_input = next(i for i in evaluate["ProcessingInputs"] if i["InputName"] == "model")
    train = sm.describe_training_job(TrainingJobName=arn_name(before["Train"]["Metadata"]["TrainingJob"]["Arn"]))
    assert model_input["S3Input"]["S3Uri"] == train["ModelArtifacts"]["S3ModelArtifacts"]


# --- jobs, models, model packages ---------------------------------------------------------


def test_describe_jobs_resolve_definition_references(sim: SimAws, housing: str) -> None:
    sm = sim.client("sagemaker")
    execution_id = housing.rsplit("/", 1)[1]
    meta = {name: step["Metadata"] for name, step in steps_of(sm, housing).items()}

    prep = sm.describe_processing_job(ProcessingJobName=arn_name(meta["Preprocess"]["ProcessingJob"]["Arn"]))
    assert_valid_output("DescribeProcessingJob", prep)
    assert prep["ProcessingJobStatus"] == "Completed" and prep["ProcessingEndTime"] > prep["ProcessingStartTime"]
    assert prep["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://sim-data/housing/2024-05-01/"  # the execution's parameter
    assert prep["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1  # Integer parameter default
    assert prep["AppSpecification"]["ContainerArguments"] == ["--threshold", "0.8"]  # Float parameter into a string field
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in prep["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["train"] == f"s3://sim-artifacts/housing/{execution_id}/train"

    train = sm.describe_training_job(TrainingJobName=arn_name(meta["Train"]["TrainingJob"]["Arn"]))
    assert_valid_output("DescribeTrainingJob", train)
    assert train["TrainingJobStatus"] == "Completed"
    assert {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]} == {
        "train": outputs["train"], "validation": outputs["validation"]}
    assert train["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://sim-artifacts/housing/{execution_id}/model/")
    assert {m["MetricName"] for m in train["FinalMetricDataList"]} == {"validation:accuracy", "train:logloss"}
    assert train["BillableTimeInSeconds"] == int((train["TrainingEndTime"] - train["TrainingStartTime"]).total_seconds()) > 0
    assert train["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:accuracy"  # not moto's default

    tuning = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=arn_name(meta["Tune"]["TuningJob"]["Arn"]))
    assert_valid_output("DescribeHyperParameterTuningJob", tuning)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning["HyperParameterTuningJobName"], SortBy="FinalObjectiveMetricValue")
    assert_valid_output("ListTrainingJobsForHyperParameterTuningJob", children)
    best = tuning["BestTrainingJob"]
    assert children["TrainingJobSummaries"][0]["TrainingJobName"] == best["TrainingJobName"]
    assert set(best["TunedHyperParameters"]) == {"eta", "max_depth"}
    assert sm.describe_training_job(TrainingJobName=best["TrainingJobName"])["TrainingJobStatus"] == "Completed"

    model = sm.describe_model(ModelName=arn_name(meta["CreateModel"]["Model"]["Arn"]))
    assert_valid_output("DescribeModel", model)
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://sim-artifacts/housing/tuning/{best['TrainingJobName']}/output/model.tar.gz"

    transform = sm.describe_transform_job(TransformJobName=arn_name(meta["BatchScore"]["TransformJob"]["Arn"]))
    assert_valid_output("DescribeTransformJob", transform)
    assert transform["ModelName"] == model["ModelName"] and transform["TransformJobStatus"] == "Completed"
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == outputs["test"]
    assert transform["TransformOutput"]["S3OutputPath"] == f"s3://sim-artifacts/housing/{execution_id}/scores"

    package = sm.describe_model_package(ModelPackageName=meta["Register"]["RegisterModel"]["Arn"])
    assert_valid_output("DescribeModelPackage", package)
    assert (package["ModelPackageGroupName"], package["ModelPackageVersion"]) == ("sim-housing-models", 1)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["MetadataProperties"]["GeneratedBy"] == housing
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == train["ModelArtifacts"]["S3ModelArtifacts"]

    s3 = sim.client("s3")
    bucket, key = train["ModelArtifacts"]["S3ModelArtifacts"][5:].split("/", 1)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    report = f"housing/{execution_id}/evaluation/evaluation.json"
    assert "accuracy" in json.loads(s3.get_object(Bucket="sim-artifacts", Key=report)["Body"].read())["metrics"]


def test_pipeline_tags_and_domains(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    arn = seed_pipeline(sim, "housing", DEFINITION, tags={"DomainName": "ml-platform"})
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "DomainName", "Value": "ml-platform"}, {"Key": "Team", "Value": "ds"}])
    tags = sm.list_tags(ResourceArn=arn)
    assert_valid_output("ListTags", tags)
    assert tags["Tags"] == [{"Key": "DomainName", "Value": "ml-platform"}, {"Key": "Team", "Value": "ds"}]
    pipeline = sm.describe_pipeline(PipelineName=arn)  # name or ARN, like the real API
    assert_valid_output("DescribePipeline", pipeline)
    assert json.loads(pipeline["PipelineDefinition"]) == DEFINITION
    sm.update_pipeline(PipelineName="housing", PipelineDefinition=json.dumps({**DEFINITION, "Steps": []}))
    updated = sm.describe_pipeline(PipelineName="housing")
    assert json.loads(updated["PipelineDefinition"])["Steps"] == []
    assert updated["LastModifiedTime"] > pipeline["LastModifiedTime"]


# --- faults and counts -------------------------------------------------------------------------


def test_access_denied_for_one_pipeline_only(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    seed_pipeline(sim, "open", DEFINITION)
    seed_pipeline(sim, "secret", DEFINITION)
    faults.inject(service="sagemaker", operation="DescribePipeline", code="AccessDeniedException",
                  message="User is not authorized to perform: sagemaker:DescribePipeline",
                  match=lambda params: params.get("PipelineName") == "secret")
    with pytest.raises(ClientError) as error:
        sm.describe_pipeline(PipelineName="secret")
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "not authorized" in error.value.response["Error"]["Message"]
    assert sm.describe_pipeline(PipelineName="open")["PipelineName"] == "open"


def test_throttling_then_success_with_botocore_retries(sim: SimAws) -> None:
    seed_pipeline(sim, "housing", DEFINITION)
    faults.inject(service="sagemaker", operation="ListPipelines", code="ThrottlingException", message="Rate exceeded", times=2)
    sim.reset_counts()
    sm = sim.client("sagemaker", retries={"mode": "standard", "max_attempts": 5})
    response = sm.list_pipelines()
    assert [p["PipelineName"] for p in response["PipelineSummaries"]] == ["housing"]
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert sim.counts()["sagemaker.ListPipelines"] == 3

    faults.inject(service="sagemaker", operation="ListPipelines", code="ThrottlingException", message="Rate exceeded")
    impatient = sim.client("sagemaker", retries={"mode": "standard", "max_attempts": 1})
    with pytest.raises(ClientError) as error:
        impatient.list_pipelines()
    assert error.value.response["Error"]["Code"] == "ThrottlingException"


def test_s3_faults_use_the_rest_xml_protocol(sim: SimAws) -> None:
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="sim-data")
    s3.put_object(Bucket="sim-data", Key="a.csv", Body=b"x")
    faults.inject(service="s3", operation="GetObject", code="AccessDenied", message="Access Denied", status=403, times=1)
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="sim-data", Key="a.csv")
    assert (error.value.response["Error"]["Code"],
            error.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert s3.get_object(Bucket="sim-data", Key="a.csv")["Body"].read() == b"x"


def test_request_counts_per_operation(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    seed_pipeline(sim, "housing", DEFINITION)
    sim.reset_counts()
    sm.list_pipelines()
    sm.list_pipelines()
    sm.describe_pipeline(PipelineName="housing")
    sim.client("s3").list_buckets()
    assert sim.counts() == {"sagemaker.ListPipelines": 2, "sagemaker.DescribePipeline": 1, "s3.ListBuckets": 1}
    sim.reset()
    assert sim.counts() == {} and sm.list_pipelines()["PipelineSummaries"] == []


@pytest.mark.filterwarnings("ignore:Exception\\(SimInvalidResponse\\)")
def test_invalid_sim_response_fails_loudly(sim: SimAws, housing: str) -> None:
    sm = sim.client("sagemaker")
    job = next(iter(sim.sagemaker_backend().processing_jobs.values()))
    job.processing_job_status = 42  # not a string: botocore's shape check must catch it server-side
    with pytest.raises(ClientError) as error:
        sm.describe_processing_job(ProcessingJobName=job.processing_job_name)
    assert error.value.response["Error"]["Code"] == "SimInvalidResponse"
    assert "ProcessingJobStatus" in error.value.response["Error"]["Message"]
    assert sim.invalid_responses


# --- the demo account --------------------------------------------------------------------------


@pytest.mark.skipif(not list(DEMO_PIPELINES_DIR.glob("*.json")), reason="no demo pipeline definitions yet")
def test_demo_account_seeds_every_demo_definition(sim: SimAws) -> None:
    sm = sim.client("sagemaker")
    summary = seed_demo_account(sim, now=datetime.now(timezone.utc))
    names = sorted(p.stem for p in DEMO_PIPELINES_DIR.glob("*.json"))
    listed = sm.get_paginator("list_pipelines").paginate(PaginationConfig={"PageSize": 2})
    assert sorted(p["PipelineName"] for page in listed for p in page["PipelineSummaries"]) \
        == names == sorted(summary["pipelines"])
    domain_tagged = [n for n, arn in summary["pipelines"].items()
                     if {"Key": "DomainName", "Value": "ml-platform"} in sm.list_tags(ResourceArn=arn)["Tags"]]
    assert len(domain_tagged) >= len(names) - 1
    assert [d["DomainName"] for d in sm.list_domains()["Domains"]] == ["ml-platform"]
    assert_valid_output("DescribeDomain", sm.describe_domain(DomainId=summary["domain"]["DomainId"]))

    statuses: list[str] = []
    cache_hits = 0
    for arns in summary["executions"].values():
        for arn in arns:
            statuses.append(sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"])
            cache_hits += sum("CacheHitResult" in s for s in steps_of(sm, arn).values())
    assert {"Succeeded", "Failed", "Executing"} <= set(statuses) and statuses.count("Succeeded") > len(statuses) // 2
    assert cache_hits > 0

    describe = {"processing-job": ("describe_processing_job", "ProcessingJobName"),
                "training-job": ("describe_training_job", "TrainingJobName"),
                "transform-job": ("describe_transform_job", "TransformJobName"),
                "hyper-parameter-tuning-job": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
                "automl-job": ("describe_auto_ml_job_v2", "AutoMLJobName")}
    assert summary["jobs"]
    for arn in summary["jobs"]:
        kind, name = arn.split(":")[-1].split("/", 1)
        method, param = describe[kind]
        assert getattr(sm, method)(**{param: name})
    for group in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        packages = sm.list_model_packages(ModelPackageGroupName=group["ModelPackageGroupName"])
        for package in packages["ModelPackageSummaryList"]:
            described = sm.describe_model_package(ModelPackageName=package["ModelPackageArn"])
            generated_by = described["MetadataProperties"]["GeneratedBy"]
            assert any(generated_by in arns for arns in summary["executions"].values())
    assert sim.invalid_responses == []
