"""IAM's evaluation of identity policies, as ``SimulatePrincipalPolicy`` answers it.

Given the policies of a principal (inline, attached, its groups'), an action, a resource and the
request's context, :func:`evaluate` decides as IAM does for one account without resource
policies or organization policies:

- a statement applies when its ``Action`` (or ``NotAction``), ``Resource`` (or ``NotResource``)
  and every ``Condition`` match; actions and condition keys ignore case, resources do not;
- ``*`` matches any run of characters and ``?`` one, in actions and in each part of an ARN
  (the resource part, after the fifth colon, may hold ``/`` and ``:``);
- an applying ``Deny`` wins (``explicitDeny``); else an applying ``Allow`` allows, unless a
  permissions boundary does not allow it too; else nothing allows it (``implicitDeny``);
- a condition on a key the context lacks does not hold, except with the negated operators,
  ``...IfExists`` and ``Null``; such keys are reported as missing context values.

Condition operators other than the string, ARN, ``Bool`` and ``Null`` ones (numeric, date, IP
address, the ``ForAnyValue:``/``ForAllValues:`` set operators) raise
:class:`UnsupportedPolicy` rather than guess an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

# Operator → (compare like ARNs, use wildcards, ignore case, negated)
_OPERATORS = {
    "StringEquals": (False, False, False, False),
    "StringNotEquals": (False, False, False, True),
    "StringEqualsIgnoreCase": (False, False, True, False),
    "StringNotEqualsIgnoreCase": (False, False, True, True),
    "StringLike": (False, True, False, False),
    "StringNotLike": (False, True, False, True),
    "ArnEquals": (True, True, False, False),
    "ArnLike": (True, True, False, False),
    "ArnNotEquals": (True, True, False, True),
    "ArnNotLike": (True, True, False, True),
    "Bool": (False, False, True, False),
}
_ARN_PARTS = 6  # arn:partition:service:region:account:resource


class UnsupportedPolicy(ValueError):
    """A policy uses what this evaluation does not model; its message names it."""


@dataclass(frozen=True)
class SourcePolicy:
    """One policy of the principal: its id (name or ARN), IAM's type for it, its document."""

    policy_id: str
    policy_type: str  # "role", "user", "group", "aws-managed", "user-managed" or "none"
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Evaluation:
    """IAM's decision for one action on one resource, and the statements that made it."""

    decision: str
    matched: tuple[SourcePolicy, ...] = ()
    missing_context: tuple[str, ...] = field(default=())


def evaluate(
    policies: Sequence[SourcePolicy],
    action: str,
    resource: str,
    context: Mapping[str, Sequence[str]] | None = None,
    boundary: Sequence[SourcePolicy] | None = None,
) -> Evaluation:
    """Decide ``action`` on ``resource`` for a principal with ``policies``.

    Examples
    --------
    >>> allow_get = {"Statement": [{"Effect": "Allow", "Action": "s3:Get*",
    ...                             "Resource": "arn:aws:s3:::kit/*"}]}
    >>> policy = SourcePolicy("read", "role", allow_get)
    >>> evaluate([policy], "s3:GetObject", "arn:aws:s3:::kit/a.csv").decision
    'allowed'
    >>> evaluate([policy], "s3:PutObject", "arn:aws:s3:::kit/a.csv").decision
    'implicitDeny'
    """
    keys = {name.lower(): list(values) for name, values in (context or {}).items()}
    missing: set[str] = set()
    allows, denies = _applying(policies, action, resource, keys, missing)
    if denies:
        return Evaluation(EXPLICIT_DENY, tuple(denies), tuple(sorted(missing)))
    if not allows:
        return Evaluation(IMPLICIT_DENY, (), tuple(sorted(missing)))
    if boundary is not None:
        bound_allows, bound_denies = _applying(boundary, action, resource, keys, missing)
        if bound_denies:
            return Evaluation(EXPLICIT_DENY, tuple(bound_denies), tuple(sorted(missing)))
        if not bound_allows:
            return Evaluation(IMPLICIT_DENY, (), tuple(sorted(missing)))
    return Evaluation(ALLOWED, tuple(allows), tuple(sorted(missing)))


