"""Every change the twin makes to moto or to SDK internals, in one place.

Each module here patches one seam and delegates the real work to the kit's own code:

- ``sagemaker_jobs``: training, processing and tuning jobs really run (``mlaccel_twin.jobs``).
- ``transform``: batch transform jobs score with the local predictors (``mlaccel_twin.transform``).
- ``endpoints``: endpoints start local model servers; InvokeEndpoint reaches them.
- ``athena``: SQL on Glue tables runs in DuckDB (``mlaccel_twin.athena``).
- ``stepfunctions``: ``sagemaker:*.sync`` tasks in moto's state-machine interpreter.
- ``awslambda``: Lambda invocations call the Python handler in-process.
- ``events``: EventBridge rules deliver to Step Functions and Lambda targets.
- ``sns``: e-mail subscriptions deliver to an outbox.
- ``pipelines``: SageMaker Pipelines run with the SDK's local executor on the twin's jobs.

Every public module of this package is a seam and defines ``install(runtime)``.

The patches were written against the versions in :data:`PINNED_VERSIONS`; :func:`check_versions`
fails loudly when another version is installed, and ``tests/test_twin_patches.py`` proves each
seam still behaves.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata

from mlaccel.errors import MLAccelError
from mlaccel_twin._runtime import TwinRuntime

PINNED_VERSIONS = {"moto": "5.2.5", "sagemaker": "2.257.7", "stepfunctions": "2.3.0"}

_installed: set[str] = set()


def check_versions() -> None:
    """Raise when a patched package is not at the version its patch was written for."""
    wrong = {
        name: metadata.version(name)
        for name, pinned in PINNED_VERSIONS.items()
        if metadata.version(name) != pinned
    }
    if wrong:
        found = ", ".join(f"{n}=={v} (patched for {PINNED_VERSIONS[n]})" for n, v in wrong.items())
        raise MLAccelError(
            f"the local twin patches internals of {found}; reinstall the pinned versions "
            "with `pip install -e .` or update mlaccel_twin/patches and its tests"
        )


def install(runtime: TwinRuntime) -> None:
    """Install every seam once per process; the seams read the active runtime when called."""
    # Every module of this package is a seam defining ``install(runtime)``.
    seams = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for seam in seams:
        if seam in _installed:
            continue
        module = importlib.import_module(f"{__name__}.{seam}")
        module.install(runtime)
        _installed.add(seam)
