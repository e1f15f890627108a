"""mlaccel.cleanup on the twin: what the kit creates is tagged with its run, and a run's
resources are found and removed in dependency order, never anything without the kit's tag."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import xgboost as xgb

import mlaccel
from mlaccel import cleanup, cli, events, inference, lambdas, notebooks, workflows
from mlaccel.errors import MLAccelInputError
from mlaccel.notebooks import NotebookResult, SuiteEntry, cleanup_lines, run_suite, suite_run_id
from mlaccel_twin import Twin
from tests.support import REPO, demo_contract, unique_name

ROUTER = REPO / "seedcode" / "lambdas" / "router"


@pytest.fixture(scope="module")
def model_data(conn: mlaccel.Connection) -> str:
    rng = np.random.default_rng(3)
    features = rng.random((60, 3))
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(features, label=features.sum(axis=1)),
        num_boost_round=5,
    )
    uri = conn.s3_uri(unique_name("cleanup-tests"), "model.tar.gz")
    return inference.upload_xgboost_model(booster, uri, connection=conn)


@pytest.fixture
def run_id(monkeypatch: pytest.MonkeyPatch) -> str:
    """A run id of the test's own, as the suite runner sets one for its kernels."""
    value = unique_name("run-test")
    monkeypatch.setenv("MLACCEL_RUN_ID", value)
    return value


def _tags(conn: mlaccel.Connection, arn: str) -> dict[str, str]:
    return cleanup.tag_dict(conn.client("sagemaker").list_tags(ResourceArn=arn)["Tags"])


def _labels(conn: mlaccel.Connection, run_id: str) -> list[str]:
    return [r.label for r in cleanup.find_resources(connection=conn, run_id=run_id)]


# --------------------------------------------------------------------------- run ids


def test_run_id_comes_from_the_environment_else_from_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLACCEL_RUN_ID", "ci-1234")
    assert cleanup.current_run_id() == "ci-1234"
    assert cleanup.kit_tags() == {"mlaccel:created-by": "mlaccel", "mlaccel:run-id": "ci-1234"}
    monkeypatch.delenv("MLACCEL_RUN_ID")
    own = cleanup.current_run_id()
    assert own.startswith("run-") and cleanup.current_run_id() == own, "one id per process"
    assert cleanup.new_run_id() != cleanup.new_run_id()
    monkeypatch.setenv("MLACCEL_RUN_ID", 'bad "id"')
    with pytest.raises(MLAccelInputError, match=r"MLACCEL_RUN_ID='bad \"id\"' is not a run id"):
        cleanup.current_run_id()


def test_the_suite_runner_gives_each_run_a_fresh_id_unless_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLACCEL_RUN_ID", raising=False)
    first, second = suite_run_id(), suite_run_id()
    assert first != second and first.startswith("run-")
    assert suite_run_id({"MLACCEL_RUN_ID": "ci-7"}) == "ci-7"
    monkeypatch.setenv("MLACCEL_RUN_ID", "nightly-3")
    assert suite_run_id() == "nightly-3"
    with pytest.raises(MLAccelInputError, match="MLACCEL_RUN_ID='no spaces' is not a run id"):
        suite_run_id({"MLACCEL_RUN_ID": "no spaces"})


# --------------------------------------------------------------------------- tags


def test_what_the_kit_creates_is_tagged_with_the_run(
    conn: mlaccel.Connection, model_data: str, run_id: str
) -> None:
    endpoint = unique_name("cleanup-tagged")
    deployment = inference.deploy_model(
        endpoint, model_data=model_data, data_capture=False, connection=conn
    )
    inference.register_autoscaling(endpoint, connection=conn)
    client = conn.client("sagemaker")
    expected = {"mlaccel:created-by": "mlaccel", "mlaccel:run-id": run_id}
    try:
        for arn in (
            client.describe_endpoint(EndpointName=endpoint)["EndpointArn"],
            client.describe_endpoint_config(EndpointConfigName=deployment.config_name)[
                "EndpointConfigArn"
            ],
            client.describe_model(ModelName=deployment.model_name)["ModelArn"],
        ):
            assert _tags(conn, arn).items() >= expected.items(), arn
        scaling = conn.client("application-autoscaling")
        target = scaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/AllTraffic"]
        )["ScalableTargets"][0]
        target_tags = scaling.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])
        assert target_tags["Tags"] == {**expected, "mlaccel:endpoint": endpoint}
        model = inference.create_model(
            model_data=model_data, tags=[{"Key": "team", "Value": "ml"}], connection=conn
        )
        model_arn = client.describe_model(ModelName=model)["ModelArn"]
        assert _tags(conn, model_arn) == {**expected, "team": "ml"}
        client.delete_model(ModelName=model)
    finally:
        inference.delete_endpoint(endpoint, connection=conn)


