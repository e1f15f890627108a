"""Traffic of a pipeline's endpoint, as Model Monitor sees it: requests sent one record each
with an inference id, labels sent later for some of them, and the capture of a time window
joined with the labels that arrived, checked against the deployed model's own baseline.

Every source of "current" data goes this one way (held-out rows with declared drift, a table,
or what real callers sent), so model quality is always the deployed model's, never a stand-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlaccel import inference, products, training
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError
from mlaccel.inference._names import new_stamp
from mlaccel.workflows._data import upload_ground_truth
from mlaccel.workflows._settings import PipelinePlaces

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlaccel._connect import Connection


@dataclass(frozen=True)
class Traffic:
    """What an endpoint captured in a window, joined with the ground truth that arrived.

    Attributes
    ----------
    inputs
        The model inputs of each captured request, as numbers, one row per request.
    answers
        The model's answer to each request: one column (a value, or the positive class's
        probability) or one per class (a multiclass model's probabilities).
    labels
        The encoded true label of each request whose ground truth arrived, indexed like
        ``inputs`` (a subset of its rows).
    """

    inputs: pd.DataFrame
    answers: np.ndarray
    labels: pd.Series

    @property
    def counts(self) -> dict[str, int]:
        return {"captured": len(self.inputs), "with ground truth": len(self.labels)}


@dataclass(frozen=True)
class ModelQuality:
    """The deployed model's quality on :class:`Traffic` against its own baseline.

    ``now`` and ``baseline`` are Model Monitor's model-quality statistics (``baseline`` is what
    the training pipeline measured on the validation split); ``violations`` is
    ``constraint_violations.json``'s body, checked against the baseline's constraints.
    """

    now: dict[str, Any]
    baseline: dict[str, Any]
    violations: dict[str, Any]

    def metrics(self) -> pd.DataFrame:
        """Each metric's baseline value next to its value now."""
        import pandas as pd

        def values(statistics: dict[str, Any]) -> dict[str, float]:
            section = next(v for k, v in statistics.items() if k.endswith("_metrics"))
            return {
                k: v["value"] for k, v in section.items() if isinstance(v, dict) and "value" in v
            }

        return pd.DataFrame({"baseline": values(self.baseline), "now": values(self.now)})


def answer_names(product: products.DataProduct) -> list[str]:
    """The endpoint's output fields: one ``prediction``, or one probability per class."""
    return [*product.classes] if product.problem_type == "multiclass" else ["prediction"]


def send_traffic(
    places: PipelinePlaces,
    inputs: pd.DataFrame,
    inference_ids: Sequence[str],
    *,
    labels: Sequence[Any] | None = None,
    label_share: float = 0.8,
    connection: Connection,
) -> datetime:
    """Send each row of ``inputs`` (model inputs, in the model's order) to the pipeline's
    endpoint as one request with its inference id; then, when ``labels`` are given, the ground
    truth of the first ``label_share`` of them, as labels arrive later in production.

    Returns the moment before the first request: read the window from there
    (:func:`read_traffic`).
    """
    if len(inputs) == 0:
        raise MLAccelInputError("inputs has no rows: pass the rows to send to the endpoint")
    if len(inference_ids) != len(inputs) or len(set(inference_ids)) != len(inference_ids):
        raise MLAccelInputError(
            f"inference_ids holds {len(set(inference_ids))} distinct ids for {len(inputs)} rows: "
            "pass one id per row, none twice (ground truth is joined by it)"
        )
    if not 0 < label_share <= 1:
        raise MLAccelInputError(f"label_share={label_share!r} must be above 0 and at most 1")
    sent_at = datetime.now(UTC)
    ids = [str(i) for i in inference_ids]
    inference.predict_each(places.endpoint_name, inputs, ids, connection=connection)
    if labels is not None:
        if len(labels) != len(ids):
            raise MLAccelInputError(
                f"labels holds {len(labels)} values for {len(ids)} rows: pass one label per row"
            )
        known = max(1, int(label_share * len(ids)))
        # a missing label is ground truth that never arrives: nothing is sent for it
        truth = {
            i: label
            for i, label in zip(ids[:known], list(labels)[:known], strict=True)
            if label == label and label is not None  # NaN != NaN
        }
        if truth:
            upload_ground_truth(truth, places.ground_truth_uri, connection=connection)
    return sent_at


