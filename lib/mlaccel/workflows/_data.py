"""The data the workflows read and write: landed extracts, scores, ground truth, results."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError
from mlaccel.workflows._settings import WorkflowSettings

if TYPE_CHECKING:
    from mypy_boto3_glue.type_defs import TableInputTypeDef

    from mlaccel._connect import Connection

#: The monitoring results table: one row per violation, as the evaluate Lambda writes them.
RESULT_COLUMNS = [
    ("checked_at", "string"),
    ("run", "string"),
    ("endpoint", "string"),
    ("analysis", "string"),
    ("feature_name", "string"),
    ("constraint_check_type", "string"),
    ("description", "string"),
]


def land_data(frame: Any, uri: str, *, connection: Connection) -> str:
    """Write a DataFrame as one Parquet object.

    Parameters
    ----------
    frame
        A pandas DataFrame with at least one row: an empty one is refused here, since a run
        would score or train on nothing.
    uri
        ``s3://bucket/prefix/name.parquet``; under a workflow's training-data or
        scoring-batches prefix it is the data the next run reads.
    connection
        Where the bucket is.

    Returns
    -------
    str
        ``uri``.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise MLAccelInputError(
            f"frame is a {type(frame).__name__}; pass a pandas DataFrame with at least one row"
        )
    if frame.empty:
        lacks = "no columns" if len(frame.index) else "no rows"
        raise MLAccelInputError(
            f"frame has {lacks}, so nothing would land at {uri}: pass a DataFrame with at least "
            "one row (a workflow run on it would have nothing to train on or score)"
        )
    bucket, key = parse_path(uri, name="uri")
    if not key.endswith(".parquet"):
        raise MLAccelInputError(
            f"uri={uri!r} names no Parquet object; write s3://bucket/prefix/name.parquet"
        )
    body = io.BytesIO()
    frame.to_parquet(body, index=False)
    connection.client("s3").put_object(Bucket=bucket, Key=key, Body=body.getvalue())
    return uri


def object_exists(uri: str, *, connection: Connection) -> bool:
    """True when the object ``s3://bucket/key`` exists."""
    bucket, key = parse_path(uri, name="uri")
    listed = connection.client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def read_scores(uri: str, *, connection: Connection, id_name: str = "record_id") -> Any:
    """The scoring pipeline's output under ``uri``: one row per record, its id and score.

    Parameters
    ----------
    uri
        A scoring run's output folder (``run.output["names"]["output"]``).
    connection
        Where the bucket is.
    id_name
        The name of the record-id column.

    Returns
    -------
    pandas.DataFrame
        Columns ``id_name`` and ``score`` (a value, or a probability for binary models), or
        ``probability_0``... (one per class, for multiclass models).
    """
    frames = _read_csv_objects(uri, ".out", connection, header=None)
    if not frames:
        raise MLAccelError(f"no scores (*.out) under {uri}: did the scoring run succeed?")
    scores = _concat(frames)
    answers = scores.shape[1] - 1
    names = ["score"] if answers == 1 else [f"probability_{i}" for i in range(answers)]
    scores.columns = [id_name, *names]
    return scores


def read_prepared(uri: str, *, connection: Connection) -> Any:
    """The scoring pipeline's preprocessed batch under ``uri``: record id, then the features.

    ``uri`` is a scoring run's prepared folder (``run.output["names"]["prepared"]``).
    """
    frames = _read_csv_objects(uri, ".csv", connection, header=None, dtype={0: str})
    if not frames:
        raise MLAccelError(f"no prepared CSV under {uri}: did the scoring run succeed?")
    return _concat(frames)


def _read_csv_objects(uri: str, suffix: str, connection: Connection, **options: Any) -> list[Any]:
    """Every ``*<suffix>`` object under ``uri``, read as CSV with ``options``."""
    import pandas as pd

    bucket, prefix = parse_path(uri, name="uri")
    s3 = connection.client("s3")
    frames = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(suffix):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                frames.append(pd.read_csv(io.BytesIO(body), **options))
    return frames


def _concat(frames: list[Any]) -> Any:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def send_ground_truth(
    labels: Mapping[str, Any], *, settings: WorkflowSettings, connection: Connection
) -> str:
    """Upload labels for captured requests in Model Monitor's ground-truth layout.

    Parameters
    ----------
    labels
        The true label of each captured request, by its inference id.
    settings
        The monitoring workflow's settings (where its ground truth arrives).
    connection
        Where the bucket is.

    Returns
    -------
    str
        The URI of the uploaded JSON Lines file.
    """
    return upload_ground_truth(labels, settings.ground_truth_uri, connection=connection)


def upload_ground_truth(
    labels: Mapping[str, Any], ground_truth_uri: str, *, connection: Connection
) -> str:
    """:func:`send_ground_truth` to the prefix ``ground_truth_uri`` (an endpoint's, such as
    :attr:`PipelinePlaces.ground_truth_uri`), in an hourly folder as Model Monitor lays it out."""
    if not labels:
        raise MLAccelInputError("labels is empty: pass {inference_id: true label}")
    now = time.gmtime()
    uri = ground_truth_uri.rstrip("/") + "/" + time.strftime("%Y/%m/%d/%H/", now)
    uri += f"labels-{time.strftime('%H%M%S', now)}-{int(time.time() * 1000) % 1000:03d}.jsonl"
    lines = [
        json.dumps(
            {
                "groundTruthData": {"data": str(label), "encoding": "CSV"},
                "eventMetadata": {"eventId": str(inference_id)},
                "eventVersion": "0",
            }
        )
        for inference_id, label in labels.items()
    ]
    bucket, key = parse_path(uri, name="ground_truth_uri")
    connection.client("s3").put_object(Bucket=bucket, Key=key, Body="\n".join(lines) + "\n")
    return uri


def ensure_results_table(
    settings: WorkflowSettings,
    *,
    connection: Connection,
    database: str = "mlaccel_monitoring",
) -> str:
    """Register the monitoring results (JSON Lines) as a Glue table, for SQL in Athena.

    Parameters
    ----------
    settings
        The monitoring workflow's settings (where its results are).
    connection
        Where the Glue catalog is.
    database
        The Glue database, created when missing.

    Returns
    -------
    str
        ``<database>.<product>_violations``.
    """
    glue = connection.client("glue")
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(
            DatabaseInput={"Name": database, "Description": "mlaccel monitoring results"}
        )
    table = f"{settings.product.name}_violations"
    table_input: TableInputTypeDef = {
        "Name": table,
        "Description": f"Model Monitor violations of {settings.endpoint_name}, one per row",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json"},
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in RESULT_COLUMNS],
            "Location": settings.results_uri,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    }
    try:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=table_input)
    return f"{database}.{table}"
