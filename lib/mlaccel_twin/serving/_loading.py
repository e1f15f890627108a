"""Which predictor a model folder gets.

Registered loaders come first, then script mode (an inference script with ``model_fn`` and its
siblings), then the built-in models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from mlaccel.errors import MLAccelInputError
from mlaccel_twin.serving._predictors import Predictor, load_builtin
from mlaccel_twin.serving._scripts import (
    HANDLER_NAMES,
    ScriptPredictor,
    find_inference_script,
    import_user_module,
)

log = logging.getLogger(__name__)


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
        script = find_inference_script(model_dir, program, environment)
        module = import_user_module(script)
        if any(callable(getattr(module, fn, None)) for fn in HANDLER_NAMES):
            log.info("serving %s with the handlers of %s", model_dir.name, script.name)
            return ScriptPredictor(module, model_dir, image_uri=image_uri, environment=environment)
        log.info("%s defines no inference handler; serving the model itself", script.name)
    return load_builtin(model_dir, image_uri, environment)
