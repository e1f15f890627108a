"""Deploy Lambda handlers from ``seedcode/`` (create or update: re-running never duplicates)."""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel.cleanup import kit_tags, made_by_kit
from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection
    from mlaccel.config import WaitPolicy

LAMBDA_TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
# How long an update of a function's code or configuration may take before it counts as stuck.
UPDATE_TIMEOUT_SECONDS = 300.0


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


def lambda_role(*, connection: Connection, name: str = "mlaccel-lambda-role") -> str:
    """The ARN of an execution role for the kit's functions (created on the twin).

    On AWS the role must exist (``seedcode/iam`` describes it), or the caller passes its own.
    """
    iam = connection.client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        # Provisioning: the twin starts as an empty account, so the kit makes the role there;
        # on AWS, creating IAM roles is the account owner's decision.
        if connection.local_backend is None:
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

    A function the kit creates carries its tags (``mlaccel:created-by``, ``mlaccel:run-id``);
    updating one the kit created moves its run id to the current run, so ``mlaccel cleanup``
    of a failed run removes what that run deployed. A function someone else created is updated
    but not tagged.

    Examples
    --------
    >>> deploy_function("mlaccel-router", "seedcode/lambdas/router", "handler.lambda_handler",
    ...                 connection=conn)  # doctest: +SKIP
    """
    if "." not in handler:
        raise MLAccelInputError(f"handler={handler!r} must look like 'module.function'")
    code = zip_code(Path(source))
    client = connection.client("lambda")
    role_arn = role_arn or lambda_role(connection=connection)
    settings: dict[str, Any] = {
        "Role": role_arn,
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": timeout,
        "MemorySize": memory_mb,
        "Environment": {"Variables": dict(environment or {})},
    }
    tags = kit_tags()
    try:
        existing = client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        try:
            arn = client.create_function(
                FunctionName=name, Code={"ZipFile": code}, Tags=tags, **settings
            )
            return str(arn["FunctionArn"])
        except client.exceptions.ResourceConflictException:  # another run created it just now
            existing = client.get_function(FunctionName=name)
    if made_by_kit(existing.get("Tags") or {}):
        client.tag_resource(Resource=existing["Configuration"]["FunctionArn"], Tags=tags)
    # Lambda refuses a second update while the first (ours, or another run's) is in progress.
    _update(client, name, connection.wait, client.update_function_code, ZipFile=code)
    arn = _update(client, name, connection.wait, client.update_function_configuration, **settings)
    return str(arn["FunctionArn"])


def _update(client: Any, name: str, policy: WaitPolicy, call: Any, **arguments: Any) -> Any:
    """``call`` on function ``name``, waiting out an update in progress (a few tries), then
    until this update is done."""
    for attempt in range(3):
        try:
            answer = call(FunctionName=name, **arguments)
            break
        except client.exceptions.ResourceConflictException:
            if attempt == 2:
                raise
            wait_updated(client, name, policy)
    wait_updated(client, name, policy)
    return answer


def wait_updated(
    client: Any, name: str, policy: WaitPolicy, timeout: float = UPDATE_TIMEOUT_SECONDS
) -> None:
    """Wait until function ``name``'s last update succeeded, polling as ``policy`` says.

    Raises
    ------
    MLAccelError
        The update failed (the message carries Lambda's reason) or did not finish in
        ``timeout`` seconds.
    """
    from botocore.exceptions import WaiterError

    delay = policy.poll_seconds
    try:
        client.get_waiter("function_updated_v2").wait(
            FunctionName=name,
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, math.ceil(timeout / delay))},
        )
    except WaiterError as exc:
        configuration = (exc.last_response or {}).get("Configuration", {})
        reason = configuration.get("LastUpdateStatusReason") or exc.kwargs.get("reason", exc)
        raise MLAccelError(
            f"Lambda function {name!r} did not update ({reason}); fix the cause and deploy again"
        ) from exc
