"""A simulated AWS account: moto's ThreadedMotoServer with our SageMaker and SQS extensions,
server-side fault injection and a per-operation request counter.

    with start_sim() as sim:
        sm = sim.client("sagemaker")
        ...
        sim.counts()["sagemaker.ListPipelineExecutionSteps"]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import boto3
import botocore.session
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from werkzeug.serving import make_server

from lineage_dev.sim import faults, moto_cfn, moto_endpoints, moto_feature_store, moto_sagemaker, moto_sqs, moto_sqs_move

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
PRODUCT_AGENT = "sagemaker-lineage-collector"  # the collector's boto3 user-agent suffix (collector/aws.py)
ProductCall = tuple[str, str, frozenset[str]]  # service, operation, names of the parameters sent
_BOTOCORE = botocore.session.get_session()


class _Call:
    """What an incoming request is: service, operation, wire protocol, parameters."""

    def __init__(self, environ: dict[str, Any], body: bytes) -> None:
        self.environ, self.body = environ, body
        self.service = _signing_service(environ)
        self.protocol, self.operation = "json", ""
        self._uri_params: dict[str, Any] = {}
        if self.service:
            self.protocol = _protocol(self.service, environ)
            self.operation = self._operation()

    def _operation(self) -> str:
        target = self.environ.get("HTTP_X_AMZ_TARGET", "")
        if self.protocol == "json" and target:
            return target.split(".")[-1]
        if self.protocol in ("query", "ec2"):
            return (self._form().get("Action") or "")
        try:
            op, self._uri_params = get_service_router(self.service).match(Request(self._environ_copy()))
            return str(op.name)
        except Exception:  # unknown service or route: count it by method
            return self.environ.get("REQUEST_METHOD", "")

    def _environ_copy(self) -> dict[str, Any]:
        return {**self.environ, "wsgi.input": io.BytesIO(self.body)}

    def _form(self) -> dict[str, str]:
        fields = parse_qs(self.environ.get("QUERY_STRING", ""))
        if self.environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            fields.update(parse_qs(self.body.decode("utf-8", "replace")))
        return {k: v[0] for k, v in fields.items()}

    def params(self) -> dict[str, Any]:
        if self.protocol in ("query", "ec2"):
            return self._form()
        params: dict[str, Any] = {**self._form(), **self._uri_params}
        if self.body and self.protocol in ("json", "rest-json"):
            with contextlib.suppress(ValueError):
                params.update(json.loads(self.body))
        return params


def _signing_service(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    credential = auth.split("Credential=")[1].split(",")[0] if "Credential=" in auth else ""
    if not credential:
        credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    parts = credential.split("/")
    return parts[3] if len(parts) >= 5 else ""


def _protocol(service: str, environ: dict[str, Any]) -> str:
    try:
        model = _BOTOCORE.get_service_model(service)
    except Exception:
        return "json"
    if model.protocol in ("rest-xml", "rest-json"):
        return str(model.protocol)
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return "ec2" if model.protocol == "ec2" else "query"
    return str(model.protocol)


class _Middleware:
    """Counts requests (and response body bytes) per operation and answers injected faults before moto sees them."""

    def __init__(self, app: WsgiApp, counter: Counter[str], lock: threading.Lock,
                 bytes_out: Counter[str] | None = None, product_calls: Counter[ProductCall] | None = None) -> None:
        self.app, self.counter, self.lock = app, counter, lock
        self.bytes_out = bytes_out if bytes_out is not None else Counter()
        self.product_calls = product_calls if product_calls is not None else Counter()

    def _counted(self, operation: str, body: Iterable[bytes]) -> Iterable[bytes]:
        try:
            for chunk in body:
                with self.lock:  # counted before it is sent, so a client that has it sees it counted
                    self.bytes_out[operation] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close:
                close()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = b""
        if environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
            environ["wsgi.input"] = io.BytesIO(body)
        call = _Call(environ, body)
        if not call.service:
            return self.app(environ, start_response)
        if call.service == "cloudformation":
            moto_cfn.install()  # on first use: it loads moto's ECS (and EC2) models
        product = PRODUCT_AGENT in environ.get("HTTP_USER_AGENT", "")
        names = frozenset(call.params()) if product else frozenset()
        with self.lock:
            self.counter[f"{call.service}.{call.operation}"] += 1
            if product:
                self.product_calls[(call.service, call.operation, names)] += 1
        fault = faults.REGISTRY.take(call.service, call.operation, call.params)
        if fault is None:
            return self._counted(f"{call.service}.{call.operation}", self.app(environ, start_response))
        status, headers, payload = faults.error_response(fault, call.protocol, call.service)
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else payload]


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _CountingMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app is wrapped in `_Middleware`."""

    def __init__(self, ip_address: str, port: int, middleware: Callable[[WsgiApp], WsgiApp]) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._middleware = middleware

    def _server_entry(self) -> None:
        app = self._middleware(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class SimAws:
    """Handle on a running simulated account (see `start_sim`)."""

    def __init__(self, port: int | None = None, region: str = "us-east-1", host: str = "127.0.0.1") -> None:
        moto_sagemaker.install()
        moto_feature_store.install()
        moto_endpoints.install()
        moto_sqs.install()
        moto_sqs_move.install()
        self.region = region
        self.account_id = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        self._counter: Counter[str] = Counter()
        self._bytes_out: Counter[str] = Counter()
        self._product_calls: Counter[ProductCall] = Counter()  # kept across resets: the whole run's
        self._lock = threading.Lock()
        self._server = _CountingMotoServer(
            host, port or 0,
            lambda app: _Middleware(app, self._counter, self._lock, self._bytes_out, self._product_calls),
        )
        self._server.start()
        host, bound_port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{bound_port}"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counter)

    def bytes_out(self) -> Counter[str]:
        """Response body bytes sent per operation (e.g. "s3.GetObject"), as the client received them."""
        with self._lock:
            return Counter(self._bytes_out)

    def product_calls(self) -> Counter[ProductCall]:
        """Every request the collector made (its user agent) since the sim started, resets included, by
        service, operation and the names of the parameters it sent: what its IAM policy must allow."""
        with self._lock:
            return Counter(self._product_calls)

    def reset_counts(self) -> None:
        with self._lock:
            self._counter.clear()
            self._bytes_out.clear()

    def reset(self) -> None:
        """Empty every moto backend (and our state stored on them), faults and counts."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()
        faults.clear()
        moto_sagemaker.INVALID_RESPONSES.clear()
        self.reset_counts()

    def stop(self) -> None:
        self._server.stop()
        faults.clear()

    def client(self, service: str, region: str | None = None, **config: Any) -> Any:
        """A boto3 client pointed at the sim (for seeding and tests)."""
        return boto3.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            config=Config(**config) if config else None,
            **CREDENTIALS,
        )

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 in another process at the sim."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.region,
        }

    def sagemaker_backend(self, region: str | None = None) -> SageMakerModelBackend:
        """moto's in-process SageMaker state, for seeding what the API cannot express."""
        return sagemaker_backends[self.account_id][region or self.region]

    @property
    def invalid_responses(self) -> list[str]:
        return list(moto_sagemaker.INVALID_RESPONSES)

    def __enter__(self) -> SimAws:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_sim(port: int | None = None, region: str = "us-east-1", host: str = "127.0.0.1") -> SimAws:
    """Start the simulated account on `host` (loopback unless asked; a free port if `port` is None)."""
    return SimAws(port, region, host)
