"""IAM on the twin: the policy evaluation behind SimulatePrincipalPolicy, the API itself, and the
twin's caller answering as its execution role."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import mlaccel
from mlaccel_twin.iam.simulation import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    SourcePolicy,
    UnsupportedPolicy,
    evaluate,
    matches_arn,
)
from tests.support import unique_name

BUCKET_OBJECT = "arn:aws:s3:::kit/data/a.csv"


def _policy(*statements: dict[str, Any], name: str = "p") -> SourcePolicy:
    return SourcePolicy(name, "role", {"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --------------------------------------------------------------------------- evaluation


def test_wildcards_match_actions_without_case_and_arns_part_by_part() -> None:
    policy = _policy(_allow("S3:get*", "arn:aws:s3:::kit/*"))
    assert evaluate([policy], "s3:GetObject", BUCKET_OBJECT).decision == ALLOWED
    assert evaluate([policy], "s3:PutObject", BUCKET_OBJECT).decision == IMPLICIT_DENY
    assert evaluate([policy], "s3:GetObject", "arn:aws:s3:::other/a.csv").decision == IMPLICIT_DENY
    # each part of an ARN is matched on its own; the resource part may hold "/" and ":"
    assert not matches_arn(
        "arn:aws:sagemaker:us-*:*:endpoint/kit-*", "arn:aws:sagemaker:eu-west-1:1:endpoint/kit-a"
    )
    assert matches_arn(
        "arn:aws:logs:*:*:log-group:/aws/sagemaker/*",
        "arn:aws:logs:r:1:log-group:/aws/sagemaker/Jobs:*",
    )
    assert matches_arn("arn:aws:s3:::kit-?", "arn:aws:s3:::kit-a")
    assert not matches_arn("arn:aws:s3:::Kit", "arn:aws:s3:::kit")  # resources keep their case


def test_an_explicit_deny_wins_and_names_its_policy() -> None:
    allow = _policy(_allow("s3:*"), name="everything")
    deny = _policy({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}, name="no-writes")
    found = evaluate([allow, deny], "s3:PutObject", BUCKET_OBJECT)
    assert found.decision == EXPLICIT_DENY
    assert [p.policy_id for p in found.matched] == ["no-writes"]
    assert evaluate([allow, deny], "s3:GetObject", BUCKET_OBJECT).matched == (allow,)


def test_not_action_and_not_resource_grant_what_they_do_not_list() -> None:
    policy = _policy(
        {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}
    )
    assert evaluate([policy], "s3:GetObject", BUCKET_OBJECT).decision == ALLOWED
    assert evaluate([policy], "iam:PassRole", "*").decision == IMPLICIT_DENY
    assert evaluate([policy], "s3:GetObject", "arn:aws:s3:::secret/x").decision == IMPLICIT_DENY


def test_a_boundary_must_allow_too() -> None:
    policy = _policy(_allow("*"))
    boundary = [_policy(_allow("s3:*"), name="boundary")]
    assert evaluate([policy], "s3:GetObject", BUCKET_OBJECT, boundary=boundary).decision == ALLOWED
    found = evaluate([policy], "iam:CreateRole", "*", boundary=boundary)
    assert found.decision == IMPLICIT_DENY


def test_conditions_hold_only_with_their_context() -> None:
    pass_role = _policy(
        _allow(
            "iam:PassRole",
            "*",
            Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    sagemaker = {"IAM:passedToService": ["sagemaker.amazonaws.com"]}  # keys ignore case
    assert evaluate([pass_role], "iam:PassRole", "*", sagemaker).decision == ALLOWED
    lambda_ = {"iam:PassedToService": ["lambda.amazonaws.com"]}
    assert evaluate([pass_role], "iam:PassRole", "*", lambda_).decision == IMPLICIT_DENY
    without = evaluate([pass_role], "iam:PassRole", "*")
    assert without.decision == IMPLICIT_DENY
    assert without.missing_context == ("iam:PassedToService",)


def test_negated_if_exists_and_null_operators_hold_without_the_key() -> None:
    for condition in (
        {"StringNotEquals": {"aws:RequestTag/team": "other"}},
        {"StringLikeIfExists": {"aws:RequestTag/team": "ml-*"}},
        {"Null": {"aws:RequestTag/team": "true"}},
    ):
        policy = _policy(_allow("sagemaker:CreateModel", Condition=condition))
        assert evaluate([policy], "sagemaker:CreateModel", "*").decision == ALLOWED, condition
    like = _policy(
        _allow(
            "sagemaker:CreateModel",
            Condition={"ArnLike": {"aws:SourceArn": "arn:aws:states:*:*:stateMachine:kit-*"}},
        )
    )
    source = {"aws:SourceArn": ["arn:aws:states:us-east-1:1:stateMachine:kit-training"]}
    assert evaluate([like], "sagemaker:CreateModel", "*", source).decision == ALLOWED


def test_an_operator_it_does_not_model_is_refused_by_name() -> None:
    policy = _policy(_allow("s3:*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))
    with pytest.raises(UnsupportedPolicy, match="NumericLessThan"):
        evaluate([policy], "s3:ListBucket", "*")


# --------------------------------------------------------------------------- the API on the twin


def _role(iam: Any, *statements: dict[str, Any]) -> str:
    name = unique_name("mlaccel-test-sim")
    trust = _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])
    if statements:
        iam.put_role_policy(
            RoleName=name, PolicyName="inline", PolicyDocument=_document(*statements)
        )
    return arn


def _decisions(answer: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
        for r in answer["EvaluationResults"]
    }


def test_simulate_principal_policy_reads_inline_managed_and_boundary(
    conn: mlaccel.Connection,
) -> None:
    iam = conn.client("iam")
    arn = _role(iam, _allow("s3:GetObject", "arn:aws:s3:::kit/*"))
    managed = iam.create_policy(
        PolicyName=unique_name("mlaccel-test-managed"),
        PolicyDocument=_document(_allow(["sagemaker:CreateTrainingJob", "iam:CreateRole"])),
    )["Policy"]["Arn"]
    name = arn.rsplit("/", 1)[-1]
    iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    boundary = iam.create_policy(
        PolicyName=unique_name("mlaccel-test-boundary"),
        PolicyDocument=_document(_allow(["s3:*", "sagemaker:*"])),
    )["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)

    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:GetObject", "sagemaker:CreateTrainingJob", "iam:CreateRole"],
        ResourceArns=[BUCKET_OBJECT],
    )
    assert _decisions(answer) == {
        ("s3:GetObject", BUCKET_OBJECT): "allowed",
        ("sagemaker:CreateTrainingJob", BUCKET_OBJECT): "allowed",
        ("iam:CreateRole", BUCKET_OBJECT): "implicitDeny",  # outside the boundary
    }
    matched = answer["EvaluationResults"][1]["MatchedStatements"]
    assert matched == [{"SourcePolicyId": managed, "SourcePolicyType": "user-managed"}]


def test_a_users_groups_and_given_policies_count(conn: mlaccel.Connection) -> None:
    iam = conn.client("iam")
    user, group = unique_name("mlaccel-test-user"), unique_name("mlaccel-test-group")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(UserName=user, GroupName=group)
    iam.put_group_policy(
        GroupName=group, PolicyName="g", PolicyDocument=_document(_allow("glue:*"))
    )
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["glue:CreateTable", "athena:StartQueryExecution"],
        PolicyInputList=[_document(_allow("athena:*"))],
    )
    assert set(_decisions(answer).values()) == {"allowed"}
    matched = {r["EvalActionName"]: r["MatchedStatements"][0] for r in answer["EvaluationResults"]}
    assert matched["glue:CreateTable"]["SourcePolicyType"] == "group"
    assert matched["athena:StartQueryExecution"]["SourcePolicyId"] == "PolicyInputList.1"


def test_context_entries_meet_conditions_and_missing_keys_are_reported(
    conn: mlaccel.Connection,
) -> None:
    iam = conn.client("iam")
    arn = _role(
        iam,
        _allow(
            "iam:PassRole",
            Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    )
    passed = {
        "ContextKeyName": "iam:PassedToService",
        "ContextKeyValues": ["sagemaker.amazonaws.com"],
        "ContextKeyType": "string",
    }
    given = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["iam:PassRole"], ContextEntries=[passed]
    )
    assert given["EvaluationResults"][0]["EvalDecision"] == "allowed"
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=arn, ActionNames=["iam:PassRole"]
    )
    results = [r for page in pages for r in page["EvaluationResults"]]
    assert results[0]["EvalDecision"] == "implicitDeny"
    assert results[0]["MissingContextValues"] == ["iam:PassedToService"]


def test_what_the_twin_cannot_evaluate_is_refused_clearly(conn: mlaccel.Connection) -> None:
    iam = conn.client("iam")
    arn = _role(
        iam, _allow("s3:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}})
    )
    with pytest.raises(ClientError, match="cannot evaluate the condition operator DateGreaterThan"):
        iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"])
    with pytest.raises(ClientError, match="does not evaluate resource policies"):
        iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["s3:GetObject"], ResourcePolicy=_document()
        )
    missing = arn.rsplit("/", 1)[0] + "/" + unique_name("mlaccel-test-missing")
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.simulate_principal_policy(PolicySourceArn=missing, ActionNames=["s3:GetObject"])


# --------------------------------------------------------------------------- the caller


def test_the_twins_caller_is_its_execution_role_and_other_keys_are_theirs(
    conn: mlaccel.Connection,
) -> None:
    role_name = conn.role_arn.rsplit("/", 1)[-1]
    caller = conn.client("sts").get_caller_identity()["Arn"]
    assert caller.endswith(f":assumed-role/{role_name}/mlaccel-twin")
    assert caller.split(":")[4] == conn.role_arn.split(":")[4]

    iam = conn.client("iam")
    user = unique_name("mlaccel-test-caller")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=conn.region,
    ).client("sts", endpoint_url=conn.endpoint_url)
    assert as_user.get_caller_identity()["Arn"].endswith(f":user/{user}")
