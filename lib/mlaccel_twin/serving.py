"""Model serving on the twin: load a SageMaker model directory and answer the inference contract.

A SageMaker model is a folder (the extracted ``model.tar.gz``) plus a container image and its
environment. :func:`load_predictor` turns them into a :class:`Predictor` that answers
``predict(body, content_type, accept)`` exactly as the serving container would:

- the built-in XGBoost algorithm and the kit's script-mode training write ``xgboost-model``
  (XGBoost's native JSON/UBJSON format; ``model.json``, ``model.ubj`` and ``*.bst`` are accepted
  too). Requests are ``text/csv`` rows without the label, ``text/libsvm``, ``application/json``
  (``{"instances": [[...], ...]}`` or ``{"features": [...]}``) or ``application/jsonlines``;
  answers are one prediction per line (CSV), ``{"predictions": [{"score": ...}]}`` (JSON) or one
  ``{"score": ...}`` per line (JSON Lines), like the SageMaker XGBoost container.
- script mode: when ``SAGEMAKER_PROGRAM`` names a script (in the model's ``code/`` folder or in
  ``SAGEMAKER_SUBMIT_DIRECTORY``) that defines ``model_fn`` / ``input_fn`` / ``predict_fn`` /
  ``output_fn`` (or ``transform_fn``), they are called as the SageMaker inference toolkit calls
  them; the ones it leaves out fall back to defaults.
- a linear model saved as JSON coefficients (``linear-model.json``).
- anything else a team registers with :func:`register_model_loader`.

Pickled models are never loaded: unpickling a file runs whatever code it holds.

:class:`ModelServer` serves a predictor over HTTP on loopback with the SageMaker inference
contract (``GET /ping``, ``POST /invocations``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import math
import shutil
import socket
import sys
import tarfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlaccel._codecs import (
    CSV,
    JSON,
    JSONLINES,
    JSONLINES_TYPES,
    LIBSVM,
    LIBSVM_TYPES,
    NPY,
    media_type,
)
from mlaccel._s3 import parse_path
from mlaccel.errors import InferenceError, MLAccelError, MLAccelInputError
from mlaccel_twin.config import LOOPBACK

log = logging.getLogger(__name__)


SUPPORTED_CONTENT_TYPES = (CSV, LIBSVM, JSON, JSONLINES)
SUPPORTED_ACCEPTS = (CSV, JSON, JSONLINES)

XGBOOST_MODEL_NAMES = (
    "xgboost-model",
    "model.json",
    "model.ubj",
    "model.bst",
    "xgboost-model.json",
)
LINEAR_MODEL_NAMES = ("linear-model.json", "linear_model.json")
HANDLER_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


@runtime_checkable
class Predictor(Protocol):
    """What the twin's endpoints and transform jobs call: one request in, one response out."""

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request: ``body`` in ``content_type``; returns the body and its type."""
        ...


ModelLoader = Callable[[Path, Mapping[str, str]], Predictor]
ModelPredicate = Callable[[Path], bool]


@dataclass(frozen=True)
class _RegisteredLoader:
    name: str
    predicate: ModelPredicate
    loader: ModelLoader


_LOADERS: list[_RegisteredLoader] = []
_LOADERS_LOCK = threading.Lock()


def register_model_loader(
    predicate: ModelPredicate, loader: ModelLoader, *, name: str | None = None
) -> None:
    """Teach the twin to serve another kind of model.

    Loaders registered here are tried before the built-in ones (XGBoost, linear JSON), the most
    recently registered first.

    Parameters
    ----------
    predicate
        ``predicate(model_dir)`` is True when ``loader`` can load the extracted model folder.
    loader
        ``loader(model_dir, environment)`` returns a :class:`Predictor`.
    name
        Name shown in logs and errors; defaults to the loader's ``__name__``.

    Examples
    --------
    >>> def is_constant(model_dir):
    ...     return (model_dir / "constant.txt").is_file()
    >>> class Constant:
    ...     def __init__(self, value): self.value = value
    ...     def predict(self, body, content_type, accept):
    ...         rows = [r for r in body.decode().splitlines() if r.strip()]
    ...         return ("\\n".join([self.value] * len(rows)) + "\\n").encode(), "text/csv"
    >>> register_model_loader(
    ...     is_constant, lambda d, env: Constant((d / "constant.txt").read_text().strip())
    ... )  # doctest: +SKIP
    """
    if not callable(predicate) or not callable(loader):
        raise MLAccelInputError(
            "register_model_loader needs two callables: predicate(model_dir) -> bool and "
            "loader(model_dir, environment) -> Predictor"
        )
    label = str(name or getattr(loader, "__name__", "custom loader"))
    with _LOADERS_LOCK:
        _LOADERS.insert(0, _RegisteredLoader(label, predicate, loader))


def load_predictor(model_dir: Path, *, image_uri: str, environment: Mapping[str, str]) -> Predictor:
    """Load the model in ``model_dir`` the way the serving container of ``image_uri`` would.

    Parameters
    ----------
    model_dir
        The extracted model artifact (what SageMaker mounts at ``/opt/ml/model``).
    image_uri
        The model's container image; it only chooses between loaders when several fit.
    environment
        The model's container environment (``SAGEMAKER_PROGRAM``,
        ``SAGEMAKER_SUBMIT_DIRECTORY`` as a local folder, ``SAGEMAKER_BATCH``,
        ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``...).

    Returns
    -------
    Predictor
        Thread-safe: concurrent requests are answered one at a time per model.

    Examples
    --------
    >>> predictor = load_predictor(Path("model"), image_uri=xgboost_image, environment={})
    ... # doctest: +SKIP
    >>> predictor.predict(b"0.1,0.2,0.3\\n", "text/csv", "text/csv")  # doctest: +SKIP
    (b'0.4213\\n', 'text/csv')
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise MLAccelInputError(
            f"model_dir={str(model_dir)!r} is not a folder; pass the extracted model artifact"
        )
    environment = dict(environment or {})
    program = environment.get("SAGEMAKER_PROGRAM", "").strip()
    if program:
        script = _find_inference_script(model_dir, program, environment)
        module = _import_user_module(script)
        if any(callable(getattr(module, fn, None)) for fn in HANDLER_NAMES):
            log.info("serving %s with the handlers of %s", model_dir.name, script.name)
            return ScriptPredictor(module, model_dir, image_uri=image_uri, environment=environment)
        log.info("%s defines no inference handler; serving the model itself", script.name)
    return _load_builtin(model_dir, image_uri, environment)


