"""Wall time of the whole notebook suite on the local twin (target: under 3 minutes).

Runs ``mlaccel notebooks run`` twice in one fresh twin service (the second run checks reruns
and shows the warm time) and prints each notebook's duration from the run summaries.
Run: ``.venv/bin/python bench/notebook_suite.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MLACCEL_HOME": str(Path(tmp) / "home")}
        env.pop("MLACCEL_TWIN_URL", None)
        mlaccel = [sys.executable, "-m", "mlaccel.cli"]
        subprocess.run([*mlaccel, "twin", "start"], env=env, check=True, capture_output=True)
        try:
            walls = {}
            for run in ("first", "second"):
                out = Path(tmp) / run
                started = time.perf_counter()
                subprocess.run(
                    [*mlaccel, "notebooks", "run", "--output", str(out)],
                    env=env,
                    cwd=REPO,
                    capture_output=True,
                )
                walls[run] = time.perf_counter() - started
                summary = json.loads((out / "summary.json").read_text())
                print(f"\n{run} run: {walls[run]:.1f} s wall")
                for row in summary:
                    print(f"  {row['notebook']:<24}{row['status']:<11}{row['duration_s']:>7.1f} s")
        finally:
            subprocess.run([*mlaccel, "twin", "stop"], env=env, capture_output=True)
    print(
        f"\ntarget: under 180 s per run; measured {walls['first']:.0f} s and "
        f"{walls['second']:.0f} s"
    )


if __name__ == "__main__":
    main()
