"""The twin's own settings: defaults of the account it stands in for, and its state folder."""

from __future__ import annotations

import os
from pathlib import Path

TWIN_REGION = "us-east-1"
TWIN_BUCKET = "mlaccel-local"
TWIN_ROLE_NAME = "MLAccelSageMakerExecutionRole"
# Who may assume the twin's execution role: SageMaker runs jobs and endpoints as it, and in the
# notebooks Step Functions runs the workflows and EventBridge starts them as it too.
TWIN_ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TheKitsServicesAssumeThisRole",
            "Effect": "Allow",
            "Principal": {
                "Service": [
                    "sagemaker.amazonaws.com",
                    "states.amazonaws.com",
                    "events.amazonaws.com",
                ]
            },
            "Action": "sts:AssumeRole",
        }
    ],
}
# The twin checks no permission; the role's policy says so, so that IAM's policy simulation
# (SimulatePrincipalPolicy, `mlaccel doctor`) answers what the twin really allows.
TWIN_ROLE_POLICY_NAME = "the-twin-enforces-no-permissions"
TWIN_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "TheTwinChecksNoPermission", "Effect": "Allow", "Action": "*", "Resource": "*"}
    ],
}
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
