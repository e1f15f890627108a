"""What the conformance tests share: plain boto3 clients pointed at the twin."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import boto3

from mlaccel_twin import Twin

ROLE = "arn:aws:iam::123456789012:role/service-role/StepFunctionsWorkflowExecutionRole"


def client(session: boto3.session.Session, twin: Twin, service: str, **kwargs: Any) -> Any:
    """A client of ``service`` as any boto3 user makes one; only its endpoint is the twin's."""
    return session.client(service, endpoint_url=twin.url, **kwargs)


def handler_zip(source: str) -> bytes:
    """A Lambda deployment package holding ``source`` as ``lambda_function.py``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()
