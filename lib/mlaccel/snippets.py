"""The kit's snippets as JupyterLab code snippets.

Each ``snippets/<area>/<name>.py`` starts with a docstring header::

    Title: Query a lake table with SQL
    Description: Athena in an account, DuckDB on the local twin: one call.
    Needs: conn, a published table

:func:`install` writes one instance per snippet in the format of the code-snippets sidebar
(``elyra-code-snippet-extension``): ``<jupyter data dir>/metadata/code-snippets/<name>.json``.
The kit's own instances are the files named ``mlaccel-*.json``; nothing else there is touched.

Examples
--------
>>> from mlaccel import snippets
>>> result = snippets.install()  # doctest: +SKIP
>>> result.written[:1]  # doctest: +SKIP
['mlaccel-data-access-browse-catalog']
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel._paths import snippets_dir
from mlaccel.errors import MLAccelError

__all__ = [
    "HEADER_FIELDS",
    "NAME_PREFIX",
    "SCHEMASPACE",
    "InstallResult",
    "Snippet",
    "default_data_dir",
    "install",
    "instance",
    "load_snippets",
    "parse_snippet",
]

NAME_PREFIX = "mlaccel-"
SCHEMASPACE = "code-snippets"
HEADER_FIELDS = ("Title", "Description", "Needs")
_FIELD_LINE = re.compile(rf"^({'|'.join(HEADER_FIELDS)}):(.*)$")


@dataclass(frozen=True)
class Snippet:
    """One snippet file, its header parsed."""

    area: str
    """The folder it is in, e.g. ``data_access``; becomes its tag in the sidebar."""
    path: Path
    title: str
    description: str
    needs: str
    """What must exist before it runs, e.g. ``conn, a published table``."""
    body: str
    """The code after the header, as it goes into a cell."""

    @property
    def name(self) -> str:
        """The instance name: ``mlaccel-<area>-<file stem>``, lower case, ``-`` for ``_``."""
        return NAME_PREFIX + f"{self.area}-{self.path.stem}".lower().replace("_", "-")

    @property
    def code(self) -> str:
        """The cell the sidebar inserts: a two-line comment (title, needs), then the body."""
        return f"# {self.title}\n# Needs: {self.needs}\n\n{self.body}"


@dataclass
class InstallResult:
    """What :func:`install` did."""

    directory: Path
    """The ``metadata/code-snippets`` folder written to."""
    written: list[str] = field(default_factory=list)
    """Names of the instances written (new or overwritten)."""
    removed: list[str] = field(default_factory=list)
    """Names of the kit's instances removed because their snippet file is gone."""


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


def instance(snippet: Snippet) -> dict[str, Any]:
    """The code-snippet metadata instance of one snippet, as the sidebar reads it."""
    return {
        "name": snippet.name,
        "display_name": snippet.title,
        "metadata": {
            "description": f"{snippet.description} Needs: {snippet.needs}.",
            "language": "Python",
            "code": snippet.code.splitlines(),
            "tags": [snippet.area],
        },
        "schema_name": "code-snippet",
    }


def default_data_dir() -> Path:
    """The Jupyter data dir: ``JUPYTER_DATA_DIR`` if set, else the user's (jupyter_core)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir())


def install(
    snippets: list[Snippet] | None = None, *, data_dir: Path | None = None
) -> InstallResult:
    """Write the snippets as code-snippet instances; remove the kit's stale ones.

    Idempotent: a second run rewrites the same files. Only files named ``mlaccel-*.json`` are
    written or removed, so snippets a person made in the sidebar stay as they are.

    Parameters
    ----------
    snippets
        What to install; default: :func:`load_snippets` of the kit's ``snippets/`` folder.
    data_dir
        A Jupyter data dir; default: :func:`default_data_dir`. The instances go to its
        ``metadata/code-snippets/`` folder.
    """
    chosen = snippets if snippets is not None else load_snippets()
    base = data_dir if data_dir is not None else default_data_dir()
    directory = base / "metadata" / SCHEMASPACE
    directory.mkdir(parents=True, exist_ok=True)
    result = InstallResult(directory=directory)
    wanted = {snippet.name for snippet in chosen}
    for stale in sorted(directory.glob(f"{NAME_PREFIX}*.json")):
        if stale.stem not in wanted:
            stale.unlink()
            result.removed.append(stale.stem)
    for snippet in chosen:
        target = directory / f"{snippet.name}.json"
        partial = target.with_suffix(".json.partial")
        partial.write_text(json.dumps(instance(snippet), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)  # the sidebar's file watcher never sees half a file
        result.written.append(snippet.name)
    return result
