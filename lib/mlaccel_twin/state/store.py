"""The state store of the twin running in this process: where it saves, and whether it is
restoring. The seams that save after a change ask it here (:func:`active_store`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlaccel_twin._runtime import active_runtime, has_active_runtime
from mlaccel_twin.state.objects import ObjectStore

SERVICE_KEY = "state"  # pragma: allowlist secret


class StateStore:
    """Where one twin keeps its state: ``s3/`` objects and ``control/<part>.json``."""

    def __init__(self, root: Path, snapshots: Mapping[str, Callable[[Any], Any]]) -> None:
        self.root = Path(root)
        # part -> how it is read back through the twin's API (mlaccel_twin.state.control)
        self.snapshots = snapshots
        self.objects = ObjectStore(self.root / "s3")
        self.control_dir = self.root / "control"
        self.restoring = False
        self._save_lock = threading.Lock()

    def save(self, client: Any, parts: Iterable[str]) -> None:
        """Read ``parts`` back through the API and write them (roles with every save)."""
        with self._save_lock:
            self.control_dir.mkdir(parents=True, exist_ok=True)
            for part in dict.fromkeys(["iam", *parts]):
                data = self.snapshots[part](client)
                path = self.control_dir / f"{part}.json"
                tmp = path.with_name(f".{part}-{uuid.uuid4().hex}.tmp")
                tmp.write_text(json.dumps(data, default=str))
                tmp.replace(path)

    def saved(self, part: str) -> Any:
        path = self.control_dir / f"{part}.json"
        return json.loads(path.read_text()) if path.exists() else None


def active_store() -> StateStore | None:
    """The state store of the twin running in this process, when it keeps one."""
    if not has_active_runtime():
        return None
    store = active_runtime().services.get(SERVICE_KEY)
    return store if isinstance(store, StateStore) and not store.restoring else None


def restoring() -> bool:
    """Whether the twin in this process is putting its saved state back (what is recreated
    then brings its own saved records; nothing is derived from it anew)."""
    if not has_active_runtime():
        return False
    store = active_runtime().services.get(SERVICE_KEY)
    return isinstance(store, StateStore) and store.restoring
