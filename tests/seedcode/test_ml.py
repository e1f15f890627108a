"""Seedcode scripts, called through main() on a temporary SageMaker container layout."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mlaccel import demo, drift_batch, features, products
from tests.support import REPO, import_script

SEEDCODE = REPO / "seedcode"


def load(relative: str) -> ModuleType:
    path = SEEDCODE / relative
    sys.path.insert(0, str(path.parent))  # scripts import their siblings, as in the container
    return import_script(path, path.stem + "_under_test")


preprocess = load("processing/preprocess.py")
train_xgboost = load("training/train_xgboost.py")
train_linear = load("training/train_linear.py")
evaluate = load("evaluation/evaluate.py")


def contract(name: str, rows: pd.DataFrame | None = None) -> products.DataProduct:
    """A demo product's contract, inferred from its rows as registering it would."""
    spec = demo.get_demo(name)
    rows = demo.generate(name, 2000, seed=2) if rows is None else rows
    return products.infer_product(
        rows,
        name=name,
        target=spec.target,
        problem_type=spec.problem_type,
        id_column=spec.id_column,
    ).product


def prepared(tmp_path: Path, name: str, n_rows: int = 6000) -> Path:
    raw = tmp_path / "processing" / "input" / "data"
    raw.mkdir(parents=True)
    demo.generate(name, n_rows, seed=2).to_parquet(raw / "part-0.parquet")
    args = features.preprocess_arguments(contract(name), 0.7, 0.15, seed=0)
    assert preprocess.main(args) == 0
    return tmp_path / "processing" / "output"


@pytest.fixture(autouse=True)
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    for name in ("SM_MODEL_DIR", "SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION"):
        monkeypatch.delenv(name, raising=False)


def test_preprocess_writes_every_output(tmp_path: Path) -> None:
    out = prepared(tmp_path, "used_cars")
    prep = json.loads((out / "preprocessor" / "preprocessor.json").read_text())
    assert "year" in prep["features"] and "fuel_type=__unknown__" in prep["features"]
    sizes = {}
    for split in ("train", "validation", "test"):
        csv = np.loadtxt(out / split / f"{split}.csv", delimiter=",", ndmin=2)
        table = pd.read_parquet(out / "parquet" / f"{split}.parquet")
        assert csv.shape[1] == len(prep["features"]) + 1
        assert list(table.columns[:2]) == ["record_id", "price"]
        np.testing.assert_allclose(csv[:, 0], table["price"])
        assert not np.isnan(csv).any()
        sizes[split] = len(csv)
    assert sizes == {"train": 4200, "validation": 900, "test": 900}
    baseline = pd.read_csv(out / "baseline" / "baseline.csv")
    assert list(baseline.columns) == prep["features"] and len(baseline) == 4200


def test_transform_mode_applies_the_saved_preprocessor(tmp_path: Path) -> None:
    out = prepared(tmp_path, "used_cars")
    batch_dir = tmp_path / "batch"
    batch_dir.mkdir()
    batch = drift_batch.drifted_batch(
        demo.generate("used_cars", 200, seed=9), contract("used_cars"), seed=9
    )
    batch.drop(columns="price").to_parquet(batch_dir / "batch.parquet")
    code = preprocess.main(
        [
            "--mode",
            "transform",
            "--input-dir",
            str(batch_dir),
            "--preprocessor",
            str(out / "preprocessor"),
            "--output-dir",
            str(tmp_path / "scored"),
        ]
    )
    assert code == 0
    rows = pd.read_csv(tmp_path / "scored" / "scoring" / "batch.csv", header=None)
    prep = json.loads((out / "preprocessor" / "preprocessor.json").read_text())
    assert len(rows) == 200 and rows.shape[1] == 1 + len(prep["features"])
    assert list(rows[0]) == list(batch["record_id"])
    (changed,) = batch.attrs["drift"]["new_category"]
    unseen = rows[1 + prep["features"].index(f"{changed}=__unknown__")]
    assert unseen.sum() == (batch[changed] == drift_batch.NEW_CATEGORY).sum() > 0


@pytest.mark.parametrize(
    "body",
    ["record_id,year,mileage,fuel_type\n", "record_id,year\n\n  \n", "", "\n \n\t\n"],
    ids=["header-only", "header-and-blank-lines", "empty-file", "blank-lines-only"],
)
def test_transform_mode_refuses_a_batch_without_rows_naming_it(
    tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = prepared(tmp_path, "used_cars", n_rows=300)
    batch_dir = tmp_path / "processing" / "input" / "batch"
    batch_dir.mkdir(parents=True)
    (batch_dir / "batch.csv").write_text(body)
    code = preprocess.main(
        ["--mode", "transform", "--input-dir", str(batch_dir),
         "--input-uri", "s3://bucket/scoring-batches/batch.csv",
         "--preprocessor", str(out / "preprocessor"), "--output-dir", str(tmp_path / "scored")]
    )  # fmt: skip
    expected = "the scoring batch s3://bucket/scoring-batches/batch.csv has no rows"
    assert code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "scored" / "scoring" / "batch.csv").exists(), "nothing to score"
    # where SageMaker reads why the job ended: the processing job's ExitMessage, FailureReason
    for name in ("message", "failure"):
        assert expected in (tmp_path / "output" / name).read_text()


