"""Seam: IAM's policy simulation, and the twin's caller seen as its execution role.

- ``SimulatePrincipalPolicy``: moto 5.2.5 does not implement it. This seam answers it for a
  role, user or group of the twin from the principal's own policies (inline, attached, a user's
  groups', and a role's permissions boundary), the ``PolicyInputList`` and the
  ``ContextEntries`` given, evaluated by :mod:`mlaccel_twin.iam.simulation`. Resource policies
  are not evaluated: a request with ``ResourcePolicy`` is refused, as is a policy using a
  condition the evaluation does not model.
- ``GetCallerIdentity``: the twin's own credentials stand for a SageMaker Studio kernel, which
  runs as the account's execution role. Once that role exists, credentials moto did not issue
  (the twin's own) answer as a session of it (``assumed-role/<role>/mlaccel-twin``) instead of
  moto's placeholder user, so what a notebook may do is what the role's policies say. Keys moto
  issued (an IAM user's, an assumed role's) answer as moto does.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace
from mlaccel_twin.config import TWIN_ROLE_NAME
from mlaccel_twin.iam.simulation import (
    Evaluation,
    SourcePolicy,
    UnsupportedPolicy,
    evaluate,
)

TWIN_SESSION_NAME = "mlaccel-twin"
MOTO_PLACEHOLDER_USER = "user/moto"
AWS_MANAGED_PREFIX = ":iam::aws:policy/"


def install(runtime: TwinRuntime) -> None:
    """Answer ``SimulatePrincipalPolicy``, and the twin's caller as its execution role."""
    from moto.iam.responses import IamResponse
    from moto.sts.models import STSBackend

    check_seams()
    add(IamResponse, "simulate_principal_policy", _simulate_principal_policy)
    replace(STSBackend, "get_caller_identity", _get_caller_identity)


def check_seams() -> None:
    """Fail loudly when moto's IAM or STS models no longer have what the seam reads."""
    from moto.iam.models import Group, IAMBackend, Role, User
    from moto.iam.responses import IamResponse
    from moto.sts.models import STSBackend

    problems = missing_attributes(
        [
            (IamResponse, "backend"),
            (IAMBackend, "get_role_by_arn"),
            (IAMBackend, "get_roles"),
            (IAMBackend, "get_user"),
            (IAMBackend, "get_group"),
            (IAMBackend, "get_groups_for_user"),
            (IAMBackend, "get_policy"),
            (STSBackend, "get_caller_identity"),
        ]
    )
    kept = {model: inspect.getsource(model.__init__) for model in (Role, User, Group)}
    problems += [
        f"{model.__name__} no longer keeps self.{name}"
        for model, source in kept.items()
        for name in ("policies", "managed_policies")
        if f"self.{name}" not in source
    ]
    if "self.permissions_boundary_arn" not in kept[Role]:
        problems.append("Role no longer keeps self.permissions_boundary_arn")
    own = getattr(IamResponse, "simulate_principal_policy", None)
    if own is not None and not getattr(own, "_mlaccel_seam", False):
        problems.append("moto now implements iam simulate_principal_policy; review")
    fail_if_broken("iam", problems)


# --------------------------------------------------------------------------- simulation


def _simulate_principal_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import ValidationError

    if self._get_param("ResourcePolicy"):
        raise ValidationError(
            "the twin's policy simulation does not evaluate resource policies; "
            "simulate without ResourcePolicy"
        )
    source = str(self._get_param("PolicySourceArn"))
    policies, boundary = principal_policies(self.backend, source)
    policies += [
        SourcePolicy(f"PolicyInputList.{n}", "none", _document(text))
        for n, text in enumerate(self._get_param("PolicyInputList") or [], start=1)
    ]
    given_boundary = self._get_param("PermissionsBoundaryPolicyInputList") or []
    if given_boundary:
        boundary = [
            SourcePolicy(f"PermissionsBoundaryPolicyInputList.{n}", "none", _document(text))
            for n, text in enumerate(given_boundary, start=1)
        ]
    context = {
        str(entry["ContextKeyName"]): [str(v) for v in entry.get("ContextKeyValues", [])]
        for entry in self._get_param("ContextEntries") or []
    }
    results = []
    for action in self._get_param("ActionNames") or []:
        for resource in self._get_param("ResourceArns") or ["*"]:
            try:
                found = evaluate(policies, action, resource, context, boundary)
            except UnsupportedPolicy as exc:
                raise ValidationError(
                    f"the twin's policy simulation of {source} cannot evaluate {exc}"
                ) from None
            results.append(_result(action, resource, found))
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def principal_policies(
    backend: Any, source_arn: str
) -> tuple[list[SourcePolicy], list[SourcePolicy] | None]:
    """The identity policies of the role, user or group ``source_arn``, and its boundary."""
    from moto.iam.exceptions import NotFoundException

    kind = source_arn.split(":", 5)[-1].split("/", 1)[0]
    name = source_arn.rsplit("/", 1)[-1]
    if kind == "role":
        role = backend.get_role_by_arn(source_arn)
        boundary = (
            [_managed(backend.get_policy(role.permissions_boundary_arn))]
            if role.permissions_boundary_arn
            else None
        )
        return _own(role, "role"), boundary
    if kind == "user":
        user = backend.get_user(name)
        policies = _own(user, "user")
        for group in backend.get_groups_for_user(name):
            policies += _own(group, "group")
        return policies, None
    if kind == "group":
        return _own(backend.get_group(name), "group"), None
    raise NotFoundException(
        f"PolicySourceArn {source_arn} is not a role, user or group of this account"
    )


def _own(principal: Any, inline_type: str) -> list[SourcePolicy]:
    inline = [
        SourcePolicy(name, inline_type, _document(text))
        for name, text in principal.policies.items()
    ]
    return inline + [_managed(policy) for policy in principal.managed_policies.values()]


def _managed(policy: Any) -> SourcePolicy:
    version = next(v for v in policy.versions if v.is_default)
    kind = "aws-managed" if AWS_MANAGED_PREFIX in policy.arn else "user-managed"
    return SourcePolicy(policy.arn, kind, _document(version.document))


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = json.loads(unquote(text))  # stored as the URL-encoded form IAM returns
    return dict(parsed)


def _result(action: str, resource: str, found: Evaluation) -> dict[str, Any]:
    return {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": found.decision,
        "MatchedStatements": [
            {"SourcePolicyId": p.policy_id, "SourcePolicyType": p.policy_type}
            for p in found.matched
        ],
        "MissingContextValues": list(found.missing_context),
    }


# --------------------------------------------------------------------------- caller identity


def _get_caller_identity(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_caller_identity(self: Any, access_key_id: str, region: str) -> Any:
        from moto.iam.models import iam_backends
        from moto.utilities.utils import get_partition

        found = original(self, access_key_id, region)
        partition = get_partition(region)
        # moto answers its placeholder user for keys it did not issue, such as the twin's own.
        if found[1] != f"arn:{partition}:sts::{self.account_id}:{MOTO_PLACEHOLDER_USER}":
            return found
        roles = iam_backends[self.account_id][partition].get_roles()
        role = next((r for r in roles if r.name == TWIN_ROLE_NAME), None)
        if role is None:
            return found
        arn = f"arn:{partition}:sts::{self.account_id}:assumed-role/{role.name}/{TWIN_SESSION_NAME}"
        return f"{role.id}:{TWIN_SESSION_NAME}", arn, self.account_id

    return get_caller_identity
