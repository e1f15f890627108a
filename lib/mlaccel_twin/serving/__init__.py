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
contract (``GET /ping``, ``POST /invocations``): bodies of at most :data:`MAX_REQUEST_BYTES`, sent
within :data:`READ_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

from mlaccel_twin.serving._artifacts import fetch_model
from mlaccel_twin.serving._loading import load_predictor
from mlaccel_twin.serving._payloads import (
    SUPPORTED_ACCEPTS,
    SUPPORTED_CONTENT_TYPES,
    decode_features,
    encode_predictions,
    resolve_accept,
)
from mlaccel_twin.serving._predictors import (
    LinearPredictor,
    MatrixPredictor,
    ModelLoader,
    ModelPredicate,
    Predictor,
    XGBoostPredictor,
    register_model_loader,
)
from mlaccel_twin.serving._scripts import (
    ScriptPredictor,
    default_input_fn,
    default_output_fn,
    default_predict_fn,
)
from mlaccel_twin.serving._server import MAX_REQUEST_BYTES, READ_TIMEOUT_SECONDS, ModelServer

__all__ = [
    "MAX_REQUEST_BYTES",
    "READ_TIMEOUT_SECONDS",
    "SUPPORTED_ACCEPTS",
    "SUPPORTED_CONTENT_TYPES",
    "LinearPredictor",
    "MatrixPredictor",
    "ModelLoader",
    "ModelPredicate",
    "ModelServer",
    "Predictor",
    "ScriptPredictor",
    "XGBoostPredictor",
    "decode_features",
    "default_input_fn",
    "default_output_fn",
    "default_predict_fn",
    "encode_predictions",
    "fetch_model",
    "load_predictor",
    "register_model_loader",
    "resolve_accept",
]
