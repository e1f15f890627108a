"""Where the kit's own files are: ``seedcode/`` and ``snippets/`` next to the library in a clone
of the repo; ``snippets/`` also under ``share/mlaccel/`` of an installed package."""

from __future__ import annotations

import os
import site
import sysconfig
from pathlib import Path

from mlaccel.errors import MLAccelError

_CHECKOUT = Path(__file__).resolve().parents[2]


def seedcode_dir() -> Path:
    """The ``seedcode/`` folder (``MLACCEL_SEEDCODE`` overrides, e.g. in a Studio space)."""
    override = os.environ.get("MLACCEL_SEEDCODE")
    candidates = [Path(override)] if override else []
    candidates.append(_CHECKOUT / "seedcode")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MLAccelError(
        "cannot find the kit's seedcode/ folder: run from a clone of the repository "
        "or set MLACCEL_SEEDCODE to its path"
    )


def snippets_dir() -> Path:
    """The ``snippets/`` folder (``MLACCEL_SNIPPETS`` overrides).

    A clone's own folder comes first, so edits show up without a reinstall; an installed wheel
    carries a copy in ``<prefix>/share/mlaccel/snippets`` (``[tool.setuptools.data-files]``).
    """
    override = os.environ.get("MLACCEL_SNIPPETS")
    if override:
        candidates = [Path(override)]
    else:
        installed = [Path(sysconfig.get_path("data")), Path(site.getuserbase())]
        candidates = [_CHECKOUT / "snippets"]
        candidates += [base / "share" / "mlaccel" / "snippets" for base in installed]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MLAccelError(
        f"cannot find the kit's snippets/ folder (looked in {', '.join(map(str, candidates))}): "
        "run from a clone of the repository, reinstall mlaccel, or set MLACCEL_SNIPPETS to its path"
    )
