"""Data capture: where endpoints record their requests and responses, and reading them back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel._s3 import join_uri, parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError

#: Where endpoints write data capture unless told otherwise: <bucket>/<prefix>/<endpoint>/...
CAPTURE_PREFIX = "data-capture"


def default_capture_uri(*, connection: Connection) -> str:
    """``s3://<bucket>/data-capture``: where endpoints deployed here capture by default.

    Examples
    --------
    >>> default_capture_uri(connection=conn)  # doctest: +SKIP
    's3://mlaccel-local/data-capture'
    """
    return check_connection(connection).s3_uri(CAPTURE_PREFIX)


def read_captured_requests(
    endpoint_name: str,
    *,
    capture_uri: str | None = None,
    feature_names: Sequence[str] | None = None,
    since: datetime | str | None = None,
    min_records: int = 1,
    timeout_seconds: float = 60.0,
    connection: Connection,
) -> Any:
    """The endpoint's captured requests and responses, as a DataFrame (one row per record).

    Endpoints write capture files a little after the requests (seconds on the twin, minutes on
    AWS), so this waits until ``min_records`` rows can be read or ``timeout_seconds`` pass,
    looking again every ``connection.wait.capture_poll_seconds``.

    Parameters
    ----------
    endpoint_name
        The endpoint.
    capture_uri
        The capture destination (``Deployment.capture_uri``); the default one when omitted.
    feature_names
        Names of the positional fields: inputs first, then outputs.
    since
        Keep requests made at or after this time (capture files of earlier runs stay in S3);
        capture times have whole seconds, so it is rounded down to the second.
    min_records
        Rows to wait for.
    timeout_seconds
        How long to wait.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    pandas.DataFrame
        Values as text, with ``eventId`` and ``inferenceTime``.

    Examples
    --------
    >>> read_captured_requests("used-cars-xgboost", connection=conn).shape  # doctest: +SKIP
    (12, 9)
    """
    conn = check_connection(connection)
    source = _endpoint_capture_prefix(
        capture_uri or default_capture_uri(connection=conn), endpoint_name
    )
    start = _whole_second(since) if isinstance(since, datetime) else since
    deadline = time.monotonic() + timeout_seconds
    while True:
        frame = _read_capture_once(conn, source, feature_names, start)
        found = 0 if frame is None else len(frame)
        if found >= min_records:
            return frame
        if time.monotonic() > deadline:
            raise MLAccelError(
                f"found {found} captured record(s) of {endpoint_name} under {source} after "
                f"{timeout_seconds:.0f} s, expected {min_records}; check that the endpoint "
                "config enables data capture and that requests were sent, or raise "
                "timeout_seconds"
            )
        time.sleep(conn.wait.capture_poll_seconds)


def _endpoint_capture_prefix(capture_uri: str, endpoint_name: str) -> str:
    bucket, key = parse_path(capture_uri, name="capture_uri")
    return join_uri(bucket, key, endpoint_name) + "/"


def _whole_second(moment: datetime) -> datetime:
    # Naive times are taken as UTC, the zone of capture times.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.replace(microsecond=0)


def _read_capture_once(
    conn: Connection,
    source: str,
    feature_names: Sequence[str] | None,
    since: datetime | str | None,
) -> Any:
    """The capture read so far, or None while no capture file exists yet."""
    from mlaccel.monitor import read_capture

    try:
        return read_capture(
            source,
            feature_names=feature_names,
            start_time=since,
            include_metadata=True,
            boto3_session=conn.boto3_session,
        )
    except MLAccelInputError:
        return None


def read_ground_truth(uri: str, *, connection: Connection) -> Any:
    """Labels that arrived for captured requests, by inference id: every JSON line under
    ``uri`` in Model Monitor's ground-truth layout (``groundTruthData.data`` and
    ``eventMetadata.eventId``), the latest label winning for an id sent twice.

    Returns
    -------
    pandas.Series
        The labels as text, indexed by inference id (empty when none arrived).
    """
    import json

    import pandas as pd

    conn = check_connection(connection)
    bucket, prefix = parse_path(uri, name="uri")
    s3 = conn.client("s3")
    labels: dict[str, str] = {}
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    for key in sorted(keys):  # dated folders: later files come later
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                event = str(record["eventMetadata"]["eventId"])
                labels[event] = str(record["groundTruthData"]["data"])
            except (ValueError, KeyError, TypeError) as exc:
                raise MLAccelInputError(
                    f"s3://{bucket}/{key} line {number} is not a ground-truth record "
                    f"({exc}): Model Monitor's layout has groundTruthData.data and "
                    "eventMetadata.eventId"
                ) from None
    return pd.Series(labels, name="label", dtype="object")
