"""Seam: an action the twin does not implement answers in AWS's own error shape, naming it.

moto raises ``NotImplementedError`` for such actions and its server answers HTTP 500, which
every AWS client retries: a slow failure that says nothing. Here the answer is the error AWS
gives an operation a service does not know, serialized in the service's own protocol:
``UnknownOperationException`` (JSON protocols), ``InvalidAction`` (query protocols) or
``NotImplemented`` (REST protocols), as a client error that is not retried, and its message
names the operation and what to do.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's response class no longer has what this seam uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

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
    from moto.core.responses import BaseResponse

    check_seams()
    replace(BaseResponse, "call_action", _answer_unknown_operations)


def check_seams() -> None:
    """Fail loudly when moto's response class no longer has what this seam uses."""
    from moto.core.responses import BaseResponse

    needed = ("call_action", "serialized", "_get_action", "boto3_service_name")
    fail_if_broken("unsupported", missing_attributes((BaseResponse, n) for n in needed))


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
