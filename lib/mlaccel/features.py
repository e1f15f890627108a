"""Feature engineering as a SageMaker Processing job, with the script in ``seedcode/``.

The job reads a published table (its S3 files, or an Athena query as the job's dataset
definition), builds features, splits train / validation / test and writes them with the fitted
preprocessor; see ``seedcode/processing/preprocess.py`` for the layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel import config, data, products
from mlaccel._paths import seedcode_dir
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

    from mlaccel._connect import Connection

SKLEARN_VERSION = "1.2-1"
CONTAINER_INPUT = "/opt/ml/processing/input/data"
CONTAINER_OUTPUT = "/opt/ml/processing/output"
FEATURES_PREFIX = "features"
SOURCES = ("s3", "athena")
SPLITS = ("train", "validation", "test")
# What the processing job writes: the three CSV splits, Parquet copies, the preprocessor, the
# data-quality baseline and the counts of invalid values it found.
OUTPUTS = (*SPLITS, "parquet", "preprocessor", "baseline", "quality")
# Share of a column's values that may be unusable (text in a number column, say) before the
# job fails; below it they are imputed, counted and reported.
MAX_INVALID_FRACTION = 0.01


@dataclass(frozen=True)
class FeatureSet:
    """Where a feature job wrote its outputs (S3 prefixes).

    Examples
    --------
    >>> houses = products.DataProduct("houses", "price", "regression", "id", ("rooms",))
    >>> features = FeatureSet(houses, "s3://bucket/features/houses", "job-1")
    >>> features.train, features.preprocessor
    ('s3://bucket/features/houses/train', 's3://bucket/features/houses/preprocessor')
    """

    product: products.DataProduct
    prefix: str
    job_name: str

    def uri(self, part: str) -> str:
        """The S3 prefix of output ``part`` (``train``, ``parquet``, ...)."""
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

    @property
    def baseline(self) -> str:
        """The training features as an endpoint receives them (the data-quality baseline)."""
        return self.uri("baseline")

    @property
    def quality(self) -> str:
        """The counts of unusable values the job found (``quality.json``)."""
        return self.uri("quality")


@dataclass(frozen=True)
class FeatureJob:
    """A feature-engineering processing job, built but not run: the SDK ``processor`` and what
    its ``run`` takes (:attr:`run_arguments`), so a notebook can show both, change one, and run.

    Run it with ``job.processor.run(**job.run_arguments)``, then read :meth:`feature_set`.
    """

    product: products.DataProduct
    processor: Any
    code: str
    inputs: list[Any]
    outputs: list[Any]
    arguments: list[str]
    prefix: str

    @property
    def run_arguments(self) -> dict[str, Any]:
        """``code``, ``inputs``, ``outputs`` and ``arguments``, as ``processor.run`` takes them."""
        return {
            "code": self.code,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "arguments": self.arguments,
        }

    def feature_set(self) -> FeatureSet:
        """Where the finished job wrote its outputs."""
        job = getattr(self.processor, "latest_job", None)
        if job is None:
            raise MLAccelInputError(
                "the feature job has not run yet: call job.processor.run(**job.run_arguments) first"
            )
        return FeatureSet(self.product, self.prefix, job.job_name)


def check_split(train_ratio: float, validation_ratio: float) -> None:
    """Both ratios in (0, 1), leaving rows for the test split.

    Examples
    --------
    >>> check_split(0.7, 0.15)
    >>> check_split(0.8, 0.2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: train_ratio + validation_ratio = 1.00 leaves no test rows; ...
    """
    for name, value in (("train_ratio", train_ratio), ("validation_ratio", validation_ratio)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise MLAccelInputError(f"{name}={value!r} must be a number strictly between 0 and 1")
    if train_ratio + validation_ratio >= 1:
        raise MLAccelInputError(
            f"train_ratio + validation_ratio = {train_ratio + validation_ratio:.2f} leaves no "
            "test rows; keep their sum below 1"
        )


def preprocess_arguments(
    product: products.DataProduct,
    train_ratio: float,
    validation_ratio: float,
    seed: int,
    *,
    max_invalid_fraction: float = MAX_INVALID_FRACTION,
) -> list[str]:
    """The processing script's arguments for ``product``: its contract, spelled as flags.

    Examples
    --------
    >>> product = products.DataProduct(
    ...     "houses", "price", "regression", "house_id", numeric_features=("rooms",)
    ... )
    >>> args = preprocess_arguments(product, 0.7, 0.15, seed=3)
    >>> args[:4], args[args.index("--seed") + 1]
    (['--target', 'price', '--id-column', 'house_id'], '3')
    """
    import json

    check_fraction(max_invalid_fraction)
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
        "--max-invalid-fraction",
        str(max_invalid_fraction),
    ]
    if product.datetime_features:
        args += ["--datetime-columns", ",".join(product.datetime_features)]
    if product.classes:
        args += ["--classes", json.dumps(list(product.classes))]
    if product.time_column:
        args += ["--time-column", product.time_column]
    return args


def check_fraction(value: Any, name: str = "max_invalid_fraction") -> float:
    """``value`` when it is a share from 0 to 1.

    Examples
    --------
    >>> check_fraction(0.05)
    0.05
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise MLAccelInputError(f"{name}={value!r} must be a share from 0 to 1 (0.01 is 1 %)")
    return float(value)


def sklearn_processor(
    *,
    connection: Connection,
    instance_type: str | None = None,
    base_job_name: str = "mlaccel-features",
) -> Any:
    """The SKLearn processor the kit's processing scripts run in.

    ``instance_type`` defaults to :func:`mlaccel.config.default_instance_type`.
    """
    from sagemaker.sklearn.processing import SKLearnProcessor

    return SKLearnProcessor(
        framework_version=SKLEARN_VERSION,
        role=connection.role_arn,
        instance_type=instance_type or config.default_instance_type(),
        instance_count=1,
        base_job_name=base_job_name,
        sagemaker_session=connection.sagemaker_session,
    )


def check_seed(seed: Any) -> int:
    """``seed`` when it is a non-negative whole number.

    Examples
    --------
    >>> check_seed(0)
    0
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise MLAccelInputError(f"seed={seed!r} must be a non-negative whole number")
    return seed


def check_source(source: Any) -> str:
    """``source`` when the feature job can read from it (``s3`` or ``athena``).

    Examples
    --------
    >>> check_source("athena")
    'athena'
    """
    if source not in SOURCES:
        raise MLAccelInputError(
            f"source={source!r} must be 's3' (the table's Parquet files) or 'athena' "
            "(an Athena query as the job's dataset definition)"
        )
    return str(source)


def missing_columns(product: products.DataProduct, columns: Iterable[str]) -> list[str]:
    """The columns ``product`` needs (its features and target) that ``columns`` lacks.

    Examples
    --------
    >>> product = products.DataProduct(
    ...     "houses", "price", "regression", "house_id", numeric_features=("rooms", "area")
    ... )
    >>> missing_columns(product, ["house_id", "rooms"])
    ['area', 'price']
    """
    present = set(columns)
    return [c for c in (*product.features, product.target) if c not in present]


def feature_job(
    product: products.DataProduct,
    *,
    connection: Connection,
    database: str = data.DEFAULT_DATABASE,
    table: str | None = None,
    source: str = "s3",
    train_ratio: float = 0.7,
    validation_ratio: float = 0.15,
    seed: int = 0,
    max_invalid_fraction: float = MAX_INVALID_FRACTION,
    instance_type: str | None = None,
) -> FeatureJob:
    """Build the feature-engineering processing job on ``database.table``, not run yet.

    Parameters
    ----------
    product
        The data product's contract (:func:`mlaccel.data.load_product`): target, problem
        type, features by kind.
    connection
        From :func:`mlaccel.connect`.
    database, table
        The published table to read (``table`` defaults to the data product's name).
    source
        ``"s3"`` reads the table's Parquet files; ``"athena"`` gives the job an Athena query
        (``SELECT *``) as its dataset definition.
    train_ratio, validation_ratio
        Shares of the rows for training and validation; the rest is the test split.
    seed
        Seed of the split.
    max_invalid_fraction
        Share of a column's values that may be unusable before the job fails (the counts are
        in the job's ``quality`` output either way).
    instance_type
        Defaults to :func:`mlaccel.config.default_instance_type`.

    Examples
    --------
    >>> job = feature_job(product, connection=conn)  # doctest: +SKIP
    >>> job.processor.run(**job.run_arguments, logs=False)  # doctest: +SKIP
    >>> job.feature_set().train  # doctest: +SKIP
    's3://mlaccel-local/features/used_cars/train'
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    check_split(train_ratio, validation_ratio)
    check_source(source)
    check_seed(seed)
    table = table or product.name
    missing = missing_columns(
        product, data.describe_table(database, table, connection=connection)["column"]
    )
    if missing:
        raise MLAccelInputError(
            f"table={database}.{table} lacks the columns {missing} that data_product="
            f"{product.name!r} needs (target {product.target!r}); register the table again "
            "(mlaccel.data.register) or pick the matching data product"
        )
    if source == "s3":
        location = data.table_location(database, table, connection=connection)
        inputs = [ProcessingInput(source=location, destination=CONTAINER_INPUT, input_name="table")]
    else:
        inputs = [_athena_input(database, table, connection)]
    prefix = connection.s3_uri(FEATURES_PREFIX, product.name)
    outputs = [
        ProcessingOutput(
            source=f"{CONTAINER_OUTPUT}/{part}", destination=f"{prefix}/{part}", output_name=part
        )
        for part in OUTPUTS
    ]
    return FeatureJob(
        product,
        sklearn_processor(connection=connection, instance_type=instance_type),
        str(seedcode_dir() / "processing" / "preprocess.py"),
        inputs,
        outputs,
        preprocess_arguments(
            product, train_ratio, validation_ratio, seed, max_invalid_fraction=max_invalid_fraction
        ),
        prefix,
    )


def run_feature_job(
    product: products.DataProduct,
    *,
    connection: Connection,
    database: str = data.DEFAULT_DATABASE,
    table: str | None = None,
    source: str = "s3",
    train_ratio: float = 0.7,
    validation_ratio: float = 0.15,
    seed: int = 0,
    max_invalid_fraction: float = MAX_INVALID_FRACTION,
    instance_type: str | None = None,
    logs: bool = False,
) -> FeatureSet:
    """Build the feature job (:func:`feature_job`, same parameters), run it and wait.

    ``logs`` shows the job's logs while waiting.

    Returns
    -------
    FeatureSet
        The S3 prefixes of the splits and the fitted preprocessor, under
        ``s3://<bucket>/features/<product>/``.

    Examples
    --------
    >>> features = run_feature_job(data.load_product("used_cars", connection=conn),
    ...                            connection=conn)  # doctest: +SKIP
    >>> features.train  # doctest: +SKIP
    's3://mlaccel-local/features/used_cars/train'
    """
    job = feature_job(
        product,
        connection=connection,
        database=database,
        table=table,
        source=source,
        train_ratio=train_ratio,
        validation_ratio=validation_ratio,
        seed=seed,
        max_invalid_fraction=max_invalid_fraction,
        instance_type=instance_type,
    )
    job.processor.run(**job.run_arguments, wait=True, logs=logs)
    return job.feature_set()


def contract_table(product: products.DataProduct) -> pd.DataFrame:
    """The data product's contract as a short table: one row per role (target, id, features by
    kind with how many, classes, columns left out) and the columns it names.

    Examples
    --------
    >>> houses = products.DataProduct("houses", "price", "regression", "id", ("rooms",))
    >>> contract_table(houses).loc["numeric features (1)", "columns"]
    'rooms'
    """
    import pandas as pd

    roles: list[tuple[str, tuple[str, ...] | str]] = [
        ("problem type", product.problem_type),
        ("target", product.target),
        ("id column", product.id_column + (" (added by the kit)" if product.id_added else "")),
        ("time column", product.time_column or "— (random split)"),
        ("numeric features", tuple(product.numeric_features)),
        ("categorical features", tuple(product.categorical_features)),
        ("date features", tuple(product.datetime_features)),
        ("classes", tuple(product.classes)),
        ("left out", tuple(f"{c} ({why})" for c, why in product.excluded.items())),
    ]
    rows = [
        {
            "role": f"{role} ({len(value)})" if isinstance(value, tuple) else role,
            "columns": ", ".join(value) if isinstance(value, tuple) else value,
        }
        for role, value in roles
        if value
    ]
    return pd.DataFrame(rows).set_index("role")


def describe_features(
    preprocessor: dict[str, Any], product: products.DataProduct, sizes: dict[str, int]
) -> str:
    """Sentences that read what the feature job wrote: how the raw columns became model
    inputs, and the split sizes.

    Examples
    --------
    >>> houses = products.DataProduct("houses", "price", "regression", "id", ("rooms",))
    >>> describe_features({"features": ["rooms"], "numeric": ["rooms"]}, houses,
    ...                   {"train": 70, "validation": 15, "test": 15})  # doctest: +ELLIPSIS
    '1 model input from 1 raw column: 1 numeric input (numbers as they are). The rows split ...'
    """
    names = list(preprocessor.get("features", []))
    flags = [f for f in names if f.endswith("_missing")]
    one_hot = [f for f in names if "=" in f]
    numbers = [f for f in names if f not in flags and f not in one_hot]
    raw = len(product.features)
    parts = [
        f"{_count(len(numbers), 'numeric input')} (numbers as they are"
        + (", and the year, month, weekday and age of dates)" if product.datetime_features else ")")
    ]
    if flags:
        parts.append(f"{_count(len(flags), 'missing-value flag')} (1 where a value was imputed)")
    if one_hot:
        encoded = len({f.split("=", 1)[0] for f in one_hot})
        parts.append(
            f"{_count(len(one_hot), 'one-hot column')} for {_count(encoded, 'categorical column')} "
            "(one per category seen in training, plus a bucket for values never seen)"
        )
    total = sum(sizes.values())
    shares = ", ".join(
        f"{split} {rows:,} ({100 * rows / total:.0f}%)" for split, rows in sizes.items()
    )
    split_by = (
        f"by `{product.time_column}` (oldest rows train, newest test)"
        if product.time_column
        else "at random with the seed"
    )
    return (
        f"{_count(len(names), 'model input')} from {_count(raw, 'raw column')}: "
        f"{'; '.join(parts)}. The rows split {split_by} into {shares}. "
        "The target comes first in the CSV splits, as the built-in XGBoost algorithm expects."
    )


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


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
                output_s3_uri=connection.s3_uri(data.ATHENA_RESULTS_PREFIX, FEATURES_PREFIX),
                output_format="PARQUET",
            ),
        ),
    )


