"""The model registry and models on the twin: approving keeps metadata, ListModels filters."""

from __future__ import annotations

import uuid

import boto3

from mlaccel_twin import Twin
from tests.mlaccel_twin.conformance.aws import ROLE, client


def test_approving_a_model_package_keeps_its_metadata(
    session: boto3.session.Session, twin: Twin
) -> None:
    sm = client(session, twin, "sagemaker")
    group = f"fidelity-{uuid.uuid4().hex[:8]}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"auc": "0.91", "training_data": "v3"},
        InferenceSpecification={
            "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == {"auc": "0.91", "training_data": "v3"}

    sm.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"owner": "risk"},
        CustomerMetadataPropertiesToRemove=["training_data"],
    )
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"  # not given: unchanged
    assert described["CustomerMetadataProperties"] == {"auc": "0.91", "owner": "risk"}


def test_list_models_filters_by_name_and_sorts(session: boto3.session.Session, twin: Twin) -> None:
    sm = client(session, twin, "sagemaker")
    tag = uuid.uuid4().hex[:8]
    for name in (f"churn-{tag}-a", f"churn-{tag}-b", f"credit-{tag}"):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "xgboost", "ModelDataUrl": "s3://b/model.tar.gz"},
        )
    listed = sm.list_models(NameContains=f"CHURN-{tag}", SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in listed["Models"]] == [f"churn-{tag}-a", f"churn-{tag}-b"]
    newest_first = sm.list_models(NameContains=tag)["Models"]
    assert newest_first[0]["ModelName"] == f"credit-{tag}"
    assert sm.list_models(NameContains=tag, CreationTimeBefore=0)["Models"] == []
