"""The kit's snippets sidebar for JupyterLab: a server extension that serves the snippet catalog.

``GET <base_url>/mlaccel/snippets`` returns the snippets of the kit's ``snippets/`` folder grouped
by area (:func:`catalog`); the frontend (TypeScript under ``lab/`` in the repository, its build
shipped in ``share/jupyter/labextensions/mlaccel-snippets``) lists them with a search box and
inserts one into the active notebook. Jupyter Server enables it from the
``jupyter_server_config.d/mlaccel.json`` file the kit installs.

Examples
--------
>>> from mlaccel import lab, snippets
>>> areas = lab.catalog(snippets.load_snippets())["areas"]  # doctest: +SKIP
>>> areas[0]["name"]  # doctest: +SKIP
'data_access'
"""

from __future__ import annotations

from typing import Any

from mlaccel.snippets import catalog

__all__ = ["ENDPOINT", "EXTENSION_NAME", "catalog"]

EXTENSION_NAME = "mlaccel-snippets"
"""The labextension's name: its folder under ``share/jupyter/labextensions``."""
ENDPOINT = "mlaccel/snippets"
"""Where the catalog is served, below the server's base URL."""


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """How Jupyter Server finds this extension (``jpserver_extensions`` names this module)."""
    return [{"module": "mlaccel.lab"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Add the catalog handler to a running Jupyter Server."""
    from mlaccel.lab._handler import register

    register(server_app.web_app)
