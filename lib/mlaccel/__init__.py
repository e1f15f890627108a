"""mlaccel: code accelerators for ML teams on Amazon SageMaker, with a local AWS twin.

``import mlaccel`` is fast and imports no other part of the kit: ``connect`` and ``Connection``
are loaded on first use, heavy SDKs (SageMaker, awswrangler) only by the functions that use
them. The drift engine (``mlaccel.monitor``) and the twin (``mlaccel_twin``) share the leaf
modules ``errors``, ``_s3`` and ``_codecs`` and nothing else of the accelerators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection, connect
    from mlaccel._paths import seedcode_dir

__version__ = "0.1.0"

__all__ = [
    "Connection",
    "MLAccelError",
    "MLAccelInputError",
    "__version__",
    "connect",
    "seedcode_dir",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the connection module loads when a caller first asks for it.
    if name in ("Connection", "connect"):
        from mlaccel import _connect

        return getattr(_connect, name)
    if name == "seedcode_dir":  # where the scripts jobs and functions run live
        from mlaccel import _paths

        return _paths.seedcode_dir
    raise AttributeError(f"module 'mlaccel' has no attribute {name!r}")
