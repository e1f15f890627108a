"""``mlaccel doctor``: is this account ready for the kit?

Before a notebook runs on a real account, :func:`check_backend` (the ``mlaccel doctor``
command) checks, in the order one fixes them:

- **credentials**: who STS says you are; without credentials one ✗ says how to get them, and
  the checks that need the account are shown as not run;
- **region**: set, and one where SageMaker is offered (botocore's endpoint data, offline);
- **execution role**: the role the kit passes to SageMaker (``MLACCEL_ROLE_ARN``, else the
  caller's role, as :func:`mlaccel.connect` resolves it) exists, and SageMaker, Step Functions
  and EventBridge may assume it (notebook 04 runs its workflows and rules as it); the role of
  the kit's Lambda functions exists and Lambda may assume it;
- **bucket**: it exists in the region, and a probe object under ``mlaccel-doctor/`` can be
  written, read and deleted;
- **permissions**, per notebook: IAM's policy simulation (``SimulatePrincipalPolicy``) of every
  action the notebook needs (:data:`NEEDS`), for you and for the execution role;
- **instance quotas**: SageMaker's quotas of the kit's instance type
  (:func:`mlaccel.config.default_instance_type`) for training, processing, transform jobs and
  endpoints; a quota of 0 is a ✗;
- **images**: the built-in XGBoost, SKLearn and Model Monitor images the kit uses exist for the
  region (the SageMaker SDK's bundled tables, offline).

Each check is ✓, ✗ with its fix, or – with why it could not run (a permission the doctor
lacks, say). The exit code is 0 only when nothing is ✗. On the twin (``backend="local"``) the
same checks run against the twin, which answers the policy simulation and SageMaker's quotas as
AWS does. Account ids are left out of what it reports.

=================  ==================================================================
module             concern
=================  ==================================================================
``_needs``         :data:`NEEDS`: the actions each notebook needs, for whom, on what
``_run``           :func:`run_checks`: every check, in order
``_identity``      credentials and region
``_roles``         the execution role, its trust, the Lambda role
``_bucket``        the bucket probe
``_permissions``   the policy simulation of :data:`NEEDS`, one check per notebook
``_quotas``        instance quotas and image URIs
``_check``         :class:`Check` and what the checks share
``_report``        :func:`render_table`, :func:`to_json`, :func:`exit_code`
=================  ==================================================================

Examples
--------
>>> checks = mlaccel.doctor.check_backend("aws")  # doctest: +SKIP
>>> print(mlaccel.doctor.render_table(checks))  # doctest: +SKIP
✓ credentials             assumed role MLAccelSageMakerExecutionRole (credentials from ...)
...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlaccel import config
from mlaccel.doctor._check import FAIL, NOT_RUN, PASS, Check, failed, not_run
from mlaccel.doctor._needs import JOBS, NEEDS, NOTEBOOKS, RULES, WORKFLOWS, YOU, Need
from mlaccel.doctor._report import exit_code, render_table, summary, to_json
from mlaccel.doctor._run import account_check_names, run_checks
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

__all__ = [
    "FAIL",
    "JOBS",
    "NEEDS",
    "NOTEBOOKS",
    "NOT_RUN",
    "PASS",
    "RULES",
    "WORKFLOWS",
    "YOU",
    "Check",
    "Need",
    "check_backend",
    "exit_code",
    "render_table",
    "run_checks",
    "summary",
    "to_json",
]


def check_backend(
    backend: str | None = None,
    *,
    region: str | None = None,
    bucket: str | None = None,
    role_arn: str | None = None,
    twin_url: str | None = None,
    boto3_session: Any | None = None,
) -> list[Check]:
    """Run every check against ``backend`` (``MLACCEL_BACKEND``, else ``local``).

    On ``aws`` nothing is assumed to work: the session is built as :func:`mlaccel.connect`
    builds it, but the role and bucket are resolved by the checks themselves, so missing
    credentials or a missing role are reported, not raised. The parameters are
    :func:`mlaccel.connect`'s.

    Returns
    -------
    list of Check
        In the order they ran; :func:`exit_code` and :func:`render_table` read them.
    """
    chosen = config.resolve_backend(backend)
    if chosen == "local":
        from dataclasses import replace

        from mlaccel._connect import connect

        connection = connect("local", region=region, bucket=bucket, twin_url=twin_url)
        return run_checks(replace(connection, role_arn=role_arn) if role_arn else connection)
    if twin_url is not None:
        raise MLAccelInputError(
            "twin_url is only for backend='local'; drop it or use backend='local'"
        )
    from botocore.exceptions import ProfileNotFound

    try:
        connection = _aws_connection(region, bucket, role_arn, boto3_session)
    except ProfileNotFound as exc:
        fix = "name a profile of ~/.aws/config in AWS_PROFILE, or unset it"
        return [
            failed("credentials", str(exc), fix),
            *(not_run(n, "needs working credentials (see credentials)") for n in _other_checks()),
        ]
    return run_checks(connection)


def _aws_connection(
    region: str | None, bucket: str | None, role_arn: str | None, boto3_session: Any | None
) -> Connection:
    """A connection to AWS whose role and bucket the checks resolve (empty when not named)."""
    from mlaccel._connect import Connection, aws_session

    session = aws_session(region, boto3_session)
    return Connection(
        "aws",
        session,
        region or session.region_name or "",
        bucket or config.setting("bucket") or "",
        role_arn or config.setting("role_arn") or "",
        wait=config.wait_policy("aws"),
    )


def _other_checks() -> list[str]:
    return ["region", *account_check_names(), "images"]
