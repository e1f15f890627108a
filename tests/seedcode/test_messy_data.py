"""The processing script on messy tables: odd names, text in numbers, dates, missing targets.

Every table is built here, so each case says what is wrong with it; bad input must fail with a
message naming the column and the fix, and tolerated flaws must be counted in quality.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.support import REPO, import_script

SEEDCODE = REPO / "seedcode"


def load(relative: str) -> ModuleType:
    path = SEEDCODE / relative
    sys.path.insert(0, str(path.parent))
    return import_script(path, path.stem + "_messy_under_test")


preprocess = load("processing/preprocess.py")

TRICKY_LABELS = [True, False, 1.0, 0.0, 2, " yes ", "No", 1.5, "1.0", -3.0, np.float64(4.0)]
TRICKY_NAMES = ["Sale Price (EUR)", "2nd owner", "Select", "from", "  a--b  ", "x_1", "ÉtÉ"]


@pytest.fixture(autouse=True)
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))


def messy_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Upper case and spaced names, SQL keywords, booleans, dates, a few words in a number
    column, missing values and two rows without a target."""
    rng = np.random.default_rng(seed)
    size = rng.normal(100, 20, n).round(1)
    rooms = rng.integers(1, 6, n).astype(object)
    rooms[[3, 50]] = "n/a"  # 2 of 400: half a percent
    listed = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    price = 1000 + 8 * size + 50 * rng.normal(size=n)
    table = pd.DataFrame(
        {
            "House ID": [f"h{i:04d}" for i in range(n)],
            "Size (m2)": size,
            "Rooms": rooms,
            "Select": rng.choice(["North", "South", None], n),
            "from": rng.choice([True, False], n),
            "Listed On": listed.strftime("%Y-%m-%d"),
            "Sale Price": price.round(0),
        }
    )
    table.loc[[7, 9], "Sale Price"] = np.nan
    return table


def write_csv(df: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "part-0.csv", index=False)
    return folder


def fit(tmp_path: Path, df: pd.DataFrame, *extra: str) -> int:
    raw = write_csv(df, tmp_path / "raw")
    args = ["--input-dir", str(raw), "--output-dir", str(tmp_path / "out"), *extra]
    return int(preprocess.main(args))


def quality(tmp_path: Path, folder: str = "out") -> dict:
    return dict(json.loads((tmp_path / folder / "quality" / "quality.json").read_text()))


def test_rules_agree_with_the_accelerators() -> None:
    from mlaccel import products

    for value in TRICKY_LABELS:
        assert preprocess.label_text(value) == products.label_text(value), value
    for name in TRICKY_NAMES:
        assert preprocess.normalize_column(name) == products.normalize_column(name), name
    assert [preprocess.label_text(v) for v in (True, 1.0, 1.5, " yes ")] == [
        "true",
        "1",
        "1.5",
        "yes",
    ]
    assert preprocess.normalize_column("Sale Price (EUR)") == "sale_price_eur"
    assert preprocess.normalize_column("2nd owner") == "c_2nd_owner"
    with pytest.raises(preprocess.InputProblem, match="has no letters or digits"):
        preprocess.normalize_column(" -- ")


@pytest.mark.parametrize(
    "values",
    [
        [True, False],
        [1.0, 2.5, float("nan"), float("inf")],
        [" a", "b", None],
        [1, 2],
        ["x", 1.0, True],
    ],
    ids=["booleans", "floats", "text", "integers", "mixed"],
)
def test_whole_columns_are_named_as_each_value_is(values: list) -> None:
    column = pd.Series(values)
    assert list(preprocess.label_texts(column)) == [preprocess.label_text(v) for v in column]