def existing_feature_set(
    product: products.DataProduct, *, connection: Connection, prefix: str = ""
) -> FeatureSet | None:
    """The features an earlier run wrote for ``product`` (under ``prefix``, by default where
    :func:`run_feature_job` writes), or None when there are none."""
    prefix = prefix or connection.s3_uri(FEATURES_PREFIX, product.name)
    features = FeatureSet(product, prefix.rstrip("/"), "")
    bucket, key = parse_path(features.preprocessor, name="features.preprocessor")
    listed = connection.client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return features if listed.get("KeyCount", 0) else None


def _read_object(uri: str, connection: Connection) -> bytes:
    bucket, key = parse_path(uri)
    return bytes(connection.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def read_preprocessor(features: FeatureSet, *, connection: Connection) -> dict[str, Any]:
    """The fitted preprocessing (columns, medians, categories, feature order)."""
    import json

    return dict(json.loads(_read_object(f"{features.preprocessor}/preprocessor.json", connection)))


def read_split(features: FeatureSet, split: str, *, connection: Connection) -> Any:
    """One split (``train``, ``validation``, ``test``) as a frame with ids, label and features."""
    import io

    import pandas as pd

    if split not in SPLITS:
        raise MLAccelInputError(f"split={split!r} must be 'train', 'validation' or 'test'")
    body = _read_object(f"{features.parquet}/{split}.parquet", connection)
    return pd.read_parquet(io.BytesIO(body))


def apply_preprocessor_job(
    features: FeatureSet,
    batch_uri: str,
    output_uri: str,
    *,
    connection: Connection,
    instance_type: str | None = None,
) -> str:
    """Apply the fitted preprocessor to a new batch (for scoring); return the CSV prefix.

    ``instance_type`` defaults to :func:`mlaccel.config.default_instance_type`.
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    parse_path(output_uri, name="output_uri")  # a processing job writes to S3 only
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


def read_baseline_inputs(features: FeatureSet, *, connection: Connection) -> Any:
    """The training features as the model receives them (the job's ``baseline/baseline.csv``,
    with a header): what a data-quality baseline is computed from."""
    import io

    import pandas as pd

    return pd.read_csv(io.BytesIO(_read_object(f"{features.baseline}/baseline.csv", connection)))


def prepare_rows(rows: Any, features: FeatureSet, *, name: str, connection: Connection) -> Any:
    """``rows`` of the product's table as the model receives them: the fitted preprocessor
    applied by the processing job (transform mode), the same job the scoring pipeline runs.

    Returns a frame of the product's id and the named model inputs. ``name`` keeps this call's
    files apart under ``s3://<bucket>/features/<product>/prepared/<name>/``.
    """
    import io

    import awswrangler as wr
    import pandas as pd

    if not isinstance(rows, pd.DataFrame) or rows.empty:
        raise MLAccelInputError(f"rows must be a non-empty frame of {features.product.name}")
    folder = connection.s3_uri(FEATURES_PREFIX, features.product.name, "prepared", name)
    wr.s3.to_parquet(
        rows, f"{folder}/input/rows.parquet", index=False, boto3_session=connection.boto3_session
    )
    apply_preprocessor_job(features, f"{folder}/input/", f"{folder}/output", connection=connection)
    names = read_preprocessor(features, connection=connection)["features"]
    body = _read_object(f"{folder}/output/batch.csv", connection)
    return pd.read_csv(io.BytesIO(body), header=None, names=[features.product.id_column, *names])


def raw_columns(inputs: Iterable[str], preprocessor: dict[str, Any]) -> list[str]:
    """The table's columns that model inputs come from: ``price`` and ``price_missing`` from
    ``price``, ``make=bmw`` from ``make``, ``signup_month`` from the date ``signup``.

    Examples
    --------
    >>> prep = {"numeric": ["year"], "raw_numeric": ["year"], "categories": {"make": ["bmw"]}}
    >>> raw_columns(["make=bmw", "year_missing", "year"], prep)
    ['make', 'year']
    """
    origin: dict[str, str] = {}
    for column in preprocessor.get("raw_numeric", preprocessor["numeric"]):
        origin[column] = origin[f"{column}_missing"] = column
    for column in preprocessor.get("datetimes", {}):
        for name in preprocessor["numeric"]:
            if name.startswith(f"{column}_"):
                origin[name] = origin[f"{name}_missing"] = column
    for column, values in preprocessor["categories"].items():
        for value in [*values, "__unknown__"]:
            origin[f"{column}={value}"] = column
    return sorted({origin.get(name, name) for name in inputs})