def _load_builtin(model_dir: Path, image_uri: str, environment: Mapping[str, str]) -> Predictor:
    with _LOADERS_LOCK:
        loaders = list(_LOADERS)
    for registered in loaders:
        if registered.predicate(model_dir):
            log.info("loading %s with %s", model_dir.name, registered.name)
            return registered.loader(model_dir, environment)
    xgboost_file = _find_xgboost_model(model_dir)
    linear_file = _find_linear_model(model_dir)
    prefer_linear = "xgboost" not in image_uri.lower()
    if linear_file is not None and (xgboost_file is None or prefer_linear):
        return LinearPredictor(linear_file, environment=environment)
    if xgboost_file is not None:
        return XGBoostPredictor(xgboost_file, environment=environment)
    found = sorted(p.name for p in model_dir.iterdir())[:20]
    raise MLAccelInputError(
        f"no model the twin can serve in the model artifact (found {found or 'no files'}); "
        f"expected one of {', '.join(XGBOOST_MODEL_NAMES)} (XGBoost native format), "
        f"{LINEAR_MODEL_NAMES[0]}, or SAGEMAKER_PROGRAM naming a script with model_fn; "
        "register other formats with mlaccel_twin.serving.register_model_loader"
    )


# --------------------------------------------------------------------------- request decoding


