"""Lambda router: score records on two SageMaker endpoints, answer with the larger prediction.

API Gateway (REST or HTTP API, Lambda proxy integration) → ``lambda_handler`` → InvokeEndpoint on
the two endpoints (in parallel) → one combined prediction per record → a JSON response.

Request body, either
    JSON ``{"instances": [[f1, f2, ...], ...]}`` (``"records"`` is accepted too; a single record
    may be ``{"instances": [f1, f2, ...]}``; ``null`` is a missing value), or
    CSV text (``Content-Type: text/csv``): one record per line, feature values only, no header.

Response 200::

    {"predictions": [...], "rule": "max_prediction",
     "endpoints": {"<primary>": [...], "<secondary>": [...]}}

Errors are JSON ``{"error": "..."}`` with status 400 (the request is malformed; the message says
what to fix), 405 (not a POST), 413 (too many records), 502 (an endpoint failed; the body names
it in ``endpoint``) or 500 (the router itself is misconfigured). Nothing raises out of the handler.

Environment
    ``PRIMARY_ENDPOINT_NAME``, ``SECONDARY_ENDPOINT_NAME``: the endpoints (required).
    ``COMBINE_RULE``: ``max`` (default), ``min``, ``mean`` or ``primary``.
    ``FEATURE_COUNT``: features per record, checked before any endpoint is called (optional).
    ``MAX_RECORDS``: largest batch accepted (default 1000).

The combining rule is a plain function of one record's predictions (in endpoint order):
replace ``combine`` in this module, or add a rule to ``RULES``, for other logic.

Only the standard library and boto3 are used, so the folder deploys as is.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

DEFAULT_MAX_RECORDS = 1000
JSON_HEADERS = {"Content-Type": "application/json"}

Invoker = Callable[[str, str], str]
CombineRule = Callable[[Sequence[float]], float]


class RequestError(Exception):
    """The request cannot be scored; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class EndpointError(Exception):
    """An endpoint failed or answered something unusable."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"endpoint {endpoint!r} failed: {message}")
        self.endpoint = endpoint


class ConfigurationError(Exception):
    """The router's own settings are wrong (environment variables)."""


# --------------------------------------------------------------------------- combining rules


def max_prediction(predictions: Sequence[float]) -> float:
    """The larger prediction (the default rule)."""
    return max(predictions)


def min_prediction(predictions: Sequence[float]) -> float:
    """The smaller prediction (a conservative estimate)."""
    return min(predictions)


def mean_prediction(predictions: Sequence[float]) -> float:
    """The average of the predictions (a simple ensemble)."""
    return sum(predictions) / len(predictions)


def primary_prediction(predictions: Sequence[float]) -> float:
    """The primary endpoint's prediction (the secondary one runs in shadow)."""
    return predictions[0]


RULES: dict[str, CombineRule] = {
    "max": max_prediction,
    "min": min_prediction,
    "mean": mean_prediction,
    "primary": primary_prediction,
}

# The rule used when COMBINE_RULE is not set; assign another function to change it.
combine: CombineRule = max_prediction


def select_rule(name: str | None) -> CombineRule:
    """The rule named ``name`` (``COMBINE_RULE``), or the module's ``combine`` when unset."""
    if not name:
        return combine
    try:
        return RULES[name.strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"COMBINE_RULE={name!r} is not a rule; use one of {sorted(RULES)}"
        ) from None


# --------------------------------------------------------------------------- requests


def request_method(event: Mapping[str, Any]) -> str | None:
    """The HTTP method of a REST API (v1) or HTTP API (v2) proxy event."""
    method = event.get("httpMethod")
    if method is None:
        method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    return str(method).upper() if method else None


