"""Wall time of the whole notebook suite on a user's table of 1,000,000 rows x 30 columns,
next to the default suite, in the same run (target: under 5 minutes for the big table).

Writes a seeded table (20 numeric columns, some stored as text with a few unusable values, 6
categorical, a date, an id, a constant and the target) to a Parquet file, then runs
``mlaccel notebooks run`` on it through notebook 01's parameters (``source``, ``target``), and
the default suite, each ``--runs`` times (default 3) alternately on fresh twins; prints every
run, the median of each, the ratio, and the load average before and after. A run whose
notebooks did not all succeed is reported and makes the exit code 1: its time is not valid.
Run: ``.venv/bin/python bench/own_data.py [--rows 1000000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
# Lighter than the workshop defaults where the defaults sample, not where they learn: every
# notebook still runs every step on the whole table.
BIG_TABLE = {
    "defaults": {"data_product": "bench_table"},
    "03_train_model": {"tuning_jobs": 2},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the user table")
    parser.add_argument("--runs", type=int, default=3, help="runs of each suite (default: 3)")
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.runs < 1:
        parser.error("--rows must be at least 1000 and --runs at least 1")
    return args


def user_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """30 columns as a user's table has them: numbers (some as text), categories, a date, an
    id, a constant, and a target that depends on several of them."""
    rng = np.random.default_rng(seed)
    numbers = {f"Measure {i}": rng.normal(i, 1 + i / 10, rows) for i in range(20)}
    for i in (3, 7):  # numbers stored as text, with a few values nobody can use
        column = numbers[f"Measure {i}"].round(3).astype(str).astype(object)
        column[rng.random(rows) < 0.001] = "n/a"
        numbers[f"Measure {i}"] = column
    groups = {f"Group {k}": rng.choice([f"g{k}_{j}" for j in range(5 + k)], rows) for k in range(6)}
    target = (
        2.0 * numbers["Measure 0"]
        - 1.5 * numbers["Measure 1"] ** 2 / 10
        + (groups["Group 0"] == "g0_1") * 3.0
        + rng.normal(0, 1, rows)
    )
    return pd.DataFrame(
        {
            "Customer ID": np.arange(rows).astype(str),
            **numbers,
            **groups,
            "Signup Date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 700, rows), unit="D"),
            "Region": "eu",
            "Outcome": target.round(3),
        }
    )


def run_suite(env: dict[str, str], out: Path, params: Path | None) -> tuple[float, list[dict]]:
    command = [sys.executable, "-m", "mlaccel.cli", "notebooks", "run", "--output", str(out)]
    if params:
        command += ["--params", str(params)]
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=REPO, capture_output=True)
    wall = time.perf_counter() - started
    summary = out / "summary.json"
    return wall, json.loads(summary.read_text()) if summary.exists() else []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    walls: dict[str, list[float]] = {"user table": [], "default suite": []}
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "user_table.parquet"
        user_table(args.rows).to_parquet(table)
        params = Path(tmp) / "params.json"  # JSON is YAML
        big = {
            **BIG_TABLE,
            "01_explore_data": {"source": str(table), "target": "Outcome"},
        }
        params.write_text(json.dumps(big))
        print(f"user table: {args.rows:,} rows x 30 columns, {table.stat().st_size / 1e6:.0f} MB")
        for run in range(1, args.runs + 1):
            for label, suite_params in (("user table", params), ("default suite", None)):
                env = {**os.environ, "MLACCEL_HOME": str(Path(tmp) / f"home-{label}-{run}")}
                env.pop("MLACCEL_TWIN_URL", None)  # a fresh twin per run
                out = Path(tmp) / f"{label.replace(' ', '-')}-{run}"
                wall, summary = run_suite(env, out, suite_params)
                walls[label].append(wall)
                states = ", ".join(f"{r['notebook'][:2]} {r['duration_s']:.0f} s" for r in summary)
                print(f"run {run}, {label}: {wall:.1f} s wall ({states})")
                bad = [r["notebook"] for r in summary if r["status"] != "succeeded"]
                if bad or not summary:
                    failed.append(f"{label} run {run}: {bad or 'no summary'}")
    medians = {label: statistics.median(values) for label, values in walls.items()}
    print(
        f"\nmedian of {args.runs}: user table {medians['user table']:.0f} s (target: under 300 s),"
        f" default suite {medians['default suite']:.0f} s, ratio "
        f"{medians['user table'] / medians['default suite']:.1f}x"
    )
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    if failed:
        print("not valid, notebooks failed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
