"""Endpoints on the twin refuse what AWS refuses: payloads over 6 MB."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from botocore.exceptions import ClientError

import mlaccel


def test_endpoints_refuse_payloads_over_6_mb_like_aws(conn: mlaccel.Connection) -> None:
    import xgboost as xgb
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    rng = np.random.default_rng(0)
    booster = xgb.train(
        {"objective": "reg:squarederror"}, xgb.DMatrix(rng.random((50, 3)), rng.random(50)), 3
    )
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = bytes(booster.save_raw("ubj"))
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    key = f"fidelity/{uuid.uuid4().hex[:8]}/model.tar.gz"
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=archive.getvalue())
    from sagemaker import image_uris

    model = Model(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        model_data=f"s3://{conn.bucket}/{key}",
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
    )
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    predictor = Predictor(
        endpoint_name=model.endpoint_name,
        sagemaker_session=conn.sagemaker_session,
        serializer=CSVSerializer(),
    )
    try:
        assert float(predictor.predict([0.1, 0.2, 0.3])) == pytest.approx(
            float(booster.predict(xgb.DMatrix(np.array([[0.1, 0.2, 0.3]])))[0]), rel=1e-5
        )
        too_big = "0.1,0.2,0.3\n" * (6 * 1024 * 1024 // 12 + 1000)
        with pytest.raises(ClientError) as raised:
            predictor.predict(too_big)
    finally:
        predictor.delete_endpoint()
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "larger than the 6291456 bytes (6 MB)" in raised.value.response["Error"]["Message"]
