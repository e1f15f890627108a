"""The twin's own settings: defaults of the account it stands in for, and its state folder."""

from __future__ import annotations

import os
from pathlib import Path

TWIN_REGION = "us-east-1"
TWIN_BUCKET = "mlaccel-local"
TWIN_ROLE_NAME = "MLAccelSageMakerExecutionRole"
LOOPBACK = "127.0.0.1"

# Placeholder credentials: moto accepts any, and they keep botocore from looking elsewhere.
TWIN_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "twin",
    "AWS_SECRET_ACCESS_KEY": "twin",  # pragma: allowlist secret (placeholder)
    "AWS_SESSION_TOKEN": "twin",
}


def home_dir() -> Path:
    """Folder where the twin service keeps its state file, job folders and outbox
    (``MLACCEL_HOME``, default ``~/.mlaccel``)."""
    return Path(os.environ.get("MLACCEL_HOME") or Path.home() / ".mlaccel")
