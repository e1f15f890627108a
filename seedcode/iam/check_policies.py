"""Check the kit's IAM policies for least privilege, and fill in their placeholders.

    python seedcode/iam/check_policies.py                       # the kit's policies and templates
    python seedcode/iam/check_policies.py check my-policy.json  # given policies or templates
    python seedcode/iam/check_policies.py render seedcode/iam/lambda-role.json \\
        --set AWS::Partition=aws --set AWS::Region=eu-west-1 --set AWS::AccountId=<account-id> \\
        --set Bucket=<bucket> --set ExecutionRoleArn=<role-arn>

It checks IAM policy documents (``seedcode/iam/*.json``) and every policy a CloudFormation
template holds (``PolicyDocument``, ``AssumeRolePolicyDocument``, ``KeyPolicy``; by default the
CloudFormation templates under ``seedcode/``), twice: with parliament, an offline IAM policy linter,
and with the kit's own rules. Wildcards are matched as IAM matches them (``*`` any characters,
``?`` one), in actions and in each segment of an ARN, so ``"*:*"``, ``"s3:*"`` on
``"arn:aws:s3:::*"`` or ``"iam:Pass*"`` count as what they grant. A statement fails the check when

- an action spans every action (``"*"``) or every service (``"*:*"``), or a wildcard action
  (``"s3:*"``, ``"sagemaker:Describe*"``) applies to every resource of its service (``"*"``,
  ``"arn:aws:s3:::*"``, ``"arn:*:*:*:*:*"``);
- an action that supports resource-level permissions applies to every resource (except those of
  ``OPTIONAL_RESOURCE_ACTIONS``, and then only under a ``Condition``); an action IAM does not
  define (a typo grants nothing and hides a missing permission);
- a resource names every service or every account (``arn:aws:iam::*:role/x``);
- ``iam:PassRole`` (however it is spelled: ``iam:Pass*``, ``iam:*``) applies to a role that is not
  one of the kit's (``KIT_ROLE_NAMES``, ``${ExecutionRoleArn}``, a role the template creates), or
  has no ``Condition`` on ``iam:PassedToService``;
- a principal has a wildcard: ``"*"``, ``{"AWS": "*"}``, any account (``arn:aws:iam::*:root``);
- it uses ``NotAction``, ``NotResource`` or ``NotPrincipal`` (they grant whatever is not listed);
- it has no ``Sid`` or shares one; a policy file uses a placeholder not in ``PLACEHOLDERS``;
- parliament reports a finding (the kinds of ``REPORTED_BY_KIT_RULES`` are left to the kit's
  rules, which read a newer action table).

Which actions exist and which take resource ARNs comes from the IAM action table cfn-lint
ships (``cfnlint/data/AdditionalSpecs/Policies.json``). Both tools are required: without one
the check stops and says how to install it. Every problem is one line,
``file: [template resource: ]statement N (Sid): problem; fix``. Exit status: 0 when every file
passes, 1 when one fails, 2 when the check cannot run (bad arguments, a missing tool).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEEDCODE = HERE.parent
TEMPLATE_MARK = re.compile(r"^(AWSTemplateFormatVersion|Resources):", flags=re.MULTILINE)
# The linters, pinned as in pyproject.toml's dev extra (`make setup` installs them).
REQUIREMENTS = {"parliament": "parliament==1.6.4", "cfn-lint": "cfn-lint==1.58.0"}
# CloudFormation Fn::Sub syntax, so a template can embed the documents under !Sub unchanged.
PLACEHOLDERS = {
    "AWS::Partition": "aws, aws-cn or aws-us-gov",
    "AWS::Region": "the region, e.g. eu-west-1",
    "AWS::AccountId": "the 12-digit account id",
    "Bucket": "the kit's S3 bucket (MLACCEL_BUCKET)",
    "ExecutionRoleArn": "ARN of the SageMaker execution role (MLACCEL_ROLE_ARN)",
    "GlueDatabase": "the lake's Glue database (mlaccel_lake in the notebooks)",
}
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# What `resolve` leaves of a template's intrinsic function it cannot turn into text.
UNRESOLVED_FUNCTION = re.compile(r"\$\{(Fn::\w+)\}")
# What parliament sees instead of a placeholder: it validates ARNs, and "${AWS::Partition}" is
# not a partition. Any other placeholder inside a value becomes SAMPLE_NAME.
SAMPLE_VALUES = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "000000000000",
    "Bucket": "mlaccel-sample-bucket",
    "ExecutionRoleArn": "arn:aws:iam::000000000000:role/MLAccelSageMakerExecutionRole",
    "GlueDatabase": "mlaccel_lake",
}
SAMPLE_NAME = "sample"
# Actions whose only resource types are optional: a call that names none of them is authorized
# against "*", so "*" is the only resource that works. Keep each one narrowed by a condition.
OPTIONAL_RESOURCE_ACTIONS = {
    "cloudwatch:putmetricdata": "its dataset resource is optional; metrics without one match '*'",
}
# The roles the kit creates (seedcode/iam/README.md, mlaccel.lambdas, the twin): the only roles
# its policies may pass, besides ${ExecutionRoleArn} and a role its own template creates.
KIT_ROLE_NAMES = ("MLAccelSageMakerExecutionRole", "mlaccel-lambda-role")
PASSABLE_PLACEHOLDERS = frozenset({"${ExecutionRoleArn}"})
# Template properties that hold a policy document.
POLICY_PROPERTIES = ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy")
# parliament findings the kit's rules already report, from cfn-lint's newer action table
# (parliament's would call a new action unknown) and with the resource types named.
REPORTED_BY_KIT_RULES = frozenset({"UNKNOWN_ACTION", "UNKNOWN_PREFIX", "RESOURCE_STAR"})
PARLIAMENT_FIXES = {
    "RESOURCE_MISMATCH": "give each action an ARN of the resource type it acts on",
    "RESOURCE_EFFECTIVELY_STAR": "scope the resources to the kit's ARNs",
    "INVALID_ARN": "write arn:partition:service:region:account:resource",
    "UNKNOWN_CONDITION_FOR_ACTION": "use a condition key IAM documents for the action",
    "MISMATCHED_TYPE": "use the condition operator of the key's type (String*, Arn*, Bool...)",
    "MISMATCHED_TYPE_BUT_USABLE": "use the condition operator of the key's type",
    "UNKNOWN_PRINCIPAL": "name the principal by its ARN, account id or service name",
}

ActionTable = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class LinterFinding:
    issue: str
    title: str
    detail: Any


@dataclass(frozen=True)
class Tools:
    """What the check needs: cfn-lint's action table and parliament's linter."""

    actions: ActionTable
    lint: Callable[[str], list[LinterFinding]]


class MissingTool(Exception):
    """A linter the check needs cannot be imported."""

    def __init__(self, tool: str, cause: Exception) -> None:
        super().__init__(
            f"{tool} is not installed or cannot be imported ({cause}); the IAM check needs it. "
            f"Install it: python -m pip install '{REQUIREMENTS[tool]}' (make setup installs it)"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("check", "render", "-h", "--help"):
        argv.insert(0, "check")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check", help="check policies and templates (default: the kit's, see the module doc)"
    )
    check.add_argument("files", nargs="*", type=Path)
    render = sub.add_parser("render", help="print a policy with its placeholders filled in")
    render.add_argument("file", type=Path)
    render.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of one placeholder, e.g. Bucket=my-bucket (repeatable)",
    )
    return p.parse_args(argv)


# --------------------------------------------------------------------------- the tools


def load_action_table() -> ActionTable:
    """``{service: {action (lower case): [resource types]}}`` from cfn-lint."""
    try:
        from importlib.resources import files

        text = (files("cfnlint.data.AdditionalSpecs") / "Policies.json").read_text()
    except (ImportError, FileNotFoundError) as exc:
        raise MissingTool("cfn-lint", exc) from exc
    return {
        service.lower(): {
            action.lower(): list(spec.get("Resources", []))
            for action, spec in content.get("Actions", {}).items()
        }
        for service, content in json.loads(text).items()
    }


def load_parliament() -> Callable[[str], list[LinterFinding]]:
    """parliament's analysis of one policy document (a JSON string), as findings."""
    try:
        with warnings.catch_warnings():
            # parliament 1.6 imports pkg_resources, which setuptools marks as deprecated.
            warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
            import parliament
    except ImportError as exc:
        raise MissingTool("parliament", exc) from exc

    def lint(document: str) -> list[LinterFinding]:
        policy = parliament.analyze_policy_string(document, ignore_private_auditors=True)
        return [
            LinterFinding(f.issue, f.title, f.detail)
            for f in map(parliament.enhance_finding, policy.findings)
        ]

    return lint


