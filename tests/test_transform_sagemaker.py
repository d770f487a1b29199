"""collector.sagemaker.transform on botocore-shaped API responses (tests/data/transform/sagemaker): no AWS, no Neo4j."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from collector.sagemaker.definition import parse_definition
from collector.sagemaker.transform import (
    JOB_TERMINAL,
    TERMINAL,
    created_resources,
    domains_graph,
    execution_graph,
    job_graph,
    model_graph,
    model_package_graph,
    pipeline_graph,
    step_run_data_graph,
    step_run_graph,
)
from graphstore.model import Graph
from tests.transform_data import (
    api,
    assert_graph,
    default_dataset_rules,  # noqa: F401 (a fixture)
    output_shape,
    raw,
    shape_errors,
    text,
)

pytestmark = pytest.mark.usefixtures("default_dataset_rules")

SM = "arn:aws:sagemaker:eu-west-1:111122223333"
PIPE = f"{SM}:pipeline/credit-risk"
EXEC = f"{PIPE}/execution/k2x7q9w1m4ab"
FAILED = f"{PIPE}/execution/f8d3n5r0t6yc"
DEFINITION = text("definitions/credit-risk.json")


def rows(name: str) -> list[dict]:
    return api("sagemaker", f"ListPipelineExecutionSteps.{name}")["PipelineExecutionSteps"]


def parameters() -> dict[str, str]:
    return {p["Name"]: p["Value"] for p in
            api("sagemaker", "ListPipelineParametersForExecution.succeeded")["PipelineParameters"]}


def node(graph: Graph, label: str, key: str):
    return graph.nodes[(label, key)]


def job_node(graph: Graph):
    (job,) = [n for n in graph.nodes.values() if n.label == "Job"]
    return job


# --- pipelines and domains -------------------------------------------------------------------------


def test_pipeline_from_list_describe_tags_and_definition():
    pipeline = {**api("sagemaker", "ListPipelines")["PipelineSummaries"][0],
                **api("sagemaker", "DescribePipeline.credit-risk"), "PipelineDefinition": DEFINITION}
    tags = {t["Key"]: t["Value"] for t in api("sagemaker", "ListTags.credit-risk")["Tags"]}
    domains = {d["DomainName"]: d["DomainId"] for d in api("sagemaker", "ListDomains")["Domains"]}
    parsed = parse_definition(DEFINITION)
    graph = pipeline_graph(pipeline, tags, parsed, domains, DEFINITION)
    assert_graph(graph, "pipeline_credit_risk")
    assert node(graph, "Pipeline", PIPE).props["definition"] == DEFINITION
    assert {n.props["definition_hash"] for n in graph.nodes.values() if n.label in ("Pipeline", "Step")} == {
        parsed.definition_hash}


@pytest.mark.parametrize("tags, domain", [
    ({"sagemaker:domain-arn": f"{SM}:domain/d-abc123xyz456"}, {"d-abc123xyz456": {"name": None}}),
    ({"DomainName": "ml-platform"}, {"d-abc123xyz456": {"name": "ml-platform"}}),
    ({"DomainName": "unknown-domain"}, {}),
    ({}, {}),
])
def test_pipeline_domain_from_tags(tags, domain):
    summary = api("sagemaker", "ListPipelines")["PipelineSummaries"][0]
    graph = pipeline_graph(summary, tags, None, {"ml-platform": "d-abc123xyz456"}, None)
    pipeline = {"tags": tags, "domain_name": tags.get("DomainName"), "status": None, "definition": None,
                "definition_hash": None, "parameters": None, "last_execution_time": "2024-06-03T08:00:00.412000+00:00"}
    assert_graph(graph, {
        "nodes": {"Pipeline": {PIPE: pipeline}, **({"Domain": domain} if domain else {})},
        "rels": [["Pipeline", PIPE, "IN_DOMAIN", "Domain", key] for key in domain],
    })


def test_domains():
    assert_graph(domains_graph(api("sagemaker", "ListDomains")["Domains"], "eu-west-1"), {"nodes": {"Domain": {
        "d-abc123xyz456": {"name": "ml-platform", "arn": f"{SM}:domain/d-abc123xyz456", "status": "InService",
                           "url": "https://d-abc123xyz456.studio.eu-west-1.sagemaker.aws", "region": "eu-west-1",
                           "created": "2023-11-20T09:14:02.183000+00:00"},
        "d-sandbox00001": {"name": "sandbox", "status": "Pending", "url": None},
    }}})


# --- executions ---------------------------------------------------------------------------------------


def test_executions_from_list_pipeline_executions():
    graph = Graph()
    for summary in api("sagemaker", "ListPipelineExecutions")["PipelineExecutionSummaries"]:
        graph.update(execution_graph(summary, PIPE))
    running, failed = f"{PIPE}/execution/x9pending0001", FAILED
    assert_graph(graph, {"nodes": {
        "PipelineExecution": {
            running: {"execution_id": "x9pending0001", "start_time": "2024-06-03T09:30:00+00:00",
                      "_state": {"status": "Executing", "end_time": None, "elapsed_sec": None},
                      "_state_time": "2024-06-03T09:30:00+00:00", "_rank": 0},
            # a summary has no LastModifiedTime: a terminal status without an end, at its start time
            EXEC: {"display_name": "execution-1717401600412", "_state": {"status": "Succeeded", "end_time": None},
                   "_state_time": "2024-06-03T08:00:00.412000+00:00", "_rank": 2},
            failed: {"_state": {"status": "Failed", "failure_reason": "Step failure: One or multiple steps failed."}},
        },
        "Pipeline": {PIPE: {}},
    }, "rels": [["PipelineExecution", key, "OF", "Pipeline", PIPE] for key in (running, EXEC, failed)]})


def test_described_execution_with_parameters_supersedes_its_summary():
    summary = api("sagemaker", "ListPipelineExecutions")["PipelineExecutionSummaries"][1]
    graph = execution_graph(summary, PIPE)
    graph.update(execution_graph(api("sagemaker", "DescribePipelineExecution.succeeded"), PIPE, parameters()))
    assert_graph(graph, {"nodes": {"PipelineExecution": {EXEC: {
        "execution_id": "k2x7q9w1m4ab", "pipeline_arn": PIPE, "description": "weekly retrain",
        "start_time": "2024-06-03T08:00:00.412000+00:00",
        "parameters": {"AucThreshold": "0.7", "InputDataUrl": "s3://acme-credit-data/raw/applications/dt=2024-06-03/",
                       "ModelApprovalStatus": "PendingManualApproval", "TrainingInstanceType": "ml.m5.xlarge",
                       "ScoringDataUrl": "s3://acme-credit-data/scoring/dt=2024-06-03/"},
        "_state": {"status": "Succeeded", "end_time": "2024-06-03T08:41:37.905000+00:00", "elapsed_sec": 2497.493,
                   "last_modified": "2024-06-03T08:41:37.905000+00:00", "failure_reason": None},
        "_state_time": "2024-06-03T08:41:37.905000+00:00", "_rank": 2,
    }}, "Pipeline": {PIPE: {}}}, "rels": [["PipelineExecution", EXEC, "OF", "Pipeline", PIPE]]})


def test_failed_execution():
    graph = execution_graph(api("sagemaker", "DescribePipelineExecution.failed"), PIPE)
    state = node(graph, "PipelineExecution", FAILED).state
    assert state == {"status": "Failed", "end_time": datetime(2024, 5, 27, 8, 32, 11, 250000, tzinfo=timezone.utc),
                     "elapsed_sec": 1930.25, "failure_reason": "Step failure: One or multiple steps failed.",
                     "last_modified": datetime(2024, 5, 27, 8, 32, 11, 250000, tzinfo=timezone.utc)}


def test_completed_with_failures_is_terminal():
    assert "CompletedWithFailures" in output_shape("sagemaker", "DescribePipelineExecution").members[
        "PipelineExecutionStatus"].enum
    execution = {**api("sagemaker", "DescribePipelineExecution.failed"),
                 "PipelineExecutionStatus": "CompletedWithFailures"}
    found = node(execution_graph(execution, PIPE), "PipelineExecution", FAILED)
    assert found.state_rank == 2 and found.state["end_time"] == execution["LastModifiedTime"]


def test_terminal_states_agree_with_botocore_and_the_stored_state_lists():
    """The sync's incremental rule (graphstore.state) and the transforms (TERMINAL) call the same states final."""
    from graphstore.state import TERMINAL_EXECUTION, TERMINAL_JOB, TERMINAL_STEP

    executions = output_shape("sagemaker", "DescribePipelineExecution").members["PipelineExecutionStatus"].enum
    steps = output_shape("sagemaker", "ListPipelineExecutionSteps").members["PipelineExecutionSteps"].member.members[
        "StepStatus"].enum
    assert set(TERMINAL_EXECUTION) == set(executions) - {"Executing", "Stopping"}
    assert set(TERMINAL_STEP) == set(steps) - {"Starting", "Executing", "Stopping"}
    assert set(TERMINAL_EXECUTION) | set(TERMINAL_STEP) <= TERMINAL and set(TERMINAL_JOB) == JOB_TERMINAL


