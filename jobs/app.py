"""The collector's parts built once from Settings and handed down."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from neo4j import Driver

from collector.aws import Aws
from config import Settings, SettingsError
from graphstore.connection import open_driver
from graphstore.state import GraphState
from graphstore.views import Views
from graphstore.writer import GraphWriter
from jobs.metrics import EmfWriter, Metrics, ObservedWriter


@dataclass
class App:
    settings: Settings

    @cached_property
    def driver(self) -> Driver:
        return open_driver(self.settings.neo4j_uri, self.settings.neo4j_auth)

    @cached_property
    def metrics(self) -> Metrics:
        """This App's metrics, on a registry of its own (docs/metrics.md)."""
        settings = self.settings
        return Metrics(emf=EmfWriter(settings.metrics_namespace) if settings.metrics_emf else None)

    @cached_property
    def aws(self) -> Aws:
        aws = Aws(endpoint_url=self.settings.aws_endpoint_url, max_attempts=self.settings.aws_max_attempts)
        aws.add_call_listener(self.metrics.aws_call)
        return aws

    @cached_property
    def writer(self) -> GraphWriter:
        return ObservedWriter(self.driver, self.settings.neo4j_database, self.settings.write_batch_size,
                              max_clock_skew_seconds=self.settings.event_max_clock_skew_seconds,
                              timeout_seconds=self.settings.write_timeout_seconds or None, metrics=self.metrics)

    @cached_property
    def state(self) -> GraphState:
        return GraphState(self.driver, self.settings.neo4j_database)

    @cached_property
    def views(self) -> Views:
        return Views(self.driver, self.settings.neo4j_database)

    def regions(self, override: list[str] | None = None) -> list[str]:
        regions = override or self.settings.regions or ([self.aws.default_region] if self.aws.default_region else [])
        if not regions:
            raise SettingsError("invalid setting LINEAGE_REGIONS: no region configured "
                                "(set LINEAGE_REGIONS or AWS_REGION)")
        return regions

    def close(self) -> None:
        if "driver" in self.__dict__:
            self.driver.close()