def load_tools() -> Tools:
    return Tools(actions=load_action_table(), lint=load_parliament())


# --------------------------------------------------------------------------- wildcards


def is_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def wildcard_matches(pattern: str, name: str) -> bool:
    """IAM's matching, case-insensitive: ``*`` is any characters (``/`` and ``:`` too), ``?`` one.

    Unlike fnmatch, ``[`` is an ordinary character.
    """
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, name.lower(), flags=re.DOTALL) is not None


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(text: str) -> Arn | None:
    """The segments of an ARN pattern; ``"*"`` and a trailing ``*`` cover the segments left out."""
    if text == "*":
        return Arn("*", "*", "*", "*", "*")
    # "${AWS::Partition}" holds colons that separate no segment.
    protected = PLACEHOLDER.sub(lambda m: m.group(0).replace(":", "\0"), text)
    parts = [part.replace("\0", ":") for part in protected.split(":", 5)]
    if parts[0] != "arn":
        return None
    if len(parts) < 6:
        if not parts[-1].endswith("*"):
            return None
        parts += ["*"] * (6 - len(parts))
    return Arn(*parts[1:])


def matches_whole_service(resource: str) -> bool:
    """True for ``*`` and for ARNs that match every resource of their service.

    ``arn:aws:s3:::*``, ``arn:*:*:*:*:*`` and ``arn:aws:sagemaker:*:*:*`` do; ``...:model/*``
    names a resource type and does not.
    """
    arn = parse_arn(resource)
    if arn is None:
        return False
    return is_wildcard(arn.service) or _only_wildcards(arn.resource)