def send_rows(
    places: PipelinePlaces,
    product: products.DataProduct,
    prepared: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    feature_names: Sequence[str],
    connection: Connection,
) -> tuple[datetime, list[str]]:
    """:func:`send_traffic` for rows of the product's table: ``prepared`` (the preprocessor's
    output for them: the id column, then the model inputs) is sent, and the ground truth is
    ``rows``' target for each id, when ``rows`` carries it (blank targets send none).

    Each inference id is ``<call stamp>-<row id>``, new on every call, so that reading back
    with them (:func:`read_traffic`) sees this call's requests only, whoever else sends.

    Returns the moment before the first request and the inference ids, in ``prepared``'s order.
    """
    ids = prepared[product.id_column]
    if ids.duplicated().any():
        raise MLAccelInputError(
            f"{product.id_column} repeats {int(ids.duplicated().sum())} ids in the rows to send: "
            "ground truth is joined by id; pass each row once"
        )
    stamp = new_stamp()
    inference_ids = [f"{stamp}-{i}" for i in ids]
    labels = None
    if product.target in rows:
        truth = rows.set_index(product.id_column)[product.target].reindex(ids)
        known = truth.dropna()
        encoded = training.encode_labels(known, product) if len(known) else known
        labels = encoded.reindex(truth.index).tolist()
    sent_at = send_traffic(
        places, prepared[list(feature_names)], inference_ids, labels=labels, connection=connection
    )
    return sent_at, inference_ids


def read_traffic(
    places: PipelinePlaces,
    product: products.DataProduct,
    *,
    feature_names: Sequence[str],
    since: datetime,
    inference_ids: Sequence[str] | None = None,
    connection: Connection,
) -> Traffic:
    """The requests the pipeline's endpoint captured since ``since`` (only ``inference_ids``
    when given: other callers' requests in the same window are left out), with the ground
    truth that arrived for them, joined by inference id."""
    import numpy as np
    import pandas as pd

    answers = answer_names(product)
    wanted = None if inference_ids is None else {str(i) for i in inference_ids}
    captured = inference.read_captured_requests(
        places.endpoint_name,
        capture_uri=places.capture_uri,
        feature_names=[*feature_names, *answers],
        since=since,
        min_records=1 if wanted is None else len(wanted),
        connection=connection,
    )
    keys = captured["inferenceId"].fillna(captured["eventId"]).astype(str)
    if wanted is not None:
        captured, keys = captured[keys.isin(wanted)], keys[keys.isin(wanted)]
    if captured.empty:
        raise MLAccelError(
            f"{places.endpoint_name} captured no request since {since.isoformat()}: send traffic "
            "first, or widen the window"
        )
    truth = inference.read_ground_truth(places.ground_truth_uri, connection=connection)
    known = keys.isin(truth.index)
    labels = pd.Series(
        pd.to_numeric(truth[keys[known]].to_numpy()), index=captured.index[known.to_numpy()]
    )
    return Traffic(
        inputs=captured[list(feature_names)].apply(pd.to_numeric),
        answers=np.asarray(captured[answers].apply(pd.to_numeric).to_numpy(), dtype=float),
        labels=labels,
    )


def endpoint_model_quality(
    product: products.DataProduct,
    traffic: Traffic,
    places: PipelinePlaces,
    *,
    connection: Connection,
) -> ModelQuality:
    """The deployed model's quality on the labelled part of ``traffic``, checked against the
    model-quality baseline the training pipeline wrote for that model
    (``places.model_quality_baseline_uri``)."""
    from mlaccel import monitor

    if traffic.labels.empty:
        raise MLAccelInputError(
            "no captured request has ground truth yet: send labels for them (their inference "
            "ids) to the endpoint's ground-truth folder, then read the traffic again"
        )
    folder = places.model_quality_baseline_uri
    baseline = _read_baseline_file(f"{folder}/statistics.json", connection)
    constraints = _read_baseline_file(f"{folder}/constraints.json", connection)
    rows = traffic.inputs.index.get_indexer(traffic.labels.index)
    now = training.quality_metrics(product, traffic.labels.to_numpy(), traffic.answers[rows])
    return ModelQuality(
        now=now, baseline=baseline, violations=monitor.check_model_quality(now, constraints)
    )


def _read_baseline_file(uri: str, connection: Connection) -> dict[str, Any]:
    import json

    bucket, key = parse_path(uri, name="model_quality_baseline_uri")
    s3 = connection.client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise MLAccelInputError(
            f"the deployed model has no model-quality baseline at {uri}: the training pipeline "
            "(notebook 04) writes it when it deploys the model; run it first"
        ) from None
    answer: dict[str, Any] = json.loads(body)
    return answer
