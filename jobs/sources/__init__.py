"""The registry of sources. The CLI (`sync`, each source's own commands), the worker's schedules and
the event router iterate it; adding a source means adding it here (docs/adding-a-source.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.sources.base import EventHandler, Source, SyncReport, SyncRequest
from jobs.sources.endpoints import EndpointsSource
from jobs.sources.feature_store import FeatureStoreSource
from jobs.sources.git_sql import GitSqlSource
from jobs.sources.s3 import S3Source
from jobs.sources.sagemaker import SageMakerSource

if TYPE_CHECKING:
    from jobs.app import App

# Order matters for a reconciliation: pipelines first (they name the datasets and buckets), then Feature Store
# (its offline stores link to the data the jobs just found read), then S3 (posture of the buckets just found,
# metrics of the steps just finished), then SQL from Git; endpoints last (their models link to the model
# packages and model data the pipelines named).
SOURCES: tuple[type[Source], ...] = (SageMakerSource, FeatureStoreSource, S3Source, GitSqlSource, EndpointsSource)

__all__ = ["SOURCES", "EventHandler", "Source", "SyncReport", "SyncRequest", "build_sources", "source_names"]


def source_names() -> list[str]:
    return [s.name for s in SOURCES]


def build_sources(app: App, names: list[str] | None = None) -> list[Source]:
    """The sources (all, or these names, in registry order) bound to an App."""
    unknown = set(names or []) - set(source_names())
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(sorted(unknown))}; known: {', '.join(source_names())}")
    return [cls(app) for cls in SOURCES if not names or cls.name in names]
