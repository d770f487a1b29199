"""Settings from the environment (and a `.env` file if present).

Neo4j uses the names Neo4j's own tools use (NEO4J_URI, ...); AWS uses boto3's
standard chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...); the collector's
own settings carry the prefix LINEAGE_.
"""
from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import pydantic_settings
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config import checks
from config.git import GitRepoConfig


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINEAGE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    neo4j_uri: str = Field("bolt://localhost:7687", validation_alias="NEO4J_URI")
    neo4j_username: str | None = Field(None, validation_alias="NEO4J_USERNAME")
    neo4j_password: SecretStr | None = Field(None, validation_alias="NEO4J_PASSWORD")
    neo4j_database: str | None = Field(None, validation_alias="NEO4J_DATABASE")

    # AWS: region list defaults to boto3's configured region (AWS_REGION / AWS_DEFAULT_REGION / profile).
    regions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    aws_max_attempts: int = Field(8, ge=1, le=50)

    # S3 datasets (docs/s3-datasets.md). Pattern lists: a JSON list of regexes, or one regex.
    s3_partition_patterns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    s3_part_file_patterns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    s3_marker_patterns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    s3_sample_rows: int = Field(1000, ge=1, le=1_000_000)
    s3_sample_bytes: int = Field(1 << 20, ge=1024, le=1 << 30)
    s3_footer_read_bytes: int = Field(64 << 10, ge=8, le=64 << 20)  # 8: strictly "last 8 bytes, then the rest"
    s3_report_names: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["evaluation.json", "report.json", "metrics.json"])
    s3_report_max_bytes: int = Field(1 << 20, ge=1024, le=64 << 20)
    s3_schema_min_interval_seconds: float = Field(60, ge=0)  # per dataset, between event-triggered reads
    s3_reads_per_second: float = Field(5, ge=0)  # event-triggered dataset reads, all datasets; 0: unlimited
    s3_posture_refresh_seconds: int = Field(6 * 3600, ge=60)
    s3_rescan_interval_seconds: int = Field(3600, ge=60)
    s3_rescan_batch: int = Field(500, ge=1, le=100_000)
    s3_history_max_partitions: int = Field(200, ge=2, le=100_000)  # `scan --history`: more are sampled
    s3_history_on_first_scan: int = Field(50, ge=0, le=100_000)  # a new dataset's history, as many; 0: off

    executions_per_pipeline: int = Field(5, ge=0)
    pipelines: Annotated[list[str], NoDecode] = Field(default_factory=list)

    sync_workers: int = Field(4, ge=1, le=64)
    sync_interval_seconds: int = Field(900, ge=10)
    sync_cron: str | None = None
    sync_on_start: bool = True
    # Many workers: the scheduled reconciliation runs on the holder of a lease in Neo4j (docs/scaling.md)
    lease_ttl_seconds: float = Field(60, ge=5, le=3600)  # a dead holder's lease is taken over after this
    worker_id: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9._:@/-]+$")  # default: host-pid-random
    lease_name: str = Field("reconciliation", max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")  # one per shard
    # Stale cleanup (docs/graph-model.md, "Retirement"): what a complete look no longer finds is retired after
    # this grace period; retired nodes are deleted after the second period, 0 = kept forever.
    retire_after_seconds: int = Field(0, ge=0, le=365 * 86_400)
    retired_delete_after_seconds: int = Field(0, ge=0, le=10 * 365 * 86_400)
    # Feature Store (jobs/sources/feature_store): a listed group unchanged in status is described again once its
    # last describe is this old (UpdateFeatureGroup moves no listed field); 0 = every group on every pass.
    feature_group_refresh_seconds: int = Field(86_400, ge=0, le=365 * 86_400)

    write_batch_size: int = Field(1000, ge=1, le=50_000)
    write_timeout_seconds: float = Field(300, ge=0, le=86_400)  # per write transaction; 0: the server's own
    log_format: str = Field("auto", pattern="^(auto|json|text)$")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    # SQS event consumer (docs/events.md)
    queue_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    queue_wait_seconds: int = Field(10, ge=0, le=20)  # long poll; also bounds how long a shutdown waits
    queue_batch_size: int = Field(10, ge=1, le=10)
    queue_visibility_timeout: int = Field(60, ge=1, le=43200)
    consumer_threads: int = Field(2, ge=1, le=32)
    consumer_commit_messages: int = Field(500, ge=1, le=10_000)  # most messages merged into one graph write
    consumer_max_inflight_messages: int = Field(600, ge=10, le=100_000)  # held at most; receiving pauses there
    consumer_max_inflight_bytes: int = Field(32 << 20, ge=1 << 20, le=4 << 30)  # bodies held at most, in bytes
    poison_messages: str = Field("dead-letter", pattern="^(dead-letter|delete)$")
    dead_letter_queue_url: str | None = None
    health_port: int = Field(0, ge=0, le=65535)  # 0: no health endpoint
    # 0.0.0.0: a load balancer's health check reaches the task from outside the container; the public
    # answer is status only. /health/details (counters, queue URLs, errors) is for `health_details`.
    health_host: str = "0.0.0.0"
    health_details: Literal["off", "loopback", "on"] = "loopback"
    # Metrics (docs/metrics.md): Prometheus on the health port at /metrics, served as /health/details is;
    # with metrics_emf, also one CloudWatch Embedded Metric Format line per commit and per scheduled job on stdout.
    metrics_emf: bool = False
    metrics_namespace: str = "LineageCollector"

    # event hardening (#11): what the consumer applies of an event (docs/events.md, "Bounds and scope")
    event_max_clock_skew_seconds: float = Field(300, ge=0, le=86_400)  # times later than receive + this: rejected
    accounts: Annotated[list[str], NoDecode] = Field(default_factory=list)  # none: the caller's own (STS)
    out_of_scope: str = Field("skip", pattern="^(skip|dead-letter)$")  # events of other accounts and regions

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts(cls, value: object) -> object:
        value = _split_csv(value)
        for account in value if isinstance(value, list) else ():
            checks.account_id(str(account))
        return value

    @field_validator("regions")
    @classmethod
    def _region_names(cls, value: list[str]) -> list[str]:
        for region in value:
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", region):
                raise ValueError(f"{region[:40]!r} is not an AWS region name (like eu-west-1)")
        return value

    @field_validator("regions", "pipelines", "queue_urls", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("pipelines")
    @classmethod
    def _pipeline_names(cls, value: list[str]) -> list[str]:
        return [checks.pipeline_name(name) for name in value]

    @field_validator("queue_urls")
    @classmethod
    def _queue_urls(cls, value: list[str]) -> list[str]:
        return [checks.sqs_queue_url(url) for url in value]

    @field_validator("neo4j_uri")
    @classmethod
    def _neo4j_scheme(cls, value: str) -> str:
        allowed = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
        if not value.startswith(tuple(f"{scheme}://" for scheme in allowed)):
            raise ValueError(f"must start with one of {', '.join(f'{scheme}://' for scheme in allowed)}")
        return checks.url(value, allowed)

    @field_validator("aws_endpoint_url", "sync_cron", "dead_letter_queue_url", "glue_catalog_id", "openlineage_url",
                     "openlineage_table_namespace", "openlineage_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("aws_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else checks.url(value)

    @field_validator("dead_letter_queue_url")
    @classmethod
    def _dead_letter_queue(cls, value: str | None) -> str | None:
        return None if value is None else checks.sqs_queue_url(value)

    @field_validator("glue_catalog_id")
    @classmethod
    def _catalog(cls, value: str | None) -> str | None:
        return None if value is None else checks.account_id(value.strip())

    @field_validator("sync_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else checks.cron(value)

    @field_validator("metrics_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return checks.cloudwatch_namespace(value)

    @field_validator("health_host", "api_host")
    @classmethod
    def _bind_host(cls, value: str) -> str:
        return checks.host(value)

    @field_validator("s3_partition_patterns", "s3_part_file_patterns", "s3_marker_patterns", mode="before")
    @classmethod
    def _patterns(cls, value: object) -> object:
        return checks.patterns(value)

    @field_validator("s3_report_names", mode="before")
    @classmethod
    def _report_names(cls, value: object) -> object:
        return _split_csv(value)

    @model_validator(mode="after")
    def _auth_pair(self) -> Settings:
        if self.neo4j_username and self.neo4j_password is None:
            raise ValueError("NEO4J_PASSWORD must be set when NEO4J_USERNAME is set")
        return self

    @property
    def neo4j_auth(self) -> tuple[str, str] | None:
        if self.neo4j_username and self.neo4j_password is not None:
            return (self.neo4j_username, self.neo4j_password.get_secret_value())
        return None

    # Git repositories of SQL (docs/sql-lineage.md). LINEAGE_GIT_REPOS is a JSON list of
    # {url, branch, paths, dialect, name, credentials_env | secret_arn, username}.
    git_repos: Annotated[list[GitRepoConfig], NoDecode] = Field(default_factory=list)
    git_cache_dir: str = "~/.cache/lineage-collector/git"
    git_sync_interval_seconds: int = Field(900, ge=10)
    git_timeout_seconds: int = Field(300, ge=5)
    sql_column_budget_seconds: float = Field(2.0, gt=0, le=600)  # column lineage per statement
    sql_table_locations: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)  # table -> s3://...
    glue_lookup: bool = False  # Table STORED_AT from glue:GetTable's StorageDescriptor.Location
    glue_catalog_id: str | None = None

    # OpenLineage out (docs/openlineage.md): `openlineage export`, and live emission from the consumer
    # when LINEAGE_OPENLINEAGE_URL is set.
    openlineage_url: str | None = None  # the consumer's base URL (http or https); events go to url + endpoint
    openlineage_endpoint: str = "api/v1/lineage"
    openlineage_api_key: SecretStr | None = None  # sent as `Authorization: Bearer <key>`
    openlineage_timeout_seconds: float = Field(5.0, gt=0, le=300)
    openlineage_queue_size: int = Field(10_000, ge=1, le=1_000_000)  # executions waiting to be emitted
    openlineage_outbox_max: int = Field(10_000, ge=1, le=1_000_000)  # unsent events held in Neo4j
    openlineage_table_namespace: str | None = None  # namespace of SQL tables (default: the SQL dialect)

    # The read-only HTTP API (`lineage-collector serve`, docs/api.md).
    api_host: str = "127.0.0.1"
    api_port: int = Field(8300, ge=1, le=65535)
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)  # bearer tokens; none: open
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)  # none: no CORS headers
    api_neo4j_timeout_seconds: float = Field(15.0, gt=0, le=600)  # transaction timeout of every read
    api_max_body_bytes: int = Field(256 << 10, ge=1024, le=64 << 20)  # request bodies (POST /sql/lineage)

    # Lists and objects of JSON are decoded here, not by pydantic-settings, so that a bad one fails in one line.
    @field_validator("git_repos", mode="before")
    @classmethod
    def _git_repos(cls, value: object) -> object:
        return checks.json_list(value)

    @field_validator("sql_table_locations", mode="before")
    @classmethod
    def _table_locations(cls, value: object) -> object:
        return checks.table_locations(value)

    @field_validator("api_tokens", "api_cors_origins", mode="before")
    @classmethod
    def _api_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("api_tokens")
    @classmethod
    def _tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        for i, token in enumerate(value):
            checks.header_safe(token.get_secret_value(), f"token {i}")
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [checks.cors_origin(origin) for origin in value]

    @field_validator("openlineage_api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            checks.header_safe(value.get_secret_value(), "the key")
        return value

    @field_validator("openlineage_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else checks.url(value)


def _env_name(loc: tuple[object, ...]) -> str:
    if not loc:
        return "settings"
    name = str(loc[0])
    if name.isupper():
        return name
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field else None
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"LINEAGE_{name.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; raise SettingsError with one line naming the bad variable.
    `overrides` are field values of any type: pydantic validates and converts them like the environment's."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        name = _env_name(loc) if loc else _guess_from_message(str(err.get("msg", "")))
        raise SettingsError(f"invalid setting {name}: {_where(loc[1:])}{_reason(str(err.get('msg')))}") from None
    except pydantic_settings.SettingsError as exc:  # a value pydantic-settings itself failed to decode
        field = re.search(r'field "(\w+)"', str(exc))
        name = _env_name((field.group(1),)) if field else "settings"
        cause = exc.__cause__
        why = f"not valid JSON (line {cause.lineno} column {cause.colno})" if isinstance(cause, json.JSONDecodeError) \
            else "cannot be decoded"
        raise SettingsError(f"invalid setting {name}: {why}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"invalid setting .env: cannot be read ({type(exc).__name__})") from None


def _where(path: tuple[object, ...]) -> str:
    """Where inside a structured value: `item 0 url: `."""
    words = [f"item {p}" if isinstance(p, int) else str(p) for p in path]
    return " ".join(words) + ": " if words else ""


def _reason(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = " ".join(message.split())  # one line whatever a validator's text holds
    return message if len(message) <= 300 else message[:300] + "…"


def _guess_from_message(message: str) -> str:
    for word in message.split():
        if word.isupper() and ("_" in word):
            return word
    return "settings"