def _only_wildcards(text: str) -> bool:
    """True when ``text`` has wildcards and nothing else but separators: ``*``, ``*/*``."""
    return is_wildcard(text) and not re.sub(r"[*?/:]", "", text)


# --------------------------------------------------------------------------- the kit's rules


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        return []
    return _as_list(document.get("Statement"))


def _label(statement: Any, number: int) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return f"statement {number} ({sid})" if sid else f"statement {number}"


def principal_problems(principal: Any) -> list[str]:
    """Wildcards in an allowed principal: ``"*"``, ``{"AWS": "*"}``, any account."""
    if principal == "*":
        return ["allows the '*' principal: anyone could use it; name the service or account"]
    if not isinstance(principal, dict):
        return [f"Principal {principal!r} must be '*' or an object such as {{'Service': ...}}"]
    problems = []
    for kind, values in principal.items():
        for value in _as_list(values):
            if not isinstance(value, str):
                problems.append(f"principal {kind} {value!r} is not a string; write it as one")
            elif value == "*":
                problems.append(
                    f"allows the '*' principal ({kind}): anyone could use it; "
                    "name the service, account or role"
                )
            elif kind == "AWS" and (arn := parse_arn(value)) and is_wildcard(arn.account):
                problems.append(
                    f"principal {value!r} trusts every AWS account: name the account, "
                    "e.g. arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
                )
            elif is_wildcard(value):
                problems.append(
                    f"principal {kind} {value!r} has a wildcard: name the exact principal"
                )
    return problems


