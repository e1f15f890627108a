"""Models the twin can serve.

The built-in XGBoost and linear learners, and the loaders users register for other formats
(:func:`register_model_loader`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlaccel._codecs import (
    CSV,
)
from mlaccel.errors import MLAccelInputError
from mlaccel_twin.serving._payloads import (
    decode_features,
    encode_predictions,
    is_batch,
    resolve_accept,
)

log = logging.getLogger(__name__)


XGBOOST_MODEL_NAMES = (
    "xgboost-model",
    "model.json",
    "model.ubj",
    "model.bst",
    "xgboost-model.json",
)


LINEAR_MODEL_NAMES = ("linear-model.json", "linear_model.json")


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


def load_builtin(model_dir: Path, image_uri: str, environment: Mapping[str, str]) -> Predictor:
    """The predictor of a registered loader or a built-in model that fits ``model_dir``."""
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
        return encode_predictions(predictions, answer_in, batch=is_batch(self.environment))


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
        if raw[:1] == PICKLE_START:
            booster = unpickle_booster(raw, Path(model_file).name)
        else:
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


PICKLE_START = b"\x80"
# What a pickled XGBoost model may name: the booster, the scikit-learn wrappers around one, and
# the plain values their state holds. Nothing else is looked up, so unpickling runs no code.
_PICKLED_XGBOOST = {
    ("xgboost.core", "Booster"),
    ("xgboost.sklearn", "XGBRegressor"),
    ("xgboost.sklearn", "XGBClassifier"),
    ("xgboost.sklearn", "XGBRanker"),
    ("xgboost.sklearn", "XGBRFRegressor"),
    ("xgboost.sklearn", "XGBRFClassifier"),
    ("builtins", "bytearray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
}


def unpickle_booster(raw: bytes, name: str) -> Any:
    """The XGBoost booster in a pickled model file (older built-in XGBoost versions write one).

    Only XGBoost's model classes are allowed in the file; anything else is refused, naming it.
    """
    import io
    import pickle

    class XGBoostOnly(pickle.Unpickler):
        def find_class(self, module: str, qualified: str) -> Any:
            if (module, qualified) not in _PICKLED_XGBOOST:
                raise MLAccelInputError(
                    f"{name} is a pickle that names {module}.{qualified}; the twin unpickles "
                    "XGBoost models only. Save the model with booster.save_model(...)"
                )
            return super().find_class(module, qualified)

    try:
        model = XGBoostOnly(io.BytesIO(raw)).load()
    except MLAccelInputError:
        raise
    except Exception as exc:
        raise MLAccelInputError(
            f"{name} is not a pickled XGBoost model ({type(exc).__name__}: {exc}); save it "
            "with booster.save_model(...)"
        ) from exc
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    if type(booster).__name__ != "Booster":
        raise MLAccelInputError(f"{name} holds a {type(booster).__name__}, not an XGBoost model")
    return booster


class LinearPredictor(MatrixPredictor):
    """A linear model stored as JSON coefficients (``linear-model.json``).

    The file is an object with ``coefficients`` (a list, or a mapping feature name → weight in
    ``feature_names`` order), ``intercept``, optionally ``feature_names``, ``link``
    (``identity``, ``logistic`` for a classifier's probability, or ``softmax`` with one column
    of coefficients and one intercept per class, answering every class's probability) and
    standardization
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
        self.softmax = spec["softmax"]
        self.n_features = int(self.coefficients.shape[0])

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        standardized = (features - self.mean) / self.scale
        scores = np.nan_to_num(standardized) @ self.coefficients + self.intercept
        if self.softmax:  # one score per class: probabilities, as multi:softprob answers
            exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
            return np.asarray(exponentials / exponentials.sum(axis=1, keepdims=True))
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
    link = str(_first(model, "link", "objective", "task", "kind") or "identity").lower()
    if "softmax" in link:
        return _softmax_spec(model_file, model, coefficients)
    weights = np.asarray(coefficients, dtype=np.float64).reshape(-1)
    intercept = float(np.asarray(_first(model, "intercept", "bias") or 0.0).reshape(-1)[0])
    scaler: dict[str, Any] = model["scaler"] if isinstance(model.get("scaler"), dict) else model
    mean = np.asarray(_first(scaler, "mean", "means") or np.zeros_like(weights), dtype=np.float64)
    scale = np.asarray(_first(scaler, "scale", "scales", "std") or np.ones_like(weights), float)
    scale = np.where(scale == 0, 1.0, scale)
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
        "softmax": False,
    }


def _softmax_spec(model_file: Path, model: dict[str, Any], coefficients: Any) -> dict[str, Any]:
    """A multinomial model: coefficients features x classes, one intercept per class."""
    weights = np.asarray(coefficients, dtype=np.float64)
    intercept = np.asarray(_first(model, "intercept", "bias") or 0.0, dtype=np.float64)
    if weights.ndim != 2 or intercept.shape not in {(), (weights.shape[1],)}:
        raise MLAccelInputError(
            f"{model_file.name}: a softmax model needs coefficients as one row per feature of "
            f"one value per class, and one intercept per class (got {list(weights.shape)} and "
            f"{list(intercept.shape)})"
        )
    n_features = weights.shape[0]
    mean = np.asarray(_first(model, "mean", "means") or np.zeros(n_features), dtype=np.float64)
    scale = np.asarray(_first(model, "scale", "scales", "std") or np.ones(n_features), float)
    if mean.shape != (n_features,) or scale.shape != (n_features,):
        raise MLAccelInputError(
            f"{model_file.name}: mean/scale must have one value per feature ({n_features})"
        )
    return {
        "coefficients": weights,
        "intercept": intercept,
        "mean": mean,
        "scale": np.where(scale == 0, 1.0, scale),
        "logistic": False,
        "softmax": True,
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
