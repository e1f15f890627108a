"""Where the kit's own files are: ``seedcode/``, ``snippets/`` and ``notebooks/`` next to the
library in a clone of the repo, else under ``<prefix>/share/mlaccel/`` of an installed wheel
(``[tool.setuptools.data-files]`` in ``pyproject.toml``)."""

from __future__ import annotations

import os
import site
import sysconfig
from pathlib import Path

from mlaccel.errors import MLAccelError

_CHECKOUT = Path(__file__).resolve().parents[2]


def seedcode_dir() -> Path:
    """The ``seedcode/`` folder (``MLACCEL_SEEDCODE`` overrides, e.g. in a Studio space)."""
    return _kit_folder("seedcode", "MLACCEL_SEEDCODE")


def snippets_dir() -> Path:
    """The ``snippets/`` folder (``MLACCEL_SNIPPETS`` overrides)."""
    return _kit_folder("snippets", "MLACCEL_SNIPPETS")


def notebooks_dir() -> Path:
    """The ``notebooks/`` folder with the suite file, ``suite.yaml``."""
    return _kit_folder("notebooks", None)


def installed_copies() -> list[Path]:
    """The folders an installed wheel puts the kit's files in: ``<prefix>/share/mlaccel`` of
    the environment, then of the user's site (``pip install --user``)."""
    bases = [Path(sysconfig.get_path("data")), Path(site.getuserbase())]
    return [base / "share" / "mlaccel" for base in bases]


def is_installed_copy(path: Path) -> bool:
    """Whether ``path`` is inside the copy of the kit's files an installed wheel carries (files
    to read, not a place to write)."""
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(copy.resolve()) for copy in installed_copies())


def _kit_folder(name: str, override_variable: str | None) -> Path:
    """The kit's folder ``name``: the variable's path when set (it must exist), else a clone's
    own folder first, so edits show up without a reinstall, then an installed wheel's copy."""
    override = os.environ.get(override_variable) if override_variable else None
    if override:
        candidates = [Path(override)]
    else:
        candidates = [_CHECKOUT / name] + [copy / name for copy in installed_copies()]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    fix = f", or set {override_variable} to its path" if override_variable else ""
    raise MLAccelError(
        f"cannot find the kit's {name}/ folder (looked in {', '.join(map(str, candidates))}): "
        f"run from a clone of the repository, reinstall mlaccel{fix}"
    )
