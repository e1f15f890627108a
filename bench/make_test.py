"""Wall time of a ``make`` test lane (target: ``make test`` under 8 minutes on 2 cores).

Runs the lane ``--runs`` times, each in a fresh ``make`` process from the checkout, and prints
every run, the median and the load average before and after. The set-up (``.venv``) is made
first and not counted.
Run: ``python3 bench/make_test.py [--target test|test-fast|test-matrix] [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="test", help="make target to time (default: test)")
    parser.add_argument("--runs", type=int, default=1, help="how many timed runs (default: 1)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to run in")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs={args.runs} must be at least 1")
    return args


def time_lane(repo: Path, target: str) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(["make", target], cwd=repo, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, done.returncode


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    subprocess.run(["make", "setup"], cwd=args.repo, check=True, stdout=subprocess.DEVNULL)
    load_before = os.getloadavg()
    walls = []
    for run in range(1, args.runs + 1):
        wall, code = time_lane(args.repo, args.target)
        walls.append(wall)
        print(f"run {run}: make {args.target} {wall:7.1f} s  exit {code}", flush=True)
        if code != 0:
            print(f"make {args.target} failed (exit {code}): the timing is not valid")
            return code
    load_after = os.getloadavg()
    print(
        f"make {args.target}: median {statistics.median(walls):.1f} s over {len(walls)} run(s); "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