# --- step runs -------------------------------------------------------------------------------------------


def test_step_runs_of_a_succeeded_execution():
    graph = Graph()
    for row in rows("succeeded"):
        graph.update(step_run_graph(EXEC, row))
    assert_graph(graph, "step_runs_succeeded")


def test_step_runs_of_a_failed_execution():
    graph = Graph()
    for row in rows("failed"):
        graph.update(step_run_graph(FAILED, row))
    fail, check = node(graph, "StepRun", f"{FAILED}/AucTooLow"), node(graph, "StepRun", f"{FAILED}/CheckAuc")
    assert fail.props["error_message"] == "AUC below 0.75" and "job_arn" not in fail.props
    assert fail.state == {"status": "Failed", "end_time": datetime(2024, 5, 27, 8, 32, 11, tzinfo=timezone.utc),
                          "elapsed_sec": 0.5, "failure_reason": "AUC below 0.75"}
    assert check.props["condition_outcome"] == "False"
    assert node(graph, "StepRun", f"{FAILED}/TrainCredit").props["attempt_count"] == 2
    assert ("Step", f"{PIPE}/AucTooLow") in graph.nodes and not any(r.type == "RAN_AS" and r.start == fail.ref
                                                                    for r in graph.rels.values())


def test_running_step_row_has_no_end_and_ranks_below_its_final_state():
    row = {"StepName": "TrainCredit", "StartTime": datetime(2024, 6, 3, 8, 0, 5, tzinfo=timezone.utc),
           "StepStatus": "Executing", "Metadata": {"TrainingJob": {"Arn": f"{SM}:training-job/x"}}}
    running = step_run_graph(EXEC, row)
    done = step_run_graph(EXEC, rows("succeeded")[1])
    merged = Graph()
    merged.update(done)
    merged.update(running)  # an older, running row arriving late changes no state
    run = node(merged, "StepRun", f"{EXEC}/TrainCredit")
    assert node(running, "StepRun", f"{EXEC}/TrainCredit").state == {"status": "Executing"}
    assert run.state["status"] == "Succeeded" and run.state_rank == 2


