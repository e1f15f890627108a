"""``mlaccel doctor``: every check on the twin, each failure with its fix, no credentials at all,
the JSON output, and the table of what each notebook needs against the kit's IAM policies and
against what the kit really calls."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import boto3
import pytest

import mlaccel
from mlaccel import cli, doctor
from mlaccel.doctor import JOBS, NEEDS, NOTEBOOKS, RULES, WORKFLOWS, YOU, Check, Need
from mlaccel.doctor._identity import Identity
from mlaccel.doctor._permissions import Principal, caller_principal, notebook_check
from mlaccel.doctor._roles import trusts
from mlaccel_twin import Twin
from tests.support import REPO, import_script, unique_name

IAM_FOLDER = REPO / "seedcode" / "iam"
CHECK_NAMES = [
    "credentials",
    "region",
    "execution role",
    "role trust: SageMaker",
    "role trust: Step Functions",
    "role trust: EventBridge",
    "Lambda role",
    "bucket",
    *(f"permissions: {notebook}" for notebook in NOTEBOOKS),
    "instance quotas",
    "images",
]
SERVICES_OF_THE_KIT = ("sagemaker.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com")


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(*services: str) -> str:
    principal = {"Service": list(services)}
    return _document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def _role(conn: mlaccel.Connection, trusted: tuple[str, ...], *statements: dict[str, Any]) -> str:
    iam = conn.client("iam")
    name = unique_name("mlaccel-test-doctor")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(*trusted))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="kit", PolicyDocument=_document(*statements))
    return str(arn)


def _actions(*principals: str) -> set[str]:
    return {action for need in NEEDS if need.principal in principals for action in need.actions}


def _allow(actions: set[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}


def _account(conn: mlaccel.Connection) -> str:
    return str(conn.client("sts").get_caller_identity()["Account"])


# --------------------------------------------------------------------------- on the twin


def test_on_the_twin_every_check_passes_without_showing_the_account(
    conn: mlaccel.Connection,
) -> None:
    checks = doctor.run_checks(conn)
    assert [c.name for c in checks] == CHECK_NAMES
    assert [c.name for c in checks if c.status != doctor.PASS] == []
    assert doctor.exit_code(checks) == 0
    found = _by_name(checks)
    role_name = conn.role_arn.rsplit("/", 1)[-1]
    assert found["credentials"].detail == f"assumed role {role_name} (credentials from env)"
    assert found["execution role"].detail == f"arn:aws:iam::<account-id>:role/{role_name} exists"
    assert found["bucket"].detail == f"s3://{conn.bucket}: wrote, read and deleted a probe object"
    assert found["instance quotas"].detail == (
        "ml.m5.large: training job 20, processing job 20, endpoint 20, transform job 20"
    )
    table = doctor.render_table(checks)
    assert _account(conn) not in table
    assert table.endswith("16 passed, 0 failed, 0 not run")
    probes = conn.client("s3").list_objects_v2(Bucket=conn.bucket, Prefix="mlaccel-doctor/")
    assert probes.get("KeyCount", 0) == 0  # the probe object is gone


def test_a_role_without_the_sagemaker_trust_fails_with_the_fix(conn: mlaccel.Connection) -> None:
    arn = _role(conn, ("states.amazonaws.com", "events.amazonaws.com"))
    checks = doctor.run_checks(replace(conn, role_arn=arn))
    found = _by_name(checks)["role trust: SageMaker"]
    assert found.mark == "✗"
    assert found.detail == (
        "sagemaker.amazonaws.com may not assume it, and every notebook's jobs and endpoints "
        "run as it"
    )
    assert found.fix == (
        f"add a trust statement letting sagemaker.amazonaws.com assume {arn.rsplit('/', 1)[-1]}, "
        "as seedcode/iam/sagemaker-trust.json does"
    )
    assert _by_name(checks)["role trust: Step Functions"].status == doctor.PASS
    assert doctor.exit_code(checks) == 1


def test_a_role_lacking_an_action_a_notebook_needs_fails_naming_the_action_and_notebook(
    conn: mlaccel.Connection,
) -> None:
    granted = _actions(JOBS, WORKFLOWS, RULES) - {"sagemaker:CreateModelPackage"}
    arn = _role(conn, SERVICES_OF_THE_KIT, _allow(granted))
    checks = _by_name(doctor.run_checks(replace(conn, role_arn=arn)))
    found = checks["permissions: 04_author_pipelines"]
    assert found.status == doctor.FAIL
    assert found.detail == (
        "04_author_pipelines needs what IAM does not allow: the execution role, as SageMaker "
        "jobs run may not: sagemaker:CreateModelPackage"
    )
    assert found.fix.startswith("add them to the execution role's policy: seedcode/iam/")
    others = [checks[f"permissions: {n}"].status for n in NOTEBOOKS if n != "04_author_pipelines"]
    assert others == [doctor.PASS] * 5


def test_you_lacking_an_action_fails_naming_it_and_the_notebooks(
    conn: mlaccel.Connection,
) -> None:
    iam = conn.client("iam")
    user = unique_name("mlaccel-test-doctor-user")
    iam.create_user(UserName=user)
    deny = {"Effect": "Deny", "Action": "athena:GetWorkGroup", "Resource": "*"}
    policy = _document(_allow(_actions(YOU) - {"glue:CreateTable"}), deny)
    iam.put_user_policy(UserName=user, PolicyName="kit", PolicyDocument=policy)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    session = boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=conn.region,
    )
    checks = _by_name(doctor.run_checks(replace(conn, boto3_session=session, _clients={})))
    assert checks["credentials"].detail.startswith(f"IAM user {user} ")
    explore = checks["permissions: 01_explore_data"]
    assert explore.detail == (
        f"01_explore_data needs what IAM does not allow: you (IAM user {user}) may not: "
        "glue:CreateTable, athena:GetWorkGroup (denied explicitly)"
    )
    assert explore.fix.startswith("grant them to you on the kit's resources")
    assert "glue:CreateTable" in checks["permissions: 02_engineer_features"].detail
    assert checks["permissions: 03_train_model"].status == doctor.PASS


def test_a_missing_bucket_fails_with_how_to_create_it(conn: mlaccel.Connection) -> None:
    bucket = unique_name("mlaccel-test-no-bucket")
    found = _by_name(doctor.run_checks(replace(conn, bucket=bucket)))["bucket"]
    assert found.status == doctor.FAIL
    assert found.detail == f"s3://{bucket} does not exist"
    assert found.fix == (
        f"create it (`aws s3 mb s3://{bucket} --region {conn.region}`) or set MLACCEL_BUCKET to "
        "a bucket you may write"
    )


def test_an_instance_type_without_quota_fails_with_request_an_increase(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLACCEL_INSTANCE_TYPE", "ml.p3.2xlarge")  # the twin has no GPU quota
    found = _by_name(doctor.run_checks(conn))["instance quotas"]
    assert found.status == doctor.FAIL
    assert found.detail.startswith("ml.p3.2xlarge for training job usage, ml.p3.2xlarge for ")
    assert found.detail.endswith(": 0 instances")
    assert found.fix.startswith("request a quota increase (Service Quotas console")


# --------------------------------------------------------------------------- no credentials


@pytest.fixture
def no_aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An environment with no AWS credentials anywhere, and nothing that would look further:
    empty config files, no instance metadata, no container credentials; a region is set."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "MLACCEL_")):
            monkeypatch.delenv(name)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    yield


@pytest.mark.usefixtures("no_aws_credentials")
def test_without_credentials_one_check_fails_and_says_how_to_get_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["doctor", "--backend", "aws"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err == ""  # a table, not a traceback
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith("✗")]
    assert len(failed) == 1
    assert failed[0].split() == ["✗", "credentials", "no", "AWS", "credentials", "found"]
    fix = lines[lines.index(failed[0]) + 1].strip()
    assert fix.startswith("fix: run `aws configure` (or `aws sso login`")
    assert "set AWS_PROFILE to a configured profile" in fix
    assert "run in SageMaker Studio" in fix
    not_run = [line for line in lines if line.startswith("–")]
    assert len(not_run) == 13
    assert all(line.endswith("needs working credentials (see credentials)") for line in not_run)
    assert [line.split()[1] for line in lines if line.startswith("✓")] == ["region", "images"]


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_profile_that_does_not_exist_is_the_one_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "mlaccel-no-such-profile")
    checks = doctor.check_backend("aws")
    assert [c.name for c in checks] == CHECK_NAMES
    assert [c.status for c in checks] == [doctor.FAIL] + [doctor.NOT_RUN] * (len(CHECK_NAMES) - 1)
    assert "mlaccel-no-such-profile" in checks[0].detail
    assert checks[0].fix == "name a profile of ~/.aws/config in AWS_PROFILE, or unset it"


def test_what_cannot_be_simulated_is_shown_as_not_run_with_why() -> None:
    root = Identity("arn:aws:iam::000000000000:root", "000000000000")
    principal = caller_principal(iam=None, identity=root)
    assert principal.arn is None
    needs = [n for n in NEEDS if n.notebook == "06_analyze_drift"]
    found = notebook_check("06_analyze_drift", needs, {YOU: principal}, {}, {})
    assert found.mark == "–"
    assert found.detail == (
        "not simulated for you (the account's root user): the account's root user cannot be "
        "simulated; run the kit as an IAM role or user"
    )
    role = Principal(
        "the execution role, as SageMaker jobs run", "arn:aws:iam::000000000000:role/r"
    )
    values = {"partition": "aws", "bucket": "kit"}
    key = (role.arn, "arn:aws:s3:::kit/mlaccel-doctor/probe", ())
    denied = "cannot simulate: access denied (needs iam:SimulatePrincipalPolicy)"
    objects = next(n.resource for n in needs if n.actions == ("s3:PutObject",))
    jobs = [Need("06_analyze_drift", JOBS, ("s3:PutObject",), objects)]
    found = notebook_check("06_analyze_drift", jobs, {JOBS: role}, values, {key: denied})
    assert found.status == doctor.NOT_RUN
    assert found.detail.endswith(f"as SageMaker jobs run: {denied}")


# --------------------------------------------------------------------------- the command


def test_json_output_parses(
    twin: Twin,
    conn: mlaccel.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLACCEL_TWIN_URL", twin.url)
    assert cli.main(["doctor", "--backend", "local", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "local"
    assert report["ok"] is True
    assert report["summary"] == "16 passed, 0 failed, 0 not run"
    assert [c["name"] for c in report["checks"]] == CHECK_NAMES
    first = report["checks"][0]
    assert set(first) == {"name", "status", "mark", "detail", "fix"}
    assert (first["status"], first["mark"], first["fix"]) == ("pass", "✓", "")


# --------------------------------------------------------------------------- the table


@pytest.fixture(scope="module")
def check_policies() -> ModuleType:
    return import_script(IAM_FOLDER / "check_policies.py", "doctor_check_policies")


def _policy_actions(name: str) -> set[str]:
    document = json.loads((IAM_FOLDER / name).read_text())
    return {
        action
        for statement in document["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }


def test_what_the_execution_role_is_asked_the_kits_policies_grant() -> None:
    """Every action the doctor needs of the execution role is in the kit's own least-privilege
    policy for it: a role made from seedcode/iam passes, and the doctor asks nothing new."""
    for principal, policy in (
        (JOBS, "sagemaker-execution-role.json"),
        (WORKFLOWS, "stepfunctions-role.json"),
        (RULES, "eventbridge-role.json"),
    ):
        beyond = _actions(principal) - _policy_actions(policy)
        assert not beyond, f"the doctor asks {principal} for {sorted(beyond)}, not in {policy}"


def test_every_action_of_the_table_exists_and_every_notebook_has_needs(
    check_policies: ModuleType,
) -> None:
    table = check_policies.load_action_table()
    unknown = sorted(
        action
        for need in NEEDS
        for action in need.actions
        if action.split(":")[1].lower() not in table.get(action.split(":")[0].lower(), {})
    )
    assert not unknown, f"IAM defines no {unknown}"
    assert {need.notebook for need in NEEDS} == set(NOTEBOOKS)
    assert {need.notebook for need in NEEDS if need.principal == YOU} == set(NOTEBOOKS)


# The execution role as seedcode/iam/README.md creates it: its trust and its three policies.
EXECUTION_ROLE_TRUST = "sagemaker-trust.json"
EXECUTION_ROLE_POLICIES = (
    "sagemaker-execution-role.json",
    "stepfunctions-role.json",
    "eventbridge-role.json",
)


def _seedcode_role(
    conn: mlaccel.Connection, check_policies: ModuleType, policies: tuple[str, ...]
) -> str:
    """A role made from the rendered seedcode/iam documents: the execution role's trust and
    ``policies``, each filled in with this account, region, bucket and the role's own ARN."""
    iam = conn.client("iam")
    name = unique_name("mlaccel-test-seedcode")
    arn = f"arn:aws:iam::{_account(conn)}:role/{name}"
    values = {
        "AWS::Partition": "aws",
        "AWS::Region": conn.region,
        "AWS::AccountId": _account(conn),
        "Bucket": conn.bucket,
        "ExecutionRoleArn": arn,
        "GlueDatabase": "mlaccel_lake",
    }

    def rendered(document: str) -> str:
        return str(check_policies.render((IAM_FOLDER / document).read_text(), values))

    created = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=rendered(EXECUTION_ROLE_TRUST)
    )["Role"]["Arn"]
    assert created == arn
    for policy in policies:
        iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=rendered(policy))
    return arn


