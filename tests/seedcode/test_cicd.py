"""CI/CD seedcode and the workshop guide (IAM: test_iam.py; the Studio script: test_studio.py)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import mlaccel
from mlaccel import cli, registry
from tests.support import REPO, import_script

SEEDCODE = REPO / "seedcode"
CICD = SEEDCODE / "cicd"
TEMPLATES = CICD / "templates"
ENDPOINT_TEMPLATE = TEMPLATES / "endpoint.yaml"
ON_START = SEEDCODE / "studio" / "on-start.sh"
WORKFLOW = CICD / "github-actions" / "mlaccel-ci.yml"
BUILDSPEC = CICD / "buildspec.yml"
DEPLOY_BUILDSPEC = CICD / "buildspec-deploy.yml"
STAGES = ("dev", "staging", "prod")
FAKE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlaccel-used-cars/3"


def _load(path: Path, name: str) -> ModuleType:
    return import_script(path, name)


@pytest.fixture(scope="module")
def select_model() -> ModuleType:
    return _load(CICD / "deploy" / "select_model.py", "cicd_select_model")


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags (``!Ref``) as plain values."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tagged)


def _template(path: Path = ENDPOINT_TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def _cloudformation_templates() -> list[Path]:
    found = []
    for path in sorted(SEEDCODE.rglob("*")):
        if path.suffix not in {".yaml", ".yml", ".json", ".template"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if "AWSTemplateFormatVersion" in text or re.search(r"\bType\"?:\s*\"?AWS::", text):
            found.append(path)
    return found


# --------------------------------------------------------------------------- (a) templates


def test_every_cloudformation_template_under_seedcode_passes_cfn_lint() -> None:
    from cfnlint.api import lint_file

    templates = _cloudformation_templates()
    assert ENDPOINT_TEMPLATE in templates
    problems = []
    for path in templates:
        for match in lint_file(path):
            where = f"{path.relative_to(REPO)}:{match.linenumber}"
            problems.append(f"{where}: {match.rule.id} {match.message}")
    print("\n".join(problems))
    assert not problems, "cfn-lint found:\n" + "\n".join(problems)


def test_endpoint_template_captures_data_and_scales_on_invocations() -> None:
    template = _template()
    resources = {r["Type"]: r["Properties"] for r in template["Resources"].values()}
    model = resources["AWS::SageMaker::Model"]
    assert model["Containers"] == [{"ModelPackageName": {"Ref": "ModelPackageArn"}}]
    capture = resources["AWS::SageMaker::EndpointConfig"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    assert capture["InitialSamplingPercentage"] == {"Ref": "DataCaptureSamplingPercentage"}
    target = resources["AWS::ApplicationAutoScaling::ScalableTarget"]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policy = resources["AWS::ApplicationAutoScaling::ScalingPolicy"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )
    assert set(template["Outputs"]) >= {"EndpointName", "EndpointArn"}
    assert template["Parameters"]["Stage"]["AllowedValues"] == list(STAGES)


# --------------------------------------------------------------------------- (b) parameters


def _violations(name: str, value: str, spec: dict[str, Any]) -> list[str]:
    problems = []
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        problems.append(f"{name}={value!r} is not one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append(f"{name}={value!r} does not match {spec['AllowedPattern']}")
    if spec["Type"] == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{name}={value} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{name}={value} is above {spec['MaxValue']}")
    return problems


@pytest.mark.parametrize("stage", STAGES)
def test_stage_parameters_fit_the_template(stage: str, select_model: ModuleType) -> None:
    declared = _template()["Parameters"]
    required = {name for name, spec in declared.items() if "Default" not in spec}
    path = TEMPLATES / f"params-{stage}.json"
    values = select_model.read_parameter_file(path)
    assert set(values) <= set(declared), (
        f"{path.name} names undeclared {set(values) - set(declared)}"
    )
    # ModelPackageArn is the registry's decision: select_model.py adds it; the file sets the rest.
    assert required - set(values) == {"ModelPackageArn"}, f"{path.name} misses required ones"
    assert values["Stage"] == stage
    merged = select_model.merge_parameters(values, {}, FAKE_ARN)
    assert required <= set(merged)
    problems = [p for name, v in merged.items() for p in _violations(name, v, declared[name])]
    assert not problems, problems
    assert int(merged["MinCapacity"]) <= int(merged["InitialInstanceCount"])
    assert int(merged["InitialInstanceCount"]) <= int(merged["MaxCapacity"])


def test_stages_grow_from_dev_to_prod(select_model: ModuleType) -> None:
    dev, prod = (
        select_model.read_parameter_file(TEMPLATES / f"params-{s}.json") for s in ("dev", "prod")
    )
    assert (dev["InitialInstanceCount"], dev["MinCapacity"], dev["MaxCapacity"]) == ("1", "1", "1")
    assert int(prod["InitialInstanceCount"]) >= 2 and int(prod["MinCapacity"]) >= 2
    assert prod["MaxCapacity"] == "4" and prod["DataCaptureSamplingPercentage"] == "20"


# --------------------------------------------------------------------------- (d) CI files


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE))


def _make_calls(commands: list[str]) -> list[str]:
    return [t for c in commands for t in re.findall(r"(?:^|[\s;&|(])make\s+([\w.-]+)", c)]


def _workflow_commands(workflow: dict[str, Any], job: str) -> list[str]:
    return [step["run"] for step in workflow["jobs"][job]["steps"] if "run" in step]


def _buildspec_commands(buildspec: dict[str, Any]) -> list[str]:
    return [c for phase in buildspec["phases"].values() for c in phase.get("commands", [])]


def _bash_syntax_errors(commands: list[str]) -> list[str]:
    errors = []
    for command in commands:
        done = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        if done.returncode:
            errors.append(f"{command!r}: {done.stderr}")
    return errors


def test_github_workflow_runs_the_makefile_targets_then_optionally_aws() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert triggers["workflow_dispatch"]["inputs"]["on_aws"]["type"] == "boolean"

    local = workflow["jobs"]["local"]
    assert local["runs-on"].startswith("ubuntu")
    python = next(s for s in local["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert str(python["with"]["python-version"]) == "3.11"
    calls = _make_calls(_workflow_commands(workflow, "local"))
    assert calls == ["setup", "lint", "typecheck", "unit", "notebooks"]
    assert set(calls) <= _make_targets()
    upload = next(s for s in local["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["with"]["path"] == "output/notebooks"

    aws = workflow["jobs"]["aws"]
    assert "inputs.on_aws" in aws["if"] and "vars." in aws["if"]
    assert aws["permissions"]["id-token"] == "write"
    credentials = next(
        s for s in aws["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")
    )
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"
    assert "vars." in credentials["with"]["aws-region"]
    commands = _workflow_commands(workflow, "aws")
    assert set(_make_calls(commands)) <= _make_targets()
    assert (
        "MLACCEL_BACKEND=aws .venv/bin/mlaccel notebooks run --output output/notebooks-aws"
        in commands
    )
    assert not _bash_syntax_errors(commands + _workflow_commands(workflow, "local"))


def test_codebuild_buildspec_runs_the_makefile_targets_and_reports_junit() -> None:
    buildspec = yaml.safe_load(BUILDSPEC.read_text())
    assert str(buildspec["version"]) == "0.2"
    phases = buildspec["phases"]
    assert str(phases["install"]["runtime-versions"]["python"]) == "3.11"
    assert _make_calls(phases["install"]["commands"]) == ["setup"]
    assert _make_calls(phases["pre_build"]["commands"]) == ["lint", "typecheck"]
    assert _make_calls(phases["build"]["commands"]) == ["unit", "notebooks"]
    commands = _buildspec_commands(buildspec)
    assert set(_make_calls(commands)) <= _make_targets()
    assert not _bash_syntax_errors(commands)
    (report,) = buildspec["reports"].values()
    assert report["file-format"] == "JUNITXML"
    junit = f"--junitxml={report['base-directory']}/{report['files'][0]}"
    assert any(junit in c for c in commands), junit
    aws_run = next(c for c in commands if "RUN_ON_AWS" in c)
    assert '"$RUN_ON_AWS" = "true"' in aws_run and "MLACCEL_BACKEND=aws" in aws_run
    assert "output/notebooks/**/*" in buildspec["artifacts"]["files"]


def test_deploy_buildspec_selects_the_model_then_deploys_the_stage() -> None:
    buildspec = yaml.safe_load(DEPLOY_BUILDSPEC.read_text())
    assert str(buildspec["version"]) == "0.2"
    commands = _buildspec_commands(buildspec)
    assert not _bash_syntax_errors(commands)
    assert set(_make_calls(commands)) <= _make_targets()
    text = "\n".join(commands)
    assert "seedcode/cicd/deploy/select_model.py" in text
    assert '--stage-params "seedcode/cicd/templates/params-$STAGE.json"' in text
    assert "aws cloudformation deploy" in text
    assert "--template-file seedcode/cicd/templates/endpoint.yaml" in text
    assert "--parameter-overrides file://build/parameters.json" in text
    for stage in STAGES:  # every path the commands name exists, whatever the stage
        for path in re.findall(r"seedcode/[\w/.$-]+", text):
            assert (REPO / path.replace("$STAGE", stage)).exists(), path
    locked = (REPO / "requirements" / "lock.txt").read_text().splitlines()
    boto3_pin = next(line for line in locked if line.startswith("boto3=="))
    assert f'"{boto3_pin}"' in text, "the deploy installs the locked boto3"


# Shell operators: ones that redirect (their next word is a file), the others end a command.
_REDIRECTIONS = {">", ">>", "<", ">&", "<&", "&>", "&>>", ">|", "<>"}
_OPERATOR_CHARS = "();<>|&\n"
# Words after which the next word is still the program a command runs.
_COMMAND_PREFIXES = {"then", "do", "else", "elif", "if", "while", "until", "!", "{", "time"}
_COMMAND_PREFIXES |= {"exec", "command", "sudo", "nohup", "env"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


def _strip_comment(line: str, quote: str) -> tuple[str, str]:
    """``line`` up to an unquoted ``#`` comment, and the quote still open at its end."""
    kept, i = [], 0
    while i < len(line):
        char = line[i]
        if char == "\\" and quote != "'":  # an escaped character is never a quote or comment
            kept.append(line[i : i + 2])
            i += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t;(|&"):
            break
        kept.append(char)
        i += 1
    return "".join(kept), quote


def _shell_text(script: str) -> str:
    """``script`` as shell commands only: comments, here-document bodies and line
    continuations removed (a quoted string may still span lines)."""
    kept, quote, heredoc_end = [], "", ""
    for line in script.splitlines():
        if heredoc_end:
            heredoc_end = "" if line.strip() == heredoc_end else heredoc_end
            continue
        text, quote = _strip_comment(line, quote)
        if not quote and (heredoc := re.search(r"<<-?\s*['\"]?(\w+)['\"]?", text)):
            heredoc_end = heredoc[1]
        kept.append(text)
    return "\n".join(kept).replace("\\\n", " ")


def _simple_commands(script: str) -> list[list[str]]:
    """The words of each simple command of a shell script, quotes removed, redirections left
    out; commands end at newlines, ``;``, ``&&``, ``||``, ``|``, ``&`` and parentheses."""
    lexer = shlex.shlex(_shell_text(script), posix=True, punctuation_chars=_OPERATOR_CHARS)
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    commands: list[list[str]] = [[]]
    redirected = False
    for token in lexer:
        if token and set(token) <= set(_OPERATOR_CHARS):
            if token in _REDIRECTIONS:
                if commands[-1] and commands[-1][-1].isdigit():
                    commands[-1].pop()  # the 2 of 2>&1
                redirected = True
            else:
                commands.append([])
        elif redirected:
            redirected = False  # the redirection's file, not an argument
        else:
            commands[-1].append(token)
    return [words for words in commands if words]


def _mlaccel_calls(script: str) -> list[list[str]]:
    """The arguments of every command of ``script`` whose program is ``mlaccel`` (any path to
    it, after variable assignments such as ``MLACCEL_BACKEND=aws``)."""
    calls = []
    for words in _simple_commands(script):
        while words and (words[0] in _COMMAND_PREFIXES or _ASSIGNMENT.match(words[0])):
            words = words[1:]
        if words and words[0].rsplit("/", 1)[-1] == "mlaccel":
            calls.append(words[1:])
    return calls


def _makefile_recipes() -> str:
    """The Makefile's recipe lines, its own variables expanded (``$(BIN)/mlaccel``)."""
    text = (REPO / "Makefile").read_text()
    variables = {m[1]: m[2].strip() for m in re.finditer(r"^(\w+)\s*[:?]?=(.*)$", text, re.M)}
    recipes = "\n".join(line[1:].lstrip("@-") for line in text.splitlines() if line[:1] == "\t")
    for _ in range(5):  # variables defined through others
        recipes = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), recipes)
    return recipes


