"""Training: objectives, hyperparameters, comparisons and their checks; real jobs on the twin."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

import mlaccel
from mlaccel import config, data, features, products, training
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract

CARS = demo_contract("used_cars")
CREDIT = demo_contract("credit_risk")

matplotlib.use("Agg")


def model(label: str, **metrics: float) -> training.TrainedModel:
    """A trained model whose evaluation reports ``metrics`` (regression's report shape)."""
    trained = training.TrainedModel(label, f"job-{label}", "s3://b/model.tar.gz", "image")
    trained.evaluation = {
        "regression_metrics": {
            k: {"value": v, "standard_deviation": 0.0} for k, v in metrics.items()
        },
        "s3_uri": f"s3://b/evaluation/{label}/evaluation.json",
    }
    return trained


# ----------------------------------------------------------------------------- objectives


def test_objective_follows_the_problem_type() -> None:
    regression = training.objective_for(CARS)
    classification = training.objective_for(CREDIT)
    assert (regression.metric, regression.direction, regression.test_metric) == (
        "validation:rmse",
        "Minimize",
        "rmse",
    )
    assert (classification.metric, classification.direction, classification.test_metric) == (
        "validation:auc",
        "Maximize",
        "auc",
    )
    assert regression.better(1.0, 2.0) and not regression.better(2.0, 1.0)
    assert classification.better(0.9, 0.8) and not classification.better(0.8, 0.9)


def test_multiclass_minimizes_log_loss_with_the_number_of_classes() -> None:
    wine = products.DataProduct("wine", "kind", "multiclass", "id", ("x",), classes=("a", "b", "c"))
    objective = training.objective_for(wine)
    assert (objective.metric, objective.direction, objective.test_metric) == (
        "validation:mlogloss",
        "Minimize",
        "log_loss",
    )
    params = training.default_hyperparameters(wine)
    assert (params["objective"], params["num_class"]) == ("multi:softprob", 3)


def test_default_hyperparameters_carry_the_objective() -> None:
    regression = training.default_hyperparameters(CARS)
    assert (regression["objective"], regression["eval_metric"]) == ("reg:squarederror", "rmse")
    classification = training.default_hyperparameters(CREDIT)
    assert (classification["objective"], classification["eval_metric"]) == (
        "binary:logistic",
        "auc",
    )
    assert regression["early_stopping_rounds"] < regression["num_round"]


@pytest.mark.parametrize("bad", [[("num_round", 5)], "num_round=5", {1: 5}])
def test_check_hyperparameters_names_what_is_wrong(bad: Any) -> None:
    with pytest.raises(MLAccelInputError, match=r"^hyperparameters=.* must be a dict of name"):
        training.check_hyperparameters(bad)


# ----------------------------------------------------------------------------- comparisons


def test_test_metrics_flatten_the_evaluation_report() -> None:
    assert training.test_metrics(model("a", rmse=812.5, mae=600.0)) == {
        "rmse": 812.5,
        "mae": 600.0,
    }


def test_test_metrics_need_an_evaluation() -> None:
    fresh = training.TrainedModel("fresh", "job", "s3://b/m.tar.gz", "image")
    with pytest.raises(MLAccelInputError, match=r"^fresh has no evaluation yet: call evaluate"):
        training.test_metrics(fresh)


def test_compare_models_sorts_best_first_by_the_objective() -> None:
    models = [model("linear", rmse=950.0), model("xgb", rmse=800.0), model("tuned", rmse=820.0)]
    table = training.compare_models(models, CARS)
    assert list(table.index) == ["xgb", "tuned", "linear"]
    assert table.loc["xgb", "job"] == "job-xgb"
    assert training.best_model(models, CARS) is models[1]


def test_compare_models_maximizes_auc_for_classification() -> None:
    low, high = model("low", auc=0.7), model("high", auc=0.9)
    assert training.best_model([low, high], CREDIT) is high


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([], r"^models=\[\] must be a non-empty list of TrainedModel"),
        ([model("a", rmse=1.0), model("a", rmse=2.0)], r"labels \['a'\] more than once"),
        ([model("a", auc=0.8)], r"evaluations of \['a'\] have no test 'rmse'"),
    ],
)
def test_compare_models_rejects_what_it_cannot_rank(models: Any, message: str) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        training.compare_models(models, CARS)


def test_plot_comparison_draws_one_bar_per_model() -> None:
    table = training.compare_models([model("a", rmse=2.0), model("b", rmse=1.0)], CARS)
    figure = training.plot_comparison(table, CARS)
    axes = figure.axes[0]
    assert len(axes.patches) == 2
    assert axes.get_xlabel() == "test rmse (lower is better)"


# ----------------------------------------------------------------------------- argument checks