def request_body(event: Mapping[str, Any]) -> tuple[str, str]:
    """The body text and its content type (lower case, '' when absent)."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = event.get("body")
    if body is None or (isinstance(body, str) and not body.strip()):
        raise RequestError(
            'the request has no body; send JSON {"instances": [[...], ...]} or CSV lines'
        )
    if not isinstance(body, str):
        # A direct Lambda invocation may pass the payload as an object already.
        return json.dumps(body), "application/json"
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise RequestError(f"the base64 body cannot be decoded as UTF-8 text: {exc}") from exc
    return body, content_type


def parse_records(body: str, content_type: str = "") -> list[list[float | None]]:
    """Records of feature values from a JSON or CSV body (``None`` for a missing value).

    Examples
    --------
    >>> parse_records('{"instances": [[1, 2], [3, null]]}')
    [[1.0, 2.0], [3.0, None]]
    >>> parse_records("1,2\\n3,4\\n", "text/csv")
    [[1.0, 2.0], [3.0, 4.0]]
    """
    text = body.strip()
    if not text:
        raise RequestError("the request body is empty; send at least one record")
    if "json" in content_type or text[0] in "[{":
        return _json_records(text)
    if content_type and "csv" not in content_type and "text/plain" not in content_type:
        raise RequestError(
            f"Content-Type {content_type!r} is not supported; send application/json or text/csv"
        )
    records = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        records.append(
            [_number(field, number, column) for column, field in enumerate(line.split(","))]
        )
    return records


def _json_records(text: str) -> list[list[float | None]]:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise RequestError(
            f'the body is not valid JSON ({exc}); send {{"instances": [[...], ...]}}'
        ) from exc
    if isinstance(payload, dict):
        key = next((k for k in ("instances", "records") if k in payload), None)
        if key is None:
            raise RequestError(
                'the JSON body needs an "instances" (or "records") list of records; got keys '
                f"{sorted(payload)[:10]}"
            )
        items = payload[key]
    else:
        key, items = "body", payload
    if not isinstance(items, list):
        raise RequestError(f'"{key}" must be a list of records, not {type(items).__name__}')
    if not items:
        raise RequestError(f'"{key}" is empty; send at least one record')
    if all(not isinstance(item, list | dict) for item in items):
        items = [items]  # one record
    records = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, list):
            raise RequestError(
                f"record {number} is {type(item).__name__}, not a list of feature values"
            )
        records.append([_number(value, number, column) for column, value in enumerate(item)])
    return records


def _number(value: Any, record: int, column: int) -> float | None:
    where = f"record {record}, feature {column + 1}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(f"{where}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise RequestError(f"{where}: {value!r} is not a number") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise RequestError(f"{where}: {value!r} is not a finite number")
    return number


def check_records(
    records: list[list[float | None]], feature_count: int | None, max_records: int
) -> None:
    """Reject batches that are too large or records of the wrong width."""
    if len(records) > max_records:
        raise RequestError(
            f"{len(records)} records is more than the {max_records} one request may carry; "
            "split the batch",
            status=413,
        )
    expected = feature_count if feature_count is not None else len(records[0])
    for number, record in enumerate(records, start=1):
        if len(record) != expected:
            because = "the model takes" if feature_count is not None else "record 1 has"
            raise RequestError(
                f"record {number} has {len(record)} features but {because} {expected}; send "
                "the feature values only, in training order, without label or id"
            )


def to_csv(records: list[list[float | None]]) -> str:
    """Records as the CSV payload the endpoints read (missing values left empty)."""
    return "".join(
        ",".join("" if v is None else repr(v) for v in record) + "\n" for record in records
    )


# --------------------------------------------------------------------------- endpoints


def parse_predictions(body: str, n_records: int, endpoint: str) -> list[float]:
    """One float per record from an endpoint's CSV answer (one per line, or one line)."""
    values = [v for line in body.splitlines() for v in line.split(",") if v.strip()]
    if len(values) != n_records:
        raise EndpointError(endpoint, f"answered {len(values)} values for {n_records} records")
    try:
        return [float(v) for v in values]
    except ValueError:
        raise EndpointError(
            endpoint, f"answered something that is not numbers: {body[:200]!r}"
        ) from None