def test_messy_table_is_fitted_with_its_flaws_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = fit(
        tmp_path,
        messy_table(),
        *("--target", "Sale Price", "--id-column", "House ID"),
        *("--numeric-columns", "Size (m2),Rooms,from", "--categorical-columns", "Select"),
        *("--datetime-columns", "Listed On", "--time-column", "Listed On"),
    )
    log = capsys.readouterr()
    assert code == 0, log.err
    assert "2 rows without a sale_price value are left out" in log.out
    assert "column rooms: 2 of 398 values are not numbers or dates (0.5%)" in log.out
    report = quality(tmp_path)
    assert report == {
        "rows": 398,
        "invalid": {"rooms": 2},
        "unknown_categories": {},
        "max_invalid_fraction": 0.01,
        "target_missing": 2,
    }
    prep = json.loads((tmp_path / "out" / "preprocessor" / "preprocessor.json").read_text())
    assert prep["split"] == "by time (listed_on)" and prep["id_column"] == "house_id"
    assert prep["raw_numeric"] == ["size_m2", "rooms", "from"]
    assert set(prep["categories"]) == {"select"}
    assert "listed_on_days_before_ref" in prep["features"]
    assert prep["datetimes"]["listed_on"].startswith("2025-")
    splits = {
        name: pd.read_parquet(tmp_path / "out" / "parquet" / f"{name}.parquet")
        for name in ("train", "validation", "test")
    }
    # oldest rows train, newest test: every test row is listed no earlier than the training rows
    ages = {name: t["listed_on_days_before_ref"] for name, t in splits.items()}
    assert ages["test"].max() <= ages["validation"].min() <= ages["train"].min()
    assert not splits["train"].drop(columns="house_id").isna().any().any()


def test_scoring_batch_counts_invalid_values_and_new_categories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table()
    assert fit(tmp_path, table, "--target", "Sale Price", "--id-column", "House ID") == 0
    prep = json.loads((tmp_path / "out" / "preprocessor" / "preprocessor.json").read_text())
    # inferred: "n/a" in Rooms does not make it text, nor dates written as text categories
    assert prep["raw_numeric"] == ["size_m2", "rooms", "from"]
    assert list(prep["datetimes"]) == ["listed_on"] and list(prep["categories"]) == ["select"]
    assert "features inferred: numbers ['size_m2', 'rooms', 'from']" in capsys.readouterr().out
    batch = table.drop(columns="Sale Price").head(100).astype({"Size (m2)": object})
    batch.loc[:2, "Select"] = "West"
    batch.loc[5, "Size (m2)"] = "12k"
    raw = write_csv(batch, tmp_path / "batch")
    capsys.readouterr()
    code = preprocess.main(
        ["--mode", "transform", "--input-dir", str(raw), "--output-dir", str(tmp_path / "s"),
         "--preprocessor", str(tmp_path / "out" / "preprocessor"),
         "--max-invalid-fraction", "0.05"]
    )  # fmt: skip
    log = capsys.readouterr().out
    assert code == 0
    report = quality(tmp_path, "s")
    assert report["unknown_categories"] == {"select": 3}
    assert report["invalid"] == {"size_m2": 1, "rooms": 2}  # rows 3 and 50 say "n/a"
    assert "column select: 3 of 100 values are new categories" in log
    scored = pd.read_csv(tmp_path / "s" / "scoring" / "batch.csv", header=None)
    assert len(scored) == 100 and list(scored[0][:2]) == ["h0000", "h0001"]


def test_too_many_invalid_values_fail_naming_column_fraction_and_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table()
    table.loc[:39, "Rooms"] = "12k"  # 38 once rows 7 and 9 (no target) are left out
    assert fit(tmp_path, table, "--target", "Sale Price", "--id-column", "House ID") == 2
    err = capsys.readouterr().err
    assert "rooms: 39 of 398 (9.8%)" in err
    assert "max_invalid_fraction=0.01" in err and "--max-invalid-fraction" in err
    assert quality(tmp_path)["invalid"] == {"rooms": 39}
    assert (tmp_path / "output" / "failure").read_text().startswith("preprocess: the training")
    # the same data passes once the threshold allows it, and the values are still counted
    assert fit(tmp_path, table, *("--target", "Sale Price", "--id-column", "House ID"),
               "--max-invalid-fraction", "0.2") == 0  # fmt: skip
    assert quality(tmp_path)["invalid"] == {"rooms": 39}


