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

A multiclass model's endpoint answers K class probabilities per record (a CSV line of K numbers,
or a JSON list); the rule then applies to each class's probabilities across the endpoints
(element-wise), and each prediction reads ``{"class": <label or index>, "probabilities":
[...]}``, the class being the most probable one. Single-number answers keep the shape above.

Errors are JSON ``{"error": "..."}`` with status 400 (the request is malformed; the message says
what to fix), 405 (not a POST), 413 (too many records, a body over 6 MB, records that make an
endpoint payload over 6 MB, or an answer too large for Lambda), 502 (an endpoint failed; the body
names it in ``endpoint``) or 500 (the router itself is misconfigured). Nothing raises out of the
handler.

Every answer stays under ``MAX_RESPONSE_BYTES``, well inside Lambda's 6 MB response limit: a
message quotes at most ``EXCERPT_CHARS`` characters of a value it was sent, and says how many
more there were.

Environment
    ``PRIMARY_ENDPOINT_NAME``, ``SECONDARY_ENDPOINT_NAME``: the endpoints (required).
    ``COMBINE_RULE``: ``max`` (default), ``min``, ``mean`` or ``primary``.
    ``FEATURE_COUNT``: features per record, checked before any endpoint is called (optional).
    ``MAX_RECORDS``: largest batch accepted (default 1000).
    ``CLASSES``: a multiclass model's class labels, a JSON list in index order (optional;
    without it the class is answered as its index).

The combining rule is a plain function of one record's predictions (in endpoint order):
replace ``combine`` in this module, or add a rule to ``RULES``, for other logic.

Only the standard library and boto3 are used, so the folder deploys as is.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
import os
import reprlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

DEFAULT_MAX_RECORDS = 1000
JSON_HEADERS = {"Content-Type": "application/json"}

# Lambda takes synchronous requests of at most 6 MB (the event, body included); a larger body
# cannot have come through it, and gets a 413 on any other path.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# InvokeEndpoint takes payloads of at most 6 MB.
MAX_ENDPOINT_PAYLOAD_BYTES = 6 * 1024 * 1024
# Lambda refuses a response over 6 MB (Function.ResponseSizeTooLarge); the margin covers the
# proxy response around the body.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# Characters of a caller's value quoted back in an error, and of an endpoint's message.
EXCERPT_CHARS = 80
MESSAGE_CHARS = 500

Invoker = Callable[[str, str], str]
CombineRule = Callable[[Sequence[float]], float]
# One record's answer from one endpoint: a number, or a multiclass model's K probabilities.
Prediction = float | list[float]


class RequestError(Exception):
    """The request cannot be scored; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class EndpointError(Exception):
    """An endpoint failed or answered something unusable."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"endpoint {excerpt(endpoint)} failed: {shorten(message, MESSAGE_CHARS)}")
        self.endpoint = endpoint


class ConfigurationError(Exception):
    """The router's own settings are wrong (environment variables)."""


# --------------------------------------------------------------------------- bounded messages