def score(
    records: list[list[float | None]],
    endpoints: Sequence[str],
    invoke: Invoker,
    rule: CombineRule,
) -> dict[str, Any]:
    """Call every endpoint with the records (in parallel) and combine per record."""
    payload = to_csv(records)

    def call(endpoint: str) -> list[float]:
        try:
            answer = invoke(endpoint, payload)
        except EndpointError:
            raise
        except Exception as exc:
            raise EndpointError(endpoint, _describe(exc)) from exc
        return parse_predictions(answer, len(records), endpoint)

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        answers = list(pool.map(call, endpoints))
    combined = [rule(list(per_record)) for per_record in zip(*answers, strict=True)]
    return {
        "predictions": combined,
        "rule": getattr(rule, "__name__", "custom"),
        "endpoints": dict(zip(endpoints, answers, strict=True)),
    }


def _describe(exc: Exception) -> str:
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    if error:
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


_CLIENTS: dict[tuple[str, str], Any] = {}


def sagemaker_invoker() -> Invoker:
    """An invoker on the SageMaker Runtime of this function's account (or of the twin)."""
    import boto3
    from botocore.config import Config

    # Keyed by the environment: the same process may talk to another endpoint URL later.
    key = (os.environ.get("AWS_ENDPOINT_URL", ""), os.environ.get("AWS_REGION", ""))
    client = _CLIENTS.get(key)
    if client is None:
        # Two tries of at most ~25 s each stay inside a 60 s function timeout, so a hung
        # endpoint becomes a 502 naming it rather than a Lambda timeout.
        config = Config(
            connect_timeout=3, read_timeout=25, retries={"max_attempts": 2, "mode": "standard"}
        )
        client = _CLIENTS[key] = boto3.client("sagemaker-runtime", config=config)

    def invoke(endpoint: str, payload: str) -> str:
        answer = client.invoke_endpoint(
            EndpointName=endpoint, Body=payload, ContentType="text/csv", Accept="text/csv"
        )
        return str(answer["Body"].read().decode("utf-8"))

    return invoke


# --------------------------------------------------------------------------- settings


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The router's settings read from ``environ``; raises ConfigurationError when wrong."""
    names = [
        environ.get(k, "").strip() for k in ("PRIMARY_ENDPOINT_NAME", "SECONDARY_ENDPOINT_NAME")
    ]
    missing = [
        k
        for k, v in zip(("PRIMARY_ENDPOINT_NAME", "SECONDARY_ENDPOINT_NAME"), names, strict=True)
        if not v
    ]
    if missing:
        raise ConfigurationError(f"set {' and '.join(missing)} to the endpoints to call")
    return {
        "endpoints": names,
        "rule": select_rule(environ.get("COMBINE_RULE")),
        "feature_count": _positive_int(environ, "FEATURE_COUNT", None),
        "max_records": _positive_int(environ, "MAX_RECORDS", DEFAULT_MAX_RECORDS),
    }


def _positive_int(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} must be a whole number") from None
    if value < 1:
        raise ConfigurationError(f"{name}={value} must be at least 1")
    return value


# --------------------------------------------------------------------------- handler


def api_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def handle(event: Any, environ: Mapping[str, str], invoke: Invoker | None = None) -> dict[str, Any]:
    """The router's logic, with its settings and endpoint calls passed in (testable offline)."""
    try:
        config = settings(environ)
        if not isinstance(event, Mapping):
            raise RequestError("the event is not an API Gateway proxy event (a JSON object)")
        method = request_method(event)
        if method is not None and method != "POST":
            raise RequestError(f"{method} is not supported; POST the records", status=405)
        body, content_type = request_body(event)
        records = parse_records(body, content_type)
        check_records(records, config["feature_count"], config["max_records"])
        result = score(records, config["endpoints"], invoke or sagemaker_invoker(), config["rule"])
    except RequestError as exc:
        return api_response(exc.status, {"error": str(exc)})
    except EndpointError as exc:
        log.warning("%s", exc)
        return api_response(502, {"error": str(exc), "endpoint": exc.endpoint})
    except ConfigurationError as exc:
        log.error("router misconfigured: %s", exc)
        return api_response(500, {"error": f"the router is misconfigured: {exc}"})
    except Exception:  # the caller must always get an API Gateway response
        log.exception("router failed")
        return api_response(500, {"error": "internal error in the router; see its logs"})
    log.info("scored %d record(s) with %s", len(records), result["rule"])
    return api_response(200, result)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point (API Gateway proxy integration)."""
    return handle(event, os.environ)
