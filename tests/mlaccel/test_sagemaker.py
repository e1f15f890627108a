"""The SageMaker SDK seam of the accelerators: what the SDKs print into shared notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlaccel_twin import Twin
from tests.support import REPO

KIT_SDK_CONFIG = REPO / "lib" / "mlaccel" / "sagemaker_config.yaml"
# Without a connection, the SDKs look for a region and credentials: never on the network.
NO_CONNECTION = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
# An accelerator's first use of the SDKs, as features.run_feature_job and the workflow builders
# do it: a direct import of an SDK module, before any session is built.
FIRST_SDK_USE = "import sagemaker.processing\nimport stepfunctions\n"


def _printed(code: str, **env: str) -> str:
    """What a fresh interpreter running ``code`` prints, stdout and stderr together."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def _machine_paths(text: str) -> list[str]:
    home = str(Path.home())
    paths = [str(REPO), *([home] if len(home) > 1 else [])]
    return [path for path in paths if path in text]


def test_the_sdks_print_paths_on_import_unless_quieted() -> None:
    # what the SDKs do on their own: the kit's config file by its absolute path, and the
    # deprecation warning of the pkg_resources the Step Functions SDK imports
    loud = _printed(
        FIRST_SDK_USE, SAGEMAKER_USER_CONFIG_OVERRIDE=str(KIT_SDK_CONFIG), **NO_CONNECTION
    )
    assert "sagemaker.config INFO" in loud and "pkg_resources is deprecated" in loud
    assert str(REPO) in loud

    quiet = _printed(
        "from mlaccel._sagemaker import quiet_sdk_logs\nquiet_sdk_logs()\n" + FIRST_SDK_USE,
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(KIT_SDK_CONFIG),
        **NO_CONNECTION,
    )
    assert "sagemaker.config" not in quiet and "pkg_resources" not in quiet
    assert not _machine_paths(quiet), quiet[-2000:]


def test_connect_quiets_the_sdk_before_an_accelerator_imports_it(twin: Twin) -> None:
    printed = _printed(
        f"import mlaccel\nconn = mlaccel.connect('local', twin_url={twin.url!r})\n"
        + FIRST_SDK_USE
        + "conn.sagemaker_session\n"
    )
    assert "sagemaker.config" not in printed and "pkg_resources" not in printed
    assert not _machine_paths(printed), printed[-2000:]