def test_redeploying_moves_a_function_or_rule_to_the_current_run_but_never_claims_one(
    conn: mlaccel.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = conn.client("lambda")
    ours, theirs = unique_name("cleanup-fn"), unique_name("cleanup-foreign-fn")
    monkeypatch.setenv("MLACCEL_RUN_ID", "run-a")
    arn = lambdas.deploy_function(ours, ROUTER, "handler.lambda_handler", connection=conn)
    assert client.list_tags(Resource=arn)["Tags"]["mlaccel:run-id"] == "run-a"
    client.create_function(
        FunctionName=theirs,
        Role=lambdas.lambda_role(connection=conn),
        Handler="handler.lambda_handler",
        Runtime="python3.11",
        Code={"ZipFile": lambdas.zip_code(ROUTER)},
    )
    rule = unique_name("cleanup-rule")
    events_client = conn.client("events")
    monkeypatch.setenv("MLACCEL_RUN_ID", "run-b")
    lambdas.deploy_function(ours, ROUTER, "handler.lambda_handler", connection=conn)
    foreign_arn = lambdas.deploy_function(theirs, ROUTER, "handler.lambda_handler", connection=conn)
    rule_arn = events.put_kit_rule(events_client, Name=rule, ScheduleExpression="rate(1 hour)")
    monkeypatch.setenv("MLACCEL_RUN_ID", "run-c")
    events.put_kit_rule(events_client, Name=rule, ScheduleExpression="rate(2 hours)")
    try:
        assert client.list_tags(Resource=arn)["Tags"]["mlaccel:run-id"] == "run-b"
        assert client.list_tags(Resource=foreign_arn)["Tags"] == {}, "not the kit's to claim"
        rule_tags = events_client.list_tags_for_resource(ResourceARN=rule_arn)["Tags"]
        assert cleanup.tag_dict(rule_tags)["mlaccel:run-id"] == "run-c"
        assert _labels(conn, "run-b") == [f"function:{ours}"]
        assert _labels(conn, "run-c") == [f"rule:{rule}"]
    finally:
        client.delete_function(FunctionName=theirs)
        cleanup.clean_up(connection=conn, run_id="run-b")
        cleanup.clean_up(connection=conn, run_id="run-c")
    assert _labels(conn, "run-b") == _labels(conn, "run-c") == []


def test_the_training_workflow_tags_its_resources_with_the_run_of_its_input(
    conn: mlaccel.Connection,
) -> None:
    settings = workflows.workflow_settings(
        demo_contract("used_cars"), connection=conn, topic_arn="arn:t"
    )
    states = workflows.training_workflow(settings).definition.to_dict()["States"]
    assert states["Read defaults"]["Parameters"]["run_id.$"] == "$$.Execution.Name"
    expected = [
        {"Key": "mlaccel:created-by", "Value": "mlaccel"},
        {"Key": "mlaccel:run-id", "Value.$": "$.args.run_id"},
        {"Key": "mlaccel:endpoint", "Value": settings.endpoint_name},
    ]
    for state in ("Save model", "Endpoint configuration", "Create endpoint"):
        assert _find_state(states, state)["Parameters"]["Tags"] == expected, state
    assert "Tags" not in _find_state(states, "Update endpoint")["Parameters"]


def _find_state(states: dict[str, dict], name: str) -> dict:
    if name in states:
        return states[name]
    for state in states.values():
        for branch in state.get("Branches", []):
            found = _find_state(branch["States"], name)
            if found:
                return found
    return {}


def test_an_execution_carries_the_run_id_unless_its_input_names_one(
    conn: mlaccel.Connection, run_id: str
) -> None:
    from stepfunctions.steps import Chain, Pass
    from stepfunctions.workflow import Workflow

    workflows._states.load_sdk()
    echo = Workflow(
        unique_name("cleanup-echo"),
        definition=Chain([Pass("Echo")]),
        role=conn.role_arn,
        client=conn.client("stepfunctions"),
    )
    assert workflows.execute(echo, connection=conn).output == {"run_id": run_id}
    named = workflows.execute(echo, connection=conn, inputs={"run_id": "given", "x": 1})
    assert named.output == {"run_id": "given", "x": 1}


# --------------------------------------------------------------------------- find and remove


def test_a_run_is_found_and_removed_in_dependency_order_and_nothing_else(
    conn: mlaccel.Connection, model_data: str, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = conn.client("sagemaker")
    endpoint = unique_name("cleanup-run")
    # not waited for: it may still be Creating when removed, and removal then waits for it
    deployment = inference.deploy_model(
        endpoint, model_data=model_data, data_capture=False, wait=False, connection=conn
    )
    function = unique_name("cleanup-router")
    lambdas.deploy_function(function, ROUTER, "handler.lambda_handler", connection=conn)
    rule = unique_name("cleanup-schedule")
    events.put_kit_rule(conn.client("events"), Name=rule, ScheduleExpression="rate(1 hour)")
    untagged = unique_name("cleanup-untagged")
    client.create_model(
        ModelName=untagged,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": model_data},
    )
    monkeypatch.setenv("MLACCEL_RUN_ID", "another-run")
    other = inference.create_model(model_data=model_data, connection=conn)
    inference.register_autoscaling(endpoint, connection=conn)  # found through its endpoint

    found = cleanup.find_resources(connection=conn, run_id=run_id)
    assert [r.label for r in found] == [
        f"scalable-target:endpoint/{endpoint}/variant/AllTraffic",
        f"endpoint:{endpoint}",
        f"endpoint-config:{deployment.config_name}",
        f"model:{deployment.model_name}",
        f"rule:{rule}",
        f"function:{function}",
    ]
    assert {r.run_id for r in found} == {run_id}
    everything = {r.name for r in cleanup.find_resources(connection=conn)}
    assert other in everything and untagged not in everything

    removed = cleanup.remove_resources(found, connection=conn)
    assert removed == [r.label for r in found]
    assert _labels(conn, run_id) == []
    assert cleanup.remove_resources(found, connection=conn) == [], "already gone is fine"
    assert not client.list_endpoints(NameContains=endpoint)["Endpoints"]
    names = {m["ModelName"] for m in client.list_models()["Models"]}
    assert {untagged, other} <= names, "other runs and untagged resources are left alone"
    assert cleanup.clean_up(connection=conn, run_id="another-run")[0].label == f"model:{other}"
    client.delete_model(ModelName=untagged)


def test_an_endpoint_a_run_updated_is_found_through_its_config(
    conn: mlaccel.Connection, model_data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = unique_name("cleanup-updated")
    monkeypatch.setenv("MLACCEL_RUN_ID", "created-it")
    inference.deploy_model(endpoint, model_data=model_data, data_capture=False, connection=conn)
    updater = unique_name("updated-it")
    monkeypatch.setenv("MLACCEL_RUN_ID", updater)
    second = inference.deploy_model(
        endpoint, model_data=model_data, data_capture=False, connection=conn
    )
    try:
        assert _labels(conn, updater) == [
            f"endpoint:{endpoint}",
            f"endpoint-config:{second.config_name}",
            f"model:{second.model_name}",
        ]
    finally:
        cleanup.clean_up(connection=conn, run_id=updater)
    assert inference.delete_endpoint(endpoint, connection=conn) == []


def test_bad_inputs_name_the_input_and_the_fix(conn: mlaccel.Connection) -> None:
    with pytest.raises(MLAccelInputError, match=r"run_id='a b' is not a run id.*'ci-1234'"):
        cleanup.find_resources(connection=conn, run_id="a b")
    with pytest.raises(MLAccelInputError, match=r"kinds=\['queue'\] are not taggable kinds"):
        cleanup.tagged_resources(connection=conn, kinds=["queue"])
    with pytest.raises(MLAccelInputError, match=r"pass connection=mlaccel\.connect\(\)"):
        cleanup.find_resources(connection=None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- command line


def test_cleanup_command_lists_then_removes_one_line_per_resource(
    conn: mlaccel.Connection,
    twin: Twin,
    model_data: str,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLACCEL_TWIN_URL", twin.url)
    model = inference.create_model(model_data=model_data, connection=conn)
    function = unique_name("cleanup-cli-fn")
    lambdas.deploy_function(function, ROUTER, "handler.lambda_handler", connection=conn)

    assert cli.main(["cleanup", "--run-id", run_id, "--dry-run", "--backend", "local"]) == 0
    listed = capsys.readouterr().out
    assert f"2 resources the kit created in run {run_id} on local:" in listed
    assert f"  model:{model}  (run {run_id})" in listed
    assert f"  function:{function}  (run {run_id})" in listed
    assert "dry run: nothing removed" in listed
    assert _labels(conn, run_id) == [f"model:{model}", f"function:{function}"]

    assert cli.main(["cleanup", "--run-id", run_id, "--backend", "local"]) == 0
    assert "removed 2" in capsys.readouterr().out
    assert _labels(conn, run_id) == []
    assert cli.main(["cleanup", "--run-id", run_id, "--backend", "local"]) == 0
    assert f"nothing the kit created in run {run_id} is left on local" in capsys.readouterr().out

    assert cli.main(["cleanup", "--run-id", "not ok", "--backend", "local"]) == 2
    assert "--run-id='not ok' is not a run id" in capsys.readouterr().err


# --------------------------------------------------------------------------- the suite runner


def test_the_runner_never_starts_a_twin_to_clean_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the kernels' twin URL, connect() would start an empty twin: the runner says so."""
    monkeypatch.delenv("MLACCEL_TWIN_URL", raising=False)
    monkeypatch.setenv("MLACCEL_BACKEND", "local")
    result = NotebookResult("04_author_pipelines", "failed", run_id="ci-9")
    notebooks._run._clean_up_after(result)
    assert result.cleaned_up is None
    assert result.cleanup_error == "the kernels' twin is not known (MLACCEL_TWIN_URL is not set)"
    assert cleanup_lines([result])[-1] == (
        "clean-up after 04_author_pipelines failed did not finish (the kernels' twin is not "
        "known (MLACCEL_TWIN_URL is not set)); run `mlaccel cleanup --run-id ci-9`"
    )


def _failing_notebook(folder: Path, model_data: str) -> Path:
    """A notebook that creates a model (tagged with the kernel's run) and then fails."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(f"model_data = {model_data!r}")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("A notebook that fails half way (papermill)."),
        parameters,
        nbformat.v4.new_code_cell(
            "import mlaccel\nfrom mlaccel import inference\n"
            "conn = mlaccel.connect()\n"
            "model = inference.create_model(model_data=model_data, connection=conn)"
        ),
        nbformat.v4.new_code_cell("raise RuntimeError('half way')"),
    ]
    path = folder / "fails_half_way.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_the_runner_removes_what_a_failed_notebook_created_and_says_so(
    conn: mlaccel.Connection, twin: Twin, model_data: str, tmp_path: Path
) -> None:
    notebook = _failing_notebook(tmp_path, model_data)
    env = {"MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"}
    [result] = run_suite([SuiteEntry(notebook)], tmp_path / "out", env=env, progress=False)

    assert result.status == "failed" and "RuntimeError: half way" in (result.error or "")
    assert result.run_id.startswith("run-")
    assert len(result.cleaned_up or []) == 1 and result.cleaned_up[0].startswith("model:")
    assert _labels(conn, result.run_id) == []
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary[0]["run_id"] == result.run_id
    assert summary[0]["cleaned_up"] == result.cleaned_up
    text = (tmp_path / "out" / "summary.md").read_text()
    assert f"run id: {result.run_id}" in text
    assert f"clean-up after fails_half_way failed: removed {result.cleaned_up[0]}" in text

    [again] = run_suite([SuiteEntry(notebook)], tmp_path / "again", env=env, progress=False)
    assert again.run_id != result.run_id, "each suite run gets its own id"