@pytest.mark.parametrize("metadata, expected", [
    ({"ProcessingJob": {"Arn": f"{SM}:processing-job/p"}}, [("Job", "ProcessingJob", f"{SM}:processing-job/p")]),
    ({"TrainingJob": {"Arn": f"{SM}:training-job/t"}}, [("Job", "TrainingJob", f"{SM}:training-job/t")]),
    ({"TransformJob": {"Arn": f"{SM}:transform-job/s"}}, [("Job", "TransformJob", f"{SM}:transform-job/s")]),
    ({"TuningJob": {"Arn": f"{SM}:hyper-parameter-tuning-job/h"}},
     [("Job", "TuningJob", f"{SM}:hyper-parameter-tuning-job/h")]),
    ({"AutoMLJob": {"Arn": f"{SM}:automl-job/a"}}, [("Job", "AutoMLJob", f"{SM}:automl-job/a")]),
    ({"Model": {"Arn": f"{SM}:model/m"}}, [("Model", None, f"{SM}:model/m")]),
    ({"RegisterModel": {"Arn": f"{SM}:model-package/g/1"}}, [("ModelPackage", None, f"{SM}:model-package/g/1")]),
    ({"Endpoint": {"Arn": f"{SM}:endpoint/e"}}, [("Endpoint", None, f"{SM}:endpoint/e")]),
    ({"QualityCheck": {"CheckType": "DATA_QUALITY", "CheckJobArn": f"{SM}:processing-job/q", "SkipCheck": False}},
     [("Job", "ProcessingJob", f"{SM}:processing-job/q")]),
    ({"ClarifyCheck": {"CheckType": "MODEL_BIAS", "CheckJobArn": f"{SM}:processing-job/c"}},
     [("Job", "ProcessingJob", f"{SM}:processing-job/c")]),
    ({"Condition": {"Outcome": "True"}}, []),
    ({"Fail": {"ErrorMessage": "x"}}, []),
    ({"Lambda": {"Arn": "arn:aws:lambda:eu-west-1:111122223333:function:f", "OutputParameters": []}}, []),
    ({"EMR": {"ClusterId": "j-1", "StepId": "s-1"}}, []),
    ({"Athena": {"QueryExecutionId": "q"}, "SomethingNew": {"Arn": "arn:x"}}, []),  # unknown step types
    ({"TrainingJob": {}}, []),  # no Arn yet (a step that is starting)
    ({}, []),
])
def test_created_resources(metadata, expected):
    assert not shape_errors({"PipelineExecutionSteps": [{"StepName": "s", "Metadata": metadata}]},
                            output_shape("sagemaker", "ListPipelineExecutionSteps")) or "SomethingNew" in metadata
    assert created_resources(metadata) == expected