def test_fit_mode_refuses_training_data_without_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "processing" / "input" / "data"
    raw.mkdir(parents=True)
    demo.generate("used_cars", 5).head(0).to_parquet(raw / "part-0.parquet")
    assert preprocess.main(["--target", "price"]) == 2
    assert f"the training data {raw} has no rows" in capsys.readouterr().err


def _train_both(tmp_path: Path, name: str) -> tuple[dict, dict]:
    product = contract(name)
    out = prepared(tmp_path, name)
    classification = product.problem_type == "binary"
    channels = ["--train", str(out / "train"), "--validation", str(out / "validation")]
    objective = "binary:logistic" if classification else "reg:squarederror"
    assert (
        train_xgboost.main(
            [
                *channels,
                "--objective",
                objective,
                "--num_round",
                "150",
                "--model-dir",
                str(tmp_path / "xgb"),
            ]
        )
        == 0
    )
    assert (
        train_linear.main(
            [
                *channels,
                "--problem_type",
                product.problem_type,
                "--model-dir",
                str(tmp_path / "linear"),
            ]
        )
        == 0
    )
    reports = []
    for model in ("xgb", "linear"):
        assert (
            evaluate.main(
                [
                    "--model",
                    str(tmp_path / model),
                    "--test",
                    str(out / "test"),
                    "--problem-type",
                    product.problem_type,
                    "--output-dir",
                    str(tmp_path / f"eval-{model}"),
                ]
            )
            == 0
        )
        reports.append(json.loads((tmp_path / f"eval-{model}" / "evaluation.json").read_text()))
    return reports[0], reports[1]


def test_xgboost_beats_the_linear_baseline_on_used_cars(tmp_path: Path) -> None:
    xgb_report, linear_report = _train_both(tmp_path, "used_cars")
    rmse = xgb_report["regression_metrics"]["rmse"]["value"]
    assert rmse < linear_report["regression_metrics"]["rmse"]["value"]
    assert set(xgb_report["regression_metrics"]) == {"mae", "mse", "rmse", "r2"}


def test_xgboost_beats_the_linear_baseline_on_credit_risk(tmp_path: Path) -> None:
    xgb_report, linear_report = _train_both(tmp_path, "credit_risk")
    metrics = xgb_report["binary_classification_metrics"]
    assert metrics["auc"]["value"] > linear_report["binary_classification_metrics"]["auc"]["value"]
    assert {"auc", "accuracy", "precision", "recall", "f1", "confusion_matrix"} <= set(metrics)


def test_metric_lines_parse_with_the_metric_definitions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = prepared(tmp_path, "used_cars", 800)
    capsys.readouterr()
    train_xgboost.main(
        [
            "--train",
            str(out / "train"),
            "--validation",
            str(out / "validation"),
            "--num_round",
            "20",
            "--model-dir",
            str(tmp_path / "m"),
        ]
    )
    logs = capsys.readouterr().out
    common = load("training/common.py")
    for definition in common.metric_definitions():
        if definition["Name"] in {"validation:rmse", "validation:mae"}:
            assert float(re.findall(definition["Regex"], logs)[-1]) > 0
    assert (tmp_path / "m" / "xgboost-model").exists()


def test_bad_input_exits_non_zero_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "processing" / "input" / "data"
    raw.mkdir(parents=True)
    demo.generate("used_cars", 100).drop(columns="mileage").to_parquet(raw / "a.parquet")
    assert preprocess.main(["--target", "price", "--numeric-columns", "mileage,year"]) == 2
    assert "columns ['mileage'] are missing" in capsys.readouterr().err
    assert preprocess.main(["--target", "price", "--train-ratio", "1.2"]) == 2
    assert "--train-ratio=1.2 must be strictly between 0 and 1" in capsys.readouterr().err
    assert preprocess.main(["--target", "cost"]) == 2
    assert "--target='cost' is not a column" in capsys.readouterr().err
    assert evaluate.main(["--model", str(tmp_path / "nothing"), "--test", str(raw)]) == 2
    assert "no xgboost-model or linear-model.json" in capsys.readouterr().err


def wine_table() -> pd.DataFrame:
    """scikit-learn's wine data with text classes and its own odd column names
    (``od280/od315_of_diluted_wines``), and an id."""
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    table = data.frame.rename(columns={"target": "Cultivar"})
    table["Cultivar"] = table["Cultivar"].map(lambda k: f"cultivar {k}")
    table.insert(0, "Wine ID", [f"w{i:03d}" for i in range(len(table))])
    return table