def decode_features(body: bytes, content_type: str, n_features: int | None = None) -> np.ndarray:
    """Decode a request body into a float matrix, one row per record (missing values are NaN).

    Parameters
    ----------
    body
        The request payload.
    content_type
        ``text/csv`` (no header, no label column), ``text/libsvm``, ``application/json`` or
        ``application/jsonlines``.
    n_features
        Number of features the model expects; rows of another width are a 400 error.

    Examples
    --------
    >>> decode_features(b"1,2\\n3,\\n", "text/csv").tolist()
    [[1.0, 2.0], [3.0, nan]]
    """
    kind = media_type(content_type) or CSV
    known = {CSV, JSON} | LIBSVM_TYPES | JSONLINES_TYPES
    if kind not in known:
        raise InferenceError(
            415,
            f"Content-Type {content_type!r} is not supported; send one of "
            f"{', '.join(SUPPORTED_CONTENT_TYPES)}",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InferenceError(400, f"the {kind} payload is not UTF-8 text: {exc}") from exc
    if kind == CSV:
        rows = _csv_rows(text)
    elif kind in LIBSVM_TYPES:
        return _libsvm_matrix(text, n_features)
    elif kind == JSON:
        rows = _json_rows(_parse_json(text, kind))
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                rows.extend(_json_rows(_parse_json(line, f"{kind} line {number}"), single=True))
    if not rows:
        raise InferenceError(400, f"the {kind} payload holds no records")
    return _to_matrix(rows, n_features, kind)


def _csv_rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines() if line.strip()]


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InferenceError(400, f"the {what} payload is not valid JSON: {exc}") from exc


def _json_rows(payload: Any, single: bool = False) -> list[Any]:
    if isinstance(payload, dict):
        if "instances" in payload and not single:
            return [_json_instance(item) for item in payload["instances"]]
        if "features" in payload or "data" in payload:
            return [_json_instance(payload)]
        raise InferenceError(
            400,
            'a JSON request must be {"instances": [[...], ...]}, {"features": [...]} or a list '
            f"of rows; got an object with keys {sorted(payload)[:5]}",
        )
    if isinstance(payload, list):
        if payload and all(isinstance(item, list | dict) for item in payload) and not single:
            return [_json_instance(item) for item in payload]
        return [payload]
    raise InferenceError(400, f"a JSON request must be an object or a list, not {payload!r}")


def _json_instance(item: Any) -> Any:
    if isinstance(item, dict):
        if "features" in item:
            return item["features"]
        data = item.get("data")
        if isinstance(data, dict) and isinstance(data.get("features"), dict):
            return data["features"].get("values", [])
        raise InferenceError(
            400, f'a JSON instance must be a list or {{"features": [...]}}; got keys {sorted(item)}'
        )
    return item


def _to_matrix(rows: list[Any], n_features: int | None, kind: str) -> np.ndarray:
    if n_features is not None:
        width = n_features
    else:
        width = len(rows[0]) if isinstance(rows[0], list) else 0
    matrix = np.full((len(rows), width), np.nan, dtype=np.float64)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise InferenceError(400, f"{kind} record {number} is not a list of numbers: {row!r}")
        if len(row) != width:
            expected = (
                f"the model expects {width} features"
                if n_features is not None
                else f"record 1 has {width}"
            )
            raise InferenceError(
                400,
                f"{kind} record {number} has {len(row)} values but {expected}; send feature "
                "columns only, without the label or an id column",
            )
        for column, value in enumerate(row):
            matrix[number - 1, column] = _to_float(value, number, column, kind)
    return matrix


