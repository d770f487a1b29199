"""boto3 at the edge: clients with adaptive retries and a count of every API call made."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config


class Aws:
    """Creates (and caches) clients per service and region; counts calls by 'service.Operation'."""

    def __init__(self, *, endpoint_url: str | None = None, max_attempts: int = 8,
                 session: boto3.Session | None = None) -> None:
        self.session = session or boto3.Session()
        self.endpoint_url = endpoint_url
        self.config = Config(retries={"mode": "adaptive", "max_attempts": max_attempts},
                             user_agent_extra="sagemaker-lineage-collector")
        self.calls: Counter[str] = Counter()
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    @property
    def default_region(self) -> str | None:
        region: str | None = self.session.region_name  # boto3 is untyped
        return region

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {"region_name": region, "config": self.config}
                if self.endpoint_url:  # botocore reads AWS_ENDPOINT_URL too; settings may override it
                    kwargs["endpoint_url"] = self.endpoint_url
                client = self.session.client(service, **kwargs)
                client.meta.events.register("before-call.*.*", self._count)
                self._clients[key] = client
            return client

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def reset_counts(self) -> Counter[str]:
        with self._lock:
            calls, self.calls = self.calls, Counter()
        return calls


def caller_account(aws: Aws, region: str | None = None) -> str:
    """The account of the credentials in use (sts:GetCallerIdentity, which needs no permission)."""
    account: str = aws.client("sts", region).get_caller_identity()["Account"]
    return account


def describe_error(exc: BaseException) -> str:
    """'Code: message' of an AWS error, or 'Type: text' of anything else: what logs and reports show."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        err = response["Error"]
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
