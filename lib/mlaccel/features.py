"""Feature engineering as a SageMaker Processing job, with the script in ``seedcode/``.

The job reads a published table (its S3 files, or an Athena query as the job's dataset
definition), builds features, splits train / validation / test and writes them with the fitted
preprocessor; see ``seedcode/processing/preprocess.py`` for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel import datasets
from mlaccel._paths import seedcode_dir
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

SKLEARN_VERSION = "1.2-1"
CONTAINER_INPUT = "/opt/ml/processing/input/data"
CONTAINER_OUTPUT = "/opt/ml/processing/output"


@dataclass(frozen=True)
class FeatureSet:
    """Where a feature job wrote its outputs (S3 prefixes)."""

    product: str
    prefix: str
    job_name: str

    def uri(self, part: str) -> str:
        return f"{self.prefix}/{part}"

    @property
    def train(self) -> str:
        return self.uri("train")

    @property
    def validation(self) -> str:
        return self.uri("validation")

    @property
    def test(self) -> str:
        return self.uri("test")

    @property
    def parquet(self) -> str:
        return self.uri("parquet")

    @property
    def preprocessor(self) -> str:
        return self.uri("preprocessor")


def check_split(train_ratio: float, validation_ratio: float) -> None:
    """Both ratios in (0, 1), leaving rows for the test split."""
    for name, value in (("train_ratio", train_ratio), ("validation_ratio", validation_ratio)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise MLAccelInputError(f"{name}={value!r} must be a number strictly between 0 and 1")
    if train_ratio + validation_ratio >= 1:
        raise MLAccelInputError(
            f"train_ratio + validation_ratio = {train_ratio + validation_ratio:.2f} leaves no "
            "test rows; keep their sum below 1"
        )


def preprocess_arguments(
    product: datasets.DataProduct, train_ratio: float, validation_ratio: float, seed: int
) -> list[str]:
    """The processing script's arguments for ``product``."""
    args = [
        "--target",
        product.target,
        "--id-column",
        product.id_column,
        "--problem-type",
        product.problem_type,
        "--numeric-columns",
        ",".join(product.numeric_features),
        "--categorical-columns",
        ",".join(product.categorical_features),
        "--train-ratio",
        str(train_ratio),
        "--validation-ratio",
        str(validation_ratio),
        "--seed",
        str(seed),
    ]
    if "year" in product.numeric_features:
        args += ["--reference-year", str(datasets.REFERENCE_YEAR)]
    return args


def sklearn_processor(
    *,
    connection: Connection,
    instance_type: str = "ml.m5.large",
    base_job_name: str = "mlaccel-features",
) -> Any:
    """The SKLearn processor the kit's processing scripts run in."""
    from sagemaker.sklearn.processing import SKLearnProcessor

    return SKLearnProcessor(
        framework_version=SKLEARN_VERSION,
        role=connection.role_arn,
        instance_type=instance_type,
        instance_count=1,
        base_job_name=base_job_name,
        sagemaker_session=connection.sagemaker_session,
    )


