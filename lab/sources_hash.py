"""The hash of the Snippets sidebar's sources, recorded beside its build.

``make labextension`` runs ``python lab/sources_hash.py --write`` after building;
tests/mlaccel/test_snippets_menu.py fails when the recorded hash no longer matches the sources,
that is when a source changed and the committed build was not rebuilt.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parent
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "src", "style")
RECORD = LAB / "labextension" / "sources.sha256"


def source_files(root: Path = LAB) -> list[Path]:
    """Every file the build reads, in a stable order."""
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def sources_hash(root: Path = LAB) -> str:
    """SHA-256 over each source's path (relative to ``root``) and bytes."""
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        RECORD.write_text(sources_hash() + "\n", encoding="utf-8")
    sys.stdout.write(sources_hash() + "\n")
