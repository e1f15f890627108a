"""Notebook 04 shows each definition as a graph with alt text and a short preview with a link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlaccel
from mlaccel import workflows
from mlaccel.errors import MLAccelInputError

DEFINITION = {
    "StartAt": "Go",
    "States": {
        "Go": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {}}] * 2, "Next": "Ok"},
        "Ok": {"Type": "Succeed"},
        "Stop": {"Type": "Fail"},
    },
}


def test_preview_shows_the_first_lines_counts_the_rest_and_links_the_file() -> None:
    text = json.dumps({f"k{i}": i for i in range(50)}, indent=2)
    html = workflows.definition_preview(text, link="workflows/a <b>.asl.json", lines=20)
    assert html.count("\n") < 25  # never the whole definition
    assert '"k18": 18' in html and '"k19": 19' not in html
    assert "… 32 more lines; the whole definition:" in html
    assert '<a href="workflows/a &lt;b&gt;.asl.json">' in html  # escaped, not markup


def test_a_short_definition_is_shown_whole_with_its_link() -> None:
    html = workflows.definition_preview("{}\n", link="a.json")
    assert "<pre>{}</pre>" in html and "more lines" not in html and 'href="a.json"' in html


def test_preview_refuses_zero_lines() -> None:
    with pytest.raises(MLAccelInputError, match="lines must be 1 or more, got 0"):
        workflows.definition_preview("{}", link="a.json", lines=0)


def test_links_are_relative_to_the_notebook_folder_or_just_the_name(tmp_path: Path) -> None:
    inside = tmp_path / "out" / "workflows" / "t.asl.json"
    assert workflows.relative_link(inside, tmp_path / "out") == "workflows/t.asl.json"
    assert workflows.relative_link(inside, tmp_path / "other") == "t.asl.json"


def test_the_graph_figure_carries_a_sentence_describing_it() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = workflows.plot_graph(DEFINITION, title="train")
    assert fig.get_label() == (
        "Graph of the train state machine: 3 states, starting at Go, 2 parallel branches; "
        "failures end in Stop."
    )


def test_a_step_functions_workflow_is_summarised_with_its_service_calls(
    conn: mlaccel.Connection,
) -> None:
    from stepfunctions.steps import Catch, Chain, Fail, Parallel, Pass, Task
    from stepfunctions.workflow import Workflow

    from mlaccel import report

    both = Parallel("Both")
    both.add_branch(Task("Tell", resource="arn:aws:states:::sns:publish"))
    both.add_branch(Pass("Wait"))
    train = Task("Train", resource="arn:aws:states:::sagemaker:createTrainingJob.sync")
    chain = Chain([train, both])
    train.add_catch(Catch(error_equals=["States.ALL"], next_step=Fail("Oops")))
    role = "arn:aws:iam::123456789012:role/r"
    flow = Workflow("w1", definition=chain, role=role, client=conn.client("stepfunctions"))
    table = report.sdk_summary(flow)
    assert table.loc["class", "value"] == "Workflow"
    assert table.loc["states", "value"] == "3 (+ 2 in parallel branches)"
    assert table.loc["service calls", "value"] == "sagemaker:createTrainingJob, sns:publish"
    assert table.loc["fail states", "value"] == "Oops"
    assert "123456789012" not in table.to_string()  # the role is not shown
