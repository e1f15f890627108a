"""What every accelerator shares with AWS: the connection it is given and the errors it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlaccel._connect import Connection
from mlaccel.errors import MLAccelInputError

_MISSING_CODES = {"ObjectNotFoundException", "ResourceNotFound", "ResourceNotFoundException"}
_MISSING_WORDS = ("could not find", "not found", "does not exist", "no scalable target")


def check_connection(connection: Any) -> Connection:
    """``connection`` if it is a :class:`mlaccel.Connection`, else an error saying how to get it."""
    if not isinstance(connection, Connection):
        raise MLAccelInputError(
            f"connection={connection!r} is not a Connection; pass connection=mlaccel.connect()"
        )
    return connection


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for other exceptions)."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    """The AWS error message of a botocore ``ClientError`` (the text of other exceptions)."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message", exc))


def is_missing(exc: BaseException) -> bool:
    """True for the error SageMaker / Auto Scaling give for a resource that does not exist."""
    if not hasattr(exc, "response"):
        return False
    code = error_code(exc)
    if code in _MISSING_CODES:
        return True
    # SageMaker says "Could not find ..." with a generic validation code.
    message = error_message(exc).lower()
    return code in {"ValidationException", "ValidationError"} and any(
        word in message for word in _MISSING_WORDS
    )


def delete_quietly(delete: Callable[..., Any], **kwargs: str) -> bool:
    """Call ``delete(**kwargs)``; False when the resource was already gone."""
    try:
        delete(**kwargs)
    except Exception as exc:
        if is_missing(exc):
            return False
        raise
    return True


def describe_endpoint(client: Any, endpoint_name: str) -> dict[str, Any] | None:
    """``DescribeEndpoint``'s answer, or None when the endpoint does not exist."""
    try:
        return dict(client.describe_endpoint(EndpointName=endpoint_name))
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
