"""Where mlaccel's settings live: one place, each overridable by an ``MLACCEL_*`` variable.

=====================  ==========================  ==============================================
setting                environment variable        meaning
=====================  ==========================  ==============================================
``backend``            ``MLACCEL_BACKEND``         ``local`` (the twin, default) or ``aws``
``region``             ``MLACCEL_REGION``          AWS region (default ``us-east-1`` on the twin)
``bucket``             ``MLACCEL_BUCKET``          default S3 bucket for data and artifacts
``role_arn``           ``MLACCEL_ROLE_ARN``        SageMaker execution role (``aws`` backend)
``twin_url``           ``MLACCEL_TWIN_URL``        URL of a running twin to use
``home``               ``MLACCEL_HOME``            state folder of the twin service
=====================  ==========================  ==============================================
"""

from __future__ import annotations

import os
from pathlib import Path

from mlaccel.errors import MLAccelInputError

BACKENDS = ("local", "aws")
TWIN_REGION = "us-east-1"
TWIN_BUCKET = "mlaccel-local"
TWIN_ROLE_NAME = "MLAccelSageMakerExecutionRole"


def resolve_backend(backend: str | None = None) -> str:
    """Return the backend to use: the argument, else ``MLACCEL_BACKEND``, else ``local``.

    Examples
    --------
    >>> resolve_backend("aws")
    'aws'
    """
    chosen = backend if backend is not None else os.environ.get("MLACCEL_BACKEND", "local")
    chosen = chosen.strip().lower() if isinstance(chosen, str) else chosen
    if chosen not in BACKENDS:
        source = "backend" if backend is not None else "MLACCEL_BACKEND"
        raise MLAccelInputError(
            f"{source}={chosen!r} is not a backend; use one of {', '.join(BACKENDS)} "
            "('local' runs on the embedded AWS twin, 'aws' on your account)."
        )
    return str(chosen)


def home_dir() -> Path:
    """Folder where the twin service keeps its state file, job folders and outbox."""
    return Path(os.environ.get("MLACCEL_HOME") or Path.home() / ".mlaccel")


def setting(name: str, default: str | None = None) -> str | None:
    """Read ``MLACCEL_<NAME>`` from the environment, or ``default``."""
    value = os.environ.get(f"MLACCEL_{name.upper()}")
    return value if value else default