def test_multiclass_end_to_end_on_wine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "processing" / "input" / "data"
    raw.mkdir(parents=True)
    table = wine_table()
    table.to_csv(raw / "wine.csv", index=False)
    classes = ["cultivar 0", "cultivar 1", "cultivar 2"]
    args = ["--target", "Cultivar", "--id-column", "Wine ID", "--problem-type", "multiclass"]
    assert preprocess.main([*args, "--classes", json.dumps(classes), "--seed", "1"]) == 0
    out = tmp_path / "processing" / "output"
    prep = json.loads((out / "preprocessor" / "preprocessor.json").read_text())
    assert prep["classes"] == classes and "od280_od315_of_diluted_wines" in prep["features"]
    train = pd.read_parquet(out / "parquet" / "train.parquet")
    expected = table.set_index("Wine ID")["Cultivar"].map(classes.index).astype(float)
    np.testing.assert_array_equal(train["cultivar"], expected.loc[train["wine_id"]])

    channels = ["--train", str(out / "train"), "--validation", str(out / "validation")]
    capsys.readouterr()
    assert train_xgboost.main(
        [*channels, "--objective", "multi:softprob", "--num_round", "60",
         "--model-dir", str(tmp_path / "xgb")]
    ) == 0  # fmt: skip
    logs = capsys.readouterr().out
    common = load("training/common.py")
    found = {
        d["Name"]: float(re.findall(d["Regex"], logs)[-1])
        for d in common.metric_definitions()
        if re.findall(d["Regex"], logs)
    }
    assert set(found) == {"validation:accuracy", "validation:macro_f1", "validation:mlogloss"}
    assert found["validation:accuracy"] > 0.85 and "validation-merror" in logs
    assert train_linear.main(
        [*channels, "--problem_type", "multiclass", "--model-dir", str(tmp_path / "linear")]
    ) == 0  # fmt: skip
    linear = json.loads((tmp_path / "linear" / "linear-model.json").read_text())
    assert linear["link"] == "softmax" and len(linear["intercept"]) == 3

    for model in ("xgb", "linear"):
        assert evaluate.main(
            ["--model", str(tmp_path / model), "--test", str(out / "test"),
             "--problem-type", "multiclass", "--num-classes", "3",
             "--output-dir", str(tmp_path / f"eval-{model}")]
        ) == 0  # fmt: skip
        report = json.loads((tmp_path / f"eval-{model}" / "evaluation.json").read_text())
        metrics = report["multiclass_classification_metrics"]
        assert {"accuracy", "macro_f1", "weighted_f1", "log_loss"} <= set(metrics)
        assert metrics["accuracy"]["value"] > 0.85, (model, metrics)
        matrix = metrics["confusion_matrix"]
        assert sum(sum(row.values()) for row in matrix.values()) == len(
            pd.read_parquet(out / "parquet" / "test.parquet")
        )
    wrong = ["--model", str(tmp_path / "xgb"), "--test", str(out / "test"),
             "--problem-type", "multiclass", "--num-classes", "4"]  # fmt: skip
    assert evaluate.main(wrong) == 2
    assert "the model answers 3 probabilities per record; --num-classes=4" in (
        capsys.readouterr().err
    )
    assert evaluate.main([*wrong[:4], "--problem-type", "binary"]) == 2
    assert "the model answers 3 values per record; a binary model answers one" in (
        capsys.readouterr().err
    )

    batch_dir = tmp_path / "batch"
    batch_dir.mkdir()
    table.drop(columns="Cultivar").head(20).to_csv(batch_dir / "batch.csv", index=False)
    assert preprocess.main(
        ["--mode", "transform", "--input-dir", str(batch_dir),
         "--preprocessor", str(out / "preprocessor"), "--output-dir", str(tmp_path / "scored")]
    ) == 0  # fmt: skip
    scored = pd.read_csv(tmp_path / "scored" / "scoring" / "batch.csv", header=None)
    assert scored.shape == (20, 1 + len(prep["features"])) and scored[0][0] == "w000"
    quality = json.loads((tmp_path / "scored" / "quality" / "quality.json").read_text())
    assert quality["invalid"] == {} and quality["rows"] == 20


def test_training_refuses_labels_that_do_not_fit_the_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    np.savetxt(
        folder / "d.csv", np.array([[0, 1.0], [2, 2.0], [1.5, 3.0], [1, 4.0]]), delimiter=","
    )
    channels = ["--train", str(folder), "--validation", str(folder), "--model-dir", str(tmp_path)]
    assert train_xgboost.main([*channels, "--objective", "multi:softprob"]) == 2
    assert "multiclass labels must be class indexes 0..K-1" in capsys.readouterr().err
    assert train_xgboost.main([*channels, "--objective", "binary:logistic"]) == 2
    assert "binary labels must be 0 or 1; found [1.5, 2.0]" in capsys.readouterr().err
    np.savetxt(folder / "d.csv", np.array([[0, 1.0], [2, 2.0], [1, 3.0]]), delimiter=",")
    assert train_linear.main([*channels, "--problem_type", "multiclass", "--num_class", "2"]) == 2
    assert "label 2 is not below num_class=2" in capsys.readouterr().err
