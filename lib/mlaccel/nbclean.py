"""Normalize notebooks for git: no outputs, no execution counts, no volatile metadata.

``python -m mlaccel.nbclean [--check] [paths...]`` rewrites (or, with ``--check``, lists and
fails on) notebooks that are not normalized; CI runs the check so committed notebooks cannot
drift from their clean form. The ``parameters`` tag and other cell tags are kept.

The kernel's metadata (``kernelspec``, ``language_info``) is kept as the file has it: JupyterLab
writes the running kernel's on save, and a notebook saved there, outputs aside, stays clean.
``--kernel-metadata`` writes this environment's ipykernel values, exactly what JupyterLab writes,
so opening a notebook there does not mark it modified (``language_info.version`` is kept when the
file has one, so another Python's patch release changes nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEPT_CELL_METADATA = ("tags",)


def normalize(notebook: dict[str, Any]) -> dict[str, Any]:
    """The clean form of a notebook's JSON (a new dict; the input is unchanged)."""
    clean: dict[str, Any] = json.loads(json.dumps(notebook))
    clean["metadata"] = {
        k: v for k, v in clean.get("metadata", {}).items() if k in KEPT_NOTEBOOK_METADATA
    }
    for cell in clean.get("cells", []):
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k in KEPT_CELL_METADATA and v
        }
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return clean


def with_kernel_metadata(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook with the metadata JupyterLab writes for ipykernel's Python kernel.

    A notebook of another kernel (its ``kernelspec.name`` is not ipykernel's) is returned as is.
    """
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    result: dict[str, Any] = json.loads(json.dumps(notebook))
    metadata = result.setdefault("metadata", {})
    if metadata.get("kernelspec", {}).get("name", KERNEL_NAME) != KERNEL_NAME:
        return result
    spec = get_kernel_dict()
    metadata["kernelspec"] = {
        "display_name": spec["display_name"],
        "language": spec["language"],
        "name": KERNEL_NAME,
    }
    language_info = dict(IPythonKernel.language_info)
    language_info["version"] = metadata.get("language_info", {}).get(
        "version", language_info["version"]
    )
    metadata["language_info"] = language_info
    return result


def render(notebook: dict[str, Any]) -> str:
    """JSON text as nbformat writes it (indent 1, sorted keys, trailing newline)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def clean_file(path: Path, *, check: bool, kernel_metadata: bool = False) -> bool:
    """Normalize ``path``; return True when it was (or, with ``check``, would be) changed.

    ``kernel_metadata``: also set :func:`with_kernel_metadata`'s values.
    """
    text = path.read_text(encoding="utf-8")
    clean = normalize(json.loads(text))
    wanted = render(with_kernel_metadata(clean) if kernel_metadata else clean)
    if wanted == text:
        return False
    if not check:
        path.write_text(wanted, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlaccel.nbclean", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    parser.add_argument(
        "--kernel-metadata",
        action="store_true",
        help="write ipykernel's kernelspec and language_info, as JupyterLab does on save",
    )
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("notebooks")])
    args = parser.parse_args(argv)
    files: list[Path] = []
    for path in args.paths:
        files += sorted(path.rglob("*.ipynb")) if path.is_dir() else [path]
    changed = [
        f
        for f in files
        if ".ipynb_checkpoints" not in f.parts
        and clean_file(f, check=args.check, kernel_metadata=args.kernel_metadata)
    ]
    for path in changed:
        verb = "not normalized" if args.check else "normalized"
        sys.stderr.write(f"{path}: {verb}\n")
    if changed and args.check:
        sys.stderr.write("run `python -m mlaccel.nbclean` to strip outputs and volatile metadata\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