def test_unparseable_dates_are_counted_as_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table()
    table.loc[:19, "Listed On"] = "someday"
    code = fit(tmp_path, table, "--target", "Sale Price", "--datetime-columns", "Listed On")
    assert code == 2
    assert "listed_on: 18 of 398 (4.5%)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (lambda t: t.drop(columns="Sale Price"), ["--target", "Sale Price"],
         "--target='Sale Price' is not a column"),
        (lambda t: t.assign(**{"Sale Price": np.nan}), ["--target", "Sale Price"],
         "the target sale_price is empty in every one of the 400 rows"),
        (lambda t: t.assign(**{"Sale Price": 5.0}), ["--target", "Sale Price"],
         "the regression target sale_price is constant (5): nothing to learn"),
        (lambda t: t.assign(**{"Sale Price": ["cheap", 1.0] * 200}), ["--target", "Sale Price"],
         "the regression target sale_price holds 200 values that are not numbers, e.g. ['cheap']"),
        (lambda t: t.assign(label="a"), ["--target", "label", "--problem-type", "binary"],
         "the target label has a single class ['a']: nothing to learn"),
        (lambda t: t.assign(label=["a", "b", "c", "d"] * 100),
         ["--target", "label", "--problem-type", "binary"],
         "a binary target needs exactly 2 classes; label has 4"),
        (lambda t: t.assign(label=["a", "b"] * 199 + ["c", "d"]),
         ["--target", "label", "--problem-type", "multiclass"],
         "classes with fewer than 2 rows: {'c': 1, 'd': 1}"),
        (lambda t: t.assign(label=["no", "yes", "maybe", "yes"] * 100),
         ["--target", "label", "--problem-type", "binary", "--classes", '["no", "yes"]'],
         "has 1 values outside --classes ['no', 'yes'], e.g. ['maybe']"),
        (lambda t: t.assign(label=["no", "yes"] * 200),
         ["--target", "label", "--problem-type", "binary", "--classes", "no,yes"],
         "--classes='no,yes' is not JSON"),
        (lambda t: t.assign(**{"House ID": ["h1", "h2"] * 200}),
         ["--target", "Sale Price", "--id-column", "House ID"],
         "the id column house_id repeats 2 ids in 398 rows (e.g. ['h1', 'h2'])"),
        (lambda t: t[["House ID", "Sale Price"]],
         ["--target", "Sale Price", "--id-column", "House ID"],
         "the table has no usable feature besides the target sale_price and the id house_id"),
        (lambda t: t.assign(**{"sale price": 1.0}), ["--target", "Sale Price"],
         "columns 'Sale Price' and 'sale price' both become sale_price once normalized"),
        (lambda t: t, ["--target", "Sale Price", "--numeric-columns", "Sale Price,Rooms"],
         "columns ['sale_price'] are the target or the id and cannot also be features"),
        (lambda t: t, ["--target", "Sale Price", "--time-column", "when"],
         "--time-column='when' is not a column"),
        (lambda t: t, ["--target", "Sale Price", "--max-invalid-fraction", "1.5"],
         "--max-invalid-fraction=1.5 must be a share from 0 to 1"),
    ],
    ids=["no-target", "target-all-missing", "constant-target", "text-in-regression-target",
         "single-class", "binary-with-4-classes", "rare-multiclass", "unknown-class",
         "classes-not-json", "duplicate-ids", "no-feature", "colliding-names", "target-as-feature",
         "no-time-column",
         "bad-threshold"],
)  # fmt: skip
def test_bad_tables_fail_with_a_message_that_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: object, args: list[str],
    message: str,
) -> None:  # fmt: skip
    assert callable(change)
    assert fit(tmp_path, change(messy_table()), *args) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "out" / "train" / "train.csv").exists()