@pytest.fixture(scope="module")
def placeholder_features(conn: mlaccel.Connection) -> features.FeatureSet:
    """A feature set no job ran for: enough for checks that fail before any job starts."""
    return features.FeatureSet(CARS, conn.s3_uri("features", "never_written"), "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_jobs": 0}, r"^max_jobs=0 must be a positive whole number"),
        ({"max_jobs": True}, r"^max_jobs=True must be a positive whole number"),
        ({"max_jobs": 2, "max_parallel_jobs": 3}, r"^max_parallel_jobs=3 must be between 1"),
    ],
)
def test_tune_xgboost_checks_its_job_counts(
    conn: mlaccel.Connection,
    placeholder_features: features.FeatureSet,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(MLAccelInputError, match=message):
        training.tune_xgboost(placeholder_features, connection=conn, **kwargs)


@pytest.mark.parametrize("alpha", [-1.0, "1", None])
def test_train_linear_checks_alpha(
    conn: mlaccel.Connection, placeholder_features: features.FeatureSet, alpha: Any
) -> None:
    with pytest.raises(MLAccelInputError, match=r"^alpha=.* must be a number of 0 or more"):
        training.train_linear(placeholder_features, connection=conn, alpha=alpha)


def test_train_builtin_xgboost_checks_hyperparameters(
    conn: mlaccel.Connection, placeholder_features: features.FeatureSet
) -> None:
    with pytest.raises(MLAccelInputError, match=r"^hyperparameters=\['num_round'\]"):
        training.train_builtin_xgboost(
            placeholder_features,
            connection=conn,
            hyperparameters=["num_round"],  # type: ignore[arg-type]
        )


def test_estimators_take_the_instance_type_from_config(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = training.builtin_xgboost_estimator(CARS, connection=conn)
    assert default.instance_type == config.default_instance_type()
    monkeypatch.setenv("MLACCEL_INSTANCE_TYPE", "ml.c5.2xlarge")
    estimator = training.builtin_xgboost_estimator(
        CREDIT, connection=conn, hyperparameters={"num_round": 7}
    )
    assert estimator.instance_type == "ml.c5.2xlarge"
    assert estimator.hyperparameters()["num_round"] == 7
    assert estimator.hyperparameters()["objective"] == "binary:logistic"


# ----------------------------------------------------------------------------- on the twin


@pytest.fixture(scope="module")
def feature_set(conn: mlaccel.Connection) -> features.FeatureSet:
    """Features of a small used-cars table, built by the real processing job on the twin."""
    database = f"training_{uuid.uuid4().hex[:8]}"
    data.register_demo("used_cars", 600, seed=9, connection=conn, database=database)
    product = data.load_product("used_cars", connection=conn, database=database)
    return features.run_feature_job(product, connection=conn, database=database, seed=9)


def test_train_evaluate_and_compare_on_the_twin(
    conn: mlaccel.Connection, feature_set: features.FeatureSet
) -> None:
    xgb = training.train_builtin_xgboost(
        feature_set, connection=conn, hyperparameters={"num_round": 30}
    )
    linear = training.train_linear(feature_set, connection=conn)

    described = conn.client("sagemaker").describe_training_job(TrainingJobName=xgb.job_name)
    assert described["TrainingJobStatus"] == "Completed"
    assert described["ResourceConfig"]["InstanceType"] == config.default_instance_type()
    assert described["HyperParameters"]["num_round"] == "30"
    assert xgb.model_data.startswith(conn.s3_uri("models", "used_cars", "xgboost-builtin"))
    assert "validation:rmse" in xgb.metrics

    for trained in (xgb, linear):
        report = training.evaluate(trained, feature_set, connection=conn)
        assert report["s3_uri"] == conn.s3_uri(
            "evaluation", "used_cars", trained.job_name, "evaluation.json"
        )
        assert training.test_metrics(trained)["rmse"] > 0
    product = feature_set.product
    table = training.compare_models([xgb, linear], product)
    assert set(table.index) == {"xgboost (built-in)", "linear baseline"}
    assert table["rmse"].is_monotonic_increasing
    assert training.best_model([xgb, linear], product).label == table.index[0]


def test_tuner_result_reads_the_best_trial_and_only_the_tuned_columns(
    conn: mlaccel.Connection, feature_set: features.FeatureSet
) -> None:
    tuner = training.xgboost_tuner(
        feature_set.product, connection=conn, max_jobs=2, max_parallel_jobs=2, seed=1
    )
    tuner.estimator.set_hyperparameters(num_round=10)
    tuner.fit(
        training.training_inputs(feature_set),
        job_name=training.tuning_job_name(feature_set.product),
        include_cls_metadata=False,
    )
    tuned, table = training.tuning_result(tuner, connection=conn)
    assert list(table.columns) == [
        "eta",
        "min_child_weight",
        "subsample",
        "max_depth",
        "FinalObjectiveValue",
        "TrainingJobStatus",
        "TrainingJobName",
    ]
    assert len(table) == 2 and table["FinalObjectiveValue"].is_monotonic_increasing
    assert tuned.job_name == table["TrainingJobName"].iloc[0]
    assert tuned.label == "xgboost (tuned)" and "validation:rmse" in tuned.metrics


# ----------------------------------------------------------------------------- sentences


def tuning_table(*values: float | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "eta": [0.1 * (i + 1) for i in range(len(values))],
            "max_depth": [3.0 + i for i in range(len(values))],
            "FinalObjectiveValue": values,
            "TrainingJobStatus": ["Completed" if v is not None else "Failed" for v in values],
            "TrainingJobName": [f"trial-{i}" for i in range(len(values))],
        }
    )


def test_describe_tuning_reads_the_best_trial_and_the_spread() -> None:
    text = training.describe_tuning(tuning_table(100.0, 110.0), CARS)
    assert text.startswith("2 trials (minimize validation:rmse); the best, `trial-0`, reached 100")
    assert "eta=0.1, max_depth=3" in text
    assert "moved the validation metric by 9.1%; more trials" in text


def test_describe_tuning_of_a_flat_search_a_single_trial_and_failures() -> None:
    assert "matter little" in training.describe_tuning(tuning_table(100.0, 100.5), CARS)
    single = training.describe_tuning(tuning_table(0.8), CREDIT)
    assert single.startswith("1 trials (maximize validation:auc)") and "worst" not in single
    failed = training.describe_tuning(tuning_table(100.0, None), CARS)
    assert failed.endswith("1 trial(s) reported no objective: read their logs.")
    assert training.describe_tuning(tuning_table(None), CARS).startswith("None of the 1 trials")


def test_describe_comparison_names_winner_runner_up_and_baseline() -> None:
    table = pd.DataFrame(
        {"rmse": [100.0, 100.5, 200.0]}, index=["xgboost (tuned)", "xgb", "linear baseline"]
    )
    text = training.describe_comparison(table, CARS)
    assert "`xgboost (tuned)` has rmse 100 (lower is better) and wins, 0.50% ahead of `xgb`" in text
    assert "within what another seed or split could change" in text
    assert "Against the `linear baseline` (200) the winner is 50.0% better" in text


def test_describe_comparison_when_the_baseline_wins_multiclass() -> None:
    wine = products.DataProduct("wine", "kind", "multiclass", "id", ("x",), classes=("a", "b", "c"))
    table = pd.DataFrame({"log_loss": [0.5, 0.9]}, index=["linear baseline", "xgb"])
    text = training.describe_comparison(table, wine)
    assert text.endswith(
        "The `linear baseline` wins: the trees do not earn their complexity on this data."
    )


def test_plot_comparison_labels_axes_and_carries_alt_text() -> None:
    table = pd.DataFrame({"auc": [0.81, 0.74]}, index=["xgb", "linear baseline"])
    fig = training.plot_comparison(table, CREDIT)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("test auc (higher is better)", "model")
    assert fig.get_label().endswith("xgb wins with 0.81.")


def test_metrics_table_has_a_row_per_model() -> None:
    a = training.TrainedModel("a", "j", "s3://b/m", "i", {"validation:rmse": 1.0})
    b = training.TrainedModel("b", "j", "s3://b/m", "i", {"validation:mae": 2.0})
    table = training.metrics_table([a, b])
    assert list(table.index) == ["a", "b"]
    assert table.loc["b", "validation:mae"] == 2.0 and np.isnan(table.loc["b", "validation:rmse"])


def test_a_tuner_built_on_the_kit_session_does_not_look_for_jumpstart_tags(
    conn: mlaccel.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    tuner = training.xgboost_tuner(CARS, connection=conn)
    with caplog.at_level("WARNING"):
        tuner._prepare_for_tuning()  # what fit() does before it starts the job
    assert "No finished training job" not in caplog.text
    assert not conn.sagemaker_session.settings.include_jumpstart_tags


def test_quality_metrics_read_what_an_endpoint_answers() -> None:
    grades = replace(CREDIT, problem_type="multiclass", classes=("a", "b", "c"))
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    multiclass = training.quality_metrics(grades, np.array([0, 1, 2, 1]), probabilities)
    assert multiclass["multiclass_classification_metrics"]["accuracy"]["value"] == 0.75
    binary = training.quality_metrics(CREDIT, np.array([1, 0, 1]), np.array([[0.9], [0.2], [0.4]]))
    assert binary["binary_classification_metrics"]["accuracy"]["value"] == pytest.approx(2 / 3)
    regression = training.quality_metrics(CARS, np.array([1.0, 3.0]), np.array([2.0, 3.0]))
    assert regression["regression_metrics"]["mae"]["value"] == 0.5
