"""The built-in SageMaker XGBoost algorithm's contract, run locally by the twin.

``python -m mlaccel_twin.sagemaker_jobs.xgboost_algorithm`` reads ``hyperparameters.json`` and
the ``train`` (and optional ``validation``) channels from the container layout under
``SAGEMAKER_BASE_DIR``:
CSV with the label in the first column and no header (``text/csv``), LIBSVM (``text/libsvm``)
or Parquet with the label first (``application/x-parquet``). It writes the per-round lines the
real container writes (``[3]#011train-rmse:...#011validation-rmse:...``), so SageMaker's metric
regexes read them, and saves ``xgboost-model`` in the model folder as the algorithm's version
does (``ALGORITHM_IMAGE``, the job's image): a pickled ``Booster`` before 1.3-1, which scripts
read with ``pickle.load``, XGBoost's own format from 1.3-1 on (``Booster.load_model``).
LIBSVM indices are kept as written: 1-based data leaves column 0 empty, as XGBoost's own
reader does, so the same records score at endpoints and in batch transform.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import sys
from pathlib import Path
from typing import Any

INT_PARAMS = {
    "num_round",
    "max_depth",
    "early_stopping_rounds",
    "num_class",
    "seed",
    "max_bin",
    "nthread",
    "num_parallel_tree",
    "verbosity",
}
IGNORED = {"_tuning_objective_metric", "csv_weights", "save_model_on_termination"}
# The job's image, set by the twin's job runner: its version decides the model file's format.
ALGORITHM_IMAGE = "MLACCEL_TWIN_ALGORITHM_IMAGE"
FIRST_NATIVE_FORMAT_VERSION = (1, 3)


def pickles_its_model(image: str) -> bool:
    """Whether the algorithm at ``image`` saves its model with pickle (versions before 1.3-1).

    Examples
    --------
    >>> pickles_its_model("123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1")
    True
    >>> pickles_its_model("123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    False
    >>> pickles_its_model("")  # no image named: the current format
    False
    """
    match = re.search(r":(\d+)\.(\d+)", image)
    if match is None:
        return False
    return (int(match[1]), int(match[2])) < FIRST_NATIVE_FORMAT_VERSION


def model_bytes(booster: Any, image: str) -> bytes:
    """The ``xgboost-model`` file the algorithm at ``image`` writes."""
    if pickles_its_model(image):
        return pickle.dumps(booster)
    return bytes(booster.save_raw("ubj"))


def parse_hyperparameters(raw: dict[str, str]) -> tuple[dict[str, Any], int, int | None]:
    """XGBoost params, the number of rounds and early stopping, from SageMaker's strings."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("sagemaker_") or key in IGNORED:
            continue
        text = str(value).strip('"')
        if key in INT_PARAMS:
            params[key] = int(float(text))
        elif key == "eval_metric":
            params[key] = text.split(",")
        else:
            try:
                params[key] = float(text)
            except ValueError:
                params[key] = text
    if "num_round" not in params:
        raise ValueError("Hyperparameter num_round is required by the XGBoost algorithm")
    objective = str(params.get("objective", ""))
    if objective.startswith("multi:") and int(params.get("num_class", 0)) < 2:
        # The container refuses this before training; XGBoost's own error would be obscure.
        raise ValueError(
            f"Hyperparameter num_class (2 or more) is required for objective {objective}"
        )
    rounds = params.pop("num_round")
    early = params.pop("early_stopping_rounds", None)
    params.setdefault("nthread", 2)
    return params, rounds, early


def load_channel(folder: Path, content_type: str) -> Any:
    """A channel's files as an XGBoost ``DMatrix``, the label in the first column."""
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"channel {folder.name} has no files")
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/libsvm", "libsvm"):
        from sklearn.datasets import load_svmlight_files

        # Indices as written, as XGBoost's libsvm reader takes them (no 1-based guessing).
        parts = load_svmlight_files([str(f) for f in files], zero_based=True)
        x = parts[0::2]
        y = parts[1::2]
        import scipy.sparse as sp

        return xgb.DMatrix(sp.vstack(x), np.concatenate(y))
    if "parquet" in kind:
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        data = df.to_numpy("float64")
    else:
        # pandas' C parser: four times numpy's loadtxt on a 700k-row channel; empty fields
        # are missing values, as the algorithm reads them
        frames = [pd.read_csv(f, header=None, dtype="float64") for f in files]
        data = pd.concat(frames, ignore_index=True).to_numpy()
    return xgb.DMatrix(data[:, 1:], data[:, 0])


def main() -> int:
    """Train as the container does; exit 1 with ``/opt/ml/output/failure`` written on failure."""
    import xgboost as xgb

    base = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
    config = base / "input" / "config"
    raw = json.loads((config / "hyperparameters.json").read_text())
    channels = json.loads((config / "inputdataconfig.json").read_text())
    try:
        params, rounds, early = parse_hyperparameters(raw)
        if "train" not in channels:
            raise ValueError("the XGBoost algorithm needs a 'train' channel")
        evals = []
        for name in ("train", "validation"):
            if name in channels:
                content_type = channels[name].get("ContentType", "text/csv")
                evals.append((load_channel(base / "input" / "data" / name, content_type), name))
        booster = xgb.train(
            params,
            evals[0][0],
            num_boost_round=rounds,
            evals=evals,
            early_stopping_rounds=early if len(evals) > 1 else None,
            verbose_eval=False,
            callbacks=[RoundPrinter()],
        )
    except (ValueError, xgb.core.XGBoostError) as exc:
        message = f"AlgorithmError: {exc}"
        (base / "output").mkdir(parents=True, exist_ok=True)
        (base / "output" / "failure").write_text(message)
        sys.stderr.write(message + "\n")
        return 1
    model_dir = base / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    image = os.environ.get(ALGORITHM_IMAGE, "")
    (model_dir / "xgboost-model").write_bytes(model_bytes(booster, image))
    return 0


class RoundPrinter:
    """Writes each round like the SageMaker container (tabs shown as #011 in CloudWatch)."""

    def __new__(cls) -> Any:
        import xgboost as xgb

        class _Printer(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
                parts = [
                    f"{data}-{metric}:{values[-1]:.5f}"
                    for data, metrics in evals_log.items()
                    for metric, values in metrics.items()
                ]
                # stdout is the container's log: SageMaker's metric regexes read these lines.
                sys.stdout.write(f"[{epoch}]#011" + "#011".join(parts) + "\n")
                sys.stdout.flush()
                return False

        return _Printer()


if __name__ == "__main__":
    raise SystemExit(main())
