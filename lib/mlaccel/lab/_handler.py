"""The catalog's HTTP handler (imports Jupyter Server, so only the server loads it)."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from mlaccel import snippets
from mlaccel.errors import MLAccelError
from mlaccel.lab import ENDPOINT, catalog


class SnippetCatalogHandler(APIHandler):
    """``GET``: the catalog; read at each request, so an edited snippet shows on refresh."""

    @web.authenticated
    def get(self) -> None:
        try:
            found = snippets.load_snippets()
        except MLAccelError as exc:  # the sidebar shows the message, which says what to fix
            self.set_status(500)
            self.finish(json.dumps({"message": str(exc)}))
            return
        self.finish(json.dumps(catalog(found)))


def register(web_app: Any) -> None:
    """Serve the catalog at ``<base_url>/mlaccel/snippets``."""
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base, ENDPOINT), SnippetCatalogHandler)])