def _scripts_that_run_mlaccel() -> dict[str, str]:
    """The shell text of CI (buildspecs, GitHub workflow, .ci/run), the Makefile and the
    Studio start-up script, by file."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [c for job in workflow["jobs"] for c in _workflow_commands(workflow, job)]
    buildspecs = {
        path: "\n".join(_buildspec_commands(yaml.safe_load(path.read_text())))
        for path in (BUILDSPEC, DEPLOY_BUILDSPEC)
    }
    return {
        "Makefile": _makefile_recipes(),
        ".ci/run": (REPO / ".ci" / "run").read_text(),
        **{str(path.relative_to(REPO)): text for path, text in buildspecs.items()},
        str(WORKFLOW.relative_to(REPO)): "\n".join(steps),
        str(ON_START.relative_to(REPO)): ON_START.read_text(),
    }


def _cli_error(arguments: list[str]) -> str | None:
    """What ``mlaccel`` says about ``arguments`` when its parser refuses them, else None."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            cli.build_parser().parse_args(arguments)
    except SystemExit:
        return said.getvalue().strip().splitlines()[-1]
    return None


def test_the_ci_files_call_mlaccel_commands_that_exist() -> None:
    """Every ``mlaccel ...`` these files run parses with the CLI's own parser, so a renamed or
    removed subcommand or option fails here rather than in CI on an account."""
    calls = [
        (source, arguments)
        for source, script in _scripts_that_run_mlaccel().items()
        for arguments in _mlaccel_calls(script)
    ]
    found_in = {source for source, _ in calls}
    expected = {"Makefile", str(BUILDSPEC.relative_to(REPO)), str(WORKFLOW.relative_to(REPO))}
    assert found_in >= {*expected, str(ON_START.relative_to(REPO))}, calls
    problems = [
        f"{source}: mlaccel {shlex.join(arguments)}: {error}"
        for source, arguments in calls
        if (error := _cli_error(arguments))
    ]
    assert not problems, "\n".join(problems)


