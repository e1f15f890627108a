"""Fixtures of the conformance tests."""

from __future__ import annotations

import boto3
import pytest

from mlaccel_twin import Twin


@pytest.fixture(scope="module")
def session(twin: Twin) -> boto3.session.Session:
    """A plain boto3 session; clients get the twin's URL as their endpoint."""
    return boto3.session.Session(region_name="us-east-1")
