"""``connect``: everything a notebook needs to talk to the twin or to a real account."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlaccel import config
from mlaccel.errors import MLAccelError, MLAccelInputError

log = logging.getLogger(__name__)

_SAGEMAKER_CONFIG = Path(__file__).with_name("sagemaker_config.yaml")


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
    """

    backend: str
    boto3_session: Any
    region: str
    bucket: str
    role_arn: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.backend == "local"

    def client(self, service: str) -> Any:
        """A cached boto3 client of ``service`` on this backend."""
        if service not in self._clients:
            self._clients[service] = self.boto3_session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    @cached_property
    def sagemaker_session(self) -> Any:
        """A SageMaker SDK session with an explicit bucket, so it never guesses one remotely."""
        from mlaccel._sagemaker import make_sagemaker_session

        return make_sagemaker_session(self)

    def s3_uri(self, *parts: str) -> str:
        """``s3://<bucket>/<parts...>``."""
        key = "/".join(p.strip("/") for p in parts if p)
        return f"s3://{self.bucket}/{key}"


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


def _find_twin_url(twin_url: str | None) -> str:
    from mlaccel.twin import _service, current_url, start_service

    url = twin_url or config.setting("twin_url") or current_url()
    if url:
        if not url.startswith(("http://127.", "http://localhost")):
            raise MLAccelInputError(
                f"twin_url={url!r} is not on loopback; the twin only listens on 127.0.0.1"
            )
        if not _service.is_listening(url):
            raise MLAccelError(
                f"no twin answers at {url}; start one with `mlaccel twin start` or unset "
                "MLACCEL_TWIN_URL"
            )
        return url
    return start_service().url


def _connect_local(region: str | None, bucket: str | None, twin_url: str | None) -> Connection:
    import boto3

    from mlaccel.twin._server import TWIN_CREDENTIALS

    url = _find_twin_url(twin_url)
    region = region or config.setting("region", config.TWIN_REGION) or config.TWIN_REGION
    # Libraries that build their own clients (stepfunctions, awswrangler) must reach the twin
    # too, so this process's default AWS settings point at it.
    os.environ.update(TWIN_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(_SAGEMAKER_CONFIG)
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    boto3.setup_default_session(region_name=region)
    session = boto3.session.Session(region_name=region)
    bucket = bucket or config.setting("bucket", config.TWIN_BUCKET) or config.TWIN_BUCKET
    s3 = session.client("s3", endpoint_url=url)
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    role_arn = _ensure_twin_role(session.client("iam", endpoint_url=url))
    return Connection("local", session, region, bucket, role_arn, endpoint_url=url)


def _ensure_twin_role(iam: Any) -> str:
    # The role's ARN comes from the twin, so no account id is written anywhere in the kit.
    try:
        return str(iam.get_role(RoleName=config.TWIN_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        )
        role = iam.create_role(RoleName=config.TWIN_ROLE_NAME, AssumeRolePolicyDocument=trust)
        return str(role["Role"]["Arn"])


def _connect_aws(
    region: str | None, bucket: str | None, role_arn: str | None, boto3_session: Any | None
) -> Connection:
    import boto3

    if os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://127."):
        # Left over from a local connection in this process: real AWS must not go to the twin.
        del os.environ["AWS_ENDPOINT_URL"]
    session = boto3_session or boto3.session.Session(region_name=region or config.setting("region"))
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
    return Connection("aws", session, region, bucket, role_arn, endpoint_url=None)
