"""ML Lineage Tracking on the twin, written as the SageMaker SDK's lineage examples write it:
artifacts for a data set and a model, a context for an endpoint, an action for a deployment,
associations between them, and lineage queries up and down the graph."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

import mlaccel


@pytest.fixture
def session(conn: mlaccel.Connection):  # type: ignore[no-untyped-def]
    return conn.sagemaker_session


def test_a_model_is_traced_from_its_endpoint_back_to_its_data(
    conn: mlaccel.Connection, session
) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.lineage.action import Action
    from sagemaker.lineage.artifact import Artifact
    from sagemaker.lineage.association import Association
    from sagemaker.lineage.context import Context
    from sagemaker.lineage.query import (
        LineageEntityEnum,
        LineageFilter,
        LineageQuery,
        LineageQueryDirectionEnum,
        LineageSourceEnum,
    )

    run = uuid.uuid4().hex[:8]
    data = Artifact.create(
        artifact_name=f"train-{run}",
        source_uri=f"s3://{conn.bucket}/lineage/{run}/train.csv",
        artifact_type="DataSet",
        properties={"rows": "300"},
        sagemaker_session=session,
    )
    model = Artifact.create(
        source_uri=f"s3://{conn.bucket}/lineage/{run}/model.tar.gz",
        artifact_type="Model",
        sagemaker_session=session,
    )
    endpoint = Context.create(
        context_name=f"endpoint-{run}",
        source_uri=f"arn:aws:sagemaker:{conn.region}:000000000000:endpoint/ep-{run}",
        context_type="Endpoint",
        sagemaker_session=session,
    )
    deploy = Action.create(
        action_name=f"deploy-{run}",
        source_uri=f"s3://{conn.bucket}/lineage/{run}/model.tar.gz",
        action_type="ModelDeployment",
        status="Completed",
        sagemaker_session=session,
    )
    for source, destination, kind in (
        (data.artifact_arn, model.artifact_arn, "ContributedTo"),
        (model.artifact_arn, deploy.action_arn, "ContributedTo"),
        (deploy.action_arn, endpoint.context_arn, "AssociatedWith"),
    ):
        Association.create(
            source_arn=source,
            destination_arn=destination,
            association_type=kind,
            sagemaker_session=session,
        )

    assert Artifact.load(data.artifact_arn, sagemaker_session=session).properties == {"rows": "300"}
    assert Context.load(f"endpoint-{run}", sagemaker_session=session).context_type == "Endpoint"
    listed = list(Artifact.list(source_uri=model.source.source_uri, sagemaker_session=session))
    assert [a.artifact_arn for a in listed] == [model.artifact_arn]

    up = LineageQuery(session).query(
        start_arns=[endpoint.context_arn],
        direction=LineageQueryDirectionEnum.ASCENDANTS,
        query_filter=LineageFilter(
            entities=[LineageEntityEnum.ARTIFACT], sources=[LineageSourceEnum.DATASET]
        ),
    )
    assert [v.arn for v in up.vertices] == [data.artifact_arn]
    assert up.vertices[0].lineage_source == "DataSet"
    assert len(up.edges) == 3  # the edges walked from the endpoint up to the data

    down = LineageQuery(session).query(
        start_arns=[data.artifact_arn],
        direction=LineageQueryDirectionEnum.DESCENDANTS,
        include_edges=False,
        max_depth=1,
    )
    assert {v.arn for v in down.vertices} == {data.artifact_arn, model.artifact_arn}
    assert down.edges == []

    sm = conn.client("sagemaker")
    upstream = sm.list_associations(DestinationArn=model.artifact_arn)["AssociationSummaries"]
    assert [(a["SourceArn"], a["SourceType"], a["AssociationType"]) for a in upstream] == [
        (data.artifact_arn, "DataSet", "ContributedTo")
    ]

    # deleting the model removes its associations: the endpoint no longer reaches the data
    sm.delete_artifact(ArtifactArn=model.artifact_arn)
    cut = sm.query_lineage(StartArns=[endpoint.context_arn], Direction="Ascendants")
    assert data.artifact_arn not in {v["Arn"] for v in cut["Vertices"]}


def test_lineage_requests_are_refused_as_sagemaker_refuses_them(conn: mlaccel.Connection) -> None:
    sm = conn.client("sagemaker")
    run = uuid.uuid4().hex[:8]
    with pytest.raises(ClientError) as missing:
        sm.describe_context(ContextName=f"nowhere-{run}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    arn = sm.create_context(
        ContextName=f"ctx-{run}", ContextType="Endpoint", Source={"SourceUri": run}
    )["ContextArn"]
    with pytest.raises(ClientError) as twice:
        sm.create_context(
            ContextName=f"ctx-{run}", ContextType="Endpoint", Source={"SourceUri": run}
        )
    assert "already exists" in twice.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as dangling:
        sm.add_association(
            SourceArn=arn,
            DestinationArn=f"arn:aws:sagemaker:{conn.region}:000000000000:artifact/{run}",
        )
    assert dangling.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as bad_direction:
        sm.query_lineage(StartArns=[arn], Direction="Sideways")
    assert "Direction" in bad_direction.value.response["Error"]["Message"]


def test_a_trial_component_can_be_an_end_of_an_association(conn: mlaccel.Connection) -> None:
    sm = conn.client("sagemaker")
    run = uuid.uuid4().hex[:8]
    component = sm.create_trial_component(TrialComponentName=f"training-{run}")["TrialComponentArn"]
    data = sm.create_artifact(
        Source={"SourceUri": f"s3://{conn.bucket}/lineage/{run}/data.csv"}, ArtifactType="DataSet"
    )["ArtifactArn"]
    sm.add_association(SourceArn=data, DestinationArn=component, AssociationType="ContributedTo")
    found = sm.query_lineage(StartArns=[data], Direction="Descendants", IncludeEdges=True)
    lineage_types = {v["Arn"]: v["LineageType"] for v in found["Vertices"]}
    assert lineage_types == {data: "Artifact", component: "TrialComponent"}
    assert found["Edges"] == [
        {"SourceArn": data, "DestinationArn": component, "AssociationType": "ContributedTo"}
    ]


@pytest.mark.slow
def test_a_deployed_model_traces_back_to_its_training_data_on_its_own(
    conn: mlaccel.Connection, session
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.lineage.visualizer import LineageTableVisualizer

    run = uuid.uuid4().hex[:8]
    rng = np.random.default_rng(4)
    rows = pd.DataFrame({"y": rng.normal(size=200), "a": rng.normal(size=200)})
    key = f"lineage/{run}/train/rows.csv"
    conn.client("s3").put_object(
        Bucket=conn.bucket, Key=key, Body=rows.to_csv(index=False, header=False)
    )
    train_uri = f"s3://{conn.bucket}/lineage/{run}/train"
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        role=conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{conn.bucket}/lineage/{run}/models",
        hyperparameters={"num_round": "3", "objective": "reg:squarederror"},
        sagemaker_session=session,
    )
    estimator.fit({"train": TrainingInput(train_uri, content_type="text/csv")}, logs=False)
    job = estimator.latest_training_job.name
    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=f"lineage-{run}"
    )
    try:
        context = predictor.endpoint_context()
        assert [a.source.source_uri for a in context.dataset_artifacts()] == [train_uri]
        job_arn = conn.client("sagemaker").describe_training_job(TrainingJobName=job)[
            "TrainingJobArn"
        ]
        assert context.training_job_arns() == [job_arn]

        table = LineageTableVisualizer(session).show(training_job_name=job)
        rows_seen = set(zip(table["Direction"], table["Type"], table["Name/Source"], strict=True))
        assert ("Input", "DataSet", train_uri) in rows_seen
        # the table shortens long sources to their start and end
        assert any(
            d == "Output" and t == "Model" and estimator.model_data.endswith(n.split("...")[-1])
            for d, t, n in rows_seen
        )
        assert any(d == "Input" and t == "Image" for d, t, _ in rows_seen)
    finally:
        predictor.delete_endpoint()
