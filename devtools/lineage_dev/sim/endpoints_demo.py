"""The demo account's hosting: the churn model the churn-training pipeline registered, deployed.

Seeded through the sim's HTTP API like the rest (CreateModel from the newest `churn-models` package,
CreateEndpointConfig with a production variant, a serverless shadow variant and data capture,
CreateEndpoint, then UpdateEndpoint to a second config), so `downstream` from the raw churn data
reaches the endpoint: raw data -> jobs -> model.tar.gz -> model package -> model -> config -> endpoint.
"""
from __future__ import annotations

from typing import Any

from lineage_dev.sim.server import SimAws

GROUP = "churn-models"
ENDPOINT = "churn-scoring"
CAPTURE_URI = "s3://acme-ml-data/churn/capture/"


def seed_demo_endpoints(sim: SimAws, region: str, data_bucket: str) -> dict[str, Any]:
    """The churn endpoint serving the newest registered churn model (none when no package was registered)."""
    sm = sim.client("sagemaker", region)
    packages = sm.list_model_packages(ModelPackageGroupName=GROUP, SortBy="CreationTime",
                                      SortOrder="Descending").get("ModelPackageSummaryList", [])
    if not packages:
        return {}
    package = packages[0]["ModelPackageArn"]
    role = f"arn:aws:iam::{sim.account_id}:role/SageMakerExecutionRole"
    container = {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                 "ModelPackageName": package}
    sm.create_model(ModelName="churn-model-v1", ExecutionRoleArn=role, PrimaryContainer=container)
    sm.create_model(ModelName="churn-model-shadow", ExecutionRoleArn=role, PrimaryContainer=container)
    capture = {"EnableCapture": True, "InitialSamplingPercentage": 20,
               "DestinationS3Uri": CAPTURE_URI.replace("acme-ml-data", data_bucket),
               "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
    production = {"VariantName": "primary", "ModelName": "churn-model-v1", "InstanceType": "ml.m5.large",
                  "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
    sm.create_endpoint_config(EndpointConfigName="churn-scoring-v1", ProductionVariants=[production],
                              DataCaptureConfig=capture)
    sm.create_endpoint_config(
        EndpointConfigName="churn-scoring-v2", ProductionVariants=[production], DataCaptureConfig=capture,
        ShadowProductionVariants=[{"VariantName": "shadow", "ModelName": "churn-model-shadow",
                                   "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}])
    arn = sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="churn-scoring-v1")["EndpointArn"]
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="churn-scoring-v2")
    return {"endpoint": arn, "model_package": package, "configs": ["churn-scoring-v1", "churn-scoring-v2"]}
