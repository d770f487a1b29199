"""Fuzzing the envelope and event parsers (hypothesis): strategies and the property they must hold.

The property (`check_body`): for any body, `parse_body` returns events (CloudEvent, S3ObjectEvent,
GitPushEvent) or Ignored, or raises MalformedMessage, nothing else; a SageMaker event it returns
turns into graph data (`sagemaker_effect`) or a MalformedMessage, and that graph holds only values
Neo4j stores (primitives, lists of them, valid Unicode); the edge's checks (collector.events.bounds)
never raise. Inputs: arbitrary bytes and text, arbitrary JSON, and the documented shapes
(tests/event_samples.py) with mutated types, values and structure.

Used by tests/test_event_fuzz.py (a bounded number of examples, in CI) and bench/fuzz_events.py (a
longer run, with counts).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from collector.events import CloudEvent, GitPushEvent, Ignored, MalformedMessage, S3ObjectEvent, parse_body
from collector.events.bounds import EventBounds, out_of_scope, too_late
from collector.events.sagemaker import is_known, sagemaker_effect
from graphstore.model import Graph
from tests import event_samples as ev

T0 = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
PIPELINE = f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:pipeline/churn-training"
EXECUTION = f"{PIPELINE}/execution/p4jn9xou8a8s"
BOUNDS = EventBounds(accounts=frozenset({ev.ACCOUNT}), regions=frozenset({"us-east-1"}))


def documented_shapes() -> list[Any]:
    """One body of every documented shape (envelopes included)."""
    step_row = {"StepName": "TrainChurnModel", "StepType": "Training", "StartTime": T0, "EndTime": T0 + timedelta(minutes=5),
                "Metadata": {"TrainingJob": {"Arn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:training-job/t1"}},
                "CacheHitResult": {"SourcePipelineExecutionArn": f"{PIPELINE}/execution/older"}}
    job = {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:training-job/t1", "TrainingJobName": "t1",
           "TrainingJobStatus": "Completed", "FailureReason": None, "BillableTimeInSeconds": 30,
           "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
               "S3DataType": "S3Prefix", "S3Uri": "s3://acme-ml-data/features/"}}}],
           "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-artifacts/churn/"},
           "ModelArtifacts": {"S3ModelArtifacts": "s3://acme-ml-artifacts/churn/model.tar.gz"},
           "FinalMetricDataList": [{"MetricName": "auc", "Value": 0.91, "Timestamp": ev.millis(T0)}],
           "CreationTime": ev.millis(T0), "TrainingStartTime": ev.millis(T0), "TrainingEndTime": ev.millis(T0),
           "LastModifiedTime": ev.millis(T0), "Tags": {}}
    tuning = {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:hyper-parameter-tuning-job/h",
              "HyperParameterTuningJobName": "h", "HyperParameterTuningJobStatus": "InProgress",
              "BestTrainingJob": {"TrainingJobName": "t1", "FinalHyperParameterTuningJobObjectiveMetric": {
                  "MetricName": "auc", "Value": 0.9}}, "CreationTime": "1583831889050"}
    package = {"ModelPackageGroupName": "churn-models", "ModelPackageVersion": 2,
               "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:{ev.ACCOUNT}:model-package/churn-models/2",
               "CreationTime": "2024-06-03T12:00:14Z", "ModelPackageStatus": "Completed",
               "ModelApprovalStatus": "Approved", "MetadataProperties": {"GeneratedBy": EXECUTION},
               "InferenceSpecification": {"Containers": [{"Image": "x", "ModelDataUrl": "s3://acme-ml-artifacts/m.tar.gz"}]}}
    execution = ev.execution_event(PIPELINE, EXECUTION, "Failed", "Executing", T0, T0 + timedelta(minutes=9),
                                   end=T0 + timedelta(minutes=8), display_name="nightly", failure="Step failed")
    record = ev.s3_record("acme-ml-data", "raw/it's a \"file\" ü.csv", "ObjectCreated:Put", T0, sequencer="0A")
    return [
        execution,
        ev.step_event(PIPELINE, EXECUTION, step_row, "Succeeded", "Executing", T0 + timedelta(minutes=6)),
        ev.eventbridge("SageMaker Training Job State Change", job, T0, resources=[job["TrainingJobArn"]]),
        ev.eventbridge("SageMaker HyperParameter Tuning Job State Change", tuning, T0),
        ev.eventbridge("SageMaker Model Package State Change", package, T0),
        ev.eventbridge("SageMaker Image State Change", {"EndpointName": "x"}, T0),
        ev.sns(execution),
        ev.s3_notification(record, ev.s3_record("acme-ml-data", "raw/a.csv", "ObjectRemoved:Delete", T0)),
        ev.sns(ev.s3_notification(record)),
        ev.s3_eventbridge("acme-ml-data", "features/dt=2024-06-01/part-0.parquet", "created", T0, size=5, sequencer="0B"),
        ev.s3_eventbridge("acme-ml-data", "features/x.parquet", "deleted", T0),
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-06-03T12:00:00.000Z", "Bucket": "acme-ml-data"},
        {"Type": "SubscriptionConfirmation", "Token": "x", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
        ev.github_push(),
        {"headers": {"X-GitHub-Event": "push"}, "body": json.dumps(ev.github_push())},
        ev.gitlab_push(),
        ev.codecommit_push(),
    ]


SHAPES = documented_shapes()

# Values that break types and rules: wrong kinds, edge numbers, hostile text, far times.
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=1 << 62, max_value=1 << 80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", " ", "\ud800", "x\udfffy", "\x00", "Succeeded", "arn:aws:sagemaker:us-east-1:1:x/y",
                     "arn:aws:sagemaker:eu-west-9:999999999999:pipeline/p", "s3://Bad_Bucket/k", "s3://", "s3://ab/",
                     "s3://acme-ml-data/" + "k" * 1100, "2099-01-01T00:00:00Z", "4102444800000", "0", "-1",
                     "2024-13-45T99:00:00Z", "NaN", "{}", "[]", "{\"a\": 1}", "../../etc/passwd", "' OR 1=1 //"]),
)
JSON = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=12)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document (including the root)."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _paths(value, prefix + (i,))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif delete and isinstance(parent, list):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return doc


_HOSTILE_TEXT = st.one_of(st.text(max_size=30), _SCALARS.filter(lambda v: isinstance(v, str)))


def _same_type(value: Any) -> st.SearchStrategy[Any]:
    """Another value of the same JSON type: types stay right, values go wrong."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.integers(), st.sampled_from([0, -1, 1 << 62, 4102444800000, 253402300800000]))
    if isinstance(value, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(value, str):
        return _HOSTILE_TEXT
    if isinstance(value, list):
        return st.just([])
    return st.just(value)


@st.composite
def mutated_shapes(draw: st.DrawFn) -> str:
    """A documented shape with 1-3 mutations: a value replaced by one of the same type or by anything, a field
    deleted, the document wrapped in an SNS or relay envelope, nested deep, or its text cut."""
    doc = json.loads(json.dumps(draw(st.sampled_from(SHAPES))))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["same-type", "same-type", "same-type", "replace", "replace", "delete", "wrap",
                                       "nest"]))
        if action == "same-type" and path:
            current: Any = doc
            for step in path:
                current = current[step]
            doc = _set(doc, path, draw(_same_type(current)))
        elif action == "replace":
            doc = _set(doc, path, draw(JSON))
        elif action == "delete" and path:
            doc = _set(doc, path, None, delete=True)
        elif action == "wrap":
            doc = ev.sns(doc) if draw(st.booleans()) else {"headers": {"X-GitHub-Event": "push"}, "body": json.dumps(doc)}
        elif action == "nest" and path:
            depth = draw(st.sampled_from([2, 70, 1200, 5000]))
            doc = _set(doc, path, None)
            text = json.dumps(doc).replace("null", "[" * depth + "]" * depth, 1)
            return text
    text = json.dumps(doc)
    if draw(st.integers(0, 19)) == 0:  # now and then, a body cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text


