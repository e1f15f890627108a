"""What the `lab` extra adds to the kit's base install: package count and size, before and after.

    python bench/lab_environment.py                       # before: the lock of 90ef8bd
    python bench/lab_environment.py --before 90ef8bd --site /tmp/lab-before

The package sets come from lock files (`uv pip compile` output, whose ``# via`` lines are the
dependency graph): the lab extra's packages are those reachable from its roots
(``jupyterlab``, and before the change ``elyra-code-snippet-extension``) and not from the
kit's runtime dependencies. ``--full-before FILE`` reads, instead of the old lock, a set
resolved without the old lock's ``--excludes`` (what ``pip install 'mlaccel[lab]'`` brought):
``git show 90ef8bd:pyproject.toml > /tmp/old/pyproject.toml`` then
``uv pip compile /tmp/old/pyproject.toml --extra lab -o FILE``. Sizes are the bytes each
package's ``RECORD`` lists, read from the project's .venv and from each ``--site`` folder
(``uv pip install --no-deps --target DIR -r FILE`` puts packages no longer installed there);
a package found nowhere is counted and reported as unsized. Reads files only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment_size import record_size

REPO = Path(__file__).resolve().parents[1]
LAB_ROOTS = {"jupyterlab", "elyra-code-snippet-extension"}
# Counted for a Linux or macOS environment: packages only Windows or Pyodide install are left out.
_OTHER_PLATFORMS = ("sys_platform == 'win32'", "os_name == 'nt'", "sys_platform == 'emscripten'")
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^ ;]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_graph(lock_text: str) -> dict[str, set[str]]:
    """Each locked package with the packages its ``# via`` lines name (who needs it)."""
    needed_by: dict[str, set[str]] = {}
    current: str | None = None
    for line in lock_text.splitlines():
        pin = _PIN.match(line)
        if pin and any(other in line for other in _OTHER_PLATFORMS):
            current = None
        elif pin:
            current = normalize(pin.group(1))
            needed_by[current] = set()
            continue
        via = line.strip().removeprefix("#").strip().removeprefix("via").strip()
        if current and line.startswith("    #") and via:
            needed_by[current].add(normalize(via.split(" ")[0]))
    return needed_by


def closure(roots: set[str], needed_by: dict[str, set[str]]) -> set[str]:
    """The roots and everything they need, transitively."""
    needs: dict[str, set[str]] = {}
    for package, parents in needed_by.items():
        for parent in parents:
            needs.setdefault(parent, set()).add(package)
    found, todo = set(), [r for r in roots if r in needed_by]
    while todo:
        package = todo.pop()
        if package not in found:
            found.add(package)
            todo.extend(needs.get(package, ()))
    return found


def runtime_roots(pyproject_text: str) -> set[str]:
    deps = tomllib.loads(pyproject_text)["project"]["dependencies"]
    return {normalize(re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0]) for d in deps}


def lab_only(lock_text: str, pyproject_text: str) -> set[str]:
    graph = read_graph(lock_text)
    base = closure(runtime_roots(pyproject_text), graph)
    return closure(LAB_ROOTS, graph) - base


def sizes(packages: set[str], sites: list[Path]) -> dict[str, int]:
    """Bytes per package, for those whose ``.dist-info`` one of ``sites`` holds."""
    found: dict[str, int] = {}
    for site in sites:
        for info in site.glob("*.dist-info"):
            name = normalize(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
            if name in packages and name not in found:
                found[name] = record_size(info)
    return found


def git_show(revision: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def report(label: str, packages: set[str], sites: list[Path]) -> None:
    sized = sizes(packages, sites)
    unsized = sorted(packages - set(sized))
    print(
        f"{label}: {len(packages)} packages, {sum(sized.values()) / 1e6:.1f} MB"
        + (f" ({len(unsized)} not found to size: {', '.join(unsized[:8])}…)" if unsized else "")
    )
    for nbytes, name in sorted(((n, p) for p, n in sized.items()), reverse=True)[:5]:
        print(f"    {nbytes / 1e6:7.1f} MB  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="90ef8bd", help="git revision of the old lock")
    parser.add_argument("--full-before", type=Path, help="old set resolved without --excludes")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv")
    parser.add_argument("--site", type=Path, action="append", default=[], help="more packages")
    args = parser.parse_args(argv)
    sites = sorted(args.venv.glob("lib/python3*/site-packages")) + args.site
    old_pyproject = git_show(args.before, "pyproject.toml")
    before_lock = git_show(args.before, "requirements/lock.txt")
    after = lab_only(
        (REPO / "requirements/lock.txt").read_text(), (REPO / "pyproject.toml").read_text()
    )
    before = lab_only(before_lock, old_pyproject)
    print("Packages the `lab` extra adds to the kit's runtime dependencies")
    report(f"before ({args.before} lock, Elyra's extensions excluded)", before, sites)
    if args.full_before:
        full = lab_only(args.full_before.read_text(), old_pyproject)
        report("before (pip install 'mlaccel[lab]', nothing excluded)", full, sites)
    report("after (this lock)", after, sites)
    print(f"gone: {', '.join(sorted(before - after))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
