"""The IAM policy checker (seedcode/iam/check_policies.py) and the kit's IAM policies."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.support import REPO, import_script

SEEDCODE = REPO / "seedcode"
IAM = SEEDCODE / "iam"
CICD = SEEDCODE / "cicd"
CHECKER = "seedcode/iam/check_policies.py"


@pytest.fixture(scope="module")
def check_policies() -> ModuleType:
    return import_script(IAM / "check_policies.py", "iam_check_policies")


def _statement(**fields: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **fields}]}


def _check(
    check_policies: ModuleType, path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    status = check_policies.main(["check", str(path)])
    return status, capsys.readouterr().err.splitlines()


# --------------------------------------------------------------------------- the kit's policies


def test_every_shipped_policy_and_template_passes_the_checker(
    check_policies: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = check_policies.policy_files(IAM)
    names = {p.name for p in shipped}
    assert {
        "sagemaker-execution-role.json",
        "sagemaker-trust.json",
        "stepfunctions-role.json",
        "eventbridge-role.json",
        "lambda-role.json",
        "lambda-trust.json",
    } <= names
    templates = check_policies.template_files()
    assert CICD / "templates" / "endpoint.yaml" in templates
    assert any(path.parent.name == "workflows" for path in templates)
    assert CICD / "buildspec.yml" not in templates
    status = check_policies.main([])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert f"{len(shipped) + len(templates)} files, 0 problems" in out.out
    readme = (IAM / "README.md").read_text()
    assert all(name in readme for name in names), "README.md describes every policy file"


def test_the_checker_pins_the_linters_of_the_dev_extra(check_policies: ModuleType) -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    dev = extras["optional-dependencies"]["dev"]
    assert set(check_policies.REQUIREMENTS.values()) <= set(dev)


def test_ci_runs_the_checker_after_installing_the_dev_extra() -> None:
    buildspec = yaml.safe_load((CICD / "buildspec.yml").read_text())
    assert "make setup" in buildspec["phases"]["install"]["commands"]  # the dev extra
    assert f".venv/bin/python {CHECKER}" in buildspec["phases"]["pre_build"]["commands"]
    workflow = yaml.safe_load((CICD / "github-actions" / "mlaccel-ci.yml").read_text())
    runs = [step.get("run") for step in workflow["jobs"]["local"]["steps"]]
    assert runs.index(f".venv/bin/python {CHECKER}") > runs.index("make setup")


# --------------------------------------------------------------------------- policies that fail

PASS_ROLE_NOT_KIT = "is not limited to the kit's roles"
NO_PASSED_TO_SERVICE = "has no Condition on iam:PassedToService"


@pytest.mark.parametrize(
    ("statement", "problems"),
    [
        pytest.param(
            _statement(Sid="Administrator", Action="*:*", Resource="arn:*:*:*:*:*"),
            [
                "action *:* matches actions of every service (every action: administrator "
                "access): name the service",
                "resource 'arn:*:*:*:*:*' matches resources of every service: name the service",
                f"*:* (it allows iam:PassRole) on 'arn:*:*:*:*:*' {PASS_ROLE_NOT_KIT}",
                f"*:* (it allows iam:PassRole) {NO_PASSED_TO_SERVICE}",
            ],
            id="administrator-spelled-*:*",
        ),
        pytest.param(
            _statement(Sid="AllOfS3", Action="s3:*", Resource="arn:aws:s3:::*"),
            [
                "allows s3:* on Resource 'arn:aws:s3:::*': every s3 action on every resource "
                "of the service; list the actions it needs"
            ],
            id="s3:*-on-every-bucket",
        ),
        pytest.param(
            _statement(Sid="PassAnyRole", Action="iam:Pass*", Resource="arn:aws:iam::*:role/*"),
            [
                "resource 'arn:aws:iam::*:role/*' matches every AWS account ('*'): "
                "use ${AWS::AccountId}",
                "iam:Pass* (it allows iam:PassRole) on 'arn:aws:iam::*:role/*' "
                f"{PASS_ROLE_NOT_KIT}: pass only ${{ExecutionRoleArn}} or a role named "
                "MLAccelSageMakerExecutionRole",
                f"iam:Pass* (it allows iam:PassRole) {NO_PASSED_TO_SERVICE}: add "
                '"StringEquals": {"iam:PassedToService": "<service>.amazonaws.com"}',
            ],
            id="iam:Pass*-on-any-account's-roles",
        ),
        pytest.param(
            _statement(
                Sid="AnyAccountMayAssume",
                Principal={"AWS": "arn:aws:iam::*:root"},
                Action="sts:AssumeRole",
            ),
            [
                "principal 'arn:aws:iam::*:root' trusts every AWS account: name the account, "
                "e.g. arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            ],
            id="trust-of-any-account",
        ),
        pytest.param(
            _statement(Sid="AnyoneMayAssume", Principal="*", Action="sts:AssumeRole"),
            ["allows the '*' principal: anyone could use it; name the service or account"],
            id="Principal-*",
        ),
        pytest.param(
            _statement(Sid="AnyAwsPrincipal", Principal={"AWS": "*"}, Action="sts:AssumeRole"),
            ["allows the '*' principal (AWS): anyone could use it"],
            id="Principal-AWS-*",
        ),
        pytest.param(
            _statement(Sid="AnyAwsList", Principal={"AWS": ["*"]}, Action="sts:AssumeRole"),
            ["allows the '*' principal (AWS)"],
            id="Principal-AWS-[*]",
        ),
        pytest.param(
            _statement(
                Sid="AnyService", Principal={"Service": "*.amazonaws.com"}, Action="sts:AssumeRole"
            ),
            ["principal Service '*.amazonaws.com' has a wildcard: name the exact principal"],
            id="Principal-Service-wildcard",
        ),
        pytest.param(
            _statement(Sid="AllButIam", NotAction="iam:*", Resource="*"),
            ["uses NotAction: it grants everything not listed; list what it grants in Action"],
            id="NotAction-allow",
        ),
        pytest.param(
            _statement(Sid="AllButOne", Action="s3:GetObject", NotResource="arn:aws:s3:::b/*"),
            ["uses NotResource: it grants everything not listed; list what it grants in Resource"],
            id="NotResource-allow",
        ),
        pytest.param(
            _statement(Sid="PassAnything", Action="iam:PassRole", Resource="*"),
            [
                "iam:PassRole supports resource-level permissions (role); scope it to ARNs",
                f"iam:PassRole on '*' {PASS_ROLE_NOT_KIT}",
                f"iam:PassRole {NO_PASSED_TO_SERVICE}",
            ],
            id="iam:PassRole-on-*",
        ),
        pytest.param(
            _statement(
                Sid="PassATeamRole",
                Action="iam:PassRole",
                Resource="arn:${AWS::Partition}:iam::${AWS::AccountId}:role/TeamAdmin",
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            [
                "iam:PassRole on 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/TeamAdmin' "
                f"{PASS_ROLE_NOT_KIT}"
            ],
            id="iam:PassRole-on-another-role",
        ),
        pytest.param(
            _statement(
                Sid="ModelsOfAnyAccount",
                Action="sagemaker:DescribeModel",
                Resource="arn:${AWS::Partition}:sagemaker:${AWS::Region}:*:model/mlaccel-*",
            ),
            ["matches every AWS account ('*'): use ${AWS::AccountId}"],
            id="any-account-between-placeholders",
        ),
        pytest.param(
            _statement(Sid="AdminOnEverything", Action="*", Resource="*"),
            ["allows every action ('*'): list the actions it needs"],
            id="Action-*",
        ),
        pytest.param(
            _statement(Sid="AllOfS3", Action="s3:*", Resource="*"),
            ["allows s3:* on Resource '*'"],
            id="s3:*-on-*",
        ),
        pytest.param(
            _statement(Sid="TrainAnything", Action="sagemaker:CreateTrainingJob", Resource="*"),
            ["sagemaker:CreateTrainingJob supports resource-level permissions"],
            id="resource-level-action-on-*",
        ),
        pytest.param(
            _statement(Sid="ReadEveryObject", Action="s3:GetObject", Resource="arn:aws:s3:::*"),
            ["s3:GetObject supports resource-level permissions", "not 'arn:aws:s3:::*'"],
            id="resource-level-action-on-every-bucket",
        ),
        pytest.param(
            _statement(Sid="DescribeAll", Action="sagemaker:Describe*", Resource="*"),
            ["wildcard action sagemaker:Describe* on Resource '*': list the actions it needs"],
            id="wildcard-action-on-*",
        ),
        pytest.param(
            _statement(
                Sid="Typo",
                Action="sagemaker:DescribeTrainingJobs",
                Resource="arn:aws:sagemaker:eu-west-1:000000000000:training-job/mlaccel-*",
            ),
            ["unknown action sagemaker:DescribeTrainingJobs: it is not an action of sagemaker"],
            id="typo",
        ),
        pytest.param(
            _statement(
                Sid="WildcardTypo",
                Action="sagemaker:Descirbe*",
                Resource="arn:aws:sagemaker:eu-west-1:000000000000:training-job/mlaccel-*",
            ),
            ["unknown action sagemaker:Descirbe*: it matches no action of sagemaker"],
            id="wildcard-typo",
        ),
        pytest.param(
            _statement(Sid="AnyMetric", Action="cloudwatch:PutMetricData", Resource="*"),
            ["cloudwatch:PutMetricData on Resource '*' needs a Condition that narrows it"],
            id="condition-required",
        ),
        pytest.param(
            _statement(Action="s3:GetObject", Resource="arn:aws:s3:::b/*"),
            ["has no Sid; name what it is for"],
            id="no-Sid",
        ),
        pytest.param(
            _statement(
                Sid="ObjectActionOnABucket", Action="s3:GetObject", Resource="arn:aws:s3:::b"
            ),
            [
                "parliament RESOURCE_MISMATCH: No resources match for the given action "
                "(s3:GetObject needs arn:*:s3:::*/*); give each action an ARN of the resource "
                "type it acts on"
            ],
            id="parliament-resource-mismatch",
        ),
    ],
)
def test_a_permissive_policy_fails_with_one_line_per_problem(
    check_policies: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    statement: dict[str, Any],
    problems: list[str],
) -> None:
    path = tmp_path / "team-policy.json"
    path.write_text(json.dumps(statement))
    status, lines = _check(check_policies, path, capsys)
    assert status == 1
    sid = statement["Statement"][0].get("Sid")
    label = f"{path}: statement 1 ({sid}): " if sid else f"{path}: statement 1: "
    assert all(line.startswith(label) for line in lines), lines
    for problem in problems:
        assert any(problem in line for line in lines), f"{problem!r} not in {lines}"


def test_statements_are_named_by_sid_or_number_and_sids_are_unique(
    check_policies: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", **read},
            {**read, "Resource": "*"},
            {"Sid": "Read", **read},
        ],
    }
    path = tmp_path / "two.json"
    path.write_text(json.dumps(document))
    status, lines = _check(check_policies, path, capsys)
    assert status == 1
    assert f"{path}: statement 2: has no Sid; name what it is for" in lines
    assert any(line.startswith(f"{path}: statement 2: s3:GetObject supports") for line in lines)
    assert (
        f"{path}: statement 3 (Read): Sid 'Read' is also statement 1's; "
        "give each statement its own Sid"
    ) in lines
    assert not any("statement 1 (Read)" in line for line in lines)


def test_unknown_placeholders_fail(
    check_policies: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.json"
    path.write_text(
        json.dumps(
            _statement(Sid="Read", Action="s3:GetObject", Resource="arn:aws:s3:::${Bukket}/*")
        )
    )
    status, lines = _check(check_policies, path, capsys)
    assert status == 1
    assert lines == [
        f"{path}: unknown placeholders ['Bukket']; use those of PLACEHOLDERS: AWS::Partition, "
        "AWS::Region, AWS::AccountId, Bucket, ExecutionRoleArn, GlueDatabase"
    ]


def test_a_scoped_policy_passes(
    check_policies: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scoped.json"
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheBucket",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": "arn:${AWS::Partition}:s3:::${Bucket}/*",
            },
            {
                "Sid": "PassTheKitsRoleByName",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/mlaccel-lambda-role",
                "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            },
            {
                "Sid": "DenyEverythingElsewhere",
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::*",
                "Condition": {"StringNotEquals": {"aws:ResourceAccount": "${AWS::AccountId}"}},
            },
        ],
    }
    path.write_text(json.dumps(scoped))
    status, lines = _check(check_policies, path, capsys)
    assert (status, lines) == (0, [])


@pytest.mark.parametrize("tool", ["parliament", "cfn-lint"])
def test_a_missing_linter_fails_loudly_naming_it_and_how_to_install_it(
    check_policies: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
) -> None:
    modules = {
        "parliament": ["parliament"],
        "cfn-lint": ["cfnlint", "cfnlint.data", "cfnlint.data.AdditionalSpecs"],
    }[tool]
    for module in modules:  # None in sys.modules: `import` fails as for a missing package
        monkeypatch.setitem(sys.modules, module, None)
    path = tmp_path / "pass-any-role.json"
    path.write_text(json.dumps(_statement(Sid="PassAny", Action="iam:PassRole", Resource="*")))
    status, lines = _check(check_policies, path, capsys)
    assert status == 2
    (line,) = lines
    assert line.startswith(f"check_policies: {tool} is not installed or cannot be imported")
    assert f"Install it: python -m pip install '{tool}==" in line
    assert "make setup installs it" in line


def test_an_unreadable_file_and_a_file_of_another_kind_fail(
    check_policies: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"Statement": [')
    other = tmp_path / "params.json"
    other.write_text('[{"ParameterKey": "Stage", "ParameterValue": "dev"}]')
    assert check_policies.main(["check", str(broken), str(other)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"{broken}: cannot be read as JSON or YAML (")
    assert lines[0].endswith("fix its syntax")
    assert lines[1] == (
        f"{other}: is neither an IAM policy (a Statement) nor a CloudFormation template "
        "(Resources); check policies and templates only"
    )


# --------------------------------------------------------------------------- templates

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ExecutionRoleArn: {Type: String}
Conditions:
  InEurope: !Equals [!Ref "AWS::Region", eu-west-1]
Resources:
  TeamRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Sid: AnyAccountMayAssume
            Effect: Allow
            Principal: {AWS: "arn:aws:iam::*:root"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: team
          PolicyDocument:
            Version: 2012-10-17
            Statement:
              - Sid: PassItself
                Effect: Allow
                Action: iam:PassRole
                Resource: [!GetAtt TeamRole.Arn, !Ref ExecutionRoleArn]
                Condition: {StringEquals: {iam:PassedToService: sagemaker.amazonaws.com}}
              - Sid: ReadObjects
                Effect: Allow
                Action: s3:GetObject
                Resource: !If
                  - InEurope
                  - !Sub "arn:${AWS::Partition}:s3:::${Bucket}/*"
                  - "arn:aws:s3:::*"
              - Sid: PickedObjects
                Effect: Allow
                Action: s3:GetObject
                Resource: !Select [0, ["arn:aws:s3:::a/*"]]
  Bucket:
    Type: AWS::S3::Bucket
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Everyone
            Effect: Allow
            Principal: "*"
            Action: s3:GetObject
            Resource: !Join ["", [!GetAtt Bucket.Arn, "/*"]]
"""