def test_resolved_step_data_for_steps_that_run_no_job():
    """What the sync does for a step run that created nothing: data from the definition resolved with
    the execution's parameters and variables."""
    resolved = parse_definition(DEFINITION, parameters(), {
        "PipelineExecutionId": "k2x7q9w1m4ab", "PipelineExecutionArn": EXEC, "PipelineName": "credit-risk"})
    graph = Graph()
    for row in rows("succeeded"):
        if not created_resources(row.get("Metadata") or {}):
            graph.update(step_run_data_graph(EXEC, resolved.step(row["StepName"])))
    scores, export = "s3://acme-credit-artifacts/scores/k2x7q9w1m4ab/", "s3://acme-credit-data/exports/scores/"
    assert_graph(graph, {
        "nodes": {"StepRun": {f"{EXEC}/CheckAuc": {}, f"{EXEC}/NotifyRisk": {}, f"{EXEC}/ExportScores": {}},
                  "Dataset": {scores: {"templated": False, "bucket": "acme-credit-artifacts"},
                              export: {"templated": False}},
                  "Bucket": {"acme-credit-artifacts": {}, "acme-credit-data": {}}},
        "rels": [["Dataset", scores, "FEEDS", "StepRun", f"{EXEC}/NotifyRisk",
                  {"name": "scores", "uri": "s3://acme-credit-artifacts/scores/k2x7q9w1m4ab", "definition_hash": None}],
                 ["StepRun", f"{EXEC}/ExportScores", "PRODUCES", "Dataset", export,
                  {"name": "ResultConfiguration.OutputLocation"}],
                 ["Dataset", scores, "IN_BUCKET", "Bucket", "acme-credit-artifacts"],
                 ["Dataset", export, "IN_BUCKET", "Bucket", "acme-credit-data"]]})


# --- jobs, model packages, models ---------------------------------------------------------------------


JOBS = raw("expected/jobs.json")


@pytest.mark.parametrize("fixture", sorted(JOBS["cases"]))
def test_job(fixture):
    case = JOBS["cases"][fixture]
    assert_graph(job_graph(case["kind"], api("sagemaker", fixture)), {"vars": JOBS["vars"], **case})