def run_feature_job(
    product_name: str,
    *,
    connection: Connection,
    database: str = "mlaccel_lake",
    table: str | None = None,
    source: str = "s3",
    train_ratio: float = 0.7,
    validation_ratio: float = 0.15,
    seed: int = 0,
    instance_type: str = "ml.m5.large",
    logs: bool = False,
) -> FeatureSet:
    """Run the feature-engineering processing job on ``database.table`` and wait for it.

    Parameters
    ----------
    product_name
        ``used_cars`` or ``credit_risk``: decides target, columns and derived features.
    source
        ``"s3"`` reads the table's Parquet files; ``"athena"`` gives the job an Athena query
        (``SELECT *``) as its dataset definition.

    Examples
    --------
    >>> features = run_feature_job("used_cars", connection=conn)  # doctest: +SKIP
    >>> features.train  # doctest: +SKIP
    's3://mlaccel-local/features/used_cars/train'
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    from mlaccel import data

    product = datasets.get_data_product(product_name)
    check_split(train_ratio, validation_ratio)
    if source not in ("s3", "athena"):
        raise MLAccelInputError(f"source={source!r} must be 's3' or 'athena'")
    table = table or product.name
    columns = set(data.describe_table(database, table, connection=connection)["column"])
    missing = [c for c in (product.target, *product.features) if c not in columns]
    if missing:
        raise MLAccelInputError(
            f"table={database}.{table} lacks the columns {missing} that data_product="
            f"{product.name!r} needs (target {product.target!r}); publish it with "
            "mlaccel.data.publish or pick the matching data product"
        )
    location = data.table_location(database, table, connection=connection)
    prefix = connection.s3_uri("features", product.name)
    if source == "s3":
        inputs = [ProcessingInput(source=location, destination=CONTAINER_INPUT, input_name="table")]
    else:
        inputs = [_athena_input(database, table, connection)]
    outputs = [
        ProcessingOutput(
            source=f"{CONTAINER_OUTPUT}/{part}", destination=f"{prefix}/{part}", output_name=part
        )
        for part in ("train", "validation", "test", "parquet", "preprocessor")
    ]
    processor = sklearn_processor(connection=connection, instance_type=instance_type)
    processor.run(
        code=str(seedcode_dir() / "processing" / "preprocess.py"),
        inputs=inputs,
        outputs=outputs,
        arguments=preprocess_arguments(product, train_ratio, validation_ratio, seed),
        wait=True,
        logs=logs,
    )
    return FeatureSet(product.name, prefix, processor.latest_job.job_name)


def _athena_input(database: str, table: str, connection: Connection) -> Any:
    from sagemaker.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
    from sagemaker.processing import ProcessingInput

    return ProcessingInput(
        input_name="table",
        dataset_definition=DatasetDefinition(
            local_path=CONTAINER_INPUT,
            data_distribution_type="FullyReplicated",
            input_mode="File",
            athena_dataset_definition=AthenaDatasetDefinition(
                catalog="AwsDataCatalog",
                database=database,
                query_string=f'SELECT * FROM "{database}"."{table}"',
                output_s3_uri=connection.s3_uri("athena-results", "features"),
                output_format="PARQUET",
            ),
        ),
    )


def existing_feature_set(product_name: str, *, connection: Connection) -> FeatureSet | None:
    """The features an earlier run wrote for ``product_name``, or None when there are none."""
    product = datasets.get_data_product(product_name)
    features = FeatureSet(product.name, connection.s3_uri("features", product.name), "")
    key = features.preprocessor.removeprefix(f"s3://{connection.bucket}/")
    listed = connection.client("s3").list_objects_v2(Bucket=connection.bucket, Prefix=key)
    return features if listed.get("KeyCount", 0) else None


def _read_object(uri: str, connection: Connection) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bytes(connection.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def read_preprocessor(features: FeatureSet, *, connection: Connection) -> dict[str, Any]:
    """The fitted preprocessing (columns, medians, categories, feature order)."""
    import json

    return dict(json.loads(_read_object(f"{features.preprocessor}/preprocessor.json", connection)))


def read_split(features: FeatureSet, split: str, *, connection: Connection) -> Any:
    """One split (``train``, ``validation``, ``test``) as a frame with ids, label and features."""
    import io

    import pandas as pd

    if split not in ("train", "validation", "test"):
        raise MLAccelInputError(f"split={split!r} must be 'train', 'validation' or 'test'")
    body = _read_object(f"{features.parquet}/{split}.parquet", connection)
    return pd.read_parquet(io.BytesIO(body))


def apply_preprocessor_job(
    features: FeatureSet,
    batch_uri: str,
    output_uri: str,
    *,
    connection: Connection,
    instance_type: str = "ml.m5.large",
) -> str:
    """Apply the fitted preprocessor to a new batch (for scoring); return the CSV prefix."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    processor = sklearn_processor(
        connection=connection, instance_type=instance_type, base_job_name="mlaccel-prep-batch"
    )
    processor.run(
        code=str(seedcode_dir() / "processing" / "preprocess.py"),
        inputs=[
            ProcessingInput(source=batch_uri, destination=CONTAINER_INPUT),
            ProcessingInput(
                source=features.preprocessor, destination="/opt/ml/processing/input/preprocessor"
            ),
        ],
        outputs=[ProcessingOutput(source=f"{CONTAINER_OUTPUT}/scoring", destination=output_uri)],
        arguments=["--mode", "transform"],
        wait=True,
        logs=False,
    )
    return output_uri
