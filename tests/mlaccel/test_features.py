"""Feature engineering: the job's arguments and checks, and the processing job on the twin."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import mlaccel
from mlaccel import config, data, features, products
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract

USED_CARS = demo_contract("used_cars")
CREDIT_RISK = demo_contract("credit_risk")


def unique_database(prefix: str) -> str:
    """Tests share one twin: each gets its own database."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- pure functions


def test_feature_set_names_one_prefix_per_output() -> None:
    feature_set = features.FeatureSet(CREDIT_RISK, "s3://b/features/credit_risk", "job-1")
    assert [feature_set.uri(part) for part in features.OUTPUTS] == [
        feature_set.train,
        feature_set.validation,
        feature_set.test,
        feature_set.parquet,
        feature_set.preprocessor,
        feature_set.baseline,
        feature_set.quality,
    ]
    assert feature_set.validation == "s3://b/features/credit_risk/validation"


@pytest.mark.parametrize(
    ("train_ratio", "validation_ratio", "named"),
    [
        (0, 0.15, "train_ratio=0"),
        (1.2, 0.1, "train_ratio=1.2"),
        (True, 0.1, "train_ratio=True"),
        ("0.7", 0.1, "train_ratio='0.7'"),
        (0.7, 0, "validation_ratio=0"),
        (0.7, None, "validation_ratio=None"),
        (0.7, 0.3, r"train_ratio \+ validation_ratio = 1.00"),
    ],
)
def test_check_split_names_the_bad_ratio(
    train_ratio: object, validation_ratio: object, named: str
) -> None:
    with pytest.raises(MLAccelInputError, match=f"^{named}"):
        features.check_split(train_ratio, validation_ratio)  # type: ignore[arg-type]


def test_check_split_accepts_ratios_that_leave_test_rows() -> None:
    features.check_split(0.7, 0.15)
    features.check_split(0.5, 0.49)


def test_preprocess_arguments_describe_the_product() -> None:
    args = features.preprocess_arguments(USED_CARS, 0.6, 0.2, 4)
    values = dict(zip(args[::2], args[1::2], strict=True))
    assert values["--target"] == "price"
    assert values["--id-column"] == "record_id"
    assert values["--problem-type"] == "regression"
    assert values["--numeric-columns"].split(",") == list(USED_CARS.numeric_features)
    assert values["--categorical-columns"].split(",") == list(USED_CARS.categorical_features)
    assert (values["--train-ratio"], values["--validation-ratio"], values["--seed"]) == (
        "0.6",
        "0.2",
        "4",
    )
    assert values["--max-invalid-fraction"] == str(features.MAX_INVALID_FRACTION)
    assert "--classes" not in values and "--datetime-columns" not in values


def test_preprocess_arguments_carry_classes_dates_and_the_time_column() -> None:
    args = features.preprocess_arguments(CREDIT_RISK, 0.7, 0.15, 0, max_invalid_fraction=0.2)
    values = dict(zip(args[::2], args[1::2], strict=True))
    assert (values["--problem-type"], values["--classes"]) == ("binary", '["0", "1"]')
    assert values["--max-invalid-fraction"] == "0.2"
    shop = products.DataProduct(
        "shop", "y", "regression", "id", ("x",), datetime_features=("signup",), time_column="at"
    )
    values = dict(zip(*[iter(features.preprocess_arguments(shop, 0.7, 0.15, 0))] * 2, strict=True))
    assert (values["--datetime-columns"], values["--time-column"]) == ("signup", "at")
    with pytest.raises(MLAccelInputError, match=r"max_invalid_fraction=2 must be a share"):
        features.preprocess_arguments(shop, 0.7, 0.15, 0, max_invalid_fraction=2)


def test_missing_columns_lists_features_and_target_the_table_lacks() -> None:
    assert features.missing_columns(CREDIT_RISK, CREDIT_RISK.columns) == []
    kept = [c for c in CREDIT_RISK.columns if c not in ("income", "default")]
    assert features.missing_columns(CREDIT_RISK, kept) == ["income", "default"]


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_check_seed_names_the_bad_seed(seed: object) -> None:
    with pytest.raises(MLAccelInputError, match=r"^seed=.* non-negative whole number"):
        features.check_seed(seed)


