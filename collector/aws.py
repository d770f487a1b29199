"""boto3 at the edge: clients with adaptive retries and a count of every API call made."""
from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

log = logging.getLogger("lineage.aws")

# Told of every API call once it is done (after botocore's retries): (service, operation, error code or None).
# An error code is AWS's (`AccessDeniedException`) or, when no answer came, the exception's type name.
CallListener = Callable[[str, str, str | None], None]


class Aws:
    """Creates (and caches) clients per service and region; counts calls by 'service.Operation' and tells
    its call listeners (`add_call_listener`) of each call's outcome: every client of the process is made
    here, so this is the one place where all AWS calls are seen."""

    def __init__(self, *, endpoint_url: str | None = None, max_attempts: int = 8,
                 session: boto3.Session | None = None) -> None:
        self.session = session or boto3.Session()
        self.endpoint_url = endpoint_url
        self.config = Config(retries={"mode": "adaptive", "max_attempts": max_attempts},
                             user_agent_extra="sagemaker-lineage-collector")
        self.calls: Counter[str] = Counter()
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()
        self._listeners: list[CallListener] = []

    def add_call_listener(self, listener: CallListener) -> None:
        """Call `listener` after every API call of every client, those made before included."""
        with self._lock:
            self._listeners.append(listener)

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
                name = client.meta.service_model.service_name
                client.meta.events.register("after-call.*.*", functools.partial(self._answered, name))
                client.meta.events.register("after-call-error.*.*", functools.partial(self._unanswered, name))
                self._clients[key] = client
            return client

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _answered(self, service: str, *, http_response: Any, parsed: Any, model: Any, context: Any,
                  **_: Any) -> None:
        """botocore's after-call: an answer came, an error when its status is 300 or more."""
        code = None
        if getattr(http_response, "status_code", 200) >= 300:
            error = parsed.get("Error") if isinstance(parsed, dict) else None
            code = (context or {}).get("error_code_override") or (error or {}).get("Code") \
                or f"HTTP{http_response.status_code}"
        self._tell(service, model.name, str(code) if code is not None else None)

    def _unanswered(self, service: str, *, exception: BaseException, event_name: str, **_: Any) -> None:
        """botocore's after-call-error: no answer (connection refused, a timeout...)."""
        self._tell(service, event_name.rsplit(".", 1)[-1], type(exception).__name__)

    def _tell(self, service: str, operation: str, code: str | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(service, operation, code)
            except Exception:  # a listener (metrics) never fails an AWS call
                log.exception("AWS call listener failed")

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