def resource_problems(resource: Any, effect: Any) -> list[str]:
    if resource == "*":
        return []
    if not isinstance(resource, str) or not (
        resource.startswith("arn:") or PLACEHOLDER.match(resource)
    ):
        return [
            f"resource {resource!r} is neither '*' nor an ARN: "
            "write arn:partition:service:region:account:resource"
        ]
    arn = parse_arn(resource)
    if effect != "Allow" or arn is None:
        return []
    if is_wildcard(arn.service):
        return [f"resource {resource!r} matches resources of every service: name the service"]
    if is_wildcard(arn.account):
        return [
            f"resource {resource!r} matches every AWS account ({arn.account!r}): "
            "use ${AWS::AccountId}"
        ]
    return []


def action_problems(
    action: Any, resources: list[Any], has_condition: bool, table: ActionTable, effect: Any
) -> list[str]:
    """An action pattern's problems: unknown, or broader than its resources allow."""
    if action == "*":
        return ["allows every action ('*'): list the actions it needs"] if effect == "Allow" else []
    if not isinstance(action, str) or ":" not in action:
        return [f"{action!r} is not an action: write it as service:Action, e.g. s3:GetObject"]
    service, name = action.split(":", 1)
    if is_wildcard(service):
        if effect != "Allow":
            return []
        every = " (every action: administrator access)" if _only_wildcards(name) else ""
        return [
            f"action {action} matches actions of every service{every}: "
            "name the service and list the actions it needs"
        ]
    known = table.get(service.lower())
    if known is None:
        return [f"unknown service prefix in {action} (check its spelling)"]
    matched = [a for a in known if wildcard_matches(name, a)]
    if not matched:
        what = "matches no action of" if is_wildcard(name) else "is not an action of"
        return [f"unknown action {action}: it {what} {service} (check its spelling)"]
    if effect != "Allow":
        return []
    broad = [r for r in resources if isinstance(r, str) and matches_whole_service(r)]
    if is_wildcard(name) and len(matched) == len(known):
        return [
            f"allows {action} on Resource {r!r}: every {service} action on every resource "
            "of the service; list the actions it needs and scope the resources to ARNs"
            for r in broad
        ]
    if is_wildcard(name):
        return [
            f"wildcard action {action} on Resource {r!r}: list the actions it needs" for r in broad
        ]
    if action.lower() in OPTIONAL_RESOURCE_ACTIONS:
        if broad and not has_condition:
            return [f"{action} on Resource '*' needs a Condition that narrows it"]
        return []
    resource_types = known[name.lower()]
    return [
        f"{action} supports resource-level permissions ({', '.join(resource_types[:4])}); "
        f"scope it to ARNs of the kit's resources, not {r!r}"
        for r in broad
        if resource_types
    ]


def _conditions_on(statement: dict[str, Any], key: str) -> bool:
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return False
    return any(
        isinstance(keys, dict) and key.lower() in (k.lower() for k in keys)
        for keys in conditions.values()
    )


def is_kit_role(resource: Any, passable: frozenset[str]) -> bool:
    """A role the kit's policies may pass: a named kit role in the account, or a placeholder."""
    if not isinstance(resource, str):
        return False
    if resource in passable:
        return True
    arn = parse_arn(resource)
    if arn is None or arn.service != "iam" or is_wildcard(resource):
        return False
    kind, _, path_and_name = arn.resource.partition("/")
    return kind == "role" and path_and_name.rsplit("/", 1)[-1] in KIT_ROLE_NAMES


def pass_role_problems(
    statement: dict[str, Any], actions: list[Any], passable: frozenset[str]
) -> list[str]:
    """``iam:PassRole``, however spelled, only on the kit's roles and for a named service."""
    passing = [a for a in actions if isinstance(a, str) and wildcard_matches(a, "iam:PassRole")]
    if not passing or statement.get("Effect") != "Allow":
        return []
    problems = [
        f"{_passing(action)} on {resource!r} is not limited to the kit's roles: pass only "
        f"${{ExecutionRoleArn}} or a role named {', '.join(KIT_ROLE_NAMES)} in the account "
        "(arn:${AWS::Partition}:iam::${AWS::AccountId}:role/<name>)"
        for action in passing
        for resource in _as_list(statement.get("Resource"))
        if not is_kit_role(resource, passable)
    ]
    if not _conditions_on(statement, "iam:PassedToService"):
        problems += [
            f"{_passing(action)} has no Condition on iam:PassedToService: add "
            '"StringEquals": {"iam:PassedToService": "<service>.amazonaws.com"}'
            for action in passing
        ]
    return problems


