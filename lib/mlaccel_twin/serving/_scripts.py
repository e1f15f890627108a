"""Script-mode models: the user's inference script, as the SageMaker framework containers run it.

The script defines ``model_fn``, ``input_fn``, ``predict_fn`` and ``output_fn`` (or
``transform_fn``); the ones it leaves out fall back to the defaults here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from mlaccel._codecs import (
    CSV,
    JSON,
    JSONLINES_TYPES,
    NPY,
    media_type,
)
from mlaccel.errors import InferenceError, MLAccelError, MLAccelInputError
from mlaccel_twin.serving._payloads import (
    csv_value,
    decode_features,
    not_acceptable,
    resolve_accept,
)
from mlaccel_twin.serving._predictors import MatrixPredictor, load_builtin

log = logging.getLogger(__name__)


HANDLER_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


def find_inference_script(model_dir: Path, program: str, environment: Mapping[str, str]) -> Path:
    """The script ``SAGEMAKER_PROGRAM`` names: in the model's ``code/`` or the submit folder."""
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


def import_user_module(script: Path) -> ModuleType:
    """Import an inference script under a name unique to its path, its folder on ``sys.path``."""
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
                self.model = load_builtin(model_dir, image_uri, environment)
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
        return ("\n".join(csv_value(row) for row in rows) + "\n").encode(), CSV
    if kind in JSONLINES_TYPES:
        rows = values if isinstance(values, list) else [values]
        return ("\n".join(json.dumps(row) for row in rows) + "\n").encode(), kind
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue(), NPY
    raise not_acceptable(accept)
