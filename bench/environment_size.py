"""Size on disk and package count of a Python environment, for before/after figures.

    python bench/environment_size.py                 # the project's .venv
    python bench/environment_size.py /tmp/venv --top 15

The size is what ``du -sh`` counts (allocated blocks, each hard-linked file once; in GiB) for
the whole environment folder; the packages are the installed distributions (``*.dist-info``) of
its site-packages, the kit itself included. The largest distributions are sized from their
``RECORD`` files. Reads files only: the environment's Python is never started.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def disk_usage(folder: Path) -> int:
    """Bytes allocated to the files and folders under ``folder`` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            stat = os.lstat(os.path.join(root, name))
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_blocks * 512
    return total


def site_packages(venv: Path) -> list[Path]:
    found = sorted(venv.glob("lib/python3*/site-packages")) + sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise SystemExit(f"{venv} has no lib/python3*/site-packages: give a virtualenv's folder")
    return found


def distributions(venv: Path) -> dict[str, Path]:
    """Installed distributions by normalized name, each with its ``.dist-info`` folder."""
    found = {}
    for folder in site_packages(venv):
        for info in folder.glob("*.dist-info"):
            name = info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            found[re.sub(r"[-_.]+", "-", name).lower()] = info
    return found


def record_size(info: Path) -> int:
    """Bytes of the files a distribution's RECORD lists (0 when it has none)."""
    record = info / "RECORD"
    if not record.exists():
        return 0
    total = 0
    with record.open(newline="") as handle:
        for row in csv.reader(handle):
            if row and len(row) > 2 and row[2].isdigit():
                total += int(row[2])
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", nargs="?", type=Path, default=REPO / ".venv")
    parser.add_argument("--top", type=int, default=10, help="list the N largest distributions")
    args = parser.parse_args(argv)
    if not args.venv.is_dir():
        parser.error(f"{args.venv} is not a folder: give a virtualenv (default: {REPO / '.venv'})")
    found = distributions(args.venv)
    size = disk_usage(args.venv)
    print(f"{args.venv}: {size / 2**30:.2f} GiB on disk, {len(found)} packages")
    largest = sorted(((record_size(info), name) for name, info in found.items()), reverse=True)
    for nbytes, name in largest[: args.top]:
        print(f"  {nbytes / 1e6:8.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