def _passing(action: str) -> str:
    if action.lower() == "iam:passrole":
        return action
    return f"{action} (it allows iam:PassRole)"


def check_statement(
    statement: Any,
    table: ActionTable | None = None,
    passable: frozenset[str] = PASSABLE_PLACEHOLDERS,
) -> list[str]:
    """The kit's rules on one policy statement: its problems (empty when it passes)."""
    if not isinstance(statement, dict):
        return ["is not a JSON object; write it as {'Sid': ..., 'Effect': ..., ...}"]
    problems = []
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(f"Effect {effect!r} must be Allow or Deny")
    if not statement.get("Sid"):
        problems.append("has no Sid; name what it is for")
    for element in ("NotAction", "NotResource", "NotPrincipal"):
        if element in statement:
            problems.append(
                f"uses {element}: it grants everything not listed; "
                f"list what it grants in {element[3:]} instead"
            )
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    if not actions and "NotAction" not in statement:
        problems.append("has no Action; list the actions it grants")
    if "Principal" not in statement and not resources and "NotResource" not in statement:
        problems.append(
            "has neither Resource (permission policy) nor Principal (trust policy); add one"
        )
    for function in sorted(set(UNRESOLVED_FUNCTION.findall(json.dumps(statement)))):
        problems.append(
            f"uses {function}, which the check cannot see through; write the value with !Sub"
        )
    if effect == "Allow" and "Principal" in statement:
        problems += principal_problems(statement["Principal"])
    for resource in resources:
        problems += resource_problems(resource, effect)
    if table is not None:
        has_condition = bool(statement.get("Condition"))
        for action in actions:
            problems += action_problems(action, resources, has_condition, table, effect)
        problems += pass_role_problems(statement, actions, passable)
    return problems


# --------------------------------------------------------------------------- parliament


def _starts_with_unknown_placeholder(value: Any) -> bool:
    match = PLACEHOLDER.match(value) if isinstance(value, str) else None
    return match is not None and match.group(1) not in SAMPLE_VALUES


def _sample(match: re.Match[str]) -> str:
    return SAMPLE_VALUES.get(match.group(1), SAMPLE_NAME)


def linter_copy(statement: dict[str, Any]) -> dict[str, Any] | None:
    """The statement as parliament can read it, or None when it has nothing to lint.

    parliament lints permission statements, so a trust statement (a Principal and no Resource)
    is left to the kit's rules; so are resources that start with a placeholder of unknown type
    (``${Role.Arn}``, ``${Bucket.Arn}/*``). The other placeholders take sample values.
    """
    if "Resource" not in statement and "NotResource" not in statement:
        return None
    lintable = copy.deepcopy(statement)
    for element in ("Resource", "NotResource"):
        if element not in lintable:
            continue
        kept = [r for r in _as_list(lintable[element]) if not _starts_with_unknown_placeholder(r)]
        if not kept:
            return None
        lintable[element] = kept
    return json.loads(PLACEHOLDER.sub(_sample, json.dumps(lintable)))


def _describe(detail: Any) -> str:
    if isinstance(detail, list) and all(isinstance(d, dict) and "action" in d for d in detail):
        needs = [f"{d['action']} needs {d.get('required_format', '?')}" for d in detail]
        more = f"; and {len(needs) - 3} more actions" if len(needs) > 3 else ""
        return "; ".join(needs[:3]) + more
    if isinstance(detail, str):
        return detail
    return json.dumps(detail)[:300]


