"""The kit's snippets, and the JupyterLab sidebar that lists them.

Each ``snippets/<area>/<name>.py`` starts with a docstring header::

    Title: Query a lake table with SQL
    Description: Athena in an account, DuckDB on the local twin: one call.
    Needs: conn, a published table

The sidebar is the kit's own JupyterLab extension (``mlaccel.lab`` serves the catalog, a
prebuilt frontend lists it). A wheel puts both in place; :func:`install` puts them in an
environment that has not got them, such as an editable install from a clone.

Examples
--------
>>> from mlaccel import snippets
>>> [s.area for s in snippets.load_snippets()][:1]  # doctest: +SKIP
['data_access']
>>> snippets.install().labextension  # doctest: +SKIP
PosixPath('.../share/jupyter/labextensions/mlaccel-snippets')
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from mlaccel._paths import _CHECKOUT, snippets_dir
from mlaccel.errors import MLAccelError

__all__ = [
    "CATALOG_FILE",
    "HEADER_FIELDS",
    "NAME_PREFIX",
    "SERVER_CONFIG",
    "InstallResult",
    "Snippet",
    "catalog",
    "install",
    "load_snippets",
    "parse_snippet",
]

NAME_PREFIX = "mlaccel-"
_EXTENSION = "mlaccel-snippets"
_SERVER_CONFIG = Path("etc", "jupyter", "jupyter_server_config.d", "mlaccel.json")
CATALOG_FILE = "catalog.json"
"""The catalog's copy in the frontend's ``static/`` folder, read when the server has none."""
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"mlaccel.lab": True}}}
"""What ``jupyter_server_config.d/mlaccel.json`` holds: Jupyter Server loads ``mlaccel.lab``."""
HEADER_FIELDS = ("Title", "Description", "Needs")
_FIELD_LINE = re.compile(rf"^({'|'.join(HEADER_FIELDS)}):(.*)$")


@dataclass(frozen=True)
class Snippet:
    """One snippet file, its header parsed."""

    area: str
    """The folder it is in, e.g. ``data_access``; the sidebar groups by it."""
    path: Path
    title: str
    description: str
    needs: str
    """What must exist before it runs, e.g. ``conn, a published table``."""
    body: str
    """The code after the header, as it goes into a cell."""

    @property
    def name(self) -> str:
        """Its name: ``mlaccel-<area>-<file stem>``, lower case, ``-`` for ``_``."""
        return NAME_PREFIX + f"{self.area}-{self.path.stem}".lower().replace("_", "-")

    @property
    def code(self) -> str:
        """The cell the sidebar inserts: a two-line comment (title, needs), then the body."""
        return f"# {self.title}\n# Needs: {self.needs}\n\n{self.body}"


@dataclass
class InstallResult:
    """What :func:`install` did."""

    labextension: Path
    """The frontend's folder, ``<prefix>/share/jupyter/labextensions/mlaccel-snippets``."""
    server_config: Path
    """The file that enables the server extension, in ``jupyter_server_config.d``."""
    copied: bool = False
    """Whether the frontend was copied (False: it was in place, as a wheel puts it)."""


def parse_snippet(path: Path, area: str | None = None) -> Snippet:
    """Read one snippet file and its header.

    Parameters
    ----------
    path
        A ``.py`` file whose module docstring has a ``Title:``, a ``Description:`` and a
        ``Needs:`` line; a line that starts with none of these continues the field before it.
    area
        The snippet's area; default: the name of the folder the file is in.

    Raises
    ------
    MLAccelError
        The file has no docstring header, or a field is missing, repeated or empty.
    """
    text = path.read_text(encoding="utf-8")
    fix = f"start {path} with a docstring of {', '.join(f + ': ...' for f in HEADER_FIELDS)} lines"
    try:
        module = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise MLAccelError(f"snippet {path} is not valid Python: {exc}") from exc
    doc = ast.get_docstring(module)
    if not module.body or doc is None:
        raise MLAccelError(f"snippet {path} has no header docstring: {fix}")
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for raw in doc.splitlines():
        line = raw.strip()
        match = _FIELD_LINE.match(line)
        if match:
            current = match.group(1)
            if current in fields:
                raise MLAccelError(f"snippet {path}: header field {current!r} appears twice")
            fields[current] = [match.group(2).strip()]
        elif line and current is None:
            raise MLAccelError(f"snippet {path}: header line {line!r} comes before Title: {fix}")
        elif line and current is not None:
            fields[current].append(line)
    values = {key: " ".join(part for part in parts if part) for key, parts in fields.items()}
    missing = [f for f in HEADER_FIELDS if not values.get(f)]
    if missing:
        raise MLAccelError(f"snippet {path}: header has no or an empty {', '.join(missing)}: {fix}")
    end = module.body[0].end_lineno or 0
    body = "\n".join(text.splitlines()[end:]).strip("\n")
    if not body.strip():
        raise MLAccelError(f"snippet {path} has a header but no code after it")
    return Snippet(
        area=area or path.parent.name,
        path=path,
        title=values["Title"],
        description=values["Description"],
        needs=values["Needs"],
        body=body + "\n",
    )


