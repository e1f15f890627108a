"""Who the credentials belong to, and whether the region offers SageMaker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel.doctor._check import Check, failed, not_run, passed

if TYPE_CHECKING:
    from mlaccel._connect import Connection

NO_CREDENTIALS_FIX = (
    "run `aws configure` (or `aws sso login` for a profile using SSO), set AWS_PROFILE to a "
    "configured profile, or run in SageMaker Studio, whose execution role provides credentials"
)


@dataclass(frozen=True)
class Identity:
    """Who the credentials belong to, from STS ``GetCallerIdentity``."""

    arn: str
    account: str
    credential_source: str = ""

    @property
    def kind(self) -> str:
        """``assumed-role``, ``user``, ``root``, ``federated-user``..."""
        resource = self.arn.split(":", 5)[-1]
        return resource.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The role or user name (an assumed role's session name is left out: it may be a
        person's e-mail)."""
        parts = self.arn.split(":", 5)[-1].split("/")
        return parts[1] if self.kind == "assumed-role" else parts[-1]

    def describe(self) -> str:
        labels = {"assumed-role": "assumed role", "user": "IAM user"}
        if self.kind == "root":
            return "the account's root user"
        return f"{labels.get(self.kind, self.kind)} {self.name}"


def check_credentials(connection: Connection, region_ok: bool) -> tuple[Identity | None, Check]:
    """Who the connection's credentials belong to (STS ``GetCallerIdentity``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = "credentials"
    try:
        credentials = connection.boto3_session.get_credentials()
    except BotoCoreError as exc:  # a profile that cannot give any: SSO, credential_process...
        return None, failed(name, f"cannot load them: {exc}", NO_CREDENTIALS_FIX)
    if credentials is None:
        return None, failed(name, "no AWS credentials found", NO_CREDENTIALS_FIX)
    source = str(getattr(credentials, "method", "") or "")
    if not region_ok:
        return None, not_run(
            name, f"found ({source}), but checking them needs a region (see region)"
        )
    try:
        answer = connection.client("sts").get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        detail = f"AWS refused them ({source}): {error.get('Code')}: {error.get('Message')}"
        return None, failed(name, detail, f"renew them: {NO_CREDENTIALS_FIX}")
    except BotoCoreError as exc:
        return None, failed(name, f"cannot use them ({source}): {exc}", NO_CREDENTIALS_FIX)
    identity = Identity(str(answer["Arn"]), str(answer["Account"]), source)
    return identity, passed(name, f"{identity.describe()} (credentials from {source})")


def check_region(connection: Connection) -> Check:
    """The region is set and SageMaker is offered there (botocore's endpoint data, offline)."""
    name = "region"
    region = connection.region
    if not region:
        return failed(
            name,
            "no region is set",
            "set MLACCEL_REGION or AWS_DEFAULT_REGION, or `aws configure set region <region>`",
        )
    offered = sagemaker_regions(connection.boto3_session)
    if region not in offered:
        nearby = ", ".join(r for r in offered if r.split("-")[0] == region.split("-")[0])
        return failed(
            name,
            f"{region} is not a region where SageMaker is offered",
            f"use one that offers it (such as {nearby or ', '.join(offered[:4])})",
        )
    return passed(name, f"{region}, where SageMaker is offered")


def sagemaker_regions(session: Any) -> list[str]:
    """Every region of every partition where botocore knows a SageMaker endpoint."""
    return [
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    ]
