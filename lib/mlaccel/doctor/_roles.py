"""The execution role and the Lambda role: they exist, and the kit's services may assume them."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mlaccel.doctor._check import Check, error_code, error_reason, failed, not_run, passed
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

# Who may assume the execution role: (check label, service principal, why the kit needs it).
TRUSTED_SERVICES = (
    ("SageMaker", "sagemaker.amazonaws.com", "every notebook's jobs and endpoints run as it"),
    ("Step Functions", "states.amazonaws.com", "04_author_pipelines runs its workflows as it"),
    ("EventBridge", "events.amazonaws.com", "04_author_pipelines' rules start workflows as it"),
)

# What to do besides adding the service to the role's trust policy.
TRUST_FIXES = {
    "sagemaker.amazonaws.com": "as seedcode/iam/sagemaker-trust.json does",
    "states.amazonaws.com": (
        "or give the workflows a role of their own (workflow_settings(..., workflow_role_arn=...), "
        "trusted as seedcode/iam/stepfunctions-trust.json shows)"
    ),
    "events.amazonaws.com": (
        "or pass role_arn= to workflows.start_on_new_data and workflows.schedule"
    ),
}


def check_execution_role(connection: Connection) -> tuple[str, dict[str, Any] | None, Check]:
    """The execution role the kit passes to SageMaker exists in this account.

    Returns its ARN, its ``GetRole`` description (None when it cannot be read) and the check.
    """
    from botocore.exceptions import ClientError

    name = "execution role"
    role_arn = connection.role_arn
    if not role_arn:
        role_arn, problem = _resolve_execution_role(connection)
        if problem is not None:
            return "", None, problem
    try:
        role = connection.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            fix = (
                "create it (seedcode/iam/README.md) or set MLACCEL_ROLE_ARN to the ARN of an "
                "existing role"
            )
            return role_arn, None, failed(name, f"{role_arn} does not exist", fix)
        return (
            role_arn,
            None,
            not_run(name, f"cannot read {role_arn}: {error_reason(exc, 'iam:GetRole')}"),
        )
    if role["Arn"] != role_arn:
        detail = f"{role_arn} is not this account's role of that name ({role['Arn']})"
        return (
            role_arn,
            None,
            failed(name, detail, "set MLACCEL_ROLE_ARN to a role of this account"),
        )
    return role_arn, role, passed(name, f"{role_arn} exists")


def _resolve_execution_role(connection: Connection) -> tuple[str, Check | None]:
    """The role :func:`mlaccel.connect` would use on AWS when none is named."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlaccel._sagemaker import execution_role_for

    fix = (
        "set MLACCEL_ROLE_ARN to the role SageMaker jobs should run as "
        "(seedcode/iam describes it), or run in SageMaker Studio"
    )
    try:
        return execution_role_for(connection.boto3_session), None
    except ValueError as exc:
        return "", failed("execution role", f"none is named and {exc}", fix)
    except (ClientError, BotoCoreError) as exc:
        return "", not_run("execution role", f"cannot find the caller's role: {exc}", fix)


def check_trust(role: Mapping[str, Any] | None) -> list[Check]:
    """Whether SageMaker, Step Functions and EventBridge may assume the execution role."""
    checks = []
    for label, service, why in TRUSTED_SERVICES:
        name = f"role trust: {label}"
        if role is None:
            checks.append(not_run(name, "needs the execution role (see execution role)"))
        elif trusts(role.get("AssumeRolePolicyDocument"), service):
            checks.append(passed(name, f"{service} may assume it"))
        else:
            fix = (
                f"add a trust statement letting {service} assume {role['RoleName']}, "
                f"{TRUST_FIXES[service]}"
            )
            checks.append(failed(name, f"{service} may not assume it, and {why}", fix))
    return checks


def trusts(document: Any, service: str) -> bool:
    """True when the trust policy ``document`` lets ``service`` assume the role.

    Examples
    --------
    >>> trusts({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
    ...         "Principal": {"Service": ["sagemaker.amazonaws.com"]}}]}, "sagemaker.amazonaws.com")
    True
    """
    statements = _statements(_policy(document))
    applying = [s for s in statements if _names_service(s, service) and _assumes(s)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(s.get("Effect") == "Allow" for s in applying)


def _names_service(statement: Mapping[str, Any], service: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return service in _listed(principal.get("Service")) or "*" in _listed(principal.get("AWS"))


def _assumes(statement: Mapping[str, Any]) -> bool:

    return any(
        fnmatch.fnmatchcase("sts:assumerole", pattern.lower())
        for pattern in _listed(statement.get("Action"))
    )


def check_lambda_role(connection: Connection) -> tuple[str | None, Check]:
    """The role the kit's Lambda functions run as exists, and Lambda may assume it."""
    from botocore.exceptions import ClientError

    from mlaccel import lambdas

    name = "Lambda role"
    try:
        arn = lambdas.lambda_role(connection=connection)
        role = connection.client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
    except MLAccelInputError as exc:
        fix = (
            "create it from seedcode/iam (lambda-trust.json, lambda-role.json): "
            "04_author_pipelines and 05_score_model deploy their functions with it"
        )
        return None, failed(name, str(exc).split(":", 1)[0], fix)
    except ClientError as exc:
        return None, not_run(name, f"cannot read it: {error_reason(exc, 'iam:GetRole')}")
    if not trusts(role.get("AssumeRolePolicyDocument"), "lambda.amazonaws.com"):
        fix = f"let lambda.amazonaws.com assume {role['RoleName']} (seedcode/iam/lambda-trust.json)"
        return arn, failed(name, f"{arn} exists, but Lambda may not assume it", fix)
    return arn, passed(name, f"{arn} exists and Lambda may assume it")


def _policy(document: Any) -> Mapping[str, Any]:
    if isinstance(document, Mapping):
        return document
    if not document:
        return {}
    text = str(document)
    parsed = json.loads(unquote(text) if text.startswith("%7B") else text)
    return parsed if isinstance(parsed, Mapping) else {}


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
