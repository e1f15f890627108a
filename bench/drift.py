"""Drift engine benchmark: baseline and check of N rows x 25 columns, next to Evidently.

Writes the seeded drift example (20 numeric + 5 categorical columns, six of them shifted) to
Parquet in row groups of 1M rows (10M rows are written chunk by chunk, never held whole),
and prints, each a median of ``--repeat`` runs:

- baseline time per 1M rows (from Parquet, in this process);
- warm check: this process, engine imported and already used once;
- first check of a fresh process, end to end: interpreter start, import, baseline load
  and the check of the Parquet file (what an analyzer container or a Lambda pays), with
  its CPU time and peak memory (VmHWM, the process's own high-water mark);
- Evidently's data-drift report on the same files, run in the same minute (in its own
  virtual environment, ``bench/.venv-evidently``, created on first use), and the ratios:
  wall time against our warm check, CPU time against our fresh process;
- the floor under that fresh check: a fresh process that imports the engine and only reads
  the file as the check does (the rest is the check's own work);
- the largest distance of an unshifted column, numeric (0 when the Robust correction
  absorbs the sampling noise, as it should) and categorical;
- the load average before and after, since the machine may be shared.

Run: ``.venv/bin/python bench/drift.py [--rows 1000000] [--repeat 5] [--skip-evidently]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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
from mlaccel.monitor._kernel import COMPILED  # noqa: E402

EVIDENTLY_VENV = HERE / ".venv-evidently"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3", "pyarrow"]
CHUNK_ROWS = 1_000_000

# A fresh process checking the files; it reports its phases and its own peak memory.
_FRESH_CHECK = """
import time
started = time.perf_counter()
import sys
sys.path.insert(0, {lib!r})
from mlaccel import monitor
imported = time.perf_counter()
baseline = monitor.load_baseline(directory={baseline!r})
result = monitor.check_against_baseline({current!r}, baseline)
checked = time.perf_counter()
peak_kb = 0.0
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            peak_kb = float(line.split()[1])
print(imported - started, checked - imported, peak_kb, ",".join(sorted(result.flagged_features)))
"""

# The floor under a fresh check: the same process start and import, then only reading every
# column of the file the way the check reads it (what is left is the check's own work).
_FRESH_READ = """
import time
started = time.perf_counter()
import sys
sys.path.insert(0, {lib!r})
from mlaccel import monitor
from mlaccel.monitor._io import iter_chunks, read_ahead, system_allocator
imported = time.perf_counter()
with system_allocator():
    rows = sum(new_rows for new_rows, _ in read_ahead(iter_chunks({current!r})))
print(imported - started, time.perf_counter() - imported, rows)
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
peak_kb = 0.0
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmHWM:"):
            peak_kb = float(line.split()[1])
print(json.dumps({"seconds": seconds, "drifted": sorted(drifted), "methods": sorted(methods),
                  "peak_kb": peak_kb}))
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each table")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median kept)")
    parser.add_argument("--skip-evidently", action="store_true", help="do not run Evidently")
    return parser.parse_args(argv)


def median_of(repeat: int, run: Callable[[], Any]) -> float:
    """Median wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_example(rows: int, work: Path) -> tuple[Path, Path, frozenset[str]]:
    """Baseline and current Parquet files of ``rows`` rows, written 1M rows at a time."""
    reference, current = work / "baseline.parquet", work / "current.parquet"
    writers: dict[Path, pq.ParquetWriter] = {}
    shifted: frozenset[str] = frozenset()
    for chunk, start in enumerate(range(0, rows, CHUNK_ROWS)):
        example = monitor.make_drift_example(min(CHUNK_ROWS, rows - start), seed=chunk)
        shifted = example.shifted
        for path, table in ((reference, example.baseline), (current, example.current)):
            if path not in writers:
                writers[path] = pq.ParquetWriter(path, table.schema)
            writers[path].write_table(table, row_group_size=CHUNK_ROWS)
    for writer in writers.values():
        writer.close()
    return reference, current, shifted


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh_check(baseline_dir: Path, current: Path) -> dict[str, Any]:
    """One fresh process's check: wall and CPU time end to end, its phases, its peak memory."""
    code = _FRESH_CHECK.format(lib=str(LIB), baseline=str(baseline_dir), current=str(current))
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "cpu": children_cpu_s() - cpu_before,
        "import": float(out[0]),
        "check": float(out[1]),
        "peak_mb": float(out[2]) / 1024,
        "flagged": out[3].split(",") if len(out) > 3 else [],
    }