def test_reading_mlaccel_calls_from_shell_finds_each_and_its_mistakes() -> None:
    script = """set -e
# mlaccel twin stop  (a comment)
MLACCEL_BACKEND=aws .venv/bin/mlaccel notebook run --output "out dir"  # a typo
echo "mlaccel is not run here" >&2
make test && mlaccel twin start --port 0 2>&1 | tee twin.log
cat <<'TEXT'
mlaccel snippets list
TEXT
(cd kit && PATH="$(dirname "$PY"):$PATH" mlaccel snippets install \\
  --target /tmp/jupyter)
"""
    calls = _mlaccel_calls(script)
    assert calls == [
        ["notebook", "run", "--output", "out dir"],
        ["twin", "start", "--port", "0"],
        ["snippets", "install", "--target", "/tmp/jupyter"],
    ]
    assert "invalid choice: 'notebook'" in str(_cli_error(calls[0]))
    assert _cli_error(calls[1]) is None and _cli_error(calls[2]) is None
    assert "unrecognized arguments: --colour" in str(_cli_error(["twin", "stop", "--colour"]))


# --------------------------------------------------------------------------- (e) select_model


def _package(version: int, status: str, minute: int = 0) -> dict[str, Any]:
    return {
        "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/g/{version}",
        "ModelPackageVersion": version,
        "ModelApprovalStatus": status,
        "CreationTime": datetime(2026, 1, 1, 12, minute, tzinfo=UTC),
    }