def bodies() -> st.SearchStrategy[str | bytes]:
    return st.one_of(st.binary(max_size=300), st.text(max_size=300), JSON.map(json.dumps), mutated_shapes())


_PRIMITIVE = (str, int, float, bool, datetime, date)


def _storable(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, _PRIMITIVE) and _storable(v) for v in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return -(1 << 63) <= value < (1 << 63)
    return isinstance(value, _PRIMITIVE)


def check_graph(graph: Graph) -> None:
    for node in graph.nodes.values():
        assert _storable(node.key), (node.label, node.key)
        for name, value in {**node.props, **node.state}.items():
            assert _storable(value), (node.label, name, value)
    for rel in graph.rels.values():
        for name, value in rel.props.items():
            assert _storable(value), (rel.type, name, value)


def check_body(body: str | bytes, outcomes: Counter[str] | None = None) -> None:
    """The property. Raises AssertionError (or whatever escaped) when it does not hold; counts outcomes."""
    outcomes = outcomes if outcomes is not None else Counter()
    try:
        items = parse_body(body)
    except MalformedMessage:
        outcomes["malformed"] += 1
        return
    assert isinstance(items, list) and items
    assert all(isinstance(i, (CloudEvent, S3ObjectEvent, GitPushEvent, Ignored)) for i in items), items
    too_late(items, T0, BOUNDS.max_clock_skew)
    for item in items:
        out_of_scope(item, BOUNDS)
        if isinstance(item, CloudEvent) and is_known(item):
            try:
                effect = sagemaker_effect(item)
            except MalformedMessage:
                outcomes["malformed-event"] += 1
                return
            check_graph(effect.graph)
        elif isinstance(item, S3ObjectEvent):
            from collector.events.s3 import objects_graph

            check_graph(objects_graph([item]))
    outcomes["ignored" if all(isinstance(i, Ignored) for i in items) else "parsed"] += 1
