"""Check the kit's IAM policy documents for least privilege, and fill in their placeholders.

    python seedcode/iam/check_policies.py                       # check every *.json here
    python seedcode/iam/check_policies.py check my-policy.json  # check given files
    python seedcode/iam/check_policies.py render seedcode/iam/lambda-role.json \\
        --set AWS::Partition=aws --set AWS::Region=eu-west-1 --set AWS::AccountId=<account-id> \\
        --set Bucket=<bucket> --set ExecutionRoleArn=<role-arn>

A statement fails the check when it

- allows every action (``"*"``), or every action of a service (``"s3:*"``) on ``"*"``;
- uses ``NotAction``, ``NotResource`` or ``NotPrincipal`` (they grant whatever is not listed);
- allows the ``"*"`` principal (anyone, in a trust or resource policy);
- allows ``"*"`` as resource for an action that supports resource-level permissions (except
  the few of ``OPTIONAL_RESOURCE_ACTIONS``, and then only under a ``Condition``), or names an
  action IAM does not define (a typo grants nothing and hides a missing permission);
- uses a placeholder other than those of ``PLACEHOLDERS``, or has no ``Sid``.

Which actions exist and which take resource ARNs comes from the IAM action table cfn-lint
ships (``cfnlint/data/AdditionalSpecs/Policies.json``). Exit status: 0 when every file passes,
1 when one fails (each problem printed as ``file: statement: problem``), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
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
# Actions whose only resource types are optional: a call that names none of them is authorized
# against "*", so "*" is the only resource that works. Keep each one narrowed by a condition.
OPTIONAL_RESOURCE_ACTIONS = {
    "cloudwatch:putmetricdata": "its dataset resource is optional; metrics without one match '*'",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("check", "render", "-h", "--help"):
        argv.insert(0, "check")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check policy documents (default: every *.json here)")
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


# --------------------------------------------------------------------------- pure functions


def load_action_table() -> dict[str, dict[str, Any]] | None:
    """``{service: {action (lower case): [resource types]}}`` from cfn-lint, or None."""
    try:
        from importlib.resources import files

        text = (files("cfnlint.data.AdditionalSpecs") / "Policies.json").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    return {
        service: {
            action: list(spec.get("Resources", []))
            for action, spec in content.get("Actions", {}).items()
        }
        for service, content in json.loads(text).items()
    }


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


def _is_star_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(v) for v in principal.values())
    return False


def _check_action_names(
    actions: list[Any],
    resources: list[Any],
    table: dict[str, dict[str, Any]],
    has_condition: bool = False,
) -> list[str]:
    problems = []
    for action in actions:
        if (
            isinstance(action, str)
            and action.lower() in OPTIONAL_RESOURCE_ACTIONS
            and "*" in resources
            and not has_condition
        ):
            problems.append(f"{action} on Resource '*' needs a Condition that narrows it")
        if not isinstance(action, str) or ":" not in action:
            problems.append(f"{action!r} is not an action (service:Action)")
            continue
        service, name = action.split(":", 1)
        known = table.get(service.lower())
        if "*" in name or "?" in name:
            if "*" in resources:
                problems.append(
                    f"wildcard action {action} on Resource '*': list the actions it needs"
                )
            continue
        if known is None:
            problems.append(f"unknown service prefix in {action}")
        elif name.lower() not in known:
            problems.append(f"unknown action {action} (check its spelling)")
        elif (
            "*" in resources
            and known[name.lower()]
            and action.lower() not in OPTIONAL_RESOURCE_ACTIONS
        ):
            problems.append(
                f"{action} supports resource-level permissions "
                f"({', '.join(known[name.lower()][:4])}); scope it to ARNs, not '*'"
            )
    return problems


def check_statement(statement: Any, table: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Problems of one policy statement (empty when it passes)."""
    if not isinstance(statement, dict):
        return ["is not a JSON object"]
    problems = []
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(f"Effect {effect!r} must be Allow or Deny")
    if not statement.get("Sid"):
        problems.append("has no Sid; name what it is for")
    for element in ("NotAction", "NotResource", "NotPrincipal"):
        if element in statement:
            problems.append(f"uses {element}: it grants everything not listed; list instead")
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    if not actions and "NotAction" not in statement:
        problems.append("has no Action")
    if "Principal" not in statement and not resources and "NotResource" not in statement:
        problems.append("has neither Resource (permission policy) nor Principal (trust policy)")
    if effect == "Allow" and _is_star_principal(statement.get("Principal")):
        problems.append("allows the '*' principal: anyone could use it")
    if effect == "Allow":
        if "*" in actions:
            problems.append("allows every action ('*')")
        service_wide = [a for a in actions if isinstance(a, str) and a.endswith(":*")]
        if service_wide and "*" in resources:
            problems.append(f"allows {', '.join(service_wide)} on Resource '*'")
        elif table is not None:
            problems += _check_action_names(
                [a for a in actions if a != "*" and a not in service_wide],
                resources,
                table,
                has_condition=bool(statement.get("Condition")),
            )
    for resource in resources:
        if resource != "*" and not (
            isinstance(resource, str)
            and (resource.startswith("arn:") or PLACEHOLDER.fullmatch(resource))
        ):
            problems.append(f"resource {resource!r} is neither '*' nor an ARN")
    return problems


def check_document(
    document: Any, name: str, table: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """Every problem of one policy document, as ``name: statement N (Sid): problem`` lines."""
    if not isinstance(document, dict):
        return [f"{name}: is not a JSON object"]
    problems = []
    if document.get("Version") != "2012-10-17":
        problems.append(f'{name}: Version must be "2012-10-17" (policy variables need it)')
    statements = _statements(document)
    if not statements:
        problems.append(f"{name}: has no Statement")
    for number, statement in enumerate(statements, 1):
        label = _label(statement, number)
        problems += [f"{name}: {label}: {p}" for p in check_statement(statement, table)]
    unknown = sorted(set(PLACEHOLDER.findall(json.dumps(document))) - set(PLACEHOLDERS))
    if unknown:
        problems.append(
            f"{name}: unknown placeholders {unknown}; use those of PLACEHOLDERS: "
            f"{', '.join(PLACEHOLDERS)}"
        )
    return problems


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


def policy_files(folder: Path = HERE) -> list[Path]:
    return sorted(folder.glob("*.json"))


# --------------------------------------------------------------------------- command line


def _check(files: list[Path]) -> int:
    table = load_action_table()
    if table is None:
        print("check_policies: cfn-lint is not installed; action names and '*' resources unchecked")
    problems = []
    for path in files or policy_files():
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: cannot be read as JSON ({exc})")
            continue
        problems += check_document(document, str(path), table)
    for problem in problems:
        print(problem, file=sys.stderr)
    checked = len(files or policy_files())
    print(f"check_policies: {checked} files, {len(problems)} problems")
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