def linter_problems(statement: Any, lint: Callable[[str], list[LinterFinding]]) -> list[str]:
    """parliament's findings on one statement, as problem lines with a fix."""
    if not isinstance(statement, dict):
        return []
    lintable = linter_copy(statement)
    if lintable is None:
        return []
    document = json.dumps({"Version": "2012-10-17", "Statement": [lintable]})
    try:
        findings = lint(document)
    except Exception as exc:  # parliament fails on some malformed statements: report, not crash
        return [f"parliament cannot analyse it ({exc!r}); fix the statement's structure"]
    problems = []
    for finding in findings:
        if finding.issue in REPORTED_BY_KIT_RULES:
            continue
        detail = _describe(finding.detail) if finding.detail else ""
        fix = PARLIAMENT_FIXES.get(finding.issue, "change the statement so parliament passes it")
        problems.append(
            f"parliament {finding.issue}: {finding.title.strip()}"
            + (f" ({detail})" if detail else "")
            + f"; {fix}"
        )
    return problems


# --------------------------------------------------------------------------- documents


def _duplicate_sids(statements: list[Any]) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for number, statement in enumerate(statements, 1):
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        if not sid:
            continue
        if sid in first:
            problems.append(
                f"{_label(statement, number)}: Sid {sid!r} is also statement {first[sid]}'s; "
                "give each statement its own Sid"
            )
        first.setdefault(sid, number)
    return problems


def check_document(
    document: Any,
    name: str,
    tools: Tools | None = None,
    passable: frozenset[str] = PASSABLE_PLACEHOLDERS,
    placeholders: bool = True,
) -> list[str]:
    """Every problem of one policy document, as ``name: statement N (Sid): problem`` lines.

    Without ``tools`` only the rules that need no action table run. ``placeholders=False`` for
    a template's policies, whose ``${...}`` are the template's parameters and resources.
    """
    if not isinstance(document, dict):
        return [f"{name}: is not a JSON object; write the policy as {{'Version': ..., ...}}"]
    problems = []
    if document.get("Version") != "2012-10-17":
        problems.append(f'{name}: Version must be "2012-10-17" (policy variables need it)')
    statements = _statements(document)
    if not statements:
        problems.append(f"{name}: has no Statement; add the statements it grants")
    table = tools.actions if tools else None
    for number, statement in enumerate(statements, 1):
        found = check_statement(statement, table, passable)
        if tools is not None:
            found += linter_problems(statement, tools.lint)
        problems += [f"{name}: {_label(statement, number)}: {p}" for p in found]
    problems += [f"{name}: {p}" for p in _duplicate_sids(statements)]
    unknown = sorted(set(PLACEHOLDER.findall(json.dumps(document))) - set(PLACEHOLDERS))
    if placeholders and unknown:
        problems.append(
            f"{name}: unknown placeholders {unknown}; use those of PLACEHOLDERS: "
            f"{', '.join(PLACEHOLDERS)}"
        )
    return problems


# --------------------------------------------------------------------------- templates


def _yaml_loader() -> type:
    """A YAML loader for CloudFormation: short-form tags in long form, dates left as text."""
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    CloudFormationLoader.add_multi_constructor("!", tagged)
    # `Version: 2012-10-17` unquoted is a string to CloudFormation, not a date.
    CloudFormationLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return CloudFormationLoader


def resolve(value: Any) -> Any:
    """A template's policy value with its intrinsic functions as ``${...}`` text.

    ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join`` become text; ``Fn::If`` becomes both
    of its branches, so each is checked. Any other function becomes ``${Fn::Name}``, which
    ``check_statement`` reports.
    """
    if isinstance(value, list):
        resolved = []
        for item in value:
            if isinstance(item, dict) and "Fn::If" in item:
                resolved += _as_list(resolve(item))
            elif item != {"Ref": "AWS::NoValue"}:
                resolved.append(resolve(item))
        return resolved
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"${{{argument}}}"
        if key == "Fn::GetAtt":
            return "${" + ".".join(map(str, _as_list(argument))) + "}"
        if key == "Fn::Sub":
            return argument[0] if isinstance(argument, list) else argument
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(str(resolve(part)) for part in resolve(argument[1]))
        if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return resolve(argument[1:])
        if key.startswith("Fn::"):
            return f"${{{key}}}"
    return {k: resolve(v) for k, v in value.items()}


