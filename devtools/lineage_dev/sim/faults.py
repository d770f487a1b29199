"""Fault injection for the simulated AWS server.

    faults.inject(service="sagemaker", operation="DescribePipeline",
                  code="AccessDeniedException", message="no",
                  match=lambda params: params.get("PipelineName") == "secret")
    faults.inject(service="sagemaker", operation="ListPipelines",
                  code="ThrottlingException", message="Rate exceeded", times=2)

The server answers a matching request with an AWS error in the request's wire
protocol (JSON, query XML, REST-XML), which botocore parses into a ClientError
with that code and HTTP status. `match` gets the request parameters as a dict
(the JSON body, the query/form fields, or the REST path and query fields).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

Params = dict[str, Any]
Matcher = Callable[[Params], bool]


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    message: str
    status: int = 400
    times: int | None = None  # None: every matching request
    match: Matcher | None = None
    hits: int = 0

    def applies(self, service: str, operation: str, params: Callable[[], Params]) -> bool:
        if (self.service, self.operation) != (service, operation):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return self.match is None or bool(self.match(params()))


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        service: str,
        operation: str,
        code: str,
        message: str = "Injected fault",
        status: int = 400,
        times: int | None = None,
        match: Matcher | None = None,
    ) -> Fault:
        fault = Fault(service, operation, code, message, status, times, match)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, service: str, operation: str, params: Callable[[], Params]) -> Fault | None:
        """The first active fault for this request, counting the hit."""
        with self._lock:
            for fault in self._faults:
                if fault.applies(service, operation, params):
                    fault.hits += 1
                    return fault
        return None


REGISTRY = FaultRegistry()
inject = REGISTRY.inject
clear = REGISTRY.clear


def error_response(fault: Fault, protocol: str, service: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an AWS error in `protocol`, as botocore expects it."""
    request_id = str(uuid.uuid4())
    code, message = escape(fault.code), escape(fault.message)
    headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if protocol in ("json", "rest-json"):
        headers["Content-Type"] = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        headers["x-amzn-ErrorType"] = fault.code
        body = json.dumps({"__type": fault.code, "message": fault.message})
    elif protocol == "query":
        headers["Content-Type"] = "text/xml"
        body = (
            f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    elif protocol == "ec2":
        headers["Content-Type"] = "text/xml"
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:  # rest-xml
        headers["Content-Type"] = "application/xml"
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    return fault.status, headers, body.encode()