def load_snippets(folder: Path | None = None) -> list[Snippet]:
    """Every ``<area>/*.py`` snippet under ``folder`` (default: the kit's ``snippets/``).

    Sorted by area, then file name.

    Raises
    ------
    MLAccelError
        The folder has no snippets, or one of them has a malformed header.
    """
    root = folder if folder is not None else snippets_dir()
    paths = sorted(
        p for p in root.glob("*/*.py") if not p.name.startswith(("_", ".")) and p.is_file()
    )
    if not paths:
        raise MLAccelError(
            f"no snippets in {root}: expected <area>/<name>.py files there "
            "(point MLACCEL_SNIPPETS or --source at the kit's snippets/ folder)"
        )
    snippets = [parse_snippet(p) for p in paths]
    seen: dict[str, Path] = {}
    for snippet in snippets:
        if snippet.name in seen:
            raise MLAccelError(
                f"snippets {seen[snippet.name]} and {snippet.path} both become "
                f"{snippet.name!r}: rename one of them"
            )
        seen[snippet.name] = snippet.path
    return snippets


def catalog(snippets: list[Snippet]) -> dict[str, Any]:
    """The snippets as the sidebar reads them: areas in order, each with its snippets."""
    ordered = sorted(snippets, key=lambda s: (s.area, s.path.name))
    return {
        "areas": [
            {
                "name": area,
                "snippets": [
                    {
                        "name": s.name,
                        "title": s.title,
                        "description": s.description,
                        "needs": s.needs,
                        "code": s.code,
                    }
                    for s in members
                ],
            }
            for area, members in groupby(ordered, key=lambda s: s.area)
        ]
    }


def install(
    snippets: list[Snippet] | None = None,
    *,
    prefix: Path | None = None,
    source: Path | None = None,
) -> InstallResult:
    """Put the snippets sidebar in a Jupyter environment: the built frontend, a copy of the
    catalog beside it, and the file that enables the server extension.

    Idempotent. A wheel already installs the frontend and the file under its prefix; then
    nothing is copied. The catalog's copy is what the sidebar reads when the server has no
    ``mlaccel.lab`` (a JupyterLab of another environment, e.g. SageMaker Studio's image:
    ``--target ~/.local`` there); run this again after the snippets change.

    Parameters
    ----------
    snippets
        The catalog's snippets; default: :func:`load_snippets` of the kit's folder.
    prefix
        The environment's prefix (``share/jupyter`` and ``etc/jupyter`` below it);
        default: this Python's ``sys.prefix``.
    source
        The built frontend (``lab/labextension`` of a clone, ``make labextension`` builds it);
        default: the clone's, else the copy the wheel installed.

    Raises
    ------
    MLAccelError
        No built frontend was found.
    """
    base = prefix if prefix is not None else Path(sys.prefix)
    target = base / "share" / "jupyter" / "labextensions" / _EXTENSION
    built = source if source is not None else _built_labextension()
    if not (built / "package.json").is_file():
        raise MLAccelError(
            f"no built JupyterLab extension in {built}: run `make labextension` in a clone, "
            "or reinstall mlaccel from its wheel"
        )
    result = InstallResult(labextension=target, server_config=base / _SERVER_CONFIG)
    if built.resolve() != target.resolve():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(built, partial)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # JupyterLab never reads half a copy
        result.copied = True
    chosen = snippets if snippets is not None else load_snippets()
    copy = target / "static" / CATALOG_FILE
    copy.write_text(json.dumps(catalog(chosen), indent=1) + "\n", encoding="utf-8")
    result.server_config.parent.mkdir(parents=True, exist_ok=True)
    result.server_config.write_text(json.dumps(SERVER_CONFIG, indent=2) + "\n", encoding="utf-8")
    return result


def _built_labextension() -> Path:
    """The clone's build when there is one (it is the newest), else the copy the wheel put
    under this Python's prefix (whatever prefix the sidebar is installed into)."""
    checkout = _CHECKOUT / "lab" / "labextension"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "jupyter" / "labextensions" / _EXTENSION
