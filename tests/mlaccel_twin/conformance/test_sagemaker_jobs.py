"""SageMaker processing and training jobs on the twin run scripts written for the standard
container paths, and the built-in XGBoost algorithm's older pickled models and 1-based libsvm
data work everywhere, as the algorithm's documentation shows."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

import mlaccel

HARD_CODED_PREPROCESS = """
import glob
import os

import pandas as pd

if __name__ == "__main__":
    frames = [pd.read_csv(f) for f in glob.glob("/opt/ml/processing/input/*.csv")]
    df = pd.concat(frames)
    os.makedirs("/opt/ml/processing/train", exist_ok=True)
    df[df["x"] > 1].to_csv("/opt/ml/processing/train/train.csv", index=False)
    print("rows kept:", int((df["x"] > 1).sum()))
"""


def test_processing_scripts_with_container_paths_run_and_log(
    conn: mlaccel.Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    script = tmp_path / "preprocessing.py"
    script.write_text(HARD_CODED_PREPROCESS)
    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/raw/data.csv", Body="x,y\n1,a\n2,b\n3,c\n")
    sklearn_processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        sagemaker_session=conn.sagemaker_session,
    )
    sklearn_processor.run(  # logs=True, the default: it reads ProcessingResources
        code=str(script),
        inputs=[
            ProcessingInput(
                source=f"s3://{conn.bucket}/{prefix}/raw",
                destination="/opt/ml/processing/input",
            )
        ],
        outputs=[
            ProcessingOutput(
                output_name="train",
                source="/opt/ml/processing/train",
                destination=f"s3://{conn.bucket}/{prefix}/train",
            )
        ],
    )
    assert "rows kept: 2" in capsys.readouterr().out
    body = s3.get_object(Bucket=conn.bucket, Key=f"{prefix}/train/train.csv")["Body"].read()
    assert body.decode().splitlines() == ["x,y", "2,b", "3,c"]
    job = sklearn_processor.jobs[-1].describe()
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"


HARD_CODED_TRAIN = """
import os
import pickle

import pandas as pd
from sklearn.linear_model import LinearRegression

if __name__ == "__main__":
    train = pd.read_csv("/opt/ml/input/data/train/train.csv", header=None)
    model = LinearRegression().fit(train.iloc[:, 1:], train.iloc[:, 0])
    with open(os.path.join("/opt/ml/model", "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    print("coefficient:", round(float(model.coef_[0]), 2))
"""


def test_training_scripts_with_container_paths_run(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    import io
    import pickle
    import tarfile

    from sagemaker.sklearn.estimator import SKLearn

    (tmp_path / "train.py").write_text(HARD_CODED_TRAIN)
    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    rows = "".join(f"{2 * x + 1},{x}\n" for x in range(20))
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/train/train.csv", Body=rows)
    sklearn_estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
        output_path=f"s3://{conn.bucket}/{prefix}/output",
    )
    sklearn_estimator.fit({"train": f"s3://{conn.bucket}/{prefix}/train"}, logs=False)
    bucket, key = sklearn_estimator.model_data.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        model = pickle.loads(tar.extractfile("model.pkl").read())  # type: ignore[union-attr]
    assert round(float(model.coef_[0]), 2) == 2.0


def _libsvm_rows(n: int, seed: int) -> str:
    """1-based LIBSVM records, as the public XGBoost examples ship them (abalone)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, 3))
    y = 10 * x[:, 0] + 2 * x[:, 2]
    return "".join(
        f"{label:.4f} " + " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(row)) + "\n"
        for label, row in zip(y, x, strict=True)
    )


@pytest.mark.slow
def test_an_older_builtin_xgboost_pickles_its_model_and_1_based_libsvm_scores_everywhere(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    import io
    import pickle as pkl
    import tarfile

    import xgboost as xgb
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import LibSVMSerializer

    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/train/abalone", Body=_libsvm_rows(200, 0))
    # an https:// object URL, as AWS accepts in S3Uri
    train_url = f"https://{conn.bucket}.s3.us-east-1.amazonaws.com/{prefix}/train"
    container = image_uris.retrieve("xgboost", conn.region, "1.2-1")
    xgb_model = Estimator(
        container,
        conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{conn.bucket}/{prefix}/output",
        sagemaker_session=conn.sagemaker_session,
    )
    xgb_model.set_hyperparameters(objective="reg:squarederror", num_round=20, max_depth=3)
    xgb_model.fit({"train": TrainingInput(train_url, content_type="text/libsvm")}, logs=False)

    # The model file, read as the algorithm's documentation shows for these versions.
    bucket, key = xgb_model.model_data.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(tmp_path, filter="data")
    with open(tmp_path / "xgboost-model", "rb") as model_file:
        booster = pkl.load(model_file)
    assert isinstance(booster, xgb.Booster)

    record = "1:0.9 2:0.5 3:0.5"
    predictor = xgb_model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.xlarge",
        serializer=LibSVMSerializer(),
    )
    try:
        served = float(predictor.predict(record).decode())
    finally:
        predictor.delete_endpoint()
    expected = float(booster.predict(xgb.DMatrix(np.array([[np.nan, 0.9, 0.5, 0.5]])))[0])
    assert served == pytest.approx(expected, rel=1e-5)
    assert served > 5  # 10 * 0.9 + 2 * 0.5 = 10: the 1-based first feature drives it

    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/batch/records", Body=record + "\n")
    transformer = xgb_model.transformer(
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{conn.bucket}/{prefix}/scored",
    )
    transformer.transform(
        f"s3://{conn.bucket}/{prefix}/batch", content_type="text/libsvm", split_type="Line"
    )
    transformer.wait(logs=False)
    # named after the input object, relative to the input prefix's folder
    scored = s3.get_object(Bucket=conn.bucket, Key=f"{prefix}/scored/batch/records.out")["Body"]
    assert float(scored.read().decode()) == pytest.approx(expected, rel=1e-5)
