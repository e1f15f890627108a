"""Where the kit's own files are: ``seedcode/`` next to the library in a clone of the repo."""

from __future__ import annotations

import os
from pathlib import Path

from mlaccel.errors import MLAccelError


def seedcode_dir() -> Path:
    """The ``seedcode/`` folder (``MLACCEL_SEEDCODE`` overrides, e.g. in a Studio space)."""
    override = os.environ.get("MLACCEL_SEEDCODE")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2] / "seedcode")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MLAccelError(
        "cannot find the kit's seedcode/ folder: run from a clone of the repository "
        "or set MLACCEL_SEEDCODE to its path"
    )
