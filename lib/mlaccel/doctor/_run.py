"""All the checks of ``mlaccel doctor``, in the order a user fixes what they find.

Credentials first: without them no other AWS call can say anything, so the checks that need
the account are reported as not run, and only the offline ones (region, image URIs) still run.
Every AWS error becomes a :class:`~mlaccel.doctor.Check` saying what was found and how to fix
it; nothing here raises for a problem of the account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlaccel.doctor._bucket import check_bucket
from mlaccel.doctor._check import PASS, Check, not_run, redact
from mlaccel.doctor._identity import Identity, check_credentials, check_region
from mlaccel.doctor._needs import NOTEBOOKS
from mlaccel.doctor._permissions import check_permissions
from mlaccel.doctor._quotas import check_images, check_quotas
from mlaccel.doctor._roles import (
    TRUSTED_SERVICES,
    check_execution_role,
    check_lambda_role,
    check_trust,
)

if TYPE_CHECKING:
    from mlaccel._connect import Connection


def run_checks(connection: Connection) -> list[Check]:
    """Check that the account (or twin) of ``connection`` is ready for the kit.

    See :mod:`mlaccel.doctor` for what is checked.

    The connection's ``role_arn`` and ``bucket`` may be empty: they are then resolved as
    :func:`mlaccel.connect` resolves them on AWS, without creating anything.
    """
    region_check = check_region(connection)
    identity, credentials_check = check_credentials(connection, region_check.status == PASS)
    checks = [credentials_check, region_check]
    if identity is None:
        why = "needs working credentials (see credentials)"
        checks += [not_run(name, why) for name in account_check_names()]
    else:
        checks += _account_checks(connection, identity)
    checks.append(check_images(connection.region if region_check.status == PASS else None))
    return redact(checks, identity.account if identity else None)


def account_check_names() -> list[str]:
    """The names of the checks that need the account, in the order they run."""
    return [
        "execution role",
        *(f"role trust: {label}" for label, _, _ in TRUSTED_SERVICES),
        "Lambda role",
        "bucket",
        *(f"permissions: {notebook}" for notebook in NOTEBOOKS),
        "instance quotas",
    ]


def _account_checks(connection: Connection, identity: Identity) -> list[Check]:
    role_arn, role, role_check = check_execution_role(connection)
    lambda_role_arn, lambda_check = check_lambda_role(connection)
    bucket, bucket_check = check_bucket(connection)
    values = {
        "partition": _partition(connection),
        "region": connection.region,
        "account": identity.account,
        "bucket": bucket,
        "role_arn": role_arn if role is not None else None,
        "lambda_role_arn": lambda_role_arn,
    }
    return [
        role_check,
        *check_trust(role),
        lambda_check,
        bucket_check,
        *check_permissions(connection, identity, values),
        check_quotas(connection),
    ]


def _partition(connection: Connection) -> str:
    return str(connection.boto3_session.get_partition_for_region(connection.region))