def test_job_arns_in_either_case_are_one_job():
    """ListPipelineExecutionSteps gives the training job's ARN lower-cased, DescribeTrainingJob as named."""
    graph = step_run_graph(EXEC, rows("succeeded")[1])
    graph.update(job_graph("TrainingJob", api("sagemaker", "DescribeTrainingJob.train")))
    jobs = [n for n in graph.nodes.values() if n.label == "Job"]
    assert len(jobs) == 1 and jobs[0].key == f"{SM}:training-job/pipelines-k2x7q9w1m4ab-traincredit-hd72ks01qe"
    assert jobs[0].props["arn_as_given"].endswith("TrainCredit-Hd72Ks01Qe") and jobs[0].extra_labels == ("TrainingJob",)


def test_a_sparse_response_never_erases_known_facts():
    full = api("sagemaker", "DescribeTrainingJob.train")
    sparse = {"TrainingJobArn": full["TrainingJobArn"], "TrainingJobName": None, "FailureReason": None,
              "ModelArtifacts": {}, "FinalMetricDataList": []}
    graph = job_graph("TrainingJob", full)
    graph.update(job_graph("TrainingJob", sparse))
    job = job_node(graph)
    assert job == job_node(job_graph("TrainingJob", full))
    assert job_graph("TrainingJob", sparse).nodes[job.ref].props == {
        "arn_as_given": full["TrainingJobArn"], "kind": "TrainingJob"}


def test_training_job_without_model_artifacts_writes_its_output_path():
    job = {k: v for k, v in api("sagemaker", "DescribeTrainingJob.train").items() if k != "ModelArtifacts"}
    job.update(TrainingJobStatus="Failed", FailureReason="AlgorithmError: out of memory")
    graph = job_graph("TrainingJob", job)
    produced = {(r.end[1], r.props["name"]) for r in graph.rels.values() if r.type == "PRODUCES"}
    assert produced == {("s3://acme-credit-artifacts/models/", "output")}
    assert job_node(graph).state["failure_reason"] == "AlgorithmError: out of memory"


def test_processing_job_launched_by_a_training_job_is_keyed_by_its_own_arn():
    job = {**api("sagemaker", "DescribeProcessingJob.evaluate"), "TrainingJobArn": f"{SM}:training-job/launcher"}
    assert not shape_errors(job, output_shape("sagemaker", "DescribeProcessingJob"))
    assert [n.key for n in job_graph("ProcessingJob", job).nodes.values() if n.label == "Job"] == [
        f"{SM}:processing-job/pipelines-k2x7q9w1m4ab-evaluatecredit-vt5yb3nc8m"]


def test_tuning_job_has_a_start_and_elapsed_time():
    assert "HyperParameterTuningStartTime" not in output_shape("sagemaker", "DescribeHyperParameterTuningJob").members
    job = job_node(job_graph("TuningJob", api("sagemaker", "DescribeHyperParameterTuningJob.fraud-hpo")))
    assert job.props["start_time"] == datetime(2024, 6, 3, 6, tzinfo=timezone.utc)  # CreationTime
    assert job.state["elapsed_sec"] == 5475.0


def test_automl_job_outputs_are_produced_by_it():
    graph = job_graph("AutoMLJob", api("sagemaker", "DescribeAutoMLJobV2.credit-automl"))
    inputs = {r.start[1] for r in graph.rels.values() if r.type == "FEEDS"}
    assert inputs == {"s3://acme-credit-data/automl/train/"}


def test_automl_job_state_and_training_data():
    graph = job_graph("AutoMLJob", api("sagemaker", "DescribeAutoMLJobV2.credit-automl"))
    job = node(graph, "Job", f"{SM}:automl-job/credit-automl-240603")
    assert job.extra_labels == ("AutoMLJob",) and job.state["elapsed_sec"] == 2910.0 and job.state_rank == 2
    rels = {(r.type, r.start, r.end) for r in graph.rels.values()}
    assert ("FEEDS", ("Dataset", "s3://acme-credit-data/automl/train/"), job.ref) in rels
    assert ("PRODUCES", job.ref, ("Dataset", "s3://acme-credit-artifacts/automl/")) in rels