def template_policies(template: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(where, document)`` for each policy document a template's resources hold."""

    def walk(value: Any, where: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in POLICY_PROPERTIES:
                    yield f"{where}.{key}", item
                else:
                    yield from walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]")

    resources = template.get("Resources")
    for logical_id, resource in (resources if isinstance(resources, dict) else {}).items():
        if isinstance(resource, dict):
            yield from walk(resource.get("Properties", {}), f"{logical_id}.Properties")


def template_roles(template: dict[str, Any]) -> frozenset[str]:
    """What a policy may pass besides the kit's placeholders: the roles the template creates."""
    resources = template.get("Resources")
    return PASSABLE_PLACEHOLDERS | {
        f"${{{logical_id}.Arn}}"
        for logical_id, resource in (resources if isinstance(resources, dict) else {}).items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::IAM::Role"
    }


def check_template(template: dict[str, Any], name: str, tools: Tools | None = None) -> list[str]:
    """Every problem of the policies a CloudFormation template holds."""
    passable = template_roles(template)
    problems = []
    for where, document in template_policies(template):
        if isinstance(document, str):  # CloudFormation also takes a policy as JSON text
            try:
                document = json.loads(document)
            except ValueError as exc:
                problems.append(f"{name}: {where}: is not valid JSON ({exc}); fix its syntax")
                continue
        resolved = resolve(document)
        # An Fn::If around the whole document: both documents are checked.
        for one in resolved if isinstance(resolved, list) else [resolved]:
            problems += check_document(one, f"{name}: {where}", tools, passable, placeholders=False)
    return problems


# --------------------------------------------------------------------------- files


def policy_files(folder: Path = HERE) -> list[Path]:
    return sorted(folder.glob("*.json"))


def template_files(folder: Path = SEEDCODE) -> list[Path]:
    """The CloudFormation templates (YAML) under ``folder``, buildspecs and CI files left out."""
    return sorted(
        path
        for path in folder.rglob("*.y*ml")
        if path.suffix in (".yaml", ".yml") and TEMPLATE_MARK.search(path.read_text())
    )


def default_files() -> list[Path]:
    return policy_files() + template_files()


def read_file(path: Path) -> Any:
    """A policy or template file's content (JSON, or YAML with CloudFormation's tags)."""
    text = path.read_text()
    if path.suffix not in (".yaml", ".yml"):
        return json.loads(text)
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def check_file(path: Path, tools: Tools) -> list[str]:
    try:
        content = read_file(path)
    except (OSError, ValueError) as exc:
        return [f"{path}: cannot be read as JSON or YAML ({exc}); fix its syntax"]
    if isinstance(content, dict) and "Resources" in content and "Statement" not in content:
        return check_template(content, str(path), tools)
    if isinstance(content, dict) and "Statement" in content:
        return check_document(content, str(path), tools)
    return [
        f"{path}: is neither an IAM policy (a Statement) nor a CloudFormation template "
        "(Resources); check policies and templates only"
    ]


# --------------------------------------------------------------------------- command line


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with every ``${Name}`` replaced; ValueError names the ones without a value."""
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ValueError(
            "no value for "
            + ", ".join(f"{m} ({PLACEHOLDERS.get(m, 'unknown')})" for m in missing)
            + "; pass --set NAME=VALUE for each"
        )
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _check(files: list[Path]) -> int:
    try:
        tools = load_tools()
    except MissingTool as exc:
        print(f"check_policies: {exc}", file=sys.stderr)
        return 2
    paths = files or default_files()
    problems = [problem for path in paths for problem in check_file(path, tools)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_policies: {len(paths)} files, {len(problems)} problems")
    return 1 if problems else 0


def _render(path: Path, assignments: list[str]) -> int:
    values = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"check_policies: --set {item!r} must look like NAME=VALUE", file=sys.stderr)
            return 2
        values[name] = value
    try:
        filled = render(path.read_text(), values)
    except (OSError, ValueError) as exc:
        print(f"check_policies: {path}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(filled)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "render":
        return _render(args.file, args.values)
    return _check(args.files)


if __name__ == "__main__":
    raise SystemExit(main())
