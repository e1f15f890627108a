"""Each notebook's permissions: IAM's policy simulation of the table of needs
(:mod:`mlaccel.doctor._needs`), for you and for the execution role."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel.doctor._check import Check, error_reason, failed, not_run, passed
from mlaccel.doctor._identity import Identity
from mlaccel.doctor._needs import JOBS, NEEDS, NOTEBOOKS, RULES, WORKFLOWS, YOU, Need

if TYPE_CHECKING:
    from mlaccel._connect import Connection

# How a denial names the execution role, by what it was doing.
PRINCIPAL_ROLES = {
    JOBS: "the execution role, as SageMaker jobs run",
    WORKFLOWS: "the execution role, as the workflows run",
    RULES: "the execution role, as EventBridge starts the workflows",
}

ROLE_POLICY_FIX = (
    "add them to the execution role's policy: seedcode/iam/sagemaker-execution-role.json has "
    "what SageMaker jobs need, seedcode/iam/stepfunctions-role.json what the workflows need "
    "and seedcode/iam/eventbridge-role.json what the rules that start them need (fill in their "
    "placeholders with seedcode/iam/check_policies.py render)"
)


@dataclass(frozen=True)
class Principal:
    """Whose permissions a group of needs are simulated for; ``arn`` None when they cannot be."""

    label: str
    arn: str | None
    why_not: str = ""


def check_permissions(
    connection: Connection, identity: Identity, values: Mapping[str, str | None]
) -> list[Check]:
    """One check per notebook: IAM's policy simulation of every action it needs, for you and
    for the execution role."""
    iam = connection.client("iam")
    role_arn = values["role_arn"]
    principals = {YOU: caller_principal(iam, identity)}
    for kind, label in PRINCIPAL_ROLES.items():
        why = "" if role_arn else "needs the execution role (see execution role)"
        principals[kind] = Principal(label, role_arn, why)
    decisions = simulate_needs(iam, NEEDS, principals, values)
    return [
        notebook_check(
            notebook, [n for n in NEEDS if n.notebook == notebook], principals, values, decisions
        )
        for notebook in NOTEBOOKS
    ]


def caller_principal(iam: Any, identity: Identity) -> Principal:
    """The IAM principal whose policies decide what your notebook calls may do."""
    from botocore.exceptions import ClientError

    label = f"you ({identity.describe()})"
    if identity.kind == "user":
        return Principal(label, identity.arn)
    if identity.kind != "assumed-role":
        why = f"{identity.describe()} cannot be simulated; run the kit as an IAM role or user"
        return Principal(label, None, why)
    try:
        arn = iam.get_role(RoleName=identity.name)["Role"]["Arn"]
    except ClientError as exc:
        return Principal(label, None, f"cannot read your role: {error_reason(exc, 'iam:GetRole')}")
    return Principal(label, str(arn))


SimulationKey = tuple[str, str, tuple[tuple[str, str], ...]]


def simulate_needs(
    iam: Any,
    needs: Iterable[Need],
    principals: Mapping[str, Principal],
    values: Mapping[str, str | None],
) -> dict[SimulationKey, dict[str, str] | str]:
    """IAM's decision per action, for each (principal, resource, context) the needs name; or,
    in place of the decisions, why that simulation could not run."""
    wanted: dict[SimulationKey, set[str]] = defaultdict(set)
    for need in needs:
        arn = principals[need.principal].arn
        resource = render(need.resource, values)
        if arn and resource:
            wanted[(arn, resource, need.context)].update(need.actions)
    return {key: _simulate(iam, key, sorted(actions)) for key, actions in wanted.items()}


def _simulate(iam: Any, key: SimulationKey, actions: list[str]) -> dict[str, str] | str:
    from botocore.exceptions import BotoCoreError, ClientError

    arn, resource, context = key
    entries = [
        {"ContextKeyName": name, "ContextKeyValues": [value], "ContextKeyType": "string"}
        for name, value in context
    ]
    try:
        pages = iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=arn,
            ActionNames=actions,
            ResourceArns=[resource],
            ContextEntries=entries,
        )
        return {
            str(result["EvalActionName"]): str(result["EvalDecision"])
            for page in pages
            for result in page["EvaluationResults"]
        }
    except ClientError as exc:
        return f"cannot simulate: {error_reason(exc, 'iam:SimulatePrincipalPolicy')}"
    except BotoCoreError as exc:
        return f"cannot simulate: {exc}"


def render(template: str, values: Mapping[str, str | None]) -> str | None:
    """``template`` with its placeholders filled, or None when one of them is unknown.

    Examples
    --------
    >>> render("arn:{partition}:s3:::{bucket}", {"partition": "aws", "bucket": "kit"})
    'arn:aws:s3:::kit'
    >>> render("{role_arn}", {"role_arn": None}) is None
    True
    """
    try:
        return template.format_map({k: v for k, v in values.items() if v is not None})
    except KeyError:
        return None


def notebook_check(
    notebook: str,
    needs: list[Need],
    principals: Mapping[str, Principal],
    values: Mapping[str, str | None],
    decisions: Mapping[SimulationKey, dict[str, str] | str],
) -> Check:
    """The permission check of one notebook, from the simulations' decisions."""
    name = f"permissions: {notebook}"
    denied: dict[str, list[str]] = defaultdict(list)
    unchecked: dict[str, str] = {}
    allowed: set[tuple[str, str]] = set()
    for need in needs:
        principal = principals[need.principal]
        resource = render(need.resource, values)
        if principal.arn is None or resource is None:
            unchecked[principal.label] = principal.why_not or f"{need.resource} is unknown"
            continue
        found = decisions[(principal.arn, resource, need.context)]
        if isinstance(found, str):
            unchecked[principal.label] = found
            continue
        for action in need.actions:
            decision = found.get(action, "implicitDeny")
            if decision == "allowed":
                allowed.add((principal.label, action))
            else:
                denied[principal.label].append(_denial(action, decision))
    if denied:
        detail = "; ".join(
            f"{who} may not: {', '.join(dict.fromkeys(a))}" for who, a in denied.items()
        )
        return failed(
            name, f"{notebook} needs what IAM does not allow: {detail}", _permission_fix(denied)
        )
    if unchecked:
        detail = "; ".join(f"{who}: {why}" for who, why in unchecked.items())
        return not_run(name, f"not simulated for {detail}")
    count = f"{len(allowed)} action{'s' if len(allowed) != 1 else ''}"
    return passed(name, f"{count} allowed to {_principals_named(needs)}")


def _denial(action: str, decision: str) -> str:
    return f"{action} (denied explicitly)" if decision == "explicitDeny" else action


def _permission_fix(denied: Mapping[str, list[str]]) -> str:
    fixes = []
    if any(who.startswith("you") for who in denied):
        fixes.append(
            "grant them to you on the kit's resources (its bucket, mlaccel-* names, the "
            "mlaccel_lake database), as your platform grants data scientists"
        )
    if any(not who.startswith("you") for who in denied):
        fixes.append(ROLE_POLICY_FIX)
    return "; ".join(fixes)


def _principals_named(needs: list[Need]) -> str:
    kinds = {need.principal for need in needs}
    named = (["you"] if YOU in kinds else []) + (["the execution role"] if kinds - {YOU} else [])
    return " and ".join(named)
