"""Invoking endpoints: one payload, or records sent as CSV in requests SageMaker accepts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlaccel._aws import check_connection
from mlaccel._codecs import CSV, parse_csv_predictions, records_as_rows, records_to_csv
from mlaccel._connect import Connection
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

#: InvokeEndpoint accepts 6 MB; stay under it with room for the request's own overhead.
MAX_REQUEST_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class InvocationResponse:
    """What ``InvokeEndpoint`` answered."""

    body: bytes
    content_type: str
    variant: str | None = None


def invoke_endpoint(
    endpoint_name: str,
    body: bytes | str,
    *,
    content_type: str = CSV,
    accept: str = CSV,
    target_variant: str | None = None,
    inference_id: str | None = None,
    custom_attributes: str | None = None,
    connection: Connection,
) -> InvocationResponse:
    """Send one payload to an endpoint (``sagemaker-runtime InvokeEndpoint``).

    Examples
    --------
    >>> invoke_endpoint("used-cars-xgboost", "3,45000,1\\n", connection=conn).body  # doctest: +SKIP
    b'12873.5\\n'
    """
    conn = check_connection(connection)
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "Body": body,
        "ContentType": content_type,
        "Accept": accept,
    }
    optional = {
        "TargetVariant": target_variant,
        "InferenceId": inference_id,
        "CustomAttributes": custom_attributes,
    }
    kwargs.update({key: value for key, value in optional.items() if value})
    answer = conn.client("sagemaker-runtime").invoke_endpoint(**kwargs)
    return InvocationResponse(
        body=answer["Body"].read(),
        content_type=str(answer.get("ContentType", "")),
        variant=answer.get("InvokedProductionVariant"),
    )


def csv_payloads(records: Any, *, max_bytes: int = MAX_REQUEST_BYTES) -> Iterator[str]:
    """Split records into CSV payloads of at most ``max_bytes`` each, in order.

    Examples
    --------
    >>> list(csv_payloads([[1, 2], [3, 4]], max_bytes=4))
    ['1,2\\n', '3,4\\n']
    """
    payload: list[str] = []
    size = 0
    for line in records_to_csv(records).splitlines(keepends=True):
        line_size = len(line.encode())
        if line_size > max_bytes:
            raise MLAccelInputError(
                f"one record is {line_size} bytes, more than the max_bytes={max_bytes} a "
                "request carries; raise max_bytes (SageMaker accepts up to 6 MB)"
            )
        if payload and size + line_size > max_bytes:
            yield "".join(payload)
            payload, size = [], 0
        payload.append(line)
        size += line_size
    if payload:
        yield "".join(payload)


def predict(
    endpoint_name: str,
    records: Any,
    *,
    target_variant: str | None = None,
    inference_id: str | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    connection: Connection,
) -> np.ndarray:
    """Predictions of an endpoint for one record or a batch, sent as CSV.

    Large batches are split into requests under SageMaker's 6 MB limit.

    Parameters
    ----------
    endpoint_name
        The endpoint.
    records
        One record (a flat list of feature values) or many (2-D array, list of lists or a
        DataFrame of the feature columns, in training order, without label or id).
    target_variant, inference_id
        Passed to ``InvokeEndpoint`` (``inference_id`` shows in data capture).
    max_request_bytes
        Largest CSV payload per request.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    numpy.ndarray
        One prediction per record (2-D when the model answers several values per record).

    Examples
    --------
    >>> predict("used-cars-xgboost", [[3, 45000, 1], [7, 98000, 0]], connection=conn)
    ... # doctest: +SKIP
    array([12873.5,  6120.25])
    """
    conn = check_connection(connection)
    parts = [
        parse_csv_predictions(
            invoke_endpoint(
                endpoint_name,
                payload,
                target_variant=target_variant,
                inference_id=inference_id,
                connection=conn,
            ).body,
            n_records=payload.count("\n"),
        )
        for payload in csv_payloads(records, max_bytes=max_request_bytes)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def predict_each(
    endpoint_name: str,
    records: Any,
    inference_ids: Sequence[str],
    *,
    connection: Connection,
) -> np.ndarray:
    """One request per record, each with its inference id.

    This is how applications whose labels arrive later call an endpoint: Model Monitor joins
    the ground truth to the capture by that id.

    Examples
    --------
    >>> predict_each("used-cars-xgboost", [[3, 45000, 1]], ["car-17"], connection=conn)
    ... # doctest: +SKIP
    array([12873.5])
    """
    rows = records_as_rows(records)
    if len(rows) != len(inference_ids):
        raise MLAccelInputError(
            f"{len(rows)} records but {len(inference_ids)} inference_ids: pass one id per record"
        )
    conn = check_connection(connection)
    return np.concatenate(
        [
            predict(endpoint_name, [row], inference_id=str(i), connection=conn)
            for row, i in zip(rows, inference_ids, strict=True)
        ]
    )


def answers_frame(predictions: Any, classes: Sequence[str] = ()) -> pd.DataFrame:
    """A model's answers as columns: ``prediction`` for one value per record; for one
    probability per class (a multiclass model), ``p(<class>)`` per class and the ``class``
    with the highest.

    Examples
    --------
    >>> answers_frame(np.array([[0.1, 0.9], [0.7, 0.3]]), ["no", "yes"])["class"].tolist()
    ['yes', 'no']
    """
    import pandas as pd

    values = np.asarray(predictions, dtype="float64")
    if values.ndim == 1:
        return pd.DataFrame({"prediction": values})
    names = list(classes) or [str(i) for i in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise MLAccelInputError(
            f"the model answers {values.shape[1]} values per record for {len(names)} classes "
            f"{names}: is it the product's model?"
        )
    frame = pd.DataFrame(values, columns=[f"p({name})" for name in names])
    return frame.assign(**{"class": [names[i] for i in values.argmax(axis=1)]})