def fresh_read(current: Path) -> float:
    """Wall time of a fresh process that imports the engine and only reads the file."""
    code = _FRESH_READ.format(lib=str(LIB), current=str(current))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - started


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
    cpu_before = children_cpu_s()
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
    result["cpu"] = children_cpu_s() - cpu_before
    return result


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows, repeat = args.rows, args.repeat
    per_million = 1_000_000 / rows
    print(f"load average at start (1, 5, 15 min): {load_average()} on {os.cpu_count()} cores")
    print(f"numeric columns read by: {'the compiled pass' if COMPILED else 'the numpy path'}")
    with tempfile.TemporaryDirectory(prefix="mlaccel-drift-bench-") as folder:
        work = Path(folder)
        reference, current, shifted = write_example(rows, work)
        print(f"data: {rows:,} rows x 25 columns (20 numeric, 5 categorical), Parquet")
        print(f"shifted: {sorted(shifted)}")

        baseline_s = median_of(repeat, lambda: monitor.compute_baseline(reference))
        monitor.write_baseline(monitor.compute_baseline(reference), work / "baseline")
        baseline = monitor.load_baseline(directory=work / "baseline")
        result = monitor.check_against_baseline(current, baseline)  # also warms up
        unshifted = {
            kind: max(
                (
                    d.distance
                    for d in result.drift
                    if d.kind == kind and d.feature_name not in shifted
                ),
                default=0.0,
            )
            for kind in ("numerical", "categorical")
        }
        warm_s = median_of(repeat, lambda: monitor.check_against_baseline(current, baseline))
        fresh = [fresh_check(work / "baseline", current) for _ in range(repeat)]
        fresh_wall = statistics.median(run["wall"] for run in fresh)
        fresh_cpu = statistics.median(run["cpu"] for run in fresh)
        flagged = sorted(fresh[0]["flagged"])
        read_floor = statistics.median(fresh_read(current) for _ in range(repeat))

        print(f"baseline (from Parquet):             {baseline_s * per_million:6.3f} s per 1M rows")
        print(
            f"check, warm (this process):          {warm_s:6.3f} s "
            f"({warm_s * per_million:.3f} s per 1M rows)"
        )
        print(
            f"check, fresh process, end to end:    {fresh_wall:6.3f} s wall, {fresh_cpu:.3f} s CPU "
            f"(import {statistics.median(r['import'] for r in fresh):.3f} s, load and check "
            f"{statistics.median(r['check'] for r in fresh):.3f} s)"
        )
        print(
            f"  floor: a fresh process that imports the engine and only reads the file: "
            f"{read_floor:.3f} s wall (the check's own work: {fresh_wall - read_floor:.3f} s)"
        )
        print(
            f"peak memory of a fresh check (VmHWM): {max(run['peak_mb'] for run in fresh):.0f} MB"
        )
        verdict = "exactly the shifted columns" if set(flagged) == shifted else "MISMATCH"
        print(f"flagged: {flagged} -> {verdict}")
        print(
            "largest distance of an unshifted column: "
            f"{unshifted['numerical']:.6f} numeric (Robust), "
            f"{unshifted['categorical']:.6f} categorical (LInfinity)"
        )

        if args.skip_evidently:
            print("evidently: skipped (--skip-evidently)")
        else:
            compare_with_evidently(reference, current, warm_s, fresh_cpu)
    print(f"load average at end (1, 5, 15 min): {load_average()}")
    return 0


def compare_with_evidently(
    reference: Path, current: Path, warm_s: float, fresh_cpu_s: float
) -> None:
    python, status = evidently_python()
    if python is None:
        print(f"evidently: not run, {status}")
        return
    try:
        evidently = run_evidently(python, reference, current)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        print(f"evidently: failed, {error}")
        return
    seconds = evidently["seconds"]
    print(
        f"evidently DataDriftPreset report (same minute): {seconds:.1f} s report, "
        f"{evidently['cpu']:.1f} s CPU for the process, {evidently['peak_kb'] / 1024:.0f} MB "
        f"peak ({', '.join(evidently['methods'])})"
    )
    print(f"  flagged: {evidently['drifted']}")
    print(
        f"  ratio evidently / mlaccel: {seconds / warm_s:.0f}x wall (report vs warm check), "
        f"{evidently['cpu'] / fresh_cpu_s:.0f}x CPU (process vs fresh-process check)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
