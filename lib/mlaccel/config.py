"""Where mlaccel's settings live: one place, each overridable by an ``MLACCEL_*`` variable.

=====================  ==========================  ==============================================
setting                environment variable        meaning
=====================  ==========================  ==============================================
``backend``            ``MLACCEL_BACKEND``         ``local`` (the twin, default) or ``aws``
``region``             ``MLACCEL_REGION``          AWS region (default ``us-east-1`` on the twin)
``bucket``             ``MLACCEL_BUCKET``          default S3 bucket for data and artifacts
``role_arn``           ``MLACCEL_ROLE_ARN``        SageMaker execution role (``aws`` backend)
``twin_url``           ``MLACCEL_TWIN_URL``        URL of a running twin to use (``local``)
``instance_type``      ``MLACCEL_INSTANCE_TYPE``   default instance type of jobs and endpoints
=====================  ==========================  ==============================================

The twin's own settings (its state folder ``MLACCEL_HOME``, its default bucket and region)
live in ``mlaccel_twin.config``. How often the kit polls a backend is a :class:`WaitPolicy`,
chosen once per connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlaccel.errors import MLAccelInputError

BACKENDS = ("local", "aws")
# The smallest general-purpose instance that every SageMaker job type and endpoint accepts.
DEFAULT_INSTANCE_TYPE = "ml.m5.large"


@dataclass(frozen=True)
class WaitPolicy:
    """The twin's own settings (its state folder ``MLACCEL_HOME``, its default bucket and region)
    live in ``mlaccel_twin.config``. How often the kit polls a backend while it waits, in seconds.

        The twin answers in milliseconds and finishes jobs in seconds; AWS takes minutes, and its
        APIs throttle callers that poll too often.
    """

    #: between status calls of jobs, executions, pipelines and functions
    poll_seconds: float
    #: between status calls of an endpoint (creating or updating one takes minutes on AWS)
    endpoint_poll_seconds: float
    #: between looks for new data-capture files (AWS writes them every few minutes)
    capture_poll_seconds: float
    #: the Wait state between endpoint checks inside a Step Functions workflow
    workflow_endpoint_wait_seconds: int


WAIT_POLICIES = {
    "local": WaitPolicy(0.2, 0.1, 0.5, 1),
    "aws": WaitPolicy(5.0, 15.0, 30.0, 30),
}


def wait_policy(backend: str) -> WaitPolicy:
    """The wait policy of ``backend`` (``local`` or ``aws``).

    Examples
    --------
    >>> wait_policy("aws").poll_seconds
    5.0
    """
    return WAIT_POLICIES[resolve_backend(backend)]


def default_instance_type() -> str:
    """``MLACCEL_INSTANCE_TYPE``, else :data:`DEFAULT_INSTANCE_TYPE`.

    Examples
    --------
    >>> default_instance_type() if "MLACCEL_INSTANCE_TYPE" not in os.environ else "ml.m5.large"
    'ml.m5.large'
    """
    value = setting("instance_type", DEFAULT_INSTANCE_TYPE) or DEFAULT_INSTANCE_TYPE
    if not value.startswith("ml."):
        raise MLAccelInputError(
            f"MLACCEL_INSTANCE_TYPE={value!r} is not a SageMaker instance type; "
            "write one such as ml.m5.large"
        )
    return value


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


def output_dir(*parts: str) -> Path:
    """Where a notebook writes its files (reports, exported definitions), made if missing.

    ``MLACCEL_OUTPUT_DIR`` (the suite runner sets it to its ``--output`` folder), else
    ``output/`` of the working folder, which is what a Studio notebook job uploads. Notebooks
    write nowhere else, so a staged copy works and experimenting never touches the checkout.

    Examples
    --------
    >>> output_dir("reports")  # doctest: +SKIP
    PosixPath('output/reports')
    """
    folder = Path(os.environ.get("MLACCEL_OUTPUT_DIR") or "output").joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setting(name: str, default: str | None = None) -> str | None:
    """Read ``MLACCEL_<NAME>`` from the environment, or ``default``."""
    value = os.environ.get(f"MLACCEL_{name.upper()}")
    return value if value else default
