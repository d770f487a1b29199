"""The demo account's Feature Store: a feature group fed by a processing step of a pipeline and read, through
its offline store, by that pipeline's training step, whose model a Model step creates. So "which features and
source tables trained this model" has an answer: upstream of the model are the training job, the offline
store Dataset (and its Glue Table), the feature group with its features, the processing job that ingests
into it and that job's inputs (the raw clickstream events).

The definition is built here rather than kept beside the SDK-generated ones in lineage_dev/demo/pipelines:
its training input is the group's resolved offline store URI, which SageMaker decides when the group is made.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from lineage_dev.sim.execution import ARTIFACT_BUCKET, ensure_bucket
from lineage_dev.sim.server import SimAws

FEATURE_GROUP = "clickstream-sessions"
PIPELINE = "session-features-training"
RAW_EVENTS = "s3://acme-ml-data/clickstream/raw/"
_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
_XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
FEATURES = [
    {"FeatureName": "session_id", "FeatureType": "String"},
    {"FeatureName": "event_time", "FeatureType": "Fractional"},
    {"FeatureName": "user_id", "FeatureType": "Integral"},
    {"FeatureName": "page_views", "FeatureType": "Integral"},
    {"FeatureName": "duration_sec", "FeatureType": "Fractional"},
]


def create_feature_group(sim: SimAws, name: str = FEATURE_GROUP, region: str | None = None,
                         features: list[dict[str, Any]] | None = None, *, online: bool = True) -> dict[str, Any]:
    """CreateFeatureGroup with an offline store in the data bucket; returns DescribeFeatureGroup."""
    sm = sim.client("sagemaker", region)
    sm.create_feature_group(
        FeatureGroupName=name, RecordIdentifierFeatureName="session_id", EventTimeFeatureName="event_time",
        FeatureDefinitions=features or FEATURES, OnlineStoreConfig={"EnableOnlineStore": online},
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://acme-ml-data/feature-store"}},
        RoleArn=f"arn:aws:iam::{sim.account_id}:role/SageMakerFeatureStoreRole",
        Description="Sessionised clickstream features",
    )
    described: dict[str, Any] = sm.describe_feature_group(FeatureGroupName=name)
    return described


def definition(group: dict[str, Any], role_arn: str) -> dict[str, Any]:
    """Processing (ingest into the group through FeatureStoreOutput) -> Training (on the offline store) -> Model."""
    offline = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
    return {
        "Version": "2020-12-01", "Metadata": {},
        "Parameters": [
            {"Name": "FeatureGroupName", "Type": "String", "DefaultValue": group["FeatureGroupName"]},
            {"Name": "RawEventsUrl", "Type": "String", "DefaultValue": RAW_EVENTS},
            {"Name": "OfflineStoreUri", "Type": "String", "DefaultValue": f"{offline}/"},
        ],
        "PipelineExperimentConfig": None,
        "Steps": [
            {"Name": "IngestSessionFeatures", "Type": "Processing", "Arguments": {
                "AppSpecification": {"ImageUri": _IMAGE, "ContainerEntrypoint": [
                    "python3", "/opt/ml/processing/input/code/ingest_features.py"]},
                "ProcessingInputs": [
                    {"InputName": "raw_events", "AppManaged": False, "S3Input": {
                        "S3Uri": {"Get": "Parameters.RawEventsUrl"}, "LocalPath": "/opt/ml/processing/raw",
                        "S3DataType": "S3Prefix", "S3InputMode": "File"}},
                    {"InputName": "code", "AppManaged": False, "S3Input": {
                        "S3Uri": f"s3://{ARTIFACT_BUCKET}/code/features/ingest_features.py",
                        "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                        "S3InputMode": "File"}},
                ],
                "ProcessingOutputConfig": {"Outputs": [
                    {"OutputName": "sessions", "AppManaged": True,
                     "FeatureStoreOutput": {"FeatureGroupName": {"Get": "Parameters.FeatureGroupName"}}},
                ]},
                "ProcessingResources": {"ClusterConfig": {
                    "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
                "RoleArn": role_arn,
            }},
            {"Name": "TrainSessionModel", "Type": "Training", "DependsOn": ["IngestSessionFeatures"], "Arguments": {
                "AlgorithmSpecification": {"TrainingImage": _XGBOOST, "TrainingInputMode": "File"},
                "InputDataConfig": [{"ChannelName": "train", "ContentType": "application/x-parquet", "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated",
                                     "S3Uri": {"Get": "Parameters.OfflineStoreUri"}}}}],
                "OutputDataConfig": {"S3OutputPath": f"s3://{ARTIFACT_BUCKET}/clickstream/models"},
                "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                "HyperParameters": {"objective": "binary:logistic", "num_round": "100"},
                "RoleArn": role_arn,
            }},
            {"Name": "CreateSessionModel", "Type": "Model", "Arguments": {
                "ExecutionRoleArn": role_arn,
                "PrimaryContainer": {"Image": _XGBOOST, "Environment": {},
                                     "ModelDataUrl": {"Get": "Steps.TrainSessionModel.ModelArtifacts.S3ModelArtifacts"}},
            }},
        ],
    }


def seed_feature_store(sim: SimAws, region: str | None = None, now: datetime | None = None,
                       tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The feature group, the pipeline that feeds and reads it, and one run of that pipeline."""
    from lineage_dev.sim.account import seed_execution, seed_pipeline

    now = now or datetime.now(timezone.utc)
    s3 = sim.client("s3", region)
    for bucket in ("acme-ml-data", ARTIFACT_BUCKET):
        ensure_bucket(s3, bucket, region or sim.region)
    group = create_feature_group(sim, region=region)
    role = f"arn:aws:iam::{sim.account_id}:role/SageMakerExecutionRole"
    pipeline = seed_pipeline(sim, PIPELINE, definition(group, role), tags, region, created=now - timedelta(days=2))
    execution = seed_execution(sim, PIPELINE, start=now - timedelta(hours=5), region=region)
    bucket, _, key = group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"][5:].partition("/")
    s3.put_object(Bucket=bucket, Key=f"{key}/year=2024/month=06/day=02/part-0.parquet", Body=b"PAR1")
    return {"feature_group": group["FeatureGroupArn"], "pipeline": pipeline, "execution": execution,
            "offline_store": group["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]}
