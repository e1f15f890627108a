"""``connect``: everything a notebook needs to talk to the twin or to a real account.

This is the one place that knows which backend a connection talks to. Everything that differs
between them is a policy the connection carries (how often to poll, which pipeline session to
build, whether an e-mail outbox exists), so the accelerators run one code path on both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from mlaccel import config
from mlaccel._s3 import join_uri
from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    # The maintained boto3 stubs (mypy-boto3-*), for the services the kit calls most.
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_stepfunctions import SFNClient

log = logging.getLogger(__name__)

_SAGEMAKER_CONFIG = Path(__file__).with_name("sagemaker_config.yaml")
BACKEND_ENTRY_POINTS = "mlaccel.backends"


class LocalBackend(Protocol):
    """What a local stand-in for AWS (the kit's twin) gives a connection.

    It is found through the ``mlaccel.backends`` entry point named ``local``, so the
    accelerators never import it and an account user need not install it.
    """

    credentials: Mapping[str, str]
    region: str
    bucket: str

    def endpoint_url(self, requested: str | None) -> str: ...

    def execution_role(self, iam: Any) -> str: ...

    def read_outbox(self, s3: Any, topic: str | None = None) -> list[dict[str, Any]]: ...

    def start_service(self) -> tuple[str, bool]: ...

    def stop_service(self) -> bool: ...

    def command(self, argv: list[str]) -> int: ...


@dataclass(frozen=True)
class Connection:
    """A connection to one backend: sessions, clients, the bucket and the execution role.

    Attributes
    ----------
    backend
        ``local`` (the twin) or ``aws``.
    boto3_session
        Session every AWS call goes through; on ``local`` its clients reach the twin.
    region, bucket, role_arn
        Where artifacts go and which role SageMaker jobs assume.
    endpoint_url
        The twin's URL, or None on ``aws``.
    wait
        How often to poll this backend while waiting (:class:`mlaccel.config.WaitPolicy`).
    local_backend
        The twin behind a ``local`` connection, None on ``aws``.
    """

    backend: str
    boto3_session: Any
    region: str
    bucket: str
    role_arn: str
    endpoint_url: str | None = None
    wait: config.WaitPolicy = field(default_factory=lambda: config.wait_policy("aws"))
    local_backend: LocalBackend | None = field(default=None, repr=False, compare=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.backend == "local"

    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service: Literal["sagemaker"]) -> SageMakerClient: ...
    @overload
    def client(self, service: Literal["sagemaker-runtime"]) -> SageMakerRuntimeClient: ...
    @overload
    def client(self, service: Literal["glue"]) -> GlueClient: ...
    @overload
    def client(self, service: Literal["stepfunctions"]) -> SFNClient: ...
    @overload
    def client(self, service: str) -> Any: ...

    def client(self, service: str) -> Any:
        """A cached boto3 client of ``service`` on this backend (typed for the main services)."""
        if service not in self._clients:
            self._clients[service] = self.boto3_session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    @cached_property
    def sagemaker_session(self) -> Any:
        """A SageMaker SDK session with an explicit bucket, so it never guesses one remotely."""
        from mlaccel._sagemaker import make_sagemaker_session

        return make_sagemaker_session(
            boto3_session=self.boto3_session,
            sagemaker_client=self.client("sagemaker"),
            runtime_client=self.client("sagemaker-runtime"),
            bucket=self.bucket,
            poll_seconds=self.wait.poll_seconds,
        )

    def pipeline_session(self) -> Any:
        """The SDK's ``PipelineSession``: steps are built into a definition, not run.

        The same on both backends: SageMaker, or the twin, runs the definition it receives.
        """
        from mlaccel._sagemaker import make_pipeline_session

        return make_pipeline_session(
            boto3_session=self.boto3_session,
            sagemaker_client=self.client("sagemaker"),
            bucket=self.bucket,
        )

    def s3_uri(self, *parts: str) -> str:
        """``s3://<bucket>/<parts...>``."""
        return join_uri(self.bucket, *parts)

    @cached_property
    def account(self) -> str:
        """The account the credentials belong to (STS ``GetCallerIdentity``; the twin's own)."""
        return str(self.client("sts").get_caller_identity()["Account"])

    def describe(self) -> str:
        """One line naming where work goes: backend, region, account and bucket.

        Every notebook prints it after connecting, and the suite summary starts with it, so
        nobody mistakes a run on the twin for one on their account. The account shows its last
        four digits only, in the bucket's name too: notebooks and summaries are shared, account
        ids are not.
        """
        where = "the local AWS twin" if self.is_local else "AWS"
        account = f"…{self.account[-4:]}"
        bucket = self.bucket.replace(self.account, account) if self.account else self.bucket
        return (
            f"backend={self.backend} ({where}) region={self.region} "
            f"account={account} bucket={bucket}"
        )


def connect(
    backend: str | None = None,
    *,
    region: str | None = None,
    bucket: str | None = None,
    role_arn: str | None = None,
    twin_url: str | None = None,
    boto3_session: Any | None = None,
) -> Connection:
    """Connect to the local twin (default) or to a real AWS account.

    Parameters
    ----------
    backend
        ``"local"`` or ``"aws"``; defaults to ``MLACCEL_BACKEND``, then ``"local"``.
    region, bucket, role_arn
        Override ``MLACCEL_REGION`` / ``MLACCEL_BUCKET`` / ``MLACCEL_ROLE_ARN``.
    twin_url
        A running twin to use (``local`` only); else ``MLACCEL_TWIN_URL``, a twin running in this
        process, the background twin service, or a newly started service, in that order.
    boto3_session
        A session to use on ``aws`` (e.g. with a named profile).

    Examples
    --------
    >>> conn = mlaccel.connect()  # doctest: +SKIP
    >>> conn.client("s3").list_buckets()["Buckets"][0]["Name"]  # doctest: +SKIP
    'mlaccel-local'
    """
    chosen = config.resolve_backend(backend)
    # Before any accelerator imports the SageMaker SDK, which logs config paths on import.
    from mlaccel._sagemaker import quiet_sdk_logs
    from mlaccel.progress import show_kit_warnings_as_notes

    quiet_sdk_logs()
    show_kit_warnings_as_notes()
    for name, value in (("region", region), ("bucket", bucket), ("role_arn", role_arn)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise MLAccelInputError(f"{name}={value!r} must be a non-empty string or None")
    if chosen == "aws":
        if twin_url is not None:
            raise MLAccelInputError(
                "twin_url is only for backend='local'; drop it or use backend='local'"
            )
        return _connect_aws(region, bucket, role_arn, boto3_session)
    if boto3_session is not None:
        raise MLAccelInputError(
            "boto3_session is only for backend='aws'; the twin builds its own session"
        )
    return _connect_local(region, bucket, twin_url)


def load_local_backend() -> LocalBackend:
    """The installed local backend (the kit's twin), or a clear error when it is missing."""
    found = entry_points(group=BACKEND_ENTRY_POINTS, name="local")
    fix = "install the kit with its twin (pip install 'mlaccel[twin]') or use backend='aws'"
    if not found:
        raise MLAccelError(
            f"backend='local' needs the local AWS twin, which is not installed: {fix}"
        )
    try:
        backend_class = next(iter(found)).load()
    except ImportError as exc:
        raise MLAccelError(f"the local AWS twin cannot be imported ({exc}): {fix}") from exc
    backend: LocalBackend = backend_class()
    return backend


def _connect_local(region: str | None, bucket: str | None, twin_url: str | None) -> Connection:
    import boto3

    twin = load_local_backend()
    url = twin.endpoint_url(twin_url or config.setting("twin_url"))
    region = region or config.setting("region") or twin.region
    # Libraries that build their own clients (stepfunctions, awswrangler) must reach the twin
    # too, so this process's default AWS settings point at it.
    os.environ.update(twin.credentials)
    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(_SAGEMAKER_CONFIG)
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    boto3.setup_default_session(region_name=region)
    session = boto3.session.Session(region_name=region)
    bucket = bucket or config.setting("bucket") or twin.bucket
    # Provisioning: a twin starts as an empty account, so the kit's bucket and execution role
    # are made here; on AWS they exist already (or the user names them).
    _ensure_bucket(session.client("s3", endpoint_url=url), bucket, region)
    role_arn = twin.execution_role(session.client("iam", endpoint_url=url))
    return Connection(
        "local",
        session,
        region,
        bucket,
        role_arn,
        endpoint_url=url,
        wait=config.wait_policy("local"),
        local_backend=twin,
    )


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def aws_session(region: str | None, boto3_session: Any | None) -> Any:
    """The boto3 session of an ``aws`` connection: the one given, else a new one in ``region``
    (or ``MLACCEL_REGION``, or the AWS configuration's)."""
    import boto3

    if os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://127."):
        # Left over from a local connection in this process: real AWS must not go to the twin.
        del os.environ["AWS_ENDPOINT_URL"]
    return boto3_session or boto3.session.Session(region_name=region or config.setting("region"))


def _connect_aws(
    region: str | None, bucket: str | None, role_arn: str | None, boto3_session: Any | None
) -> Connection:
    session = aws_session(region, boto3_session)
    if session.get_credentials() is None:
        raise MLAccelError(
            "backend='aws' found no AWS credentials: run `aws configure` or `aws sso login`, set "
            "AWS_PROFILE, or run in SageMaker Studio (its execution role); or use backend='local' "
            "for the embedded twin"
        )
    region = region or session.region_name
    if not region:
        raise MLAccelInputError(
            "no AWS region: pass region=..., set MLACCEL_REGION or configure a default region"
        )
    role_arn = role_arn or config.setting("role_arn")
    if not role_arn:
        from mlaccel._sagemaker import execution_role_for

        role_arn = execution_role_for(session)
    if not bucket:
        bucket = config.setting("bucket")
    if not bucket:
        from mlaccel._sagemaker import default_bucket_for

        bucket = default_bucket_for(session)
    return Connection("aws", session, region, bucket, role_arn, wait=config.wait_policy("aws"))