def test_the_policies_of_a_template_are_checked(
    check_policies: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(TEMPLATE)
    status, lines = _check(check_policies, path, capsys)
    assert status == 1
    role = f"{path}: TeamRole.Properties"
    assert lines == [
        f"{role}.AssumeRolePolicyDocument: statement 1 (AnyAccountMayAssume): principal "
        "'arn:aws:iam::*:root' trusts every AWS account: name the account, "
        "e.g. arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
        # Fn::If: each branch is checked; the one on every bucket fails.
        f"{role}.Policies[0].PolicyDocument: statement 2 (ReadObjects): s3:GetObject supports "
        "resource-level permissions (accesspointobject, object); scope it to ARNs of the kit's "
        "resources, not 'arn:aws:s3:::*'",
        f"{role}.Policies[0].PolicyDocument: statement 3 (PickedObjects): uses Fn::Select, which "
        "the check cannot see through; write the value with !Sub",
        f"{path}: BucketPolicy.Properties.PolicyDocument: statement 1 (Everyone): allows the '*' "
        "principal: anyone could use it; name the service or account",
    ]


def test_the_shipped_template_holds_no_policy_and_a_template_without_iam_passes(
    check_policies: ModuleType,
) -> None:
    template = check_policies.read_file(CICD / "templates" / "endpoint.yaml")
    assert list(check_policies.template_policies(template)) == []
    resolved = check_policies.resolve({"Fn::Join": ["", [{"Fn::GetAtt": ["B", "Arn"]}, "/*"]]})
    assert resolved == "${B.Arn}/*"


# --------------------------------------------------------------------------- wildcard matching


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("iam:Pass*", "iam:PassRole", True),
        ("*:*", "iam:PassRole", True),
        ("iam:P?ssRole", "iam:passrole", True),
        ("iam:Pass?", "iam:PassRole", False),
        ("s3:Get*", "s3:PutObject", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::bucket/key/with:colons", True),
        ("arn:aws:s3:::[ab]", "arn:aws:s3:::a", False),  # IAM has no character classes
        ("arn:aws:s3:::[ab]", "arn:aws:s3:::[ab]", True),
    ],
)
def test_wildcards_match_as_iam_matches_them(
    check_policies: ModuleType, pattern: str, name: str, matches: bool
) -> None:
    assert check_policies.wildcard_matches(pattern, name) is matches


