"""Two fresh runs of the default notebook suite give the same key outputs (issue: reproducible
runs).

Runs ``mlaccel notebooks run`` twice, each in its own new twin (its own ``MLACCEL_HOME``), as two
fresh ``make notebooks`` would, and prints the differences between the two ``summary.json``
files with :func:`mlaccel.notebooks.compare_runs`: durations and outputs recorded as varying
(latencies) are left out, everything else must be equal. Exits 1 when a run failed or the
outputs differ. Run: ``.venv/bin/python bench/reproducible.py [--only 02_engineer_features ...]``
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
from typing import Any

from mlaccel.notebooks import compare_runs

REPO = Path(__file__).resolve().parents[1]


def run_suite_on_a_fresh_twin(folder: Path, only: list[str]) -> tuple[float, list[dict[str, Any]]]:
    """Wall time and summary of one CLI run with a twin of its own (started and stopped)."""
    env = {**os.environ, "MLACCEL_HOME": str(folder / "home"), "MLACCEL_BACKEND": "local"}
    env.pop("MLACCEL_TWIN_URL", None)
    command = [sys.executable, "-m", "mlaccel.cli", "notebooks", "run", "--output"]
    command += [str(folder / "out"), *(["--only", *only] if only else [])]
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=REPO, capture_output=True)
    wall = time.perf_counter() - started
    summary_path = folder / "out" / "summary.json"
    return wall, json.loads(summary_path.read_text()) if summary_path.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="notebooks to run (default: all)")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_suite_on_a_fresh_twin(Path(tmp) / name, args.only) for name in ("a", "b")]
    for index, (wall, summary) in enumerate(runs, start=1):
        statuses = ", ".join(f"{row['notebook']} {row['status']}" for row in summary)
        print(f"run {index}: {wall:.0f} s wall; {statuses or 'no summary written'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    failed = [
        f"run {i}: {row['notebook']}"
        for i, (_, summary) in enumerate(runs, start=1)
        for row in summary
        if row["status"] != "succeeded"
    ]
    if failed or not all(summary for _, summary in runs):
        print("not valid, a run failed: " + ("; ".join(failed) or "no summary"))
        return 1
    first, second = runs[0][1], runs[1][1]
    compared = sum(len(row["key_outputs"]) for row in first)
    varying = sorted({key for row in first for key in row.get("varying_outputs", {})})
    differences = compare_runs(first, second)
    print(f"{compared} key outputs compared; left out as varying: {', '.join(varying) or 'none'}")
    print("differences: " + ("none" if not differences else ""))
    for line in differences:
        print(f"  {line}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