def test_check_source_says_which_sources_exist() -> None:
    assert features.check_source("s3") == "s3"
    with pytest.raises(MLAccelInputError, match=r"source='glue' must be 's3' .* or 'athena'"):
        features.check_source("glue")


def test_sklearn_processor_takes_the_instance_type_from_config(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert features.sklearn_processor(connection=conn).instance_type == (
        config.default_instance_type()
    )
    monkeypatch.setenv("MLACCEL_INSTANCE_TYPE", "ml.c5.xlarge")
    processor = features.sklearn_processor(connection=conn, base_job_name="probe")
    assert (processor.instance_type, processor.base_job_name) == ("ml.c5.xlarge", "probe")
    explicit = features.sklearn_processor(connection=conn, instance_type="ml.m5.xlarge")
    assert explicit.instance_type == "ml.m5.xlarge"


# ----------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "glue"}, r"^source='glue'"),
        ({"train_ratio": 0.9, "validation_ratio": 0.2}, r"^train_ratio \+ validation_ratio"),
        ({"seed": -3}, r"^seed=-3"),
    ],
)
def test_run_feature_job_rejects_bad_arguments_before_any_job(
    conn: mlaccel.Connection, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        features.run_feature_job(USED_CARS, connection=conn, **kwargs)  # type: ignore[arg-type]


def test_run_feature_job_names_the_columns_a_table_lacks(conn: mlaccel.Connection) -> None:
    database = unique_database("features_wrong")
    data.register_demo("used_cars", 40, connection=conn, database=database)
    with pytest.raises(MLAccelInputError, match=r"lacks the columns \[.*'income'.*data_product"):
        features.run_feature_job(CREDIT_RISK, connection=conn, database=database, table="used_cars")


def test_run_feature_job_names_a_missing_table(conn: mlaccel.Connection) -> None:
    with pytest.raises(MLAccelInputError, match=r"database='nowhere_\w+' is not in the Glue"):
        features.run_feature_job(USED_CARS, connection=conn, database=unique_database("nowhere"))


def test_read_split_names_the_bad_split(conn: mlaccel.Connection) -> None:
    feature_set = features.FeatureSet(USED_CARS, conn.s3_uri("features", "used_cars"), "")
    with pytest.raises(MLAccelInputError, match=r"^split='holdout' must be 'train'"):
        features.read_split(feature_set, "holdout", connection=conn)


def test_apply_preprocessor_job_needs_an_s3_output(conn: mlaccel.Connection) -> None:
    feature_set = features.FeatureSet(USED_CARS, conn.s3_uri("features", "used_cars"), "")
    with pytest.raises(MLAccelInputError, match=r"^output_uri='scored/' is not an s3:// URI"):
        features.apply_preprocessor_job(
            feature_set, conn.s3_uri("batch"), "scored/", connection=conn
        )


# ----------------------------------------------------------------------------- on the twin


def test_feature_job_splits_a_published_table_on_the_twin(conn: mlaccel.Connection) -> None:
    database = unique_database("features")
    n_rows = 400
    data.register_demo("credit_risk", n_rows, seed=5, connection=conn, database=database)
    product = data.load_product("credit_risk", connection=conn, database=database)

    feature_set = features.run_feature_job(
        product,
        connection=conn,
        database=database,
        train_ratio=0.6,
        validation_ratio=0.2,
        seed=5,
    )

    assert feature_set.product == product and feature_set.job_name
    assert feature_set.prefix == conn.s3_uri("features", "credit_risk")
    described = conn.client("sagemaker").describe_processing_job(
        ProcessingJobName=feature_set.job_name
    )
    assert described["ProcessingJobStatus"] == "Completed"
    written = {
        o["OutputName"]: o["S3Output"]["S3Uri"]
        for o in described["ProcessingOutputConfig"]["Outputs"]
    }
    assert written == {part: feature_set.uri(part) for part in features.OUTPUTS}
    splits = {
        split: features.read_split(feature_set, split, connection=conn) for split in features.SPLITS
    }
    sizes = {split: len(frame) for split, frame in splits.items()}
    assert sum(sizes.values()) == n_rows
    assert sizes["train"] == pytest.approx(0.6 * n_rows, abs=2)
    assert sizes["validation"] == pytest.approx(0.2 * n_rows, abs=2)
    ids = pd.concat([frame["record_id"] for frame in splits.values()])
    assert ids.is_unique, "a row lands in exactly one split"

    preprocessor = features.read_preprocessor(feature_set, connection=conn)
    assert preprocessor["features"], "the preprocessor records its feature order"
    train = splits["train"]
    assert set(preprocessor["features"]) <= set(train.columns)
    assert set(train["default"].unique()) <= {0, 1}
    assert features.existing_feature_set(product, connection=conn) == features.FeatureSet(
        product, feature_set.prefix, ""
    )


def test_feature_job_reads_an_athena_query_as_its_dataset(conn: mlaccel.Connection) -> None:
    database = unique_database("features_athena")
    data.register_demo("used_cars", 200, seed=2, connection=conn, database=database)
    product = data.load_product("used_cars", connection=conn, database=database)

    feature_set = features.run_feature_job(
        product, connection=conn, database=database, source="athena", seed=2
    )

    rows = sum(
        len(features.read_split(feature_set, split, connection=conn)) for split in features.SPLITS
    )
    assert rows == 200
    preprocessor = features.read_preprocessor(feature_set, connection=conn)
    assert preprocessor["features"][: len(product.numeric_features)] == list(
        product.numeric_features
    )


# ----------------------------------------------------------------------------- visible job


def test_feature_job_is_built_but_not_run(conn: mlaccel.Connection) -> None:
    database = unique_database("features_built")
    data.register_demo("used_cars", 40, connection=conn, database=database)
    job = features.feature_job(USED_CARS, connection=conn, database=database, seed=4)
    assert type(job.processor).__name__ == "SKLearnProcessor"
    assert job.run_arguments["code"].endswith("preprocess.py")
    assert job.arguments[job.arguments.index("--seed") + 1] == "4"
    assert [o.output_name for o in job.outputs] == list(features.OUTPUTS)
    assert job.prefix == conn.s3_uri("features", "used_cars")
    with pytest.raises(MLAccelInputError, match=r"has not run yet: call job\.processor\.run"):
        job.feature_set()


def test_contract_table_lists_roles_with_their_columns() -> None:
    table = features.contract_table(CREDIT_RISK)
    assert table.loc["target", "columns"] == CREDIT_RISK.target
    numeric = f"numeric features ({len(CREDIT_RISK.numeric_features)})"
    assert table.loc[numeric, "columns"] == ", ".join(CREDIT_RISK.numeric_features)
    assert table.loc["classes (2)", "columns"] == ", ".join(CREDIT_RISK.classes)
    assert not table.index.str.startswith("date features").any()  # a role with no column
    wine = products.DataProduct(
        "wine", "kind", "multiclass", "id", ("alcohol",), classes=("a", "b", "c")
    )
    assert features.contract_table(wine).loc["classes (3)", "columns"] == "a, b, c"


def test_describe_features_counts_inputs_by_origin_and_the_split() -> None:
    preprocessor = {
        "features": ["rooms", "rooms_missing", "city=a", "city=b", "city=__unknown__"],
    }
    houses = products.DataProduct(
        "houses", "price", "regression", "id", ("rooms",), categorical_features=("city",)
    )
    text = features.describe_features(preprocessor, houses, {"train": 7, "test": 3})
    assert text.startswith("5 model inputs from 2 raw columns: 1 numeric input")
    assert "1 missing-value flag" in text
    assert "3 one-hot columns for 1 categorical column" in text
    assert "train 7 (70%), test 3 (30%)" in text
