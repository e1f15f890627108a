"""Report: readable summaries of the SDK objects the accelerators build, Markdown tables, and
figures that carry their alternative text."""

from __future__ import annotations

import base64

import matplotlib
import pandas as pd
import pytest

import mlaccel
from mlaccel import features, report, training
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract

matplotlib.use("Agg")

CARS = demo_contract("used_cars")


def test_readable_masks_account_ids_and_shortens_long_values() -> None:
    assert report.readable("arn:aws:iam::123456789012:role/x") == "arn:aws:iam::<account>:role/x"
    assert report.readable({"a": 1, "b": None}) == "a=1, b=—"
    long = report.readable("x" * (report.LONG_VALUE + 100))
    assert len(long) == report.LONG_VALUE and long.endswith("…")


def test_markdown_table_escapes_pipes_and_keeps_every_value() -> None:
    table = pd.DataFrame(
        {"value": ["a|b", "s3://bucket/" + "k" * 80, "<account>.dkr"]}, index=["x", "y", "z"]
    )
    text = report.markdown_table(table)
    assert "a\\|b" in text
    assert "| z | &lt;account&gt;.dkr |" in text
    assert "k" * 80 in text
    assert text.splitlines()[1] == "|---|---|"


def test_builtin_estimator_summary_explains_each_hyperparameter(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker.inputs import TrainingInput

    estimator = training.builtin_xgboost_estimator(CARS, connection=conn, seed=3)
    table = report.sdk_summary(
        estimator, inputs={"train": TrainingInput("s3://b/train.csv", content_type="text/csv")}
    )
    assert table.loc["class", "value"] == "Estimator"
    assert "sagemaker-xgboost" in table.loc["image", "value"]
    assert table.loc["instance", "value"].startswith("1 × ")
    assert table.loc["hyperparameter seed", "value"] == "3"
    assert "learning rate" in table.loc["hyperparameter eta", "what it does"]
    assert table.loc["input train", "value"] == "s3://b/train.csv (text/csv)"
    assert not table["value"].str.contains(r"\d{12}").any()


def test_tuner_summary_shows_objective_and_ranges(conn: mlaccel.Connection) -> None:
    tuner = training.xgboost_tuner(CARS, connection=conn, max_jobs=4, max_parallel_jobs=2)
    table = report.sdk_summary(tuner)
    assert table.loc["objective", "value"] == "Minimize validation:rmse"
    assert table.loc["trials", "value"] == "4 jobs, 2 at a time"
    assert table.loc["range eta", "value"] == "0.05 to 0.4, logarithmic scale"
    assert "range max_depth" in table.index
    assert "hyperparameter max_depth" not in table.index  # tuned, so not shown as fixed


def test_processor_summary_shows_its_run_inputs(conn: mlaccel.Connection) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    processor = features.sklearn_processor(connection=conn)
    table = report.sdk_summary(
        processor,
        code="/somewhere/preprocess.py",
        inputs=[ProcessingInput(source="s3://b/raw", destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(source="/opt/ml/processing/train", destination="s3://b/f")],
        arguments=["--target", "price"],
    )
    assert table.loc["class", "value"] == "SKLearnProcessor"
    assert table.loc["code", "value"] == "preprocess.py"
    assert table.loc["arguments", "value"] == "--target price"
    inputs = table[table.index.str.startswith("input")]["value"].tolist()
    assert inputs == ["s3://b/raw → /opt/ml/processing/input"]


def test_processor_summary_shows_an_athena_query_input(conn: mlaccel.Connection) -> None:
    from mlaccel import data
    from tests.support import unique_name

    database = unique_name("report").replace("-", "_")
    data.register_demo("used_cars", 40, connection=conn, database=database)
    job = features.feature_job(CARS, connection=conn, database=database, source="athena")
    table = report.sdk_summary(job.processor, **job.run_arguments)
    assert table.loc["input table", "value"] == (
        f'Athena query SELECT * FROM "{database}"."used_cars" → /opt/ml/processing/input/data'
    )


def test_summary_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(MLAccelInputError, match=r"cannot describe a dict.*Estimator"):
        report.sdk_summary({"not": "sdk"})


def test_figure_bundle_carries_alt_text_in_metadata_and_html() -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    data, metadata = report.figure_bundle(fig, 'Line of "y" against x')
    plt.close(fig)
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
    assert metadata == {"image/png": {"alt": 'Line of "y" against x'}}
    assert 'alt="Line of &quot;y&quot; against x"' in data["text/html"]
    assert data["text/plain"] == 'Line of "y" against x'


def test_figure_bundle_requires_an_alt_text() -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure()
    with pytest.raises(MLAccelInputError, match="alt must describe the figure"):
        report.figure_bundle(fig, "  ")
    plt.close(fig)


def test_show_figure_takes_the_figure_label_as_alt_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import IPython.display
    import matplotlib.pyplot as plt

    shown: list[tuple[dict[str, str], dict[str, dict[str, str]]]] = []
    monkeypatch.setattr(
        IPython.display, "display", lambda data, raw, metadata: shown.append((data, metadata))
    )
    fig = plt.figure()
    fig.set_label("Bars of rows per category")
    report.show_figure(fig)
    assert shown[0][1] == {"image/png": {"alt": "Bars of rows per category"}}
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend shows it no more


def test_model_and_pipeline_summaries(conn: mlaccel.Connection) -> None:
    from sagemaker.model import Model
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline

    model = Model(
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        model_data="s3://b/model.tar.gz",
        role=conn.role_arn,
        env={"SAGEMAKER_PROGRAM": "serve.py"},
        name="m1",
        sagemaker_session=conn.sagemaker_session,
    )
    table = report.sdk_summary(model)
    assert table.loc["image", "value"].startswith("<account>.dkr.ecr")
    assert table.loc["model data", "value"] == "s3://b/model.tar.gz"
    assert table.loc["environment", "value"] == "SAGEMAKER_PROGRAM=serve.py"
    assert "role" not in table.index  # the execution role names the account

    pipeline = Pipeline(
        name="p1",
        parameters=[ParameterString("InputUri", default_value="s3://b/in")],
        steps=[],
        sagemaker_session=conn.sagemaker_session,
    )
    table = report.sdk_summary(pipeline)
    assert table.loc["name", "value"] == "p1"
    assert table.loc["parameter InputUri", "value"] == "s3://b/in"


def test_markdown_table_lets_long_words_break_after_commas() -> None:
    columns = ",".join(f"column_{i}" for i in range(8))
    text = report.markdown_table(pd.DataFrame({"value": [columns, "a,b"]}, index=["x", "y"]))
    assert "column_0,\u200bcolumn_1" in text
    assert "| y | a,b |" in text  # a short word stays as it is