def test_arns_split_into_segments_around_placeholders(check_policies: ModuleType) -> None:
    arn = check_policies.parse_arn("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/a:b/x")
    assert arn == check_policies.Arn(
        "${AWS::Partition}", "iam", "", "${AWS::AccountId}", "role/a:b/x"
    )
    assert check_policies.parse_arn("arn:aws:*") == check_policies.Arn("aws", "*", "*", "*", "*")
    assert check_policies.parse_arn("arn:aws:s3") is None
    assert check_policies.parse_arn("${ExecutionRoleArn}") is None


@pytest.mark.parametrize(
    ("resource", "whole_service"),
    [
        ("*", True),
        ("arn:*", True),
        ("arn:aws:s3:::*", True),
        ("arn:aws:s3:::*/*", True),
        ("arn:*:*:*:*:*", True),
        ("arn:aws:sagemaker:*:*:*", True),
        ("arn:aws:s3:::${Bucket}/*", False),
        ("arn:aws:sagemaker:eu-west-1:000000000000:model-package/*", False),
        ("arn:aws:ecr:eu-west-1:000000000000:repository/*", False),
        ("${ExecutionRoleArn}", False),
    ],
)
def test_a_resource_matching_every_resource_of_its_service_is_recognised(
    check_policies: ModuleType, resource: str, whole_service: bool
) -> None:
    assert check_policies.matches_whole_service(resource) is whole_service