_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 2
_SHORT_REPR.maxlist = _SHORT_REPR.maxdict = _SHORT_REPR.maxtuple = 5
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 40


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many more there were.

    Examples
    --------
    >>> shorten("connection refused", 10)
    'connection… (8 more characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A caller's value quoted for a message: strings cut to ``limit`` characters, saying how
    many more there were; anything else as a short repr (``...`` where it is cut).

    Examples
    --------
    >>> excerpt("abc")
    "'abc'"
    >>> excerpt("x" * 100, limit=3)
    "'xxx'… (97 more characters)"
    >>> excerpt(list(range(100)))
    '[0, 1, 2, 3, 4, ...]'
    """
    if not isinstance(value, str):
        return _SHORT_REPR.repr(value)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value) - limit} more characters)"


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
            f"COMBINE_RULE={excerpt(name)} is not a rule; use one of {sorted(RULES)}"
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
        body = json.dumps(body)
        check_body_size(body)
        return body, "application/json"
    check_body_size(body)  # as sent: base64 included
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise RequestError(
                f"the base64 body cannot be decoded as UTF-8 text: {shorten(str(exc), 200)}"
            ) from exc
    return body, content_type


def check_body_size(body: str) -> None:
    """Refuse a body larger than Lambda accepts (``MAX_REQUEST_BYTES``, counted in UTF-8)."""
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_REQUEST_BYTES:
        raise RequestError(
            f"the request body is {size} bytes, more than the {MAX_REQUEST_BYTES} bytes (6 MB) "
            "a Lambda request may carry; split the batch into smaller requests",
            status=413,
        )


def parse_records(
    body: str, content_type: str = "", max_records: int | None = None
) -> list[list[float | None]]:
    """Records of feature values from a JSON or CSV body (``None`` for a missing value).

    A body of more than ``max_records`` records is refused (413) before its values are read.

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
        return _json_records(text, max_records)
    if content_type and "csv" not in content_type and "text/plain" not in content_type:
        raise RequestError(
            f"Content-Type {excerpt(content_type)} is not supported; send application/json or "
            "text/csv"
        )
    records = []
    # Line by line (universal newlines), so a batch too large stops here, not after a full copy.
    lines = (line.rstrip("\n") for line in io.StringIO(text, newline=None) if line.strip())
    for number, line in enumerate(lines, start=1):
        if max_records is not None and number > max_records:
            raise RequestError(
                f"the CSV body has more than the {max_records} records one request may carry; "
                "split the batch",
                status=413,
            )
        records.append(
            [_number(field, number, column) for column, field in enumerate(line.split(","))]
        )
    return records


