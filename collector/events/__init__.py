"""Event-driven ingestion: SQS message bodies -> typed events -> plain graph data (pure functions).

    items = parse_body(message_body)           # envelopes removed (envelope.py)
    effect = sagemaker_effect(cloud_event)     # EventBridge SageMaker events -> Graph (sagemaker.py)
    graph = objects_graph(s3_object_events)    # S3 object events -> Dataset nodes (s3.py)

Side effects (SQS, AWS enrichment, Neo4j, git) live in jobs/ingest.py and jobs/consumer.py.
"""
from collector.events.envelope import parse_body
from collector.events.model import (
    CloudEvent,
    GitPushEvent,
    GitPushHandler,
    Ignored,
    Item,
    MalformedMessage,
    S3ObjectEvent,
    S3ObjectHook,
)

__all__ = [
    "CloudEvent", "GitPushEvent", "GitPushHandler", "Ignored", "Item", "MalformedMessage", "S3ObjectEvent",
    "S3ObjectHook", "parse_body",
]
