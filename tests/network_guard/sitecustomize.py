"""Run by ``site`` at the start of every Python process of a test run (this folder leads their
``PYTHONPATH``): installs the network guard, then runs the ``sitecustomize`` this one hides.

Python imports only the first ``sitecustomize`` on the path; one further along (a
distribution's, a virtualenv's) would silently stop running, so it is run here as Python
would have run it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path


def _resolved(entry: str) -> Path:
    return Path(entry or ".").resolve()


def run_the_hidden_sitecustomize() -> None:
    """Run the ``sitecustomize`` that the path would have found without this folder."""
    here = Path(__file__).resolve().parent
    rest = [entry for entry in sys.path if _resolved(entry) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    hidden = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = hidden  # as if Python had imported it
    spec.loader.exec_module(hidden)


# Only when `site` imports it: pytest's doctest collection imports this file as a module of the
# tests package, in a process whose guard the root conftest installs.
if __name__ == "sitecustomize":
    import mlaccel_network_guard

    mlaccel_network_guard.install_from_environment()
    run_the_hidden_sitecustomize()