def test_processing_input_from_an_athena_dataset_definition_is_an_input():
    job = {**api("sagemaker", "DescribeProcessingJob.evaluate"), "ProcessingInputs": [{
        "InputName": "applications", "AppManaged": False, "DatasetDefinition": {
            "AthenaDatasetDefinition": {"Catalog": "AwsDataCatalog", "Database": "credit", "WorkGroup": "primary",
                                        "QueryString": "SELECT * FROM applications WHERE dt = '2024-06-03'",
                                        "OutputS3Uri": "s3://acme-credit-data/athena-results/applications/",
                                        "OutputFormat": "PARQUET"},
            "LocalPath": "/opt/ml/processing/applications", "DataDistributionType": "FullyReplicated",
            "InputMode": "File"}}]}
    assert not shape_errors(job, output_shape("sagemaker", "DescribeProcessingJob"))
    feeds = {r.start[1] for r in job_graph("ProcessingJob", job).rels.values() if r.type == "FEEDS"}
    assert "s3://acme-credit-data/athena-results/applications/" in feeds


def test_model_package():
    package = api("sagemaker", "DescribeModelPackage.credit-risk-3")
    model = "s3://acme-credit-artifacts/models/pipelines-k2x7q9w1m4ab-TrainCredit-Hd72Ks01Qe/output/model.tar.gz"
    arn, group = f"{SM}:model-package/credit-risk-models/3", f"{SM}:model-package-group/credit-risk-models"
    assert_graph(model_package_graph(package), {
        "nodes": {"ModelPackage": {arn: {"name": "credit-risk-models", "group": "credit-risk-models", "version": 3,
                                         "created": "2024-06-03T08:19:09.512000+00:00", "model_data_url": model,
                                         "generated_by": EXEC, "description": "XGBoost credit risk classifier",
                                         "_state": {"status": "Completed", "approval_status": "PendingManualApproval"},
                                         "_state_time": "2024-06-03T08:19:09.512000+00:00", "_rank": 2}},
                  "ModelPackageGroup": {group: {"name": "credit-risk-models"}},
                  "PipelineExecution": {EXEC: {}}, "Dataset": {model: {"format": "tar.gz"}},
                  "Bucket": {"acme-credit-artifacts": {}}},
        "rels": [["ModelPackage", arn, "IN", "ModelPackageGroup", group],
                 ["ModelPackage", arn, "GENERATED_BY", "PipelineExecution", EXEC],
                 ["Dataset", model, "FEEDS", "ModelPackage", arn, {"name": "model"}],
                 ["Dataset", model, "IN_BUCKET", "Bucket", "acme-credit-artifacts"]]})


def test_unversioned_model_package_made_outside_a_pipeline():
    package = {**api("sagemaker", "DescribeModelPackage.credit-risk-3"), "ModelPackageStatus": "InProgress",
               "MetadataProperties": {"GeneratedBy": "arn:aws:sagemaker:eu-west-1:111122223333:training-job/manual"}}
    for name in ("ModelPackageGroupName", "ModelPackageVersion", "InferenceSpecification", "LastModifiedTime"):
        package.pop(name)
    package["ModelPackageArn"] = f"{SM}:model-package/credit-risk-manual"
    graph = model_package_graph(package)
    assert list(graph.nodes) == [("ModelPackage", f"{SM}:model-package/credit-risk-manual")] and not graph.rels
    found = node(graph, "ModelPackage", f"{SM}:model-package/credit-risk-manual")
    assert found.state_rank == 0 and found.state_time == package["CreationTime"]