def test_latest_approved_takes_the_highest_approved_version(select_model: ModuleType) -> None:
    packages = [
        _package(1, "Approved"),
        _package(3, "Approved", minute=2),
        _package(4, "PendingManualApproval", minute=3),
        _package(2, "Approved", minute=5),
        _package(5, "Rejected", minute=6),
    ]
    assert select_model.latest_approved(packages)["ModelPackageVersion"] == 3
    unversioned = [
        {
            "ModelPackageArn": "a",
            "ModelApprovalStatus": "Approved",
            "CreationTime": "2026-01-01T10:00:00Z",
        },
        {
            "ModelPackageArn": "b",
            "ModelApprovalStatus": "Approved",
            "CreationTime": "2026-01-02T10:00:00Z",
        },
    ]
    assert select_model.latest_approved(unversioned)["ModelPackageArn"] == "b"


def test_no_approved_package_is_an_error_naming_the_group(select_model: ModuleType) -> None:
    with pytest.raises(select_model.SelectionError, match=r"'mlaccel-x'.*PendingManualApproval"):
        select_model.latest_approved([_package(1, "PendingManualApproval")], "mlaccel-x")
    with pytest.raises(select_model.SelectionError, match=r"'mlaccel-x' has no Approved.*no pack"):
        select_model.latest_approved([], "mlaccel-x")