def test_a_role_made_from_the_kits_policies_passes_every_check(
    conn: mlaccel.Connection, check_policies: ModuleType
) -> None:
    """The doctor, run with the execution role made from seedcode/iam as its README says,
    finds nothing missing: SageMaker, Step Functions and EventBridge may assume it, and every
    notebook's jobs, workflows and rules may do what they do as it."""
    arn = _seedcode_role(conn, check_policies, EXECUTION_ROLE_POLICIES)
    checks = doctor.run_checks(replace(conn, role_arn=arn))
    assert [c.name for c in checks] == CHECK_NAMES
    assert [(c.name, c.detail) for c in checks if c.status != doctor.PASS] == []
    found = _by_name(checks)
    for label in ("SageMaker", "Step Functions", "EventBridge"):
        assert found[f"role trust: {label}"].detail.endswith("may assume it")
    assert found["permissions: 04_author_pipelines"].detail.endswith(
        "allowed to you and the execution role"
    )


def test_a_role_made_from_the_kits_policies_without_the_rules_policy_misses_the_start(
    conn: mlaccel.Connection, check_policies: ModuleType
) -> None:
    """Leave eventbridge-role.json off the role, and the doctor names what notebook 04's rules
    cannot do as it: start the workflows."""
    policies = tuple(p for p in EXECUTION_ROLE_POLICIES if p != "eventbridge-role.json")
    arn = _seedcode_role(conn, check_policies, policies)
    checks = _by_name(doctor.run_checks(replace(conn, role_arn=arn)))
    permissions = {n: checks[f"permissions: {n}"] for n in NOTEBOOKS}
    assert [n for n, c in permissions.items() if c.status != doctor.PASS] == ["04_author_pipelines"]
    assert permissions["04_author_pipelines"].mark == "✗"
    assert permissions["04_author_pipelines"].detail == (
        "04_author_pipelines needs what IAM does not allow: the execution role, as EventBridge "
        "starts the workflows may not: states:StartExecution"
    )