def _json_records(text: str, max_records: int | None) -> list[list[float | None]]:
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise RequestError(
            f'the body is not valid JSON ({shorten(str(exc), 200)}); send {{"instances": '
            "[[...], ...]}"
        ) from exc
    except RecursionError:
        raise RequestError(
            'the JSON body is nested too deeply; send {"instances": [[...], ...]}'
        ) from None
    if isinstance(payload, dict):
        key = next((k for k in ("instances", "records") if k in payload), None)
        if key is None:
            keys = ", ".join(excerpt(k) for k in sorted(payload)[:10])
            raise RequestError(
                'the JSON body needs an "instances" (or "records") list of records; got keys '
                f"[{keys}]"
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
    if max_records is not None:
        check_record_count(len(items), max_records)
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
        raise RequestError(f"{where}: {excerpt(value)} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise RequestError(f"{where}: {excerpt(value)} is not a number") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise RequestError(f"{where}: {excerpt(value)} is not a finite number")
    return number


def check_record_count(count: int, max_records: int) -> None:
    """Reject a batch of more than ``max_records`` records (413)."""
    if count > max_records:
        raise RequestError(
            f"{count} records is more than the {max_records} one request may carry; "
            "split the batch",
            status=413,
        )


def check_records(
    records: list[list[float | None]], feature_count: int | None, max_records: int
) -> None:
    """Reject batches that are too large or records of the wrong width."""
    check_record_count(len(records), max_records)
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


def parse_predictions(body: str, n_records: int, endpoint: str) -> list[Prediction]:
    """Each record's prediction from an endpoint's answer: a number per record (one per line,
    or all on one line), or K probabilities per record (a CSV line of K numbers, or JSON
    ``[[...], ...]`` / ``{"predictions": [{"score": [...]}, ...]}``); all must be finite."""
    text = body.strip()
    if text[:1] in ("[", "{"):
        rows = _json_predictions(text, endpoint)
    else:
        rows = [[v for v in line.split(",") if v.strip()] for line in text.splitlines()]
        rows = [row for row in rows if row]
        if len(rows) == 1 and n_records > 1:
            rows = [[v] for v in rows[0]]  # one line holding a number per record
    if len(rows) != n_records:
        values = sum(len(row) for row in rows)
        lines = "" if values == len(rows) else f" on {len(rows)} lines"
        raise EndpointError(endpoint, f"answered {values} values{lines} for {n_records} records")
    widths = sorted({len(row) for row in rows})
    if len(widths) > 1:
        raise EndpointError(
            endpoint, f"answered records of different widths {widths[:5]}: {excerpt(body, 200)}"
        )
    predictions: list[Prediction] = []
    for row in rows:
        numbers = [_finite(v, endpoint) for v in row]
        predictions.append(numbers[0] if len(numbers) == 1 else numbers)
    return predictions


def _json_predictions(text: str, endpoint: str) -> list[list[Any]]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise EndpointError(
            endpoint, f"answered JSON it cannot parse: {excerpt(text, 200)}"
        ) from None
    if isinstance(payload, dict):
        payload = payload.get("predictions")
    if not isinstance(payload, list):
        raise EndpointError(
            endpoint, f"answered JSON without a list of predictions: {excerpt(text, 200)}"
        )
    rows = []
    for item in payload:
        if isinstance(item, dict):
            item = item.get("score", item.get("probabilities"))
        rows.append(item if isinstance(item, list) else [item])
    return rows


def _finite(value: Any, endpoint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EndpointError(endpoint, f"answered {excerpt(value)}, which is not a number")
    try:
        number = float(value)
    except ValueError:
        raise EndpointError(
            endpoint, f"answered something that is not numbers: {excerpt(str(value), 200)}"
        ) from None
    if not math.isfinite(number):
        # JSON has no NaN or Infinity: answered on, they would break the caller's parser.
        text = value.strip() if isinstance(value, str) else value
        raise EndpointError(endpoint, f"answered {excerpt(text)}, which is not a finite number")
    return number


def check_payload_size(payload: str, n_records: int) -> None:
    """Refuse records whose CSV is larger than an endpoint accepts (413)."""
    if len(payload) > MAX_ENDPOINT_PAYLOAD_BYTES:  # ASCII: characters are bytes
        raise RequestError(
            f"the {n_records} records make a CSV payload of {len(payload)} bytes, more than "
            f"the {MAX_ENDPOINT_PAYLOAD_BYTES} bytes (6 MB) a SageMaker endpoint accepts; "
            "split the batch",
            status=413,
        )


def combine_predictions(
    answers: Sequence[list[Prediction]],
    rule: CombineRule,
    endpoints: Sequence[str] = (),
    classes: Sequence[Any] | None = None,
) -> list[Any]:
    """``rule`` applied to each record's predictions; its results must be finite numbers.

    Probability vectors are combined class by class, and answered with the most probable
    class (its label from ``classes``, else its index)."""
    names = list(endpoints) or [f"endpoint {i + 1}" for i in range(len(answers))]
    shape = [_width(answer[0]) for answer in answers]
    for name, width in zip(names[1:], shape[1:], strict=True):
        if width != shape[0]:
            raise EndpointError(
                name,
                f"answered {_describe_width(width)} per record but {names[0]} answered "
                f"{_describe_width(shape[0])}; serve models of the same kind behind the router",
            )
    if shape[0] > 1 and classes is not None and len(classes) != shape[0]:
        raise ConfigurationError(
            f"CLASSES names {len(classes)} classes but the endpoints answer {shape[0]} "
            "probabilities per record"
        )
    combined: list[Any] = []
    for number, per_record in enumerate(zip(*answers, strict=True), start=1):
        if shape[0] == 1:
            combined.append(_apply(rule, [float(p) for p in per_record], number))
            continue
        probabilities = [
            _apply(rule, list(per_class), number) for per_class in zip(*per_record, strict=True)
        ]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        label = classes[best] if classes is not None else best
        combined.append({"class": label, "probabilities": probabilities})
    return combined


def _width(prediction: Prediction) -> int:
    return len(prediction) if isinstance(prediction, list) else 1


def _describe_width(width: int) -> str:
    return "one number" if width == 1 else f"{width} probabilities"


def _apply(rule: CombineRule, values: list[float], number: int) -> float:
    value = rule(values)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(
            f"the combining rule {getattr(rule, '__name__', 'custom')!r} gave "
            f"{excerpt(value)} for record {number}; it must give a finite number"
        )
    return float(value)


def score(
    records: list[list[float | None]],
    endpoints: Sequence[str],
    invoke: Invoker,
    rule: CombineRule,
    classes: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Call every endpoint with the records (in parallel) and combine per record."""
    payload = to_csv(records)
    check_payload_size(payload, len(records))

    def call(endpoint: str) -> list[Prediction]:
        try:
            answer = invoke(endpoint, payload)
        except EndpointError:
            raise
        except Exception as exc:
            raise EndpointError(endpoint, _describe(exc)) from exc
        return parse_predictions(answer, len(records), endpoint)

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        answers = list(pool.map(call, endpoints))
    return {
        "predictions": combine_predictions(answers, rule, endpoints, classes),
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
        "classes": _classes(environ.get("CLASSES", "")),
    }


def _classes(text: str) -> list[Any] | None:
    """``CLASSES``: the class labels in index order, a JSON list of two or more."""
    if not text.strip():
        return None
    try:
        classes = json.loads(text)
    except ValueError:
        classes = None
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str | int | float) for c in classes)
    ):
        raise ConfigurationError(
            f'CLASSES={excerpt(text)} must be a JSON list of class labels, e.g. ["a", "b", "c"]'
        )
    return classes


def _positive_int(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name}={excerpt(text)} must be a whole number") from None
    if value < 1:
        raise ConfigurationError(f"{name}={value} must be at least 1")
    return value


# --------------------------------------------------------------------------- handler


def proxy_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": dict(JSON_HEADERS),
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def response_size(response: Mapping[str, Any]) -> int:
    """Bytes of the response as Lambda returns it (serialized whole, body escaped again)."""
    return len(json.dumps(response).encode("utf-8"))


def api_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The proxy response, or a short error in its place when it exceeds MAX_RESPONSE_BYTES.

    An answer too large says how many records would fit (413); any other oversized response
    is a router fault (500), since its messages are short by construction.
    """
    response = proxy_response(status, payload)
    size = response_size(response)
    if size <= MAX_RESPONSE_BYTES:
        return response
    log.error("withheld a %d-byte response (status %d): over MAX_RESPONSE_BYTES", size, status)
    if status != 200:
        return proxy_response(500, {"error": "internal error in the router; see its logs"})
    n_records = len(payload.get("predictions") or ())
    # Answers grow with the records; a tenth spare covers predictions of other lengths.
    fits = max(1, n_records * MAX_RESPONSE_BYTES * 9 // (size * 10))
    return proxy_response(
        413,
        {
            "error": f"the answer to {n_records} records is {size} bytes, more than the "
            f"{MAX_RESPONSE_BYTES} bytes a Lambda response may carry; send at most {fits} "
            "records per request"
        },
    )


def handle(event: Any, environ: Mapping[str, str], invoke: Invoker | None = None) -> dict[str, Any]:
    """The router's logic, with its settings and endpoint calls passed in (testable offline)."""
    try:
        config = settings(environ)
        if not isinstance(event, Mapping):
            raise RequestError("the event is not an API Gateway proxy event (a JSON object)")
        method = request_method(event)
        if method is not None and method != "POST":
            raise RequestError(f"{excerpt(method)} is not supported; POST the records", status=405)
        body, content_type = request_body(event)
        records = parse_records(body, content_type, config["max_records"])
        check_records(records, config["feature_count"], config["max_records"])
        result = score(
            records,
            config["endpoints"],
            invoke or sagemaker_invoker(),
            config["rule"],
            config["classes"],
        )
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
