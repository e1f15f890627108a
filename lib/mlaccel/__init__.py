"""mlaccel: code accelerators for ML teams on Amazon SageMaker, with a local AWS twin.

``import mlaccel`` is fast: heavy SDKs (SageMaker, awswrangler) are imported only by the
functions that use them.
"""

from __future__ import annotations

from mlaccel._connect import Connection, connect
from mlaccel.errors import MLAccelError, MLAccelInputError

__version__ = "0.1.0"

__all__ = ["Connection", "MLAccelError", "MLAccelInputError", "__version__", "connect"]
