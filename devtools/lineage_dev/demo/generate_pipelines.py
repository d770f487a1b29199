#!/usr/bin/env python3
"""Generate demo SageMaker pipeline definitions with the official SageMaker Python SDK.

DEV-ONLY TOOL. The ``sagemaker`` SDK is *not* a runtime dependency of the
collector; this script only exists to (re)produce the realistic fixture files in
``devtools/lineage_dev/demo/pipelines/*.json``. Run it from a throw-away virtualenv::

    python3 -m venv /tmp/sdkvenv
    /tmp/sdkvenv/bin/pip install 'sagemaker>=2.200,<3'
    /tmp/sdkvenv/bin/python devtools/lineage_dev/demo/generate_pipelines.py

It never talks to AWS:

* boto3 is given fake static credentials, ``AWS_ENDPOINT_URL`` points at a dead
  local port, and a botocore ``before-send`` hook raises on any request, so an
  accidental API call fails immediately (and loudly) instead of hanging.
* SDK telemetry is switched off via the session's ``sagemaker_config``
  (``SageMaker.PythonSDK.Modules.TelemetryOptOut``), and no config file is read.
* The session's default bucket is pinned on the instance (``_default_bucket``)
  because ``Session.default_bucket()`` otherwise does a HEAD/CreateBucket even
  when an explicit bucket name is given.
* Images are explicit ECR URIs (or resolved by the SDK from its bundled
  image-URI tables) and all entry-point code is given as S3 URIs, so the SDK
  neither looks images up remotely nor uploads code.
* A few step types upload helper files while the definition is compiled
  (ClarifyCheckStep uploads its analysis config, NotebookJobStep uploads the
  notebook). ``S3Uploader.upload`` / ``upload_string_as_file_body`` are replaced
  (inside this script only) by no-ops that return the destination URI the SDK
  computed, so the definitions reference the same S3 keys a real run would.
* ``socket.socket.connect`` and ``socket.getaddrinfo`` are replaced by functions
  that raise, so nothing outside botocore (e.g. the SDK's telemetry ping via
  ``requests``) can get out. Every refused attempt is recorded and makes the
  script exit non-zero, even if the SDK swallowed the exception.
* All of the above is installed by ``main()``, not at import time.
* Explicit ``base_job_name``s / output paths are passed everywhere. The only
  timestamp the SDK still injects into a definition is the NotebookJobStep's
  staged-input folder (``.../input-<yyyy-mm-dd-hh-mm-ss-mmm>``); a final regex
  pass pins it to ``input-2024-01-01-00-00-00-000`` so re-running the script
  yields byte-identical files.

Output: pretty-printed (indent=1), key-sorted JSON of ``pipeline.definition()``
for each pipeline, in ``devtools/lineage_dev/demo/pipelines/<pipeline-name>.json``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import warnings

# Constants ----------------------------------------------------------------------
REGION = "us-east-1"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
DATA_BUCKET = "acme-ml-data"
ARTIFACT_BUCKET = "acme-ml-artifacts"

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
NOTEBOOK_IMAGE = "885854791233.dkr.ecr.us-east-1.amazonaws.com/sagemaker-distribution-prod:1-cpu"
# SKLearnProcessor, the model-monitor (QualityCheckStep) and Clarify images are
# resolved by the SDK itself from the image-URI tables bundled in the package
# (no network involved).

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipelines")

SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


# --- offline plumbing ------------------------------------------------------------
# Nothing below runs at import time: importing this module (it lives in the
# `jobs` package) neither needs the SDK nor patches anything. main() installs
# the guards first.
class UnexpectedAwsCall(RuntimeError):
    pass


# Every refused attempt is also recorded, in case some SDK code path swallows the
# exception; main() fails if anything was attempted.
NETWORK_ATTEMPTS: list[str] = []
UPLOADS: list[str] = []


def _refuse_request(request, **kwargs):  # botocore 'before-send' hook
    NETWORK_ATTEMPTS.append(f"{request.method} {request.url}")
    raise UnexpectedAwsCall(f"generator tried to call AWS: {request.method} {request.url}")


def _refuse_connect(self, address):
    # Belt and braces: botocore is covered by the before-send hook, but a few SDK
    # helpers (e.g. telemetry) use `requests` directly. No socket may be opened.
    NETWORK_ATTEMPTS.append(f"connect {address!r}")
    raise UnexpectedAwsCall(f"generator tried to open a network connection to {address!r}")


def _refuse_getaddrinfo(host, *args, **kwargs):
    NETWORK_ATTEMPTS.append(f"resolve {host!r}")
    raise UnexpectedAwsCall(f"generator tried to resolve {host!r}")


def _fake_upload(local_path, desired_s3_uri, kms_key=None, sagemaker_session=None, callback=None):
    # Same return value as Session.upload_data(): "<prefix>/<file name>" for a
    # single file, "<prefix>" for a directory.
    uri = desired_s3_uri.rstrip("/")
    if os.path.isfile(local_path):
        uri = f"{uri}/{os.path.basename(local_path)}"
    UPLOADS.append(uri)
    return uri


def _fake_upload_string(body, desired_s3_uri=None, kms_key=None, sagemaker_session=None):
    UPLOADS.append(desired_s3_uri)
    return desired_s3_uri


def install_offline_guards() -> None:
    """Make sure nothing can reach AWS (or anything else) while generating."""
    os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)

    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("sagemaker").setLevel(logging.ERROR)
    logging.getLogger("sagemaker.config").setLevel(logging.ERROR)
    logging.getLogger("botocore").setLevel(logging.WARNING)

    socket.socket.connect = _refuse_connect
    socket.getaddrinfo = _refuse_getaddrinfo

    from sagemaker import s3 as sm_s3

    sm_s3.S3Uploader.upload = staticmethod(_fake_upload)
    sm_s3.S3Uploader.upload_string_as_file_body = staticmethod(_fake_upload_string)


def make_session():
    import boto3
    from sagemaker.workflow.pipeline_context import PipelineSession

    boto_session = boto3.Session(
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    boto_session._session.register("before-send", _refuse_request)
    sess = PipelineSession(
        boto_session=boto_session,
        default_bucket=ARTIFACT_BUCKET,
        # An explicit config dict stops the SDK from loading admin/user config
        # files (from disk or S3); it only opts out of the SDK's telemetry pings
        # (an HTTPS GET to an S3 bucket after e.g. estimator.fit()).
        sagemaker_config=SDK_CONFIG,
    )
    # Session.default_bucket() would HEAD/Create the bucket; pin it instead.
    sess._default_bucket = ARTIFACT_BUCKET
    return sess


def s3(bucket: str, *parts: str) -> str:
    return "s3://" + "/".join([bucket, *parts])


# =================================================================================
# 1. churn-training
# =================================================================================
def churn_training(sess):
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.step_collections import RegisterModel
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

    name = "churn-training"
    input_data = ParameterString("InputDataUrl", default_value=s3(DATA_BUCKET, "churn", "raw/"))
    processing_instance_count = ParameterInteger("ProcessingInstanceCount", default_value=1)
    processing_instance_type = ParameterString("ProcessingInstanceType", default_value="ml.m5.xlarge")
    training_instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.2xlarge")
    model_approval_status = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    auc_threshold = ParameterFloat("AucThreshold", default_value=0.75)

    cache = CacheConfig(enable_caching=True, expire_after="P7D")
    run_prefix = [s3(ARTIFACT_BUCKET, "churn"), ExecutionVariables.PIPELINE_EXECUTION_ID]

    # --- preprocess -----------------------------------------------------------
    sklearn_processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=ROLE,
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name="churn-preprocess",
        sagemaker_session=sess,
    )
    data_stats = PropertyFile(name="DataStats", output_name="stats", path="stats.json")
    step_process = ProcessingStep(
        name="PreprocessChurnData",
        display_name="Preprocess churn data",
        description="Clean raw CRM exports and split into train/validation/test.",
        step_args=sklearn_processor.run(
            inputs=[
                ProcessingInput(source=input_data, destination="/opt/ml/processing/input", input_name="raw"),
                ProcessingInput(
                    source=s3(DATA_BUCKET, "reference", "customer_segments.csv"),
                    destination="/opt/ml/processing/reference",
                    input_name="segments",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    source=f"/opt/ml/processing/{split}",
                    destination=Join(on="/", values=[*run_prefix, split]),
                )
                for split in ("train", "validation", "test")
            ]
            + [
                ProcessingOutput(
                    output_name="stats",
                    source="/opt/ml/processing/stats",
                    destination=Join(on="/", values=[*run_prefix, "stats"]),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "churn", "preprocess.py"),
            arguments=["--test-size", "0.15", "--validation-size", "0.15"],
        ),
        property_files=[data_stats],
        cache_config=cache,
    )

    # --- train ------------------------------------------------------------------
    xgb = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type=training_instance_type,
        output_path=Join(on="/", values=[*run_prefix, "model"]),
        base_job_name="churn-train",
        sagemaker_session=sess,
        hyperparameters={
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "num_round": 200,
            "max_depth": 6,
            "eta": 0.2,
            "subsample": 0.8,
        },
        max_run=3600,
    )
    step_train = TrainingStep(
        name="TrainChurnModel",
        step_args=xgb.fit(
            inputs={
                "train": TrainingInput(
                    s3_data=step_process.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
                    content_type="text/csv",
                ),
                "validation": TrainingInput(
                    s3_data=step_process.properties.ProcessingOutputConfig.Outputs["validation"].S3Output.S3Uri,
                    content_type="text/csv",
                ),
            }
        ),
        cache_config=cache,
    )

    # --- evaluate ---------------------------------------------------------------
    eval_processor = ScriptProcessor(
        image_uri=XGBOOST_IMAGE,
        command=["python3"],
        role=ROLE,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        base_job_name="churn-eval",
        sagemaker_session=sess,
    )
    evaluation_report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    step_eval = ProcessingStep(
        name="EvaluateChurnModel",
        step_args=eval_processor.run(
            inputs=[
                ProcessingInput(
                    source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/model",
                    input_name="model",
                ),
                ProcessingInput(
                    source=step_process.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri,
                    destination="/opt/ml/processing/test",
                    input_name="test",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=Join(on="/", values=[*run_prefix, "evaluation"]),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "churn", "evaluate.py"),
        ),
        property_files=[evaluation_report],
    )

    # --- register + create model (if good enough) --------------------------------
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(
            s3_uri=Join(
                on="/",
                values=[
                    step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
                    "evaluation.json",
                ],
            ),
            content_type="application/json",
        )
    )
    step_register = RegisterModel(
        name="RegisterChurnModel",
        estimator=xgb,
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.t2.medium", "ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name="churn-models",
        approval_status=model_approval_status,
        model_metrics=model_metrics,
        description="XGBoost churn classifier",
    )
    model = Model(
        image_uri=XGBOOST_IMAGE,
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        role=ROLE,
        sagemaker_session=sess,
    )
    step_create_model = ModelStep(
        name="CreateChurnModel",
        step_args=model.create(instance_type="ml.m5.large"),
    )
    step_fail = FailStep(
        name="ChurnAucTooLow",
        error_message=Join(
            on=" ",
            values=[
                "Execution",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                "failed: AUC below threshold",
                auc_threshold,
            ],
        ),
    )
    step_cond = ConditionStep(
        name="CheckChurnAuc",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(step_name=step_eval.name, property_file=evaluation_report, json_path="metrics.auc.value"),
                right=auc_threshold,
            )
        ],
        if_steps=[step_register, step_create_model],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=name,
        parameters=[
            input_data,
            processing_instance_count,
            processing_instance_type,
            training_instance_type,
            model_approval_status,
            auc_threshold,
        ],
        steps=[step_process, step_train, step_eval, step_cond],
        sagemaker_session=sess,
    )


# =================================================================================
# 2. fraud-tuning-batch
# =================================================================================
def fraud_tuning_batch(sess):
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.workflow.steps import ProcessingStep, TransformStep, TuningStep

    name = "fraud-tuning-batch"
    training_data = ParameterString(
        "TrainingDataUrl", default_value=s3(DATA_BUCKET, "fraud", "transactions", "labelled/")
    )
    batch_data = ParameterString(
        "BatchInputUrl", default_value=s3(DATA_BUCKET, "fraud", "transactions", "daily", "latest/")
    )
    max_tuning_jobs = ParameterInteger("MaxTuningJobs", default_value=20)
    transform_instance_count = ParameterInteger("TransformInstanceCount", default_value=2)

    processor = ScriptProcessor(
        image_uri=SKLEARN_IMAGE,
        command=["python3"],
        role=ROLE,
        instance_type="ml.m5.2xlarge",
        instance_count=1,
        base_job_name="fraud-features",
        sagemaker_session=sess,
    )
    step_prepare = ProcessingStep(
        name="PrepareFraudFeatures",
        step_args=processor.run(
            inputs=[
                ProcessingInput(source=training_data, destination="/opt/ml/processing/input", input_name="transactions"),
                ProcessingInput(
                    source=s3(DATA_BUCKET, "fraud", "merchant-risk", "merchant_risk.parquet"),
                    destination="/opt/ml/processing/merchants",
                    input_name="merchant_risk",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    source=f"/opt/ml/processing/{split}",
                    destination=Join(
                        on="/",
                        values=[s3(ARTIFACT_BUCKET, "fraud", "features"), ExecutionVariables.PIPELINE_EXECUTION_ID, split],
                    ),
                )
                for split in ("train", "validation")
            ],
            code=s3(ARTIFACT_BUCKET, "code", "fraud", "build_features.py"),
        ),
    )

    xgb = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.4xlarge",
        output_path=s3(ARTIFACT_BUCKET, "fraud", "tuning"),
        base_job_name="fraud-xgb",
        sagemaker_session=sess,
        hyperparameters={"objective": "binary:logistic", "eval_metric": "aucpr", "num_round": 300},
        disable_profiler=True,
    )
    tuner = HyperparameterTuner(
        estimator=xgb,
        objective_metric_name="validation:aucpr",
        objective_type="Maximize",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.01, 0.3, scaling_type="Logarithmic"),
            "alpha": ContinuousParameter(0.0, 2.0),
            "min_child_weight": ContinuousParameter(1.0, 10.0),
            "max_depth": IntegerParameter(3, 10),
        },
        max_jobs=max_tuning_jobs,
        max_parallel_jobs=4,
        strategy="Bayesian",
        early_stopping_type="Auto",
        base_tuning_job_name="fraud-hpo",
    )
    step_tuning = TuningStep(
        name="TuneFraudModel",
        step_args=tuner.fit(
            inputs={
                "train": TrainingInput(
                    s3_data=step_prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
                    content_type="text/csv",
                ),
                "validation": TrainingInput(
                    s3_data=step_prepare.properties.ProcessingOutputConfig.Outputs["validation"].S3Output.S3Uri,
                    content_type="text/csv",
                ),
            }
        ),
        retry_policies=[
            StepRetryPolicy(exception_types=[StepExceptionTypeEnum.THROTTLING], max_attempts=5, backoff_rate=2.0),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], max_attempts=3, interval_seconds=60
            ),
        ],
    )

    best_model = Model(
        image_uri=XGBOOST_IMAGE,
        model_data=step_tuning.get_top_model_s3_uri(top_k=0, s3_bucket=ARTIFACT_BUCKET, prefix="fraud/tuning"),
        role=ROLE,
        sagemaker_session=sess,
    )
    step_create_model = ModelStep(
        name="CreateFraudModel",
        step_args=best_model.create(instance_type="ml.m5.xlarge"),
    )

    validator = ScriptProcessor(
        image_uri=SKLEARN_IMAGE,
        command=["python3"],
        role=ROLE,
        instance_type="ml.m5.large",
        instance_count=1,
        base_job_name="fraud-batch-validate",
        sagemaker_session=sess,
    )
    step_validate = ProcessingStep(
        name="ValidateBatchInput",
        step_args=validator.run(
            inputs=[ProcessingInput(source=batch_data, destination="/opt/ml/processing/batch", input_name="batch")],
            code=s3(ARTIFACT_BUCKET, "code", "fraud", "validate_batch.py"),
            arguments=["--max-null-fraction", "0.01"],
        ),
    )

    transformer = Transformer(
        model_name=step_create_model.properties.ModelName,
        instance_count=transform_instance_count,
        instance_type="ml.m5.xlarge",
        output_path=Join(
            on="/",
            values=[s3(ARTIFACT_BUCKET, "fraud", "scores"), ExecutionVariables.PIPELINE_EXECUTION_ID],
        ),
        accept="text/csv",
        assemble_with="Line",
        base_transform_job_name="fraud-score",
        sagemaker_session=sess,
    )
    step_transform = TransformStep(
        name="ScoreTransactions",
        step_args=transformer.transform(
            data=batch_data,
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
        depends_on=[step_validate],
    )

    return Pipeline(
        name=name,
        parameters=[training_data, batch_data, max_tuning_jobs, transform_instance_count],
        steps=[step_prepare, step_tuning, step_create_model, step_validate, step_transform],
        sagemaker_session=sess,
    )


# =================================================================================
# 3. feature-pipeline
# =================================================================================
def feature_pipeline(sess):
    from sagemaker.lambda_helper import Lambda
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
    from sagemaker.workflow.emr_step import EMRStep, EMRStepConfig
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep

    name = "feature-pipeline"
    event_date = ParameterString("EventDate", default_value="2024-01-01")
    raw_events = ParameterString("RawEventsUrl", default_value=s3(DATA_BUCKET, "clickstream", "raw/"))
    feature_group = ParameterString("FeatureGroupName", default_value="clickstream-sessions")

    def processor(base):
        return ScriptProcessor(
            image_uri=SKLEARN_IMAGE,
            command=["python3"],
            role=ROLE,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            base_job_name=base,
            sagemaker_session=sess,
        )

    staged = Join(on="/", values=[s3(DATA_BUCKET, "clickstream", "staged"), event_date])
    step_ingest = ProcessingStep(
        name="IngestClickstream",
        step_args=processor("clickstream-ingest").run(
            inputs=[ProcessingInput(source=raw_events, destination="/opt/ml/processing/raw", input_name="raw_events")],
            outputs=[ProcessingOutput(output_name="events", source="/opt/ml/processing/events", destination=staged)],
            code=s3(ARTIFACT_BUCKET, "code", "features", "ingest.py"),
            arguments=["--event-date", event_date],
        ),
        cache_config=CacheConfig(enable_caching=True, expire_after="PT12H"),
    )

    schema_report = PropertyFile(name="SchemaReport", output_name="report", path="schema_report.json")
    step_validate = ProcessingStep(
        name="ValidateSchema",
        step_args=processor("clickstream-validate").run(
            inputs=[
                ProcessingInput(
                    source=step_ingest.properties.ProcessingOutputConfig.Outputs["events"].S3Output.S3Uri,
                    destination="/opt/ml/processing/events",
                    input_name="events",
                ),
                ProcessingInput(
                    source=s3(ARTIFACT_BUCKET, "schemas", "clickstream", "v3.json"),
                    destination="/opt/ml/processing/schema",
                    input_name="schema",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="report",
                    source="/opt/ml/processing/report",
                    destination=Join(
                        on="/",
                        values=[s3(ARTIFACT_BUCKET, "features", "reports"), ExecutionVariables.PIPELINE_EXECUTION_ID],
                    ),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "features", "validate_schema.py"),
        ),
        property_files=[schema_report],
        depends_on=[step_ingest],
    )

    step_emr = EMRStep(
        name="AggregateSessionsEMR",
        display_name="Aggregate sessions on EMR",
        description="Sessionize validated clickstream events with Spark on the shared EMR cluster.",
        cluster_id="j-2AXXXXXXGAPLF",
        step_config=EMRStepConfig(
            jar="command-runner.jar",
            args=[
                "spark-submit",
                "--deploy-mode",
                "cluster",
                "s3://acme-ml-artifacts/code/features/sessionize.py",
                "--input",
                "s3://acme-ml-data/clickstream/staged/",
                "--output",
                "s3://acme-ml-data/features/sessions/",
            ],
            properties=[{"Key": "spark.sql.shuffle.partitions", "Value": "400"}],
        ),
        depends_on=[step_validate],
    )

    step_lambda = LambdaStep(
        name="SyncFeatureStore",
        lambda_func=Lambda(
            function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:feature-store-ingest",
            session=sess,
        ),
        inputs={
            "feature_group_name": feature_group,
            "source_uri": "s3://acme-ml-data/features/sessions/",
            "event_date": event_date,
        },
        outputs=[
            LambdaOutput(output_name="record_count", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="offline_store_uri", output_type=LambdaOutputTypeEnum.String),
        ],
        depends_on=[step_emr],
    )

    step_callback = CallbackStep(
        name="ManualFeatureQA",
        sqs_queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/feature-qa-requests",
        inputs={
            "report_uri": step_validate.properties.ProcessingOutputConfig.Outputs["report"].S3Output.S3Uri,
            "feature_group_name": feature_group,
        },
        outputs=[
            CallbackOutput(output_name="qa_status", output_type=CallbackOutputTypeEnum.String),
            CallbackOutput(output_name="approved_by", output_type=CallbackOutputTypeEnum.String),
        ],
        depends_on=[step_validate],
    )

    step_build = ProcessingStep(
        name="BuildTrainingSet",
        step_args=processor("clickstream-trainset").run(
            inputs=[
                ProcessingInput(
                    source=step_lambda.properties.Outputs["offline_store_uri"],
                    destination="/opt/ml/processing/offline-store",
                    input_name="offline_store",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="training_set",
                    source="/opt/ml/processing/training_set",
                    destination=Join(on="/", values=[s3(DATA_BUCKET, "features", "training-sets"), event_date]),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "features", "build_training_set.py"),
            arguments=[
                "--snapshot-id",
                Join(on="-", values=["snapshot", event_date, ExecutionVariables.PIPELINE_EXECUTION_ID]),
                "--expected-rows",
                JsonGet(step_name=step_validate.name, property_file=schema_report, json_path="row_count"),
                "--qa-status",
                step_callback.properties.Outputs["qa_status"],
            ],
        ),
        depends_on=[step_callback, step_lambda],
    )

    return Pipeline(
        name=name,
        parameters=[event_date, raw_events, feature_group],
        steps=[step_ingest, step_validate, step_emr, step_lambda, step_callback, step_build],
        sagemaker_session=sess,
    )


# =================================================================================
# 4. model-monitor-checks
# =================================================================================
def model_monitor_checks(sess):
    from sagemaker.clarify import BiasConfig, DataConfig
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
    from sagemaker.workflow.step_collections import RegisterModel
    from sagemaker.workflow.steps import CacheConfig, TrainingStep

    name = "model-monitor-checks"
    train_data = ParameterString("TrainDataUrl", default_value=s3(DATA_BUCKET, "credit", "train", "train.csv"))
    skip_data_quality = ParameterBoolean("SkipDataQualityCheck", default_value=False)
    register_new_dq_baseline = ParameterBoolean("RegisterNewDataQualityBaseline", default_value=False)
    skip_data_bias = ParameterBoolean("SkipDataBiasCheck", default_value=False)
    register_new_bias_baseline = ParameterBoolean("RegisterNewDataBiasBaseline", default_value=False)
    supplied_dq_statistics = ParameterString(
        "DataQualitySuppliedStatistics",
        default_value=s3(ARTIFACT_BUCKET, "credit", "baselines", "data-quality", "statistics.json"),
    )
    supplied_dq_constraints = ParameterString(
        "DataQualitySuppliedConstraints",
        default_value=s3(ARTIFACT_BUCKET, "credit", "baselines", "data-quality", "constraints.json"),
    )
    supplied_bias_constraints = ParameterString(
        "DataBiasSuppliedBaselineConstraints",
        default_value=s3(ARTIFACT_BUCKET, "credit", "baselines", "data-bias", "analysis.json"),
    )
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    model_package_group = "credit-risk-models"
    cache = CacheConfig(enable_caching=True, expire_after="PT1H")

    check_job_config = CheckJobConfig(
        role=ROLE,
        instance_count=1,
        instance_type="ml.c5.xlarge",
        volume_size_in_gb=60,
        sagemaker_session=sess,
    )

    step_data_quality = QualityCheckStep(
        name="CheckDataQuality",
        skip_check=skip_data_quality,
        register_new_baseline=register_new_dq_baseline,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=train_data,
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=Join(
                on="/",
                values=[
                    s3(ARTIFACT_BUCKET, "credit", "monitoring"),
                    ExecutionVariables.PIPELINE_EXECUTION_ID,
                    "data-quality",
                ],
            ),
        ),
        check_job_config=check_job_config,
        supplied_baseline_statistics=supplied_dq_statistics,
        supplied_baseline_constraints=supplied_dq_constraints,
        model_package_group_name=model_package_group,
        cache_config=cache,
    )

    bias_report_uri = Join(
        on="/",
        values=[s3(ARTIFACT_BUCKET, "credit", "monitoring"), ExecutionVariables.PIPELINE_EXECUTION_ID, "data-bias"],
    )
    step_data_bias = ClarifyCheckStep(
        name="CheckDataBias",
        clarify_check_config=DataBiasCheckConfig(
            data_config=DataConfig(
                s3_data_input_path=s3(DATA_BUCKET, "credit", "train", "train.csv"),
                s3_output_path=bias_report_uri,
                label=0,
                dataset_type="text/csv",
                s3_analysis_config_output_path=s3(ARTIFACT_BUCKET, "credit", "monitoring", "clarify-config"),
            ),
            data_bias_config=BiasConfig(
                label_values_or_threshold=[1],
                facet_name=[9],
                facet_values_or_threshold=[[40]],
            ),
            methods=["CI", "DPL", "KL"],
        ),
        check_job_config=check_job_config,
        skip_check=skip_data_bias,
        register_new_baseline=register_new_bias_baseline,
        supplied_baseline_constraints=supplied_bias_constraints,
        model_package_group_name=model_package_group,
        cache_config=cache,
    )

    estimator = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=s3(ARTIFACT_BUCKET, "credit", "models"),
        base_job_name="credit-train",
        sagemaker_session=sess,
        hyperparameters={"objective": "binary:logistic", "num_round": 100},
        disable_profiler=True,
    )
    step_train = TrainingStep(
        name="TrainCreditModel",
        step_args=estimator.fit(inputs={"train": TrainingInput(s3_data=train_data, content_type="text/csv")}),
        depends_on=[step_data_quality, step_data_bias],
    )

    model_metrics = ModelMetrics(
        model_data_statistics=MetricsSource(
            s3_uri=step_data_quality.properties.CalculatedBaselineStatistics, content_type="application/json"
        ),
        model_data_constraints=MetricsSource(
            s3_uri=step_data_quality.properties.CalculatedBaselineConstraints, content_type="application/json"
        ),
        bias_pre_training=MetricsSource(
            s3_uri=step_data_bias.properties.CalculatedBaselineConstraints, content_type="application/json"
        ),
    )
    drift_check_baselines = DriftCheckBaselines(
        model_data_statistics=MetricsSource(
            s3_uri=step_data_quality.properties.BaselineUsedForDriftCheckStatistics, content_type="application/json"
        ),
        model_data_constraints=MetricsSource(
            s3_uri=step_data_quality.properties.BaselineUsedForDriftCheckConstraints, content_type="application/json"
        ),
        bias_pre_training_constraints=MetricsSource(
            s3_uri=step_data_bias.properties.BaselineUsedForDriftCheckConstraints, content_type="application/json"
        ),
    )
    step_register = RegisterModel(
        name="RegisterCreditModel",
        estimator=estimator,
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name=model_package_group,
        approval_status=approval,
        model_metrics=model_metrics,
        drift_check_baselines=drift_check_baselines,
    )

    return Pipeline(
        name=name,
        parameters=[
            train_data,
            skip_data_quality,
            register_new_dq_baseline,
            skip_data_bias,
            register_new_bias_baseline,
            supplied_dq_statistics,
            supplied_dq_constraints,
            supplied_bias_constraints,
            approval,
        ],
        steps=[step_data_quality, step_data_bias, step_train, step_register],
        sagemaker_session=sess,
    )


# =================================================================================
# 5. automl-and-notebook
# =================================================================================
def automl_and_notebook(sess):
    from sagemaker.automl.automl import AutoML, AutoMLInput
    from sagemaker.workflow.automl_step import AutoMLStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.notebook_job_step import NotebookJobStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline

    name = "automl-and-notebook"
    approval = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")

    automl = AutoML(
        role=ROLE,
        target_attribute_name="churned",
        output_path=s3(ARTIFACT_BUCKET, "autopilot", "output"),
        problem_type="BinaryClassification",
        job_objective={"MetricName": "F1"},
        max_candidates=30,
        mode="ENSEMBLING",
        base_job_name="churn-autopilot",
        sagemaker_session=sess,
    )
    step_automl = AutoMLStep(
        name="AutopilotChurn",
        step_args=automl.fit(
            inputs=[
                AutoMLInput(
                    inputs=s3(DATA_BUCKET, "autopilot", "churn", "train.csv"),
                    target_attribute_name="churned",
                    channel_type="training",
                    content_type="text/csv;header=present",
                ),
                AutoMLInput(
                    inputs=s3(DATA_BUCKET, "autopilot", "churn", "validation.csv"),
                    target_attribute_name="churned",
                    channel_type="validation",
                    content_type="text/csv;header=present",
                ),
            ],
            wait=False,
        ),
    )

    best_model = step_automl.get_best_auto_ml_model(ROLE, sagemaker_session=sess)
    step_register = ModelStep(
        name="RegisterAutopilotModel",
        step_args=best_model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name="churn-autopilot-models",
            approval_status=approval,
        ),
    )

    # The notebook is a local file; the SDK stages it to S3 while compiling the
    # definition (upload intercepted above, path recorded as-is).
    nb_dir = tempfile.mkdtemp(prefix="nbjob-")
    notebook = os.path.join(nb_dir, "autopilot_report.ipynb")
    with open(notebook, "w") as fh:
        json.dump(
            {
                "cells": [
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["job_name = ''\n"],
                     "outputs": [], "execution_count": None}
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            },
            fh,
        )
    step_notebook = NotebookJobStep(
        name="AutopilotReportNotebook",
        display_name="Autopilot report",
        description="Render an explainability / leaderboard report for the Autopilot job.",
        notebook_job_name="autopilot-report",
        input_notebook=notebook,
        image_uri=NOTEBOOK_IMAGE,
        kernel_name="python3",
        role=ROLE,
        s3_root_uri=s3(ARTIFACT_BUCKET, "notebook-jobs"),
        instance_type="ml.m5.xlarge",
        parameters={"job_name": step_automl.properties.AutoMLJobName},
        environment_variables={"REPORT_BUCKET": ARTIFACT_BUCKET},
        tags=[{"Key": "team", "Value": "growth-ml"}],
    )

    pipeline = Pipeline(
        name=name,
        parameters=[approval],
        steps=[step_automl, step_register, step_notebook],
        sagemaker_session=sess,
    )
    pipeline._tmp_dir = nb_dir
    return pipeline


# =================================================================================
# 6. nested-conditions
# =================================================================================
def nested_conditions(sess):
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThan,
        ConditionIn,
        ConditionLessThan,
        ConditionNot,
        ConditionOr,
    )
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    name = "nested-conditions"
    force_retrain = ParameterBoolean("ForceRetrain", default_value=False)
    model_tier = ParameterString("ModelTier", default_value="silver")
    input_data = ParameterString("ScoringDataUrl", default_value=s3(DATA_BUCKET, "demand", "daily/"))
    drift_threshold = ParameterFloat("DriftThreshold", default_value=0.25)

    def processor(base, instance_type="ml.m5.xlarge"):
        return ScriptProcessor(
            image_uri=SKLEARN_IMAGE,
            command=["python3"],
            role=ROLE,
            instance_type=instance_type,
            instance_count=1,
            base_job_name=base,
            sagemaker_session=sess,
        )

    run_root = Join(
        on="/",
        values=[s3(ARTIFACT_BUCKET, "demand"), ExecutionVariables.PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID],
    )

    drift_report = PropertyFile(name="DriftReport", output_name="drift", path="drift.json")
    step_drift = ProcessingStep(
        name="ComputeDrift",
        step_args=processor("demand-drift").run(
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input", input_name="daily")],
            outputs=[
                ProcessingOutput(
                    output_name="drift",
                    source="/opt/ml/processing/drift",
                    destination=Join(on="/", values=[run_root, "drift"]),
                ),
                ProcessingOutput(
                    output_name="train",
                    source="/opt/ml/processing/train",
                    destination=Join(on="/", values=[run_root, "train"]),
                ),
            ],
            code=s3(ARTIFACT_BUCKET, "code", "demand", "drift.py"),
            arguments=["--run-started", ExecutionVariables.START_DATETIME],
        ),
        property_files=[drift_report],
    )

    # --- outer IF branch: retrain ----------------------------------------------------
    estimator = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.2xlarge",
        output_path=Join(on="/", values=[run_root, "model"]),
        base_job_name="demand-train",
        sagemaker_session=sess,
        hyperparameters={"objective": "reg:squarederror", "num_round": 500},
        disable_profiler=True,
    )
    step_train = TrainingStep(
        name="RetrainDemandModel",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(
                    s3_data=step_drift.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri,
                    content_type="text/csv",
                )
            }
        ),
    )
    metrics_report = PropertyFile(name="MetricsReport", output_name="metrics", path="metrics.json")
    step_eval = ProcessingStep(
        name="EvaluateDemandModel",
        step_args=processor("demand-eval").run(
            inputs=[
                ProcessingInput(
                    source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/model",
                    input_name="model",
                ),
                ProcessingInput(
                    source=s3(DATA_BUCKET, "demand", "holdout", "holdout.csv"),
                    destination="/opt/ml/processing/holdout",
                    input_name="holdout",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="metrics",
                    source="/opt/ml/processing/metrics",
                    destination=Join(on="/", values=[run_root, "metrics"]),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "demand", "evaluate.py"),
        ),
        property_files=[metrics_report],
    )

    # inner IF: premium tier and good enough -> register
    model = Model(
        image_uri=XGBOOST_IMAGE,
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        role=ROLE,
        sagemaker_session=sess,
    )
    step_register = ModelStep(
        name="RegisterDemandModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name="demand-forecast-models",
            approval_status="Approved",
        ),
    )
    # inner ELSE: archive the candidate and fail loudly
    step_archive = ProcessingStep(
        name="ArchiveRejectedCandidate",
        step_args=processor("demand-archive", "ml.t3.medium").run(
            inputs=[
                ProcessingInput(
                    source=step_eval.properties.ProcessingOutputConfig.Outputs["metrics"].S3Output.S3Uri,
                    destination="/opt/ml/processing/metrics",
                    input_name="metrics",
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="archive",
                    source="/opt/ml/processing/archive",
                    destination=Join(
                        on="/",
                        values=[s3(ARTIFACT_BUCKET, "demand", "rejected"), ExecutionVariables.START_DATETIME],
                    ),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "demand", "archive.py"),
        ),
    )
    step_fail = FailStep(
        name="DemandModelRejected",
        error_message=Join(
            on="",
            values=[
                "Model from execution ",
                ExecutionVariables.PIPELINE_EXECUTION_ARN,
                " rejected for tier ",
                model_tier,
            ],
        ),
        depends_on=[step_archive],
    )
    step_inner = ConditionStep(
        name="IsPremiumAndAccurate",
        conditions=[
            ConditionIn(value=model_tier, in_values=["gold", "platinum"]),
            ConditionNot(
                expression=ConditionLessThan(
                    left=JsonGet(step_name=step_eval.name, property_file=metrics_report, json_path="regression.r2"),
                    right=0.8,
                )
            ),
        ],
        if_steps=[step_register],
        else_steps=[step_archive, step_fail],
    )

    # --- outer ELSE branch: just refresh forecasts with the current model ------------
    step_refresh = ProcessingStep(
        name="RefreshForecasts",
        step_args=processor("demand-refresh").run(
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input", input_name="daily")],
            outputs=[
                ProcessingOutput(
                    output_name="forecasts",
                    source="/opt/ml/processing/forecasts",
                    destination=Join(
                        on="/",
                        values=[
                            s3(DATA_BUCKET, "demand", "forecasts"),
                            ExecutionVariables.START_DATETIME,
                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                        ],
                    ),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "demand", "forecast.py"),
            arguments=["--as-of", ExecutionVariables.CURRENT_DATETIME],
        ),
    )

    step_outer = ConditionStep(
        name="ShouldRetrain",
        conditions=[
            ConditionOr(
                conditions=[
                    ConditionEquals(left=force_retrain, right=True),
                    ConditionGreaterThan(
                        left=JsonGet(step_name=step_drift.name, property_file=drift_report, json_path="psi.max"),
                        right=drift_threshold,
                    ),
                ]
            )
        ],
        if_steps=[step_train, step_eval, step_inner],
        else_steps=[step_refresh],
    )

    return Pipeline(
        name=name,
        parameters=[force_retrain, model_tier, input_data, drift_threshold],
        steps=[step_drift, step_outer],
        sagemaker_session=sess,
    )


# =================================================================================
# 7. daily-scoring  (literal/parameter-only Std:Join inputs + custom job prefix)
# =================================================================================
def daily_scoring(sess):
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_definition_config import PipelineDefinitionConfig
    from sagemaker.workflow.steps import ProcessingStep, TransformStep

    name = "daily-scoring"
    market = ParameterString("Market", default_value="us")
    run_date = ParameterString("RunDate", default_value="2024-01-01")
    model_name = ParameterString("ScoringModelName", default_value="ltv-model-prod")

    processor = ScriptProcessor(
        image_uri=SKLEARN_IMAGE,
        command=["python3"],
        role=ROLE,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        base_job_name="ltv-prepare",
        sagemaker_session=sess,
    )
    step_prepare = ProcessingStep(
        name="PrepareScoringData",
        step_args=processor.run(
            inputs=[
                ProcessingInput(
                    source=Join(on="/", values=["s3://acme-ml-data/ltv/customers", market, run_date]),
                    destination="/opt/ml/processing/customers",
                    input_name="customers",
                ),
                ProcessingInput(
                    source=Join(on="", values=["s3://acme-ml-data/ltv/orders/market=", market, "/date=", run_date, "/"]),
                    destination="/opt/ml/processing/orders",
                    input_name="orders",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="scoring_input",
                    source="/opt/ml/processing/scoring_input",
                    destination=Join(on="/", values=["s3://acme-ml-artifacts/ltv/scoring-input", market, run_date]),
                )
            ],
            code=s3(ARTIFACT_BUCKET, "code", "ltv", "prepare_scoring.py"),
        ),
    )
    transformer = Transformer(
        model_name=model_name,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=Join(on="/", values=["s3://acme-ml-artifacts/ltv/scores", market, run_date]),
        accept="text/csv",
        assemble_with="Line",
        base_transform_job_name="ltv-score",
        sagemaker_session=sess,
    )
    step_score = TransformStep(
        name="ScoreCustomers",
        step_args=transformer.transform(
            data=step_prepare.properties.ProcessingOutputConfig.Outputs["scoring_input"].S3Output.S3Uri,
            content_type="text/csv",
            split_type="Line",
        ),
    )

    return Pipeline(
        name=name,
        parameters=[market, run_date, model_name],
        steps=[step_prepare, step_score],
        sagemaker_session=sess,
        pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=True),
    )


PIPELINES = [
    churn_training,
    fraud_tuning_batch,
    feature_pipeline,
    model_monitor_checks,
    automl_and_notebook,
    nested_conditions,
    daily_scoring,
]


# =================================================================================
def _deterministic(text: str) -> str:
    """Last-resort scrub of anything time-/random-based the SDK still injected."""
    # yyyy-mm-dd-hh-mm-ss-mmm timestamps from sagemaker.utils.sagemaker_timestamp()
    text = re.sub(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}", "2024-01-01-00-00-00-000", text)
    # uuid4s (only seen in intercepted-upload keys, never in a definition so far)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "00000000-0000-4000-8000-000000000000", text)
    return text


def step_summary(steps, indent=1):
    lines = []
    for st in steps:
        lines.append("  " * indent + f"- {st['Name']} [{st['Type']}]")
        if st["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                lines.append("  " * (indent + 1) + f"{branch}:")
                lines.extend(step_summary(st["Arguments"].get(branch, []), indent + 2))
    return lines


def main(argv):
    """Usage: generate_pipelines.py [PIPELINE_NAME ...]  (default: all)."""
    only = set(argv[1:])
    install_offline_guards()
    import sagemaker

    os.makedirs(OUT_DIR, exist_ok=True)
    print(f"sagemaker SDK {sagemaker.__version__}")
    for factory in PIPELINES:
        UPLOADS.clear()
        sess = make_session()
        pipeline = factory(sess)
        if only and pipeline.name not in only:
            continue
        definition = json.loads(pipeline.definition())
        tmp_dir = getattr(pipeline, "_tmp_dir", None)
        if tmp_dir:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        text = json.dumps(definition, indent=1, sort_keys=True) + "\n"
        text = _deterministic(text)
        path = os.path.join(OUT_DIR, f"{pipeline.name}.json")
        with open(path, "w") as fh:
            fh.write(text)
        print(f"\n{pipeline.name} -> {os.path.relpath(path)}")
        for line in step_summary(json.loads(text)["Steps"]):
            print(line)
        for uri in UPLOADS:
            print(f"    (SDK upload intercepted, not performed: {_deterministic(uri)})")
    if NETWORK_ATTEMPTS:
        print("\nERROR: the SDK attempted network access:", *NETWORK_ATTEMPTS, sep="\n  ", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