IAM_ACTION_OF = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
}


def _record_calls(session: Any, calls: set[str]) -> None:
    def record(model: Any, **_: Any) -> None:
        prefix = model.service_model.signing_name
        calls.add(IAM_ACTION_OF.get((prefix, model.name), f"{prefix}:{model.name}"))

    session.events.register("before-call", record)


def test_the_table_holds_what_notebooks_01_and_06_really_call(conn: mlaccel.Connection) -> None:
    """Record every AWS call of notebook 01's and 06's accelerators on the twin: each is an
    action the table lists for that notebook (STS's GetCallerIdentity needs no permission)."""
    from mlaccel import data, monitor

    calls: dict[str, set[str]] = {"01_explore_data": set(), "06_analyze_drift": set()}
    database = f"doctor_{uuid.uuid4().hex[:8]}"
    session = boto3.session.Session(region_name=conn.region)
    _record_calls(session, calls["01_explore_data"])
    explore = replace(conn, boto3_session=session, _clients={})
    data.register_product("credit_risk", "", demo_rows=200, connection=explore, database=database)
    data.list_tables(database, connection=explore)
    data.describe_table(database, "credit_risk", connection=explore)
    data.search_tables("risk", connection=explore)
    data.query("SELECT count(*) AS n FROM credit_risk", database=database, connection=explore)

    session = boto3.session.Session(region_name=conn.region)
    _record_calls(session, calls["06_analyze_drift"])
    later = replace(conn, boto3_session=session, _clients={})
    product = data.load_product("credit_risk", connection=later, database=database)
    frame = data.read_table(database, "credit_risk", connection=later)
    baseline = monitor.compute_baseline(frame[list(product.features)])
    monitor.write_baseline(baseline, conn.s3_uri("doctor-test", database), boto3_session=session)

    for notebook, made in calls.items():
        listed = {
            a
            for need in NEEDS
            if need.notebook == notebook and need.principal == YOU
            for a in need.actions
        }
        assert made, f"no call of {notebook} was recorded"
        missing = sorted(made - listed - {"sts:GetCallerIdentity"})
        assert not missing, f"{notebook} calls {missing}, which the doctor's table does not list"


# --------------------------------------------------------------------------- the pieces


def test_trusts_reads_principals_actions_and_denies() -> None:
    allow = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"}
    assert trusts({"Statement": allow}, "lambda.amazonaws.com")
    assert not trusts({"Statement": [allow]}, "sagemaker.amazonaws.com")
    deny = {**allow, "Effect": "Deny", "Action": "sts:AssumeRole"}
    assert not trusts({"Statement": [allow, deny]}, "lambda.amazonaws.com")
    encoded = quote(_trust("states.amazonaws.com"))  # as IAM's API returns the document
    assert trusts(encoded, "states.amazonaws.com")
    assert not trusts(None, "states.amazonaws.com")
