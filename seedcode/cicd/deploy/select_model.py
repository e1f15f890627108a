"""Pick the model to deploy: the latest Approved version of a model package group.

The deploy buildspec (``seedcode/cicd/buildspec-deploy.yml``) runs it before
``aws cloudformation deploy``: approving a version in the model registry is how a model
reaches an endpoint, never a file path someone copied. It merges the chosen
``ModelPackageArn`` into the stage's parameter file and writes two files::

    python seedcode/cicd/deploy/select_model.py --model-package-group mlaccel-used-cars \\
        --stage-params seedcode/cicd/templates/params-dev.json --output build/model.json

- ``build/model.json``: the chosen package (ARN, version, creation time) and the merged
  parameters as ``"Key=Value"`` strings;
- ``build/parameters.json``: the same parameters in CloudFormation's
  ``[{"ParameterKey": ..., "ParameterValue": ...}]`` form, for
  ``aws cloudformation deploy --parameter-overrides file://build/parameters.json``.

AWS settings (region, credentials, ``AWS_ENDPOINT_URL``) come from the environment, as for
any boto3 program. Exit status: 0 on success, 1 when nothing can be selected or an input is
wrong (the message says which and what to do), 2 for bad command-line arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

APPROVED = "Approved"
SELECTED_PARAMETER = "ModelPackageArn"


class SelectionError(Exception):
    """Nothing can be selected, or an input file is wrong; the message says what to do."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--model-package-group", required=True, help="model package group, e.g. mlaccel-used-cars"
    )
    p.add_argument(
        "--stage-params",
        type=Path,
        help="CloudFormation parameter file of the stage, e.g. templates/params-dev.json",
    )
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override or add one stack parameter (repeatable), e.g. ExecutionRoleArn=arn:...",
    )
    p.add_argument(
        "--output", type=Path, default=Path("build/model.json"), help="selection summary (JSON)"
    )
    p.add_argument(
        "--parameter-file",
        type=Path,
        help="CloudFormation parameter file to write (default: parameters.json beside --output)",
    )
    p.add_argument("--region", help="AWS region (default: the environment's)")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- pure functions


def _created(package: dict[str, Any]) -> float:
    created = package.get("CreationTime")
    if isinstance(created, datetime):
        return created.timestamp()
    if isinstance(created, int | float):
        return float(created)
    if isinstance(created, str) and created:
        return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    return 0.0


def latest_approved(packages: list[dict[str, Any]], group: str = "") -> dict[str, Any]:
    """The Approved package with the highest version (creation time breaks ties).

    Examples
    --------
    >>> latest_approved([
    ...     {"ModelPackageVersion": 1, "ModelApprovalStatus": "Approved"},
    ...     {"ModelPackageVersion": 2, "ModelApprovalStatus": "PendingManualApproval"},
    ... ])["ModelPackageVersion"]
    1
    """
    approved = [p for p in packages if p.get("ModelApprovalStatus") == APPROVED]
    if not approved:
        name = f"model package group {group!r}" if group else "the model package group"
        if packages:
            statuses = sorted({str(p.get("ModelApprovalStatus")) for p in packages})
            found = f"its {len(packages)} packages are {', '.join(statuses)}"
        else:
            found = "it holds no package (or does not exist)"
        raise SelectionError(
            f"{name} has no Approved model package: {found}. Approve a version in the model "
            "registry (update-model-package --model-approval-status Approved) and run again."
        )
    return max(approved, key=lambda p: (int(p.get("ModelPackageVersion") or 0), _created(p)))


