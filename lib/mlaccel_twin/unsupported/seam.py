"""Seam: an action the twin does not implement answers in AWS's own error shape, naming it.

moto raises ``NotImplementedError`` for such actions and its server answers HTTP 500, which
every AWS client retries: a slow failure that says nothing. Here the answer is the error AWS
gives an operation a service does not know, serialized in the service's own protocol:
``UnknownOperationException`` (JSON protocols), ``InvalidAction`` (query protocols) or
``NotImplemented`` (REST protocols), as a client error that is not retried, and its message
names the operation and what to do. A REST request to a path no route of moto's knows (where
Flask would answer an HTML page, 404 or 405) gets the same answer, naming the operation of the
service's API that the method and path match.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's response class no longer has what this seam uses.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace

# The error code AWS answers an unknown operation with, by the service's protocol.
ERROR_CODES = {
    "json": "UnknownOperationException",
    "query": "InvalidAction",
    "ec2": "InvalidAction",
    "rest-json": "NotImplemented",
    "rest-xml": "NotImplemented",
}


def unsupported_message(service: str, operation: str) -> str:
    """What the twin says of an operation it does not implement.

    Examples
    --------
    >>> unsupported_message("sagemaker", "CreateAction")  # doctest: +ELLIPSIS
    "The local twin does not implement sagemaker's CreateAction operation; ..."
    """
    return (
        f"The local twin does not implement {service}'s {operation} operation; run this step "
        "against AWS (MLACCEL_BACKEND=aws), or leave it out when running locally"
    )


def install(runtime: TwinRuntime) -> None:
    """Make moto's responses answer unimplemented actions with AWS's error shape."""
    from flask import Flask
    from moto.core.responses import BaseResponse

    check_seams()
    replace(BaseResponse, "call_action", _answer_unknown_operations)
    replace(Flask, "handle_http_exception", _answer_unknown_routes)


def check_seams() -> None:
    """Fail loudly when moto's response class no longer has what this seam uses."""
    from flask import Flask
    from moto.core.responses import BaseResponse

    names = ("call_action", "serialized", "_get_action", "boto3_service_name")
    needed: list[tuple[Any, str]] = [(BaseResponse, n) for n in names]
    needed.append((Flask, "handle_http_exception"))
    fail_if_broken("unsupported", missing_attributes(needed))


def _answer_unknown_operations(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(self: Any) -> Any:
        try:
            return original(self)
        except NotImplementedError as exc:
            if "has not been implemented" not in str(exc):
                raise
            return _unknown_operation(self)

    return call_action


def _unknown_operation(response: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import get_service_model

    service = response.boto3_service_name
    operation = response._get_action()
    protocol = get_service_model(service).metadata.get("protocol", "json")
    error = _unknown_operation_error()(
        ERROR_CODES.get(protocol, "UnknownOperationException"),
        unsupported_message(service, operation),
    )
    with warnings.catch_warnings():
        # moto warns that the code is not in the service's model: AWS answers it all the same.
        warnings.filterwarnings("ignore", message=r"Exception\(UnknownOperation\)")
        status, headers, body = response.serialized(ActionResult(error))
    status = 501 if protocol.startswith("rest") else 400
    headers["status"] = status
    return status, headers, body


def _unknown_operation_error() -> type[Exception]:
    # Defined here, outside moto's packages: moto looks an error of its own packages up in
    # that package's service model, and there is none for moto's core.
    from moto.core.exceptions import ServiceException

    class UnknownOperation(ServiceException):
        pass

    return UnknownOperation


def operation_for(service_model: Any, method: str, path: str) -> str | None:
    """The operation of a REST API whose HTTP method and request URI match a request.

    Examples
    --------
    >>> from botocore.session import get_session
    >>> model = get_session().get_service_model("lambda")
    >>> operation_for(model, "GET", "/2024-08-31/functions/f/recursion-config")
    'GetFunctionRecursionConfig'
    >>> operation_for(model, "GET", "/nowhere") is None
    True
    """
    for name in service_model.operation_names:
        http = service_model.operation_model(name).http
        if http.get("method") != method:
            continue
        template = http.get("requestUri", "").split("?", 1)[0]
        pattern = re.sub(r"\\{[^}]+\\+\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", pattern)
        if re.fullmatch(pattern.rstrip("/") + "/?", path):
            return str(name)
    return None


def _answer_unknown_routes(original: Callable[..., Any]) -> Callable[..., Any]:
    def handle_http_exception(self: Any, error: Any) -> Any:
        service = getattr(self, "service", None)  # moto names each backend's app
        if service and getattr(error, "code", None) in (404, 405):
            answer = _unknown_route(str(service))
            if answer is not None:
                return answer
        return original(self, error)

    return handle_http_exception


def _unknown_route(service: str) -> Any:
    """AWS's answer to a REST operation the twin has no route for, or None for other
    protocols (they route every request through one path)."""
    from botocore.session import get_session
    from flask import Response, request
    from moto.core.responses import boto3_service_name

    service = boto3_service_name.get(service, service)  # moto's "awslambda" is "lambda"
    try:
        model = get_session().get_service_model(service)
    except Exception:  # not a botocore service name: leave Flask's answer
        return None
    protocol = model.metadata.get("protocol", "")
    if not protocol.startswith("rest"):
        return None
    operation = operation_for(model, request.method, request.path) or (
        f"{request.method} {request.path}"
    )
    message = unsupported_message(service, operation)
    if protocol == "rest-xml":
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NotImplemented</Code>"
            f"<Message>{escape(message)}</Message></Error>"
        )
        return Response(body, status=501, content_type="application/xml")
    return Response(
        json.dumps({"message": message}),
        status=501,
        content_type="application/json",
        headers={"x-amzn-ErrorType": "NotImplemented"},
    )