def test_scoring_batch_with_repeated_ids_or_missing_columns_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table()
    assert fit(tmp_path, table, "--target", "Sale Price", "--id-column", "House ID") == 0
    prep_dir = str(tmp_path / "out" / "preprocessor")
    for batch, message in (
        (table.head(10).assign(**{"House ID": "same"}),
         "the scoring batch's id column house_id repeats 1 ids in 10 rows (e.g. ['same'])"),
        (table.head(10).drop(columns="Rooms"), "columns ['rooms'] are missing from the scoring"),
        (table.head(10).drop(columns="House ID"), "the batch has no id column 'house_id'"),
    ):  # fmt: skip
        raw = write_csv(batch, tmp_path / "b")
        argv = ["--mode", "transform", "--input-dir", str(raw), "--preprocessor", prep_dir,
                "--output-dir", str(tmp_path / "s")]  # fmt: skip
        assert preprocess.main(argv) == 2
        assert message in capsys.readouterr().err


def test_missing_id_column_falls_back_to_row_numbers_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table().drop(columns="House ID").assign(Notes=None)
    assert fit(tmp_path, table, "--target", "Sale Price", "--id-column", "House ID") == 0
    log = capsys.readouterr().out
    assert "no id column house_id: rows are numbered 0..397" in log
    assert "columns ['notes'] have no values and are left out of the features" in log
    train = pd.read_parquet(tmp_path / "out" / "parquet" / "train.parquet")
    assert train.columns[0] == "house_id" and train["house_id"].is_unique


def test_classes_are_derived_sorted_and_encoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = messy_table().assign(label=[True, False, False, True] * 100)
    args = ("--target", "label", "--problem-type", "binary", "--id-column", "House ID")
    assert fit(tmp_path, table, *args) == 0
    assert "classes of label from the data (negative, positive): ['false', 'true']" in (
        capsys.readouterr().out
    )
    train = pd.read_parquet(tmp_path / "out" / "parquet" / "train.parquet")
    raw = table.set_index("House ID")["label"]
    expected = raw.loc[train["house_id"]].map({True: 1.0, False: 0.0}).to_numpy()
    np.testing.assert_array_equal(train["label"].to_numpy(), expected)
    assert (
        "sale_price"
        in json.loads((tmp_path / "out" / "preprocessor" / "preprocessor.json").read_text())[
            "raw_numeric"
        ]
    )


def test_quality_report_handler_reads_quality_json_for_the_notification(
    tmp_path: Path, conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = load("lambdas/workflow/handlers.py")
    table = messy_table()
    assert fit(tmp_path, table, "--target", "Sale Price", "--id-column", "House ID") == 0
    batch = table.drop(columns="Sale Price").head(200).assign(Select="West")
    raw = write_csv(batch, tmp_path / "batch")
    argv = ["--mode", "transform", "--input-dir", str(raw), "--output-dir", str(tmp_path / "s"),
            "--preprocessor", str(tmp_path / "out" / "preprocessor")]  # fmt: skip
    assert preprocess.main(argv) == 0
    s3 = conn.client("s3")
    key = "scoring/run-1/quality/quality.json"
    s3.put_object(
        Bucket=conn.bucket, Key=key, Body=(tmp_path / "s/quality/quality.json").read_bytes()
    )
    monkeypatch.setattr(handlers, "_client", lambda service: conn.client(service))
    answer = handlers.quality_report({"QualityUri": f"s3://{conn.bucket}/{key}"})
    assert answer["invalid"] == {"rooms": 2} and answer["unknown_categories"] == {"select": 200}
    assert answer["summary"] == (
        "column rooms: 2 of 200 rows (1.0%) not numbers or dates\n"
        "column select: 200 of 200 rows (100.0%) categories unseen in training"
    )
    clean = {"rows": 5, "invalid": {}, "unknown_categories": {}, "target_missing": 0}
    assert handlers.quality_summary(clean) == "no invalid values in 5 rows"
    with pytest.raises(handlers.BadEvent, match="holds no file; the processing job writes"):
        handlers.quality_report({"QualityUri": f"s3://{conn.bucket}/scoring/none/quality.json"})
    with pytest.raises(handlers.BadEvent, match="the event needs QualityUri"):
        handlers.quality_report({})