# --------------------------------------------------------------------------- render and roles


def test_render_fills_placeholders_and_refuses_missing_ones(
    check_policies: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": "eu-west-1",
        "AWS::AccountId": "123456789012",
        "Bucket": "team-bucket",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/MLAccelSageMakerExecutionRole",
        "GlueDatabase": "mlaccel_lake",
    }
    args = [f"--set={k}={v}" for k, v in values.items()]
    for path in check_policies.policy_files(IAM):
        assert check_policies.main(["render", str(path), *args]) == 0
        rendered = json.loads(capsys.readouterr().out)
        assert "${" not in json.dumps(rendered)
    assert check_policies.main(["render", str(IAM / "lambda-role.json"), "--set", "Bucket=b"]) == 1
    assert "no value for AWS::AccountId" in capsys.readouterr().err


def test_step_functions_role_allows_what_its_sync_integrations_need() -> None:
    document = json.loads((IAM / "stepfunctions-role.json").read_text())
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            by_action.setdefault(action, []).append(statement)
    for kind in ("TrainingJob", "ProcessingJob", "TransformJob"):
        for verb in ("Create", "Describe", "Stop"):
            assert f"sagemaker:{verb}{kind}" in by_action
    for action in (
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "DescribeEndpoint",
    ):
        assert f"sagemaker:{action}" in by_action
    rules = json.dumps(by_action["events:PutRule"])
    for kind in ("Training", "Processing", "Transform"):
        assert f"rule/StepFunctionsGetEventsForSageMaker{kind}JobsRule" in rules
    assert set(by_action) >= {"events:PutTargets", "events:DescribeRule"}
    (pass_role,) = by_action["iam:PassRole"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert "parameter/mlaccel/*" in json.dumps(by_action["ssm:PutParameter"])
    assert ":function:mlaccel-*" in json.dumps(by_action["lambda:InvokeFunction"])
    assert ":mlaccel-*" in json.dumps(by_action["sns:Publish"])


def test_the_readme_creates_the_roles_the_kit_looks_for(check_policies: ModuleType) -> None:
    """The roles seedcode/iam/README.md creates are the names the kit uses (the Lambda role
    mlaccel.lambdas finds, the execution role the twin and the templates name), the only
    role names the checker lets a policy pass; and every document it renders is a file here."""
    import inspect

    from mlaccel import lambdas
    from mlaccel_twin import config as twin_config

    readme = (IAM / "README.md").read_text()
    commands = readme.split("## Create the roles", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    created = set(re.findall(r"create-role --role-name (\S+)", commands))
    lambda_role = inspect.signature(lambdas.lambda_role).parameters["name"].default
    assert created == {lambda_role, twin_config.TWIN_ROLE_NAME}
    assert set(check_policies.KIT_ROLE_NAMES) == created
    loops = re.findall(r"for doc in ([^;]+); do", commands.replace("\\\n", " "))
    rendered = {doc for loop in loops for doc in loop.split()}
    assert {f"{doc}.json" for doc in rendered} <= {p.name for p in IAM.glob("*.json")}


def test_the_execution_role_trusts_the_kits_services_only_for_the_kits_names() -> None:
    """SageMaker, Step Functions and EventBridge may assume the execution role (notebook 04 runs
    its workflows and rules as it); the latter two only for this account's mlaccel-* state
    machines and rules."""
    document = json.loads((IAM / "sagemaker-trust.json").read_text())
    by_service = {s["Principal"]["Service"]: s for s in document["Statement"]}
    assert set(by_service) == {
        "sagemaker.amazonaws.com",
        "states.amazonaws.com",
        "events.amazonaws.com",
    }
    assert all(
        s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole" for s in by_service.values()
    )
    for service, resource in (
        ("states", "stateMachine:mlaccel-*"),
        ("events", "rule/mlaccel-*"),
    ):
        arn = f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
        assert by_service[f"{service}.amazonaws.com"]["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
            "ArnLike": {"aws:SourceArn": arn},
        }


def test_the_rules_may_only_start_the_kits_state_machines() -> None:
    document = json.loads((IAM / "eventbridge-role.json").read_text())
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (
            "states:StartExecution",
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:mlaccel-*",
        )
    ]
