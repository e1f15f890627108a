"""connect(): backends, sessions pointed at the twin, and clear errors for bad parameters."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import mlaccel
from mlaccel.errors import MLAccelError, MLAccelInputError
from tests.support import REPO


def test_local_connection_reaches_the_twin(conn: mlaccel.Connection) -> None:
    assert conn.backend == "local" and conn.is_local
    assert conn.endpoint_url is not None and conn.endpoint_url.startswith("http://127.0.0.1:")
    buckets = [b["Name"] for b in conn.client("s3").list_buckets()["Buckets"]]
    assert conn.bucket in buckets
    assert conn.role_arn.startswith("arn:aws:iam::") and conn.role_arn.endswith(
        "role/MLAccelSageMakerExecutionRole"
    )


def test_connect_twice_is_idempotent(conn: mlaccel.Connection) -> None:
    again = mlaccel.connect("local", twin_url=conn.endpoint_url)
    assert again.bucket == conn.bucket and again.role_arn == conn.role_arn


def test_sagemaker_session_uses_explicit_bucket(conn: mlaccel.Connection) -> None:
    session = conn.sagemaker_session
    assert session.default_bucket() == conn.bucket
    assert session.boto_region_name == conn.region
    # the SDK's own clients go to the twin as well
    assert session.sagemaker_client.meta.endpoint_url == conn.endpoint_url


def test_default_backend_comes_from_environment(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLACCEL_BACKEND", "local")
    monkeypatch.setenv("MLACCEL_TWIN_URL", conn.endpoint_url or "")
    assert mlaccel.connect().backend == "local"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "gcp"}, "backend='gcp' is not a backend; use one of local, aws"),
        ({"backend": "local", "bucket": ""}, "bucket='' must be a non-empty string"),
        ({"backend": "local", "region": 3}, "region=3 must be a non-empty string"),
        ({"backend": "aws", "twin_url": "http://127.0.0.1:1"}, "twin_url is only for"),
        ({"backend": "local", "boto3_session": object()}, "boto3_session is only for"),
        ({"backend": "local", "twin_url": "http://10.0.0.1:5000"}, "not on loopback"),
    ],
)
def test_bad_parameters_give_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(MLAccelInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mlaccel.connect(**kwargs)  # type: ignore[arg-type]


def test_bad_backend_from_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLACCEL_BACKEND", "azure")
    with pytest.raises(MLAccelInputError, match="MLACCEL_BACKEND='azure'"):
        mlaccel.connect()


def test_unreachable_twin_url_says_how_to_start_one() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(mlaccel.MLAccelError, match="mlaccel twin start"):
        mlaccel.connect("local", twin_url=f"http://127.0.0.1:{port}")


def test_aws_backend_does_not_touch_the_twin(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("MLACCEL_BUCKET", "team-bucket")
    monkeypatch.setenv("MLACCEL_ROLE_ARN", "arn:aws:iam::000000000000:role/Example")
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1"
    )
    aws = mlaccel.connect("aws", boto3_session=session)
    assert aws.backend == "aws" and aws.endpoint_url is None
    assert aws.bucket == "team-bucket" and aws.region == "eu-west-1"
    assert aws.client("s3").meta.endpoint_url.startswith("https://s3.")
    # put the local default back for the other tests of this process
    mlaccel.connect("local", twin_url=conn.endpoint_url)


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment with no AWS credentials anywhere (and no metadata service to ask): what
    a laptop without `aws configure` has. Returned for child processes too."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in {"MLACCEL_TWIN_URL", "MLACCEL_BACKEND"}:
            monkeypatch.delenv(name)
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    settings = {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def test_aws_without_credentials_fails_at_once_saying_how_to_fix_it(
    conn: mlaccel.Connection, no_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MLAccelError, match="backend='aws' found no AWS credentials: run `aws"):
        mlaccel.connect("aws")
    monkeypatch.setenv("MLACCEL_BACKEND", "aws")
    with pytest.raises(MLAccelError, match="no AWS credentials"):
        mlaccel.connect()  # MLACCEL_BACKEND=aws is honoured, never replaced by the twin


def test_the_cli_honours_mlaccel_backend_and_fails_before_any_kernel(
    no_credentials: dict[str, str], tmp_path: Path
) -> None:
    """The user's MLACCEL_BACKEND=aws is never overridden by the suite or the notebooks: with
    no credentials the run stops at once, before a twin or a kernel starts."""
    env = {**no_credentials, "MLACCEL_BACKEND": "aws", "MLACCEL_HOME": str(tmp_path / "home")}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mlaccel.cli", "notebooks", "run", "--output", str(tmp_path / "o")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "backend='aws' found no AWS credentials" in result.stderr
    assert "running" not in result.stdout and not (tmp_path / "o").exists()
    assert not (tmp_path / "home").exists(), "no twin was started"
    assert time.perf_counter() - started < 60


def test_describe_names_backend_region_account_and_bucket(conn: mlaccel.Connection) -> None:
    line = conn.describe()
    assert line == (
        f"backend=local (the local AWS twin) region={conn.region} "
        f"account=…{conn.account[-4:]} bucket={conn.bucket}"
    )
    assert conn.account.isdigit() and len(conn.account) == 12
    assert conn.account not in line, "shared outputs carry no account id"
    on_aws = replace(conn, bucket=f"sagemaker-{conn.region}-{conn.account}")
    assert conn.account not in on_aws.describe()
    assert on_aws.describe().endswith(f"bucket=sagemaker-{conn.region}-…{conn.account[-4:]}")


def test_notebook_files_go_under_the_runs_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlaccel import config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLACCEL_OUTPUT_DIR", raising=False)
    assert config.output_dir("reports") == Path("output/reports")  # a notebook job's folder
    assert (tmp_path / "output" / "reports").is_dir()
    monkeypatch.setenv("MLACCEL_OUTPUT_DIR", str(tmp_path / "run"))  # set by the suite runner
    assert config.output_dir("workflows") == tmp_path / "run" / "workflows"
