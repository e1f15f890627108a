"""A local run opens no connection outside 127.0.0.1 (the guard lives in conftest.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import mlaccel
from tests.support import OUTSIDE_CONNECTIONS, is_loopback


def test_guard_refuses_outside_addresses() -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="outside loopback"):
        s.connect(("192.0.2.1", 443))  # TEST-NET-1, never routable
    OUTSIDE_CONNECTIONS.pop()  # this attempt was the point of the test


def test_loopback_addresses_are_allowed() -> None:
    assert is_loopback(("127.0.0.1", 80)) and is_loopback(("::1", 80, 0, 0))
    assert not is_loopback(("169.254.169.254", 80)) and not is_loopback(("10.0.0.1", 80))


def test_twin_listens_on_loopback_only(conn: mlaccel.Connection) -> None:
    assert conn.endpoint_url is not None
    host = conn.endpoint_url.split("//")[1].split(":")[0]
    assert host == "127.0.0.1"


def test_sagemaker_sdk_work_stays_on_loopback(conn: mlaccel.Connection, tmp_path: Path) -> None:
    """Uploading data and code through the SDK (where it would send telemetry) stays local."""
    from sagemaker.s3 import S3Uploader

    data = tmp_path / "rows.csv"
    data.write_text("1,2\n3,4\n")
    uri = S3Uploader.upload(
        str(data), conn.s3_uri("network-test"), sagemaker_session=conn.sagemaker_session
    )
    assert uri.endswith("rows.csv")
    assert conn.sagemaker_session.read_s3_file(conn.bucket, "network-test/rows.csv") == "1,2\n3,4\n"