def _to_float(value: Any, row: int, column: int, kind: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InferenceError(
            400, f"{kind} record {row}, column {column + 1}: {value!r} is not a number"
        ) from None


def _libsvm_matrix(text: str, n_features: int | None) -> np.ndarray:
    # Indices are column numbers as XGBoost's own libsvm reader reads them at training time.
    entries: list[dict[int, float]] = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        row: dict[int, float] = {}
        for token in line.split():
            if ":" not in token:
                continue  # the label, which a libsvm row may carry first
            index_text, _, value_text = token.partition(":")
            try:
                row[int(index_text)] = float(value_text)
            except ValueError:
                raise InferenceError(
                    400, f"libsvm record {number}: {token!r} is not index:value"
                ) from None
        entries.append(row)
    if not entries:
        raise InferenceError(400, "the libsvm payload holds no records")
    largest = max((max(row) for row in entries if row), default=-1)
    width = n_features if n_features is not None else largest + 1
    if largest >= width:
        raise InferenceError(
            400,
            f"libsvm feature index {largest} is beyond the model's {width} features "
            f"(indices 0..{width - 1})",
        )
    matrix = np.full((len(entries), width), np.nan, dtype=np.float64)
    for row_number, entry in enumerate(entries):
        for column, number_value in entry.items():
            matrix[row_number, column] = number_value
    return matrix


# --------------------------------------------------------------------------- response encoding


def resolve_accept(accept: str | None, environment: Mapping[str, str], default: str = CSV) -> str:
    """The accept type to answer in: ``accept``, else ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``."""
    kind = media_type(accept)
    if not kind or kind == "*/*":
        return media_type(environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")) or default
    return kind


def encode_predictions(
    predictions: np.ndarray, accept: str, *, batch: bool = False
) -> tuple[bytes, str]:
    """Encode predictions like the SageMaker XGBoost container.

    ``batch`` (``SAGEMAKER_BATCH`` set, as in transform jobs) writes one prediction per line
    whatever ``accept`` is, so the output lines up with the input records.

    Examples
    --------
    >>> encode_predictions(np.array([0.5, 1.5]), "application/json")
    (b'{"predictions": [{"score": 0.5}, {"score": 1.5}]}', 'application/json')
    >>> encode_predictions(np.array([0.5, 1.5]), "text/csv")
    (b'0.5\\n1.5\\n', 'text/csv')
    """
    values = np.asarray(predictions).tolist()
    if not isinstance(values, list):
        values = [values]
    kind = media_type(accept)
    if batch or kind == CSV:
        if kind not in SUPPORTED_ACCEPTS and not batch:
            raise _not_acceptable(accept)
        lines = [_csv_value(value) for value in values]
        return ("\n".join(lines) + "\n").encode(), kind or CSV
    if kind == JSON:
        payload = {"predictions": [{"score": value} for value in values]}
        return json.dumps(payload).encode(), JSON
    if kind in JSONLINES_TYPES:
        lines = [json.dumps({"score": value}) for value in values]
        return ("\n".join(lines) + "\n").encode(), kind
    raise _not_acceptable(accept)


def _csv_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _not_acceptable(accept: str) -> InferenceError:
    return InferenceError(
        406, f"Accept {accept!r} is not supported; ask for one of {', '.join(SUPPORTED_ACCEPTS)}"
    )


def _is_batch(environment: Mapping[str, str]) -> bool:
    return environment.get("SAGEMAKER_BATCH", "").strip().lower() in {"true", "1", "yes"}


# --------------------------------------------------------------------------- built-in models


class MatrixPredictor:
    """A model that maps a feature matrix to predictions, served with the XGBoost contract.

    Subclasses implement :meth:`predict_matrix`; this class decodes requests and encodes
    answers, and keeps one prediction at a time per model.
    """

    n_features: int | None = None

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = dict(environment)
        self._lock = threading.Lock()

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Decode ``body``, predict, encode for ``accept`` (see :func:`encode_predictions`)."""
        answer_in = resolve_accept(accept, self.environment)
        features = decode_features(body, content_type or CSV, self.n_features)
        with self._lock:
            predictions = self.predict_matrix(features)
        return encode_predictions(predictions, answer_in, batch=_is_batch(self.environment))


class XGBoostPredictor(MatrixPredictor):
    """An XGBoost booster in native format (``xgboost-model``), as the built-in algorithm serves it.

    Parameters
    ----------
    model_file
        The booster, saved with ``Booster.save_model`` (JSON or UBJSON).
    environment
        The container environment.

    Examples
    --------
    >>> predictor = XGBoostPredictor(Path("model/xgboost-model"), environment={})  # doctest: +SKIP
    >>> predictor.predict(b"1,2,3\\n", "text/csv", None)  # doctest: +SKIP
    (b'0.73\\n', 'text/csv')
    """

    def __init__(self, model_file: Path, *, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        import xgboost as xgb

        self._xgb = xgb
        raw = Path(model_file).read_bytes()
        if raw[:1] == b"\x80":
            raise MLAccelInputError(
                f"{model_file.name} is a pickled booster; the twin does not unpickle files "
                "(unpickling runs code). Save it with booster.save_model('xgboost-model') instead"
            )
        booster = xgb.Booster()
        try:
            # From a buffer XGBoost detects JSON or UBJSON itself, whatever the file is named.
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as exc:
            first_line = str(exc).splitlines()[0]
            raise MLAccelInputError(
                f"{model_file.name} is not an XGBoost model in native format ({first_line}); "
                "save it with booster.save_model(...)"
            ) from exc
        booster.set_param("nthread", "1")  # one request per thread; the twin shares two cores
        self.booster = booster
        self.n_features = int(booster.num_features())

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        matrix = self._xgb.DMatrix(features, missing=np.nan)
        return np.asarray(self.booster.predict(matrix, validate_features=False))


class LinearPredictor(MatrixPredictor):
    """A linear model stored as JSON coefficients (``linear-model.json``).

    The file is an object with ``coefficients`` (a list, or a mapping feature name → weight in
    ``feature_names`` order), ``intercept``, optionally ``feature_names``, ``link``
    (``identity``, or ``logistic`` for a classifier's probability) and standardization
    ``mean`` / ``scale`` lists applied before the weights. ``weights`` / ``coef`` / ``bias`` and
    ``objective`` / ``task`` are read as synonyms.

    Examples
    --------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "linear-model.json").write_text(
    ...     json.dumps({"coefficients": [2.0, -1.0], "intercept": 0.5})
    ... )
    >>> LinearPredictor(folder / "linear-model.json", environment={}).predict(
    ...     b"1,1\\n", "text/csv", None
    ... )
    (b'1.5\\n', 'text/csv')
    """

    def __init__(self, model_file: Path, *, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        spec = _read_linear_spec(model_file)
        self.coefficients = spec["coefficients"]
        self.intercept = spec["intercept"]
        self.mean = spec["mean"]
        self.scale = spec["scale"]
        self.logistic = spec["logistic"]
        self.n_features = int(self.coefficients.shape[0])

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        standardized = (features - self.mean) / self.scale
        scores = np.nan_to_num(standardized) @ self.coefficients + self.intercept
        if self.logistic:
            return np.asarray(1.0 / (1.0 + np.exp(-scores)))
        return np.asarray(scores)


def _read_linear_spec(model_file: Path) -> dict[str, Any]:
    try:
        raw = json.loads(Path(model_file).read_text())
    except ValueError as exc:
        raise MLAccelInputError(f"{model_file.name} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MLAccelInputError(f"{model_file.name} must hold a JSON object of coefficients")
    model: dict[str, Any] = raw["model"] if isinstance(raw.get("model"), dict) else raw
    coefficients = _first(model, "coefficients", "coef", "weights")
    names = _first(model, "feature_names", "features", "columns")
    if isinstance(coefficients, dict):
        names = names or list(coefficients)
        coefficients = [coefficients[name] for name in names]
    if not isinstance(coefficients, list) or not coefficients:
        raise MLAccelInputError(
            f"{model_file.name} has no 'coefficients' list; write "
            '{"coefficients": [...], "intercept": 0.0}'
        )
    weights = np.asarray(coefficients, dtype=np.float64).reshape(-1)
    intercept = float(np.asarray(_first(model, "intercept", "bias") or 0.0).reshape(-1)[0])
    scaler: dict[str, Any] = model["scaler"] if isinstance(model.get("scaler"), dict) else model
    mean = np.asarray(_first(scaler, "mean", "means") or np.zeros_like(weights), dtype=np.float64)
    scale = np.asarray(_first(scaler, "scale", "scales", "std") or np.ones_like(weights), float)
    scale = np.where(scale == 0, 1.0, scale)
    link = str(_first(model, "link", "objective", "task", "kind") or "identity").lower()
    logistic = any(word in link for word in ("logistic", "logit", "sigmoid", "classif", "binary"))
    if mean.shape != weights.shape or scale.shape != weights.shape:
        raise MLAccelInputError(
            f"{model_file.name}: mean/scale must have one value per coefficient "
            f"({weights.shape[0]})"
        )
    return {
        "coefficients": weights,
        "intercept": intercept,
        "mean": mean,
        "scale": scale,
        "logistic": logistic,
    }


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _find_xgboost_model(model_dir: Path) -> Path | None:
    for name in XGBOOST_MODEL_NAMES:
        candidate = model_dir / name
        if candidate.is_file() and not _looks_linear(candidate):
            return candidate
    candidates = sorted(model_dir.glob("*.bst")) + sorted(model_dir.glob("*.ubj"))
    return candidates[0] if candidates else None


def _find_linear_model(model_dir: Path) -> Path | None:
    for name in LINEAR_MODEL_NAMES:
        if (model_dir / name).is_file():
            return model_dir / name
    candidates = sorted(model_dir.glob("*.json"))
    named = [p for p in candidates if "linear" in p.name.lower()]
    return next((p for p in named + candidates if _looks_linear(p)), None)


def _looks_linear(path: Path) -> bool:
    # A JSON file of coefficients, whatever it is called (an XGBoost JSON model has "learner").
    if path.suffix != ".json" or path.stat().st_size > 50 * 1024 * 1024:
        return False
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(raw, dict) or "learner" in raw:
        return False
    model = raw["model"] if isinstance(raw.get("model"), dict) else raw
    return any(key in model for key in ("coefficients", "coef", "weights"))


# --------------------------------------------------------------------------- script mode


def _find_inference_script(model_dir: Path, program: str, environment: Mapping[str, str]) -> Path:
    candidates = [model_dir / "code" / program]
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "").strip()
    if submit.startswith("file://"):
        submit = submit[len("file://") :]
    if submit and "://" not in submit:
        candidates.append(Path(submit) / program)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = "the model's code/ folder" + (f" or {submit}" if submit else "")
    raise MLAccelInputError(
        f"SAGEMAKER_PROGRAM={program!r} is not in {where}; put the script in the model "
        "tarball's code/ folder or set SAGEMAKER_SUBMIT_DIRECTORY to the folder holding it"
    )


_USER_CODE_DIRS: set[str] = set()
_IMPORT_LOCK = threading.Lock()


def _import_user_module(script: Path) -> ModuleType:
    code_dir = str(script.parent.resolve())
    # A name unique to the script's path: two endpoints may both ship an ``inference.py``.
    digest = hashlib.sha1(str(script.resolve()).encode()).hexdigest()[:12]
    module_name = f"mlaccel_twin_user_{script.stem}_{digest}"
    with _IMPORT_LOCK:
        if module_name in sys.modules:
            return sys.modules[module_name]
        _forget_user_code()
        _USER_CODE_DIRS.add(code_dir)
        sys.path.insert(0, code_dir)  # the script imports its sibling modules, as in a container
        spec = importlib.util.spec_from_file_location(module_name, script)
        if spec is None or spec.loader is None:
            raise MLAccelInputError(f"{script.name} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise MLAccelInputError(
                f"importing the inference script {script.name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        sys.modules[module_name] = module
        return module


def _forget_user_code() -> None:
    # Another model's code folder may hold a sibling module of the same name (``helpers.py``):
    # drop those folders from the path and their modules from the cache before importing, so
    # each script gets its own siblings. Loaded scripts keep the modules they already imported.
    for folder in list(_USER_CODE_DIRS):
        while folder in sys.path:
            sys.path.remove(folder)
    for name, loaded in list(sys.modules.items()):
        location = getattr(loaded, "__file__", None) or ""
        if not name.startswith("mlaccel_twin_user_") and any(
            location.startswith(folder + "/") for folder in _USER_CODE_DIRS
        ):
            del sys.modules[name]


class ScriptPredictor:
    """Serve a model with the handlers of a script-mode inference script.

    Calls ``transform_fn(model, data, content_type, accept)`` when defined, else
    ``output_fn(predict_fn(input_fn(data, content_type), model), accept)``, with ``data`` a
    ``str`` for CSV and JSON requests and ``bytes`` otherwise, as the SageMaker inference toolkit
    does. Missing handlers fall back to defaults: ``model_fn`` loads the model folder as the
    built-in container would, ``input_fn`` decodes CSV/JSON/libsvm into a float matrix,
    ``predict_fn`` calls ``model.predict``, ``output_fn`` encodes JSON, CSV, JSON Lines or NPY.
    """

    def __init__(
        self,
        module: ModuleType,
        model_dir: Path,
        *,
        image_uri: str,
        environment: Mapping[str, str],
    ) -> None:
        self.environment = dict(environment)
        self._module = module
        self._lock = threading.Lock()
        model_fn = getattr(module, "model_fn", None)
        try:
            if callable(model_fn):
                self.model = model_fn(str(model_dir))
            else:
                self.model = _load_builtin(model_dir, image_uri, environment)
        except MLAccelError:
            raise
        except Exception as exc:
            raise MLAccelInputError(
                f"model_fn of {module.__file__} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Run the script's handlers on one request."""
        content_type = content_type or CSV
        answer_in = resolve_accept(accept, self.environment, default=JSON)
        data: str | bytes = body
        if media_type(content_type) in {CSV, JSON}:
            data = body.decode("utf-8", errors="replace")
        module = self._module
        try:
            with self._lock:
                transform_fn = getattr(module, "transform_fn", None)
                if callable(transform_fn):
                    result = transform_fn(self.model, data, content_type, answer_in)
                else:
                    input_fn = getattr(module, "input_fn", None) or default_input_fn
                    predict_fn = getattr(module, "predict_fn", None) or default_predict_fn
                    output_fn = getattr(module, "output_fn", None) or default_output_fn
                    result = output_fn(
                        predict_fn(input_fn(data, content_type), self.model), answer_in
                    )
        except InferenceError:
            raise
        except Exception as exc:
            log.warning("inference script raised %s", exc, exc_info=True)
            raise InferenceError(500, f"{type(exc).__name__}: {exc}") from exc
        return _as_response(result, answer_in)


def _as_response(result: Any, accept: str) -> tuple[bytes, str]:
    content_type = accept
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    if isinstance(result, bytes | bytearray):
        return bytes(result), str(content_type)
    if isinstance(result, str):
        return result.encode(), str(content_type)
    return json.dumps(_jsonable(result)).encode(), str(content_type)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def default_input_fn(input_data: str | bytes, content_type: str) -> np.ndarray:
    """Default ``input_fn`` of the twin's script mode: a float matrix, one row per record."""
    body = input_data.encode() if isinstance(input_data, str) else bytes(input_data)
    if media_type(content_type) == NPY:
        return np.asarray(np.load(io.BytesIO(body), allow_pickle=False))
    return decode_features(body, content_type)


def default_predict_fn(data: Any, model: Any) -> Any:
    """Default ``predict_fn``: ``model.predict(data)`` (a DMatrix for XGBoost boosters)."""
    if isinstance(model, MatrixPredictor):
        with model._lock:
            return model.predict_matrix(np.asarray(data, dtype=np.float64))
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        matrix = data if isinstance(data, xgb.DMatrix) else xgb.DMatrix(data, missing=np.nan)
        return model.predict(matrix, validate_features=False)
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """Default ``output_fn``: JSON list, CSV lines, JSON Lines or NPY, as ``accept`` asks."""
    kind = media_type(accept) or JSON
    values = _jsonable(prediction)
    if kind == JSON:
        return json.dumps(values).encode(), JSON
    if kind == CSV:
        rows = values if isinstance(values, list) else [values]
        return ("\n".join(_csv_value(row) for row in rows) + "\n").encode(), CSV
    if kind in JSONLINES_TYPES:
        rows = values if isinstance(values, list) else [values]
        return ("\n".join(json.dumps(row) for row in rows) + "\n").encode(), kind
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), NPY
    raise _not_acceptable(accept)


# --------------------------------------------------------------------------- model artifacts


def fetch_model(
    container: Mapping[str, Any], *, s3_client: Any, dest: Path
) -> tuple[Path, dict[str, str]]:
    """Download and extract a SageMaker container definition's model artifact and code.

    Parameters
    ----------
    container
        A ``ContainerDefinition`` (``Image``, ``ModelDataUrl`` or ``ModelDataSource``,
        ``Environment``), as ``DescribeModel`` returns ``PrimaryContainer``.
    s3_client
        A boto3 S3 client of the backend holding the artifacts.
    dest
        Empty folder to extract into; ``dest/model`` becomes the model folder.

    Returns
    -------
    tuple
        The model folder and the environment, with an S3 ``SAGEMAKER_SUBMIT_DIRECTORY``
        replaced by the local folder it was extracted to.

    Examples
    --------
    >>> model_dir, env = fetch_model(
    ...     {"Image": image, "ModelDataUrl": "s3://bucket/model.tar.gz"},
    ...     s3_client=conn.client("s3"), dest=tmp_path,
    ... )  # doctest: +SKIP
    """
    dest = Path(dest)
    model_dir = dest / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    url = container.get("ModelDataUrl")
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if url:
        _download_artifact(s3_client, str(url), model_dir, dest / "model.tar.gz")
    elif source.get("S3Uri"):
        uri = str(source["S3Uri"])
        if str(source.get("CompressionType", "None")) == "Gzip":
            _download_artifact(s3_client, uri, model_dir, dest / "model.tar.gz")
        else:
            _download_prefix(s3_client, uri, model_dir)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submit.startswith("s3://"):
        code_dir = dest / "code"
        code_dir.mkdir(exist_ok=True)
        if submit.endswith((".tar.gz", ".tgz")):
            _download_artifact(s3_client, submit, code_dir, dest / "sourcedir.tar.gz")
        else:
            _download_prefix(s3_client, submit, code_dir)
        environment["SAGEMAKER_SUBMIT_DIRECTORY"] = str(code_dir)
    return model_dir, environment


def _download_artifact(s3_client: Any, uri: str, into: Path, archive: Path) -> None:
    bucket, key = parse_path(uri)
    try:
        s3_client.download_file(bucket, key, str(archive))
    except Exception as exc:
        raise MLAccelInputError(f"cannot download the model artifact {uri}: {exc}") from exc
    if not tarfile.is_tarfile(archive):
        # A bare model file (not a tarball) is served as it is.
        shutil.copy(archive, into / Path(key).name)
        return
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths, links out and devices
    archive.unlink()


def _download_prefix(s3_client: Any, uri: str, into: Path) -> None:
    bucket, prefix = parse_path(uri)
    paginator = s3_client.get_paginator("list_objects_v2")
    found = False
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name
            if relative.endswith("/") or ".." in Path(relative).parts:
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3_client.download_file(bucket, item["Key"], str(target))
            found = True
    if not found:
        raise MLAccelInputError(f"no model files under {uri}; check the model's S3 location")


# --------------------------------------------------------------------------- HTTP model server


class _ModelHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    predictor: Predictor
    label: str


class _InferenceHandler(BaseHTTPRequestHandler):
    server: _ModelHTTPServer
    protocol_version = "HTTP/1.1"
    # Buffered writes: headers and body leave in one segment. Written separately on a kept-alive
    # connection they meet Nagle's algorithm and the client's delayed ACK: ~40 ms per answer.
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(HTTPStatus.OK, b"", "text/plain")
        elif self.path == "/execution-parameters":
            params = {
                "MaxConcurrentTransforms": 1,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": 6,
            }
            self._send(HTTPStatus.OK, json.dumps(params).encode(), JSON)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or CSV
        accept = self.headers.get("Accept")
        attributes = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        extra = {"X-Amzn-SageMaker-Custom-Attributes": attributes} if attributes else {}
        try:
            answer, answer_type = self.server.predictor.predict(body, content_type, accept)
        except InferenceError as exc:
            self._send(exc.status, str(exc).encode(), "text/plain", extra)
            return
        except Exception as exc:
            log.exception("model %s failed on a request", self.server.label)
            message = f"{type(exc).__name__}: {exc}".encode()
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, message, "text/plain", extra)
            return
        self._send(HTTPStatus.OK, answer, answer_type, extra)

    def _send(
        self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server.label, *args)


