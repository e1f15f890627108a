"""``python -m mlaccel_twin serve``: the process behind ``mlaccel twin start``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mlaccel_twin._service import serve


def main(argv: list[str] | None = None) -> int:
    """Serve the twin in this process until it is stopped (``mlaccel twin stop``)."""
    parser = argparse.ArgumentParser(prog="python -m mlaccel_twin")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(args.home, args.port)
    return 0


raise SystemExit(main())