def test_parameters_merge_and_convert(select_model: ModuleType, tmp_path: Path) -> None:
    merged = select_model.merge_parameters(
        {"Stage": "dev", "MaxCapacity": "1"}, {"MaxCapacity": "2", "X": "a=b"}, FAKE_ARN
    )
    assert merged == {"Stage": "dev", "MaxCapacity": "2", "X": "a=b", "ModelPackageArn": FAKE_ARN}
    assert select_model.as_overrides(merged)[-1] == f"ModelPackageArn={FAKE_ARN}"
    assert select_model.as_cloudformation_parameters({"Stage": "dev"}) == [
        {"ParameterKey": "Stage", "ParameterValue": "dev"}
    ]
    assert select_model.parse_assignments(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(select_model.SelectionError, match="Key=Value"):
        select_model.parse_assignments(["nothing"])
    with pytest.raises(select_model.SelectionError, match="registry decides"):
        select_model.merge_parameters({"ModelPackageArn": "x"}, {}, FAKE_ARN)
    bad = tmp_path / "bad.json"
    for content, message in (
        ("{", "not valid JSON"),
        ('{"Stage": "dev"}', "must be a list"),
        ('[{"ParameterKey": "Stage"}]', "entry 1 needs"),
        (
            json.dumps([{"ParameterKey": "A", "ParameterValue": v} for v in (1, 2)]),
            "set twice",
        ),
    ):
        bad.write_text(content)
        with pytest.raises(select_model.SelectionError, match=message):
            select_model.read_parameter_file(bad)
    with pytest.raises(select_model.SelectionError, match="no such file"):
        select_model.read_parameter_file(tmp_path / "missing.json")


class _FakePaginator:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        self.requests.append(request)
        return iter(self.pages)


class _FakeSageMaker:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.paginator = _FakePaginator(pages)

    def get_paginator(self, name: str) -> _FakePaginator:
        assert name == "list_model_packages"
        return self.paginator


def test_listing_asks_for_approved_packages_newest_first_across_pages(
    select_model: ModuleType,
) -> None:
    client = _FakeSageMaker(
        [
            {"ModelPackageSummaryList": [_package(4, "Approved")], "NextToken": "t"},
            {"ModelPackageSummaryList": [_package(2, "Approved")]},
        ]
    )
    found = select_model.list_approved_packages(client, "mlaccel-used-cars")
    assert [p["ModelPackageVersion"] for p in found] == [4, 2]
    assert client.paginator.requests == [
        {
            "ModelPackageGroupName": "mlaccel-used-cars",
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
        }
    ]


def test_select_model_does_not_import_mlaccel() -> None:
    text = (CICD / "deploy" / "select_model.py").read_text()
    assert not re.search(r"^\s*(from|import)\s+mlaccel", text, flags=re.MULTILINE)


@pytest.fixture
def twin_environment(conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a boto3 program needs to reach the twin, as in CI on the twin."""
    from mlaccel_twin.config import TWIN_CREDENTIALS

    assert conn.endpoint_url is not None
    for name, value in TWIN_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", conn.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", conn.region)


def _register(conn: mlaccel.Connection, group: str, status: str) -> str:
    spec = {
        "Containers": [
            {"Image": "twin/xgboost", "ModelDataUrl": conn.s3_uri("cicd-tests", "model.tar.gz")}
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
        "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
    }
    created = conn.client("sagemaker").create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status, InferenceSpecification=spec
    )
    return str(created["ModelPackageArn"])


def test_select_model_on_the_twin_picks_the_approved_package(
    conn: mlaccel.Connection,
    twin_environment: None,
    select_model: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = f"mlaccel-cicd-{uuid.uuid4().hex[:8]}"
    registry.ensure_group(group, connection=conn)
    approved = _register(conn, group, "Approved")
    pending = _register(conn, group, "PendingManualApproval")
    output = tmp_path / "build" / "model.json"
    args = [
        "--model-package-group",
        group,
        "--stage-params",
        str(TEMPLATES / "params-dev.json"),
        "--output",
        str(output),
        "--set",
        "DataCaptureS3Uri=s3://mlaccel-local/data-capture/dev",
    ]
    assert select_model.main(args) == 0, capsys.readouterr().err
    summary = json.loads(output.read_text())
    assert summary["ModelPackageArn"] == approved
    assert summary["ModelPackageVersion"] == 1
    assert "Stage=dev" in summary["ParameterOverrides"]
    assert f"ModelPackageArn={approved}" in summary["ParameterOverrides"]
    cloudformation = json.loads((tmp_path / "build" / "parameters.json").read_text())
    assert {"ParameterKey": "ModelPackageArn", "ParameterValue": approved} in cloudformation
    assert {
        "ParameterKey": "DataCaptureS3Uri",
        "ParameterValue": "s3://mlaccel-local/data-capture/dev",
    } in cloudformation
    assert group in capsys.readouterr().out

    # A reviewer approves the newer version: the next deployment takes it.
    registry.set_approval(pending, "Approved", connection=conn)
    assert select_model.main(args) == 0
    assert json.loads(output.read_text())["ModelPackageArn"] == pending


def test_select_model_on_the_twin_fails_when_nothing_is_approved(
    conn: mlaccel.Connection,
    twin_environment: None,
    select_model: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = f"mlaccel-cicd-{uuid.uuid4().hex[:8]}"
    registry.ensure_group(group, connection=conn)
    _register(conn, group, "PendingManualApproval")
    output = tmp_path / "model.json"
    assert select_model.main(["--model-package-group", group, "--output", str(output)]) == 1
    error = capsys.readouterr().err
    assert group in error and "no Approved model package" in error
    assert not output.exists()


# --------------------------------------------------------------------------- workshop guide


def _parameters_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return next(
        "".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])
    )


def test_workshop_has_a_section_per_notebook_with_real_parameter_names() -> None:
    guide = (REPO / "docs" / "workshop.md").read_text()
    suite = yaml.safe_load((REPO / "notebooks" / "suite.yaml").read_text())
    names = [Path(entry["path"]).stem for entry in suite["notebooks"]]
    headings = re.findall(r"^## \d\d · .*\(`(\w+)`\)$", guide, flags=re.MULTILINE)
    assert [h for h in headings if h in names] == names, "one section per notebook, in suite order"
    sections = re.split(r"^## ", guide, flags=re.MULTILINE)
    for name in headings:
        section = next(s for s in sections if f"(`{name}`)" in s.splitlines()[0])
        assert "**Exercise.**" in section and "**What to look at.**" in section, name
        notebook = REPO / "notebooks" / f"{name}.ipynb"
        if not notebook.exists():
            continue  # a notebook being written: its section is checked once it lands
        declared = set(re.findall(r"^(\w+)\s*=", _parameters_cell(notebook), flags=re.MULTILINE))
        used = set(re.findall(r"`(\w+) = [^`]+`", section))
        assert used, f"the {name} exercise changes a named parameter"
        assert used <= declared, f"{name}: {used - declared} are not parameters of the notebook"
    for command in ("make notebooks", "make test", ".venv/bin/jupyter lab", "MLACCEL_BACKEND=aws"):
        assert command in guide