class ModelServer:
    """A predictor served over HTTP on loopback with the SageMaker inference contract.

    ``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` takes the request
    body with ``Content-Type`` / ``Accept`` and answers with the prediction, or with the status
    of an :class:`InferenceError` and its message. ``X-Amzn-SageMaker-Custom-Attributes`` is
    returned as it was sent. Requests are served on their own threads.

    Parameters
    ----------
    predictor
        What answers the requests.
    label
        Name used in logs (e.g. ``endpoint/variant``).

    Examples
    --------
    >>> with ModelServer(predictor) as server:  # doctest: +SKIP
    ...     requests.post(server.url + "/invocations", data=b"1,2,3",
    ...                   headers={"Content-Type": "text/csv"}).text
    '0.73\\n'
    """

    def __init__(self, predictor: Predictor, *, label: str = "model") -> None:
        if not callable(getattr(predictor, "predict", None)):
            raise MLAccelInputError("predictor must have predict(body, content_type, accept)")
        self.predictor = predictor
        self.label = label
        self._httpd: _ModelHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise MLAccelError(f"model server {self.label} is not running; call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> ModelServer:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        httpd = _ModelHTTPServer((LOOPBACK, 0), _InferenceHandler)
        httpd.predictor = self.predictor
        httpd.label = self.label
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"model-server-{self.label}",
            daemon=True,
        )
        self._thread.start()
        log.info("model %s serving on %s", self.label, self.url)
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the port (requests in flight finish first)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("model %s stopped", self.label)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