def test_model():
    model, data = api("sagemaker", "DescribeModel.credit-risk"), \
        "s3://acme-credit-artifacts/models/pipelines-k2x7q9w1m4ab-TrainCredit-Hd72Ks01Qe/output/model.tar.gz"
    arn = f"{SM}:model/pipelines-k2x7q9w1m4ab-createcredit-createmo-jk3lh5gf7d"
    assert_graph(model_graph(model), {
        "nodes": {"Model": {arn: {"name": "pipelines-k2x7q9w1m4ab-CreateCredit-CreateMo-Jk3Lh5Gf7D",
                                  "created": "2024-06-03T08:19:10.880000+00:00", "model_data_url": data}},
                  "Dataset": {data: {}}, "Bucket": {"acme-credit-artifacts": {}}},
        "rels": [["Dataset", data, "FEEDS", "Model", arn, {"name": "model"}],
                 ["Dataset", data, "IN_BUCKET", "Bucket", "acme-credit-artifacts"]]})


def test_multi_container_model_takes_the_first_model_data():
    model = {**api("sagemaker", "DescribeModel.credit-risk"), "PrimaryContainer": None, "Containers": [
        {"Image": "preprocessor:1", "ContainerHostname": "pre"},
        {"Image": "xgboost:1", "ContainerHostname": "xgb",
         "ModelDataUrl": "s3://acme-credit-artifacts/ensemble/xgb.tar.gz"}]}
    assert node(model_graph(model), "Model", model["ModelArn"]).props["model_data_url"] == \
        "s3://acme-credit-artifacts/ensemble/xgb.tar.gz"


def test_uncompressed_model_data_source():
    graph = model_graph(api("sagemaker", "DescribeModel.uncompressed"))
    assert ("Dataset", "s3://acme-credit-artifacts/llm/explainer/") in graph.nodes


def test_uncompressed_model_package_and_model_data():
    """ModelDataSource.S3DataSource.S3Uri (an uncompressed model's prefix; AWS takes it or ModelDataUrl, not both)
    is the model data of a model package container as of a model's container."""
    uri = "s3://acme-credit-artifacts/llm/explainer/"
    package = api("sagemaker", "DescribeModelPackage.credit-risk-3")
    spec = package["InferenceSpecification"]
    container = {k: v for k, v in spec["Containers"][0].items() if k != "ModelDataUrl"}
    container["ModelDataSource"] = {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}}
    package["InferenceSpecification"] = {**spec, "Containers": [container]}
    assert not shape_errors(package, output_shape("sagemaker", "DescribeModelPackage"))
    graph = model_package_graph(package)
    assert node(graph, "ModelPackage", package["ModelPackageArn"]).props["model_data_url"] == uri
    assert ("FEEDS", ("Dataset", uri), ("ModelPackage", package["ModelPackageArn"])) in {
        (r.type, r.start, r.end) for r in graph.rels.values()}
    model = api("sagemaker", "DescribeModel.uncompressed")
    assert node(model_graph(model), "Model", model["ModelArn"]).props["model_data_url"] == uri


# --- times -----------------------------------------------------------------------------------------------


def test_naive_times_are_utc_and_offsets_are_normalised():
    job = api("sagemaker", "DescribeTransformJob.score")
    naive = {**job, "CreationTime": job["CreationTime"].replace(tzinfo=None),
             "TransformStartTime": job["TransformStartTime"].replace(tzinfo=None),
             "TransformEndTime": job["TransformEndTime"].replace(tzinfo=None)}
    cest = timezone(timedelta(hours=2))
    shifted = {**job, "TransformStartTime": job["TransformStartTime"].astimezone(cest),
               "TransformEndTime": job["TransformEndTime"].astimezone(cest)}
    expected = job_node(job_graph("TransformJob", job))
    for variant in (naive, shifted):
        found = job_node(job_graph("TransformJob", variant))
        assert (found.props, found.state, found.state_time) == (expected.props, expected.state, expected.state_time)
        assert found.state_time.tzinfo is timezone.utc and found.props["start_time"].tzinfo is timezone.utc


def test_naive_start_with_an_aware_end():
    job = api("sagemaker", "DescribeTransformJob.score")
    job["TransformStartTime"] = job["TransformStartTime"].replace(tzinfo=None)
    found = job_node(job_graph("TransformJob", job))
    assert found.state["elapsed_sec"] == 700.0
