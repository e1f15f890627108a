"""Deploy Lambda handlers from ``seedcode/`` (create or update: re-running never duplicates)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

LAMBDA_TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def zip_code(source: Path) -> bytes:
    """A zip of ``source`` (a folder's ``.py`` and data files, or one file) for Lambda."""
    source = Path(source)
    if not source.exists():
        raise MLAccelInputError(f"source={source} does not exist: point at a handler folder/file")
    files = (
        [source]
        if source.is_file()
        else sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            name = file.name if source.is_file() else str(file.relative_to(source))
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # stable bytes
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def lambda_role(connection: Connection, name: str = "mlaccel-lambda-role") -> str:
    """The ARN of an execution role for the kit's functions (created on the twin)."""
    iam = connection.client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        if not connection.is_local:
            raise MLAccelInputError(
                f"no IAM role {name!r}: create it from seedcode/iam or pass role_arn"
            ) from None
        return str(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        )


def deploy_function(
    name: str,
    source: str | Path,
    handler: str,
    *,
    connection: Connection,
    role_arn: str | None = None,
    environment: dict[str, str] | None = None,
    timeout: int = 60,
    memory_mb: int = 512,
    runtime: str = "python3.11",
) -> str:
    """Create or update Lambda function ``name`` from ``source``; return its ARN.

    Examples
    --------
    >>> deploy_function("mlaccel-router", "seedcode/lambdas/router", "handler.lambda_handler",
    ...                 connection=conn)  # doctest: +SKIP
    """
    if "." not in handler:
        raise MLAccelInputError(f"handler={handler!r} must look like 'module.function'")
    code = zip_code(Path(source))
    client = connection.client("lambda")
    role_arn = role_arn or lambda_role(connection)
    settings: dict[str, Any] = {
        "Role": role_arn,
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": timeout,
        "MemorySize": memory_mb,
        "Environment": {"Variables": dict(environment or {})},
    }
    try:
        client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        arn = client.create_function(FunctionName=name, Code={"ZipFile": code}, **settings)
        return str(arn["FunctionArn"])
    client.update_function_code(FunctionName=name, ZipFile=code)
    _wait_updated(client, name)
    arn = client.update_function_configuration(FunctionName=name, **settings)
    _wait_updated(client, name)
    return str(arn["FunctionArn"])


def _wait_updated(client: Any, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        if status in (None, "Successful", "Failed"):
            return
        time.sleep(0.5)
