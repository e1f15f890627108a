"""Drift engine benchmark: baseline and check of 1M rows x 25 columns, next to Evidently.

Generates the seeded drift example (20 numeric + 5 categorical columns, six of them shifted),
writes both tables to Parquet in a temporary folder, and prints:

- baseline time per 1M rows (from Parquet),
- check time for the current rows against a precomputed baseline, end to end from Parquet
  and compute only (table already in memory),
- peak memory (max RSS) of a fresh process running the end-to-end check,
- the same comparison done by Evidently's data-drift report (in its own virtual environment,
  ``bench/.venv-evidently``, created on first use; only the report computation is timed),
  and the ratio.

Run: ``.venv/bin/python bench/drift.py [--rows 1000000] [--repeat 3] [--skip-evidently]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
LIB = HERE.parent / "lib"
sys.path.insert(0, str(LIB))

from mlaccel import monitor  # noqa: E402

EVIDENTLY_VENV = HERE / ".venv-evidently"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3", "pyarrow"]

# VmHWM (the process's own high-water mark) rather than ru_maxrss, which Linux carries over
# from the parent across exec.
_PEAK_MEMORY = """
import resource, sys
sys.path.insert(0, {lib!r})

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

from mlaccel import monitor
baseline = monitor.load_baseline(directory={baseline!r})
before = peak_kb()
monitor.check_against_baseline({current!r}, baseline)
print(before, peak_kb())
"""

_EVIDENTLY = """
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

def load(path):
    frame = pd.read_parquet(path)
    for name in frame.columns:
        if str(frame[name].dtype) == "category":
            frame[name] = frame[name].astype(str)
    return frame

reference, current = load(sys.argv[1]), load(sys.argv[2])
started = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
seconds = time.perf_counter() - started
drifted, methods = [], set()
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if not config["type"].endswith("ValueDrift"):
        continue
    methods.add(config["method"])
    value, threshold = metric["value"], config["threshold"]
    is_p_value = "p_value" in config["method"]
    if (value < threshold) if is_p_value else (value >= threshold):
        drifted.append(config["column"])
print(json.dumps({"seconds": seconds, "drifted": sorted(drifted), "methods": sorted(methods)}))
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    parser.add_argument("--skip-evidently", action="store_true", help="do not run Evidently")
    return parser.parse_args(argv)


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_memory_mb(baseline_dir: Path, current: Path) -> tuple[float, float]:
    """Max RSS (MB) of a fresh process: after imports and baseline load, and after the check."""
    code = _PEAK_MEMORY.format(
        lib=str(LIB), baseline=str(baseline_dir), current=str(current), run=True
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    before_kb, after_kb = float(out[-2]), float(out[-1])
    return before_kb / 1024, after_kb / 1024


def evidently_python() -> tuple[Path | None, str]:
    """The Evidently environment's interpreter, created on first use; or why it is missing."""
    python = EVIDENTLY_VENV / "bin" / "python"
    if python.exists():
        return python, "ready"
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_REQUIREMENTS],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        return (
            None,
            f"could not install {' '.join(EVIDENTLY_REQUIREMENTS)}: {detail.strip()[-400:]}",
        )
    return python, "installed"


def run_evidently(python: Path, reference: Path, current: Path) -> dict[str, Any]:
    finished = subprocess.run(
        [str(python), "-c", _EVIDENTLY, str(reference), str(current)],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if finished.returncode != 0:
        raise RuntimeError(finished.stderr.strip()[-600:])
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows, repeat = args.rows, args.repeat
    per_million = 1_000_000 / rows
    with tempfile.TemporaryDirectory(prefix="mlaccel-drift-bench-") as folder:
        work = Path(folder)
        example = monitor.make_drift_example(rows, seed=0)
        reference, current = work / "baseline.parquet", work / "current.parquet"
        pq.write_table(example.baseline, reference)
        pq.write_table(example.current, current)
        print(
            f"data: {rows:,} rows x {example.current.num_columns} columns "
            f"(20 numeric, 5 categorical), shifted: {sorted(example.shifted)}"
        )

        baseline_s = best_of(repeat, lambda: monitor.compute_baseline(reference))
        monitor.write_baseline(monitor.compute_baseline(reference), work / "baseline")
        baseline = monitor.load_baseline(directory=work / "baseline")
        check_e2e_s = best_of(repeat, lambda: monitor.check_against_baseline(current, baseline))
        table = pq.read_table(current)
        check_compute_s = best_of(repeat, lambda: monitor.check_against_baseline(table, baseline))
        result = monitor.check_against_baseline(current, baseline)
        flagged = sorted(result.flagged_features)
        imports_mb, peak_mb = peak_memory_mb(work / "baseline", current)

        print(f"baseline (from Parquet):        {baseline_s * per_million:6.3f} s per 1M rows")
        print(
            f"check, end to end from Parquet: {check_e2e_s:6.3f} s for {rows:,} rows "
            f"({check_e2e_s * per_million:.3f} s per 1M)"
        )
        print(
            f"check, compute only (in memory): {check_compute_s:5.3f} s for {rows:,} rows "
            f"({check_compute_s * per_million:.3f} s per 1M)"
        )
        print(
            f"peak memory of the check (max RSS): {peak_mb:.0f} MB "
            f"({imports_mb:.0f} MB after imports and baseline load)"
        )
        print(
            f"flagged: {flagged} -> "
            f"{'exactly the shifted columns' if set(flagged) == example.shifted else 'MISMATCH'}"
        )

        if args.skip_evidently:
            print("evidently: skipped (--skip-evidently)")
            return 0
        python, status = evidently_python()
        if python is None:
            print(f"evidently: not run, {status}")
            return 0
        try:
            evidently = run_evidently(python, reference, current)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            print(f"evidently: failed, {error}")
            return 0
        seconds = evidently["seconds"]
        print(
            f"evidently DataDriftPreset report (compute only): {seconds:.3f} s "
            f"({', '.join(evidently['methods'])})"
        )
        print(f"  flagged: {evidently['drifted']}")
        print(
            f"  ratio evidently / mlaccel check: {seconds / check_compute_s:.1f}x compute only, "
            f"{seconds / check_e2e_s:.1f}x vs our end-to-end"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