def _applying(
    policies: Iterable[SourcePolicy],
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
    missing: set[str],
) -> tuple[list[SourcePolicy], list[SourcePolicy]]:
    """The policies with a statement that applies, split into those allowing and denying."""
    allows: list[SourcePolicy] = []
    denies: list[SourcePolicy] = []
    for policy in policies:
        for statement in statements_of(policy.document):
            if not _statement_applies(statement, action, resource, context, missing):
                continue
            effect = str(statement.get("Effect", ""))
            found = denies if effect == "Deny" else allows if effect == "Allow" else None
            if found is not None and policy not in found:
                found.append(policy)
    return allows, denies


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy's statements as a list (IAM accepts one statement without the list)."""
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
    missing: set[str],
) -> bool:
    if "Action" in statement:
        action_matches = any(matches_action(p, action) for p in _listed(statement["Action"]))
    else:
        action_matches = not any(
            matches_action(p, action) for p in _listed(statement.get("NotAction"))
        )
    if not action_matches:
        return False
    if "Resource" in statement:
        resource_matches = any(matches_arn(p, resource) for p in _listed(statement["Resource"]))
    elif "NotResource" in statement:
        resource_matches = not any(
            matches_arn(p, resource) for p in _listed(statement["NotResource"])
        )
    else:
        resource_matches = False  # an identity policy's statement must name its resources
    if not resource_matches:
        return False
    return all(
        _condition_holds(operator, key, _listed(values), context, missing)
        for operator, by_key in (statement.get("Condition") or {}).items()
        for key, values in by_key.items()
    )


def _condition_holds(
    operator: str,
    key: str,
    expected: list[str],
    context: Mapping[str, list[str]],
    missing: set[str],
) -> bool:
    given = context.get(key.lower())
    if operator == "Null":
        return (given is None) == (str(expected[0]).lower() == "true")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if ":" in base or base not in _OPERATORS:
        raise UnsupportedPolicy(
            f"the condition operator {operator} (only the string, ARN, Bool and Null "
            "operators are evaluated)"
        )
    as_arn, wildcards, ignore_case, negated = _OPERATORS[base]
    if given is None:
        if not (negated or if_exists):
            missing.add(key)
        return negated or if_exists
    found = any(
        _value_matches(str(want), str(value), as_arn, wildcards, ignore_case)
        for want in expected
        for value in given
    )
    return not found if negated else found


def _value_matches(want: str, value: str, as_arn: bool, wildcards: bool, ignore_case: bool) -> bool:
    if as_arn:
        return matches_arn(want, value)
    if wildcards:
        return _wildcard(want, ignore_case).fullmatch(value) is not None
    return want.lower() == value.lower() if ignore_case else want == value


def matches_action(pattern: str, action: str) -> bool:
    """True when ``pattern`` (``s3:Get*``) names ``action``; IAM ignores the case of actions.

    Examples
    --------
    >>> matches_action("sagemaker:Describe*", "SageMaker:DescribeEndpoint")
    True
    """
    return _wildcard(pattern, True).fullmatch(action) is not None


def matches_arn(pattern: str, arn: str) -> bool:
    """True when ``pattern`` names ``arn``: part by part, a wildcard never spanning a colon
    before the resource part.

    Examples
    --------
    >>> matches_arn("arn:aws:s3:::kit/*", "arn:aws:s3:::kit/data/a.csv")
    True
    >>> matches_arn("arn:aws:sagemaker:*:*:endpoint/kit-*", "arn:aws:sagemaker:x:1:model/kit")
    False
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", _ARN_PARTS - 1)
    arn_parts = arn.split(":", _ARN_PARTS - 1)
    if len(pattern_parts) != _ARN_PARTS or len(arn_parts) != _ARN_PARTS:
        return _wildcard(pattern, False).fullmatch(arn) is not None
    return all(
        _wildcard(p, False).fullmatch(a) is not None
        for p, a in zip(pattern_parts, arn_parts, strict=True)
    )


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    text = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    flags = (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL
    return re.compile(text, flags)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