def read_parameter_file(path: Path) -> dict[str, str]:
    """Parameters of a CloudFormation parameter file (``[{"ParameterKey", "ParameterValue"}]``)."""
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        raise SelectionError(f"--stage-params {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise SelectionError(f"--stage-params {path}: not valid JSON ({exc})") from None
    if not isinstance(entries, list):
        raise SelectionError(
            f"--stage-params {path}: must be a list of "
            '{"ParameterKey": ..., "ParameterValue": ...} objects'
        )
    parameters: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("ParameterKey"), str)
            or "ParameterValue" not in entry
        ):
            raise SelectionError(
                f"--stage-params {path}: entry {number} needs ParameterKey and ParameterValue"
            )
        key = entry["ParameterKey"]
        if key in parameters:
            raise SelectionError(f"--stage-params {path}: {key} is set twice")
        parameters[key] = str(entry["ParameterValue"])
    return parameters


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """``["Key=Value", ...]`` as a dict; the value may itself contain ``=``."""
    parsed: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SelectionError(f"--set {item!r} must look like Key=Value")
        parsed[key.strip()] = value
    return parsed


def merge_parameters(
    stage: dict[str, str], overrides: dict[str, str], package_arn: str
) -> dict[str, str]:
    """Stage parameters, then overrides, then the selected ``ModelPackageArn``.

    The model package is the registry's decision: a stage file or an override naming one is
    refused rather than silently replaced.
    """
    for source, values in (("the stage parameter file", stage), ("--set", overrides)):
        if SELECTED_PARAMETER in values:
            raise SelectionError(
                f"{source} sets {SELECTED_PARAMETER}; remove it, the approved version in the "
                "model registry decides which model is deployed"
            )
    return {**stage, **overrides, SELECTED_PARAMETER: package_arn}


def as_overrides(parameters: dict[str, str]) -> list[str]:
    """``Key=Value`` strings, as ``aws cloudformation deploy --parameter-overrides`` takes."""
    return [f"{key}={value}" for key, value in parameters.items()]


def as_cloudformation_parameters(parameters: dict[str, str]) -> list[dict[str, str]]:
    """CloudFormation's parameter-file form."""
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()]


def selection_summary(
    group: str, package: dict[str, Any], parameters: dict[str, str], parameter_file: Path
) -> dict[str, Any]:
    created = package.get("CreationTime")
    return {
        "ModelPackageGroupName": group,
        "ModelPackageArn": package["ModelPackageArn"],
        "ModelPackageVersion": package.get("ModelPackageVersion"),
        "ModelApprovalStatus": package.get("ModelApprovalStatus"),
        "CreationTime": created.isoformat() if isinstance(created, datetime) else created,
        "ParameterOverrides": as_overrides(parameters),
        "ParameterFile": str(parameter_file),
    }


# --------------------------------------------------------------------------- AWS


def list_approved_packages(client: Any, group: str) -> list[dict[str, Any]]:
    """Every Approved package summary of ``group``, newest first, across all pages."""
    paginator = client.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    return [summary for page in pages for summary in page.get("ModelPackageSummaryList", [])]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    group = args.model_package_group.strip()
    parameter_file = args.parameter_file or args.output.with_name("parameters.json")
    try:
        if not group:
            raise SelectionError("--model-package-group must name a model package group")
        stage = read_parameter_file(args.stage_params) if args.stage_params else {}
        overrides = parse_assignments(args.assignments)

        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("sagemaker", region_name=args.region)
        try:
            packages = list_approved_packages(client, group)
        except (ClientError, BotoCoreError) as exc:
            raise SelectionError(
                f"could not list the model packages of group {group!r}: {exc}"
            ) from None
        package = latest_approved(packages, group)
        parameters = merge_parameters(stage, overrides, package["ModelPackageArn"])
    except SelectionError as exc:
        print(f"select_model: {exc}", file=sys.stderr)
        return 1

    summary = selection_summary(group, package, parameters, parameter_file)
    for path, content in (
        (args.output, summary),
        (parameter_file, as_cloudformation_parameters(parameters)),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    print(
        f"select_model: {group} version {summary['ModelPackageVersion']} "
        f"({package['ModelPackageArn']}) -> {args.output}, {parameter_file}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
