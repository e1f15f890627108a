"""Wall time of the whole notebook suite on the local twin (target: under 3 minutes).

Runs ``mlaccel notebooks run`` ``--runs`` times (default 2) in one fresh twin service and prints
each notebook's duration from the run summaries: the first run is what ``make test`` pays once
(nbval then re-executes those notebooks, the rerun check), a second one shows the warm time and
that reruns do not fail. Exits 1 when a notebook did not succeed: its time is then not valid.
Run: ``.venv/bin/python bench/notebook_suite.py [--runs 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs in one twin (default: 2)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs={args.runs} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    walls: list[float] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MLACCEL_HOME": str(Path(tmp) / "home")}
        env.pop("MLACCEL_TWIN_URL", None)
        mlaccel = [sys.executable, "-m", "mlaccel.cli"]
        subprocess.run([*mlaccel, "twin", "start"], env=env, check=True, capture_output=True)
        try:
            for run in range(1, args.runs + 1):
                out = Path(tmp) / f"run-{run}"
                started = time.perf_counter()
                subprocess.run(
                    [*mlaccel, "notebooks", "run", "--output", str(out)],
                    env=env,
                    cwd=REPO,
                    capture_output=True,
                )
                walls.append(time.perf_counter() - started)
                summary_path = out / "summary.json"
                summary = json.loads(summary_path.read_text()) if summary_path.exists() else []
                print(f"\nrun {run}: {walls[-1]:.1f} s wall")
                for row in summary:
                    print(f"  {row['notebook']:<24}{row['status']:<11}{row['duration_s']:>7.1f} s")
                    if row["status"] != "succeeded":
                        failed.append(f"run {run}: {row['notebook']} {row['status']}")
                if not summary:
                    failed.append(f"run {run}: no summary written")
        finally:
            subprocess.run([*mlaccel, "twin", "stop"], env=env, capture_output=True)
    measured = " and ".join(f"{w:.0f} s" for w in walls)
    print(f"\ntarget: under 180 s per run; measured {measured}")
    if failed:
        print("not valid, notebooks failed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
