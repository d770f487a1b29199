"""The transform fixtures are shaped as AWS sends them: API responses against botocore's output shapes,
events against the envelopes AWS documents."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from collector.s3.posture import CALLS
from tests.transform_data import DATA, api, api_fixtures, output_shape, raw, s3_operation, shape_errors

API_FIXTURES = [(service, operation, file) for service, operation, file in api_fixtures()]


@pytest.mark.parametrize("service, operation, file", API_FIXTURES, ids=[f.name for _, _, f in API_FIXTURES])
def test_api_fixture_fits_its_botocore_output_shape(service, operation, file):
    assert shape_errors(json.loads(file.read_text(encoding="utf-8")), output_shape(service, operation)) == []


@pytest.mark.parametrize("file", sorted((DATA / "posture").glob("*.json")), ids=lambda f: f.name)
def test_posture_answers_fit_the_s3_output_shapes(file):
    doc = json.loads(file.read_text(encoding="utf-8"))
    assert set(doc["responses"]) | set(doc["errors"]) <= set(CALLS)
    for field, response in doc["responses"].items():
        if response is not None:  # None: the setting is absent (NoSuch... error)
            assert shape_errors(response, output_shape("s3", s3_operation(CALLS[field]))) == [], field


def test_shape_check_finds_what_does_not_fit():
    shape = output_shape("sagemaker", "DescribeTransformJob")
    job = raw("sagemaker/DescribeTransformJob.score.json")
    broken = {**{k: v for k, v in job.items() if k != "ModelName"}, "TransformJobStatus": "Done", "ModelArn": "x",
              "MaxPayloadInMB": "6", "CreationTime": "yesterday"}
    assert sorted(shape_errors(broken, shape)) == [
        "$.CreationTime: expected an ISO 8601 timestamp, got 'yesterday'",
        "$.MaxPayloadInMB: expected an integer",
        "$.ModelArn: not a member of DescribeTransformJobResponse",
        "$.ModelName: required member of DescribeTransformJobResponse missing",
        "$.TransformJobStatus: 'Done' not in TransformJobStatus ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']",
    ]


def test_loader_gives_datetimes_where_boto3_does():
    job = api("sagemaker", "DescribeTrainingJob.train")
    assert isinstance(job["CreationTime"], datetime) and job["CreationTime"].utcoffset().total_seconds() == 0
    assert isinstance(job["SecondaryStatusTransitions"][0]["StartTime"], datetime)
    assert isinstance(job["FinalMetricDataList"][0]["Timestamp"], datetime)
    assert job["HyperParameters"]["num_round"] == "150" and job["TrainingTimeInSeconds"] == 585
    assert shape_errors(job, output_shape("sagemaker", "DescribeTrainingJob")) == []


# --- events ---------------------------------------------------------------------------------------------

EVENTBRIDGE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
SNS = {"Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL",
       "UnsubscribeURL"}
S3_RECORD = {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity", "requestParameters",
             "responseElements", "s3"}
# Job and model package state-change events carry their Describe* response (epoch-millisecond times, a Tags map).
DETAIL_SHAPES = {
    "SageMaker Training Job State Change": "DescribeTrainingJob",
    "SageMaker Processing Job State Change": "DescribeProcessingJob",
    "SageMaker Transform Job State Change": "DescribeTransformJob",
    "SageMaker HyperParameter Tuning Job State Change": "DescribeHyperParameterTuningJob",
    "SageMaker Model Package State Change": "DescribeModelPackage",
    "SageMaker Endpoint State Change": "DescribeEndpoint",  # as AWS documents it, the status upper-snake
}
EVENT_FILES = sorted((DATA / "events").glob("*.json")) + sorted((DATA / "git").glob("codecommit_*.json"))


def _envelopes(doc: dict) -> list[dict]:
    if doc.get("Type") == "Notification":
        assert set(doc) - {"Subject"} == SNS and isinstance(doc["Message"], str)
        return _envelopes(json.loads(doc["Message"]))
    return [doc]


@pytest.mark.parametrize("file", EVENT_FILES, ids=lambda f: f.name)
def test_event_fixture_has_the_documented_envelope(file):
    for doc in _envelopes(json.loads(file.read_text(encoding="utf-8"))):
        if "Records" in doc:
            for record in doc["Records"]:
                assert set(record) == S3_RECORD and {"bucket", "object"} <= set(record["s3"])
        elif "detail-type" in doc:
            assert set(doc) == EVENTBRIDGE and doc["time"].endswith("Z")
            operation = DETAIL_SHAPES.get(doc["detail-type"])
            if operation:
                members = set(output_shape("sagemaker", operation).members)
                assert set(doc["detail"]) - {"Tags"} <= members, set(doc["detail"]) - members
        else:
            assert doc.get("Event") == "s3:TestEvent"
