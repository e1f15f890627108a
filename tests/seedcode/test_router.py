"""The Lambda router: request checks, the combining rule, endpoint failures, and the real thing."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

import mlaccel
from mlaccel import inference
from tests.support import REPO, import_script, tarball, unique_name

HANDLER = REPO / "seedcode" / "lambdas" / "router" / "handler.py"
ENVIRON = {"PRIMARY_ENDPOINT_NAME": "xgb", "SECONDARY_ENDPOINT_NAME": "linear"}


@pytest.fixture(scope="module")
def router() -> ModuleType:
    return import_script(HANDLER, "router_handler")


def _event(body: Any, content_type: str = "application/json", **extra: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "httpMethod": "POST",
        "path": "/score",
        "headers": {"Content-Type": content_type},
        "body": text,
        "isBase64Encoded": False,
        **extra,
    }


class FakeEndpoints:
    """Two endpoints answering fixed functions of the first feature; records the calls."""

    def __init__(self, down: set[str] | None = None) -> None:
        self.down = down or set()
        self.calls: list[tuple[str, str]] = []

    def __call__(self, endpoint: str, payload: str) -> str:
        self.calls.append((endpoint, payload))
        if endpoint in self.down:
            raise ConnectionError("connection refused")
        firsts = [float(line.split(",")[0] or 0) for line in payload.splitlines()]
        scale = 2.0 if endpoint == "xgb" else 3.0
        offset = 10.0 if endpoint == "xgb" else 0.0
        return "".join(f"{scale * x + offset}\n" for x in firsts)


def _answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    return response["statusCode"], json.loads(response["body"])


# --------------------------------------------------------------------------- offline


def test_router_returns_the_larger_prediction_of_the_two_endpoints(router: ModuleType) -> None:
    endpoints = FakeEndpoints()
    event = _event({"instances": [[1, 0.5], [20, 0.1], [None, 2]]})
    status, body = _answer(router.handle(event, ENVIRON, endpoints))
    assert status == 200
    # xgb: 2x + 10 → 12, 50, 10; linear: 3x → 3, 60, 0
    assert body["endpoints"] == {"xgb": [12.0, 50.0, 10.0], "linear": [3.0, 60.0, 0.0]}
    assert body["predictions"] == [12.0, 60.0, 10.0]
    assert body["rule"] == "max_prediction"
    assert {name for name, _ in endpoints.calls} == {"xgb", "linear"}
    assert endpoints.calls[0][1] == "1.0,0.5\n20.0,0.1\n,2.0\n", "CSV, missing value left empty"


def test_csv_body_single_record_and_base64_are_accepted(router: ModuleType) -> None:
    csv_event = _event("1,2\n3,4\n", content_type="text/csv; charset=utf-8")
    assert _answer(router.handle(csv_event, ENVIRON, FakeEndpoints()))[1]["predictions"] == [
        12.0,
        16.0,
    ]
    single = _event({"instances": [5, 6]})
    assert _answer(router.handle(single, ENVIRON, FakeEndpoints()))[1]["predictions"] == [20.0]
    records_key = _event({"records": [[1, 1]]})
    assert _answer(router.handle(records_key, ENVIRON, FakeEndpoints()))[0] == 200
    encoded = _event(base64.b64encode(b'{"instances": [[7, 0]]}').decode(), isBase64Encoded=True)
    assert _answer(router.handle(encoded, ENVIRON, FakeEndpoints()))[1]["predictions"] == [24.0]
    http_api = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"content-type": "application/json"},
        "body": '{"instances": [[1]]}',
    }
    assert _answer(router.handle(http_api, ENVIRON, FakeEndpoints()))[0] == 200


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (None, "application/json", "has no body"),
        ("   ", "application/json", "has no body"),
        ('{"instances": [[1, 2]', "application/json", "not valid JSON"),
        ({"rows": [[1, 2]]}, "application/json", '"instances"'),
        ({"instances": []}, "application/json", "is empty"),
        ({"instances": "1,2"}, "application/json", "must be a list of records"),
        ({"instances": [[1, 2], [3]]}, "application/json", "record 2 has 1 features"),
        ({"instances": [[1, "abc"]]}, "application/json", "record 1, feature 2: 'abc'"),
        ({"instances": [[1, True]]}, "application/json", "True is not a number"),
        ({"instances": [[1, 2], 3]}, "application/json", "record 2 is int"),
        ("1,2\n3,x\n", "text/csv", "record 2, feature 2: 'x' is not a number"),
        ("<xml/>", "application/xml", "not supported"),
    ],
)
def test_malformed_requests_get_a_400_that_says_what_to_fix(
    router: ModuleType, body: Any, content_type: str, message: str
) -> None:
    endpoints = FakeEndpoints()
    status, answer = _answer(router.handle(_event(body, content_type), ENVIRON, endpoints))
    assert status == 400
    assert message in answer["error"]
    assert not endpoints.calls, "a bad request never reaches the endpoints"


def test_feature_count_method_and_batch_size_are_enforced(router: ModuleType) -> None:
    environ = {**ENVIRON, "FEATURE_COUNT": "3", "MAX_RECORDS": "2"}
    status, answer = _answer(router.handle(_event({"instances": [[1, 2]]}), environ))
    assert status == 400 and "record 1 has 2 features but the model takes 3" in answer["error"]
    status, answer = _answer(router.handle(_event({"instances": [[1, 2, 3]] * 3}), environ))
    assert status == 413 and "split the batch" in answer["error"]
    status, answer = _answer(router.handle(_event({"instances": [[1]]}, httpMethod="GET"), environ))
    assert status == 405
    assert _answer(router.handle("not an event", environ))[0] == 400


def test_an_endpoint_error_is_a_502_naming_the_endpoint(router: ModuleType) -> None:
    status, answer = _answer(
        router.handle(_event({"instances": [[1]]}), ENVIRON, FakeEndpoints(down={"linear"}))
    )
    assert status == 502
    assert answer["endpoint"] == "linear" and "'linear'" in answer["error"]
    assert "connection refused" in answer["error"]

    def short(endpoint: str, payload: str) -> str:
        return "1.0\n"

    status, answer = _answer(router.handle(_event({"instances": [[1], [2]]}), ENVIRON, short))
    assert status == 502 and "answered 1 values for 2 records" in answer["error"]


def test_combining_rule_is_a_replaceable_function(
    router: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _event({"instances": [[1], [20]]})  # xgb 12, 50; linear 3, 60
    for rule, expected in (("min", [3.0, 50.0]), ("mean", [7.5, 55.0]), ("primary", [12.0, 50.0])):
        environ = {**ENVIRON, "COMBINE_RULE": rule}
        assert _answer(router.handle(event, environ, FakeEndpoints()))[1]["predictions"] == expected

    def second_only(predictions: list[float]) -> float:
        return predictions[1]

    monkeypatch.setattr(router, "combine", second_only)
    status, answer = _answer(router.handle(event, ENVIRON, FakeEndpoints()))
    assert status == 200 and answer["predictions"] == [3.0, 60.0]
    assert answer["rule"] == "second_only"
    assert router.max_prediction([1.0, 4.0, 2.0]) == 4.0


def test_misconfiguration_and_crashes_still_answer(
    router: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, answer = _answer(router.handle(_event({"instances": [[1]]}), {}, FakeEndpoints()))
    assert status == 500 and "PRIMARY_ENDPOINT_NAME and SECONDARY_ENDPOINT_NAME" in answer["error"]
    wrong_rule = {**ENVIRON, "COMBINE_RULE": "median"}
    status, answer = _answer(router.handle(_event({"instances": [[1]]}), wrong_rule))
    assert status == 500 and "median" in answer["error"]

    def broken(predictions: list[float]) -> float:
        raise ZeroDivisionError("bug in a custom rule")

    monkeypatch.setattr(router, "combine", broken)
    status, answer = _answer(router.handle(_event({"instances": [[1]]}), ENVIRON, FakeEndpoints()))
    assert status == 500 and "internal error" in answer["error"]


# --------------------------------------------------------------------------- on the twin


def _model_data(conn: mlaccel.Connection, files: dict[str, bytes]) -> str:
    key = f"{unique_name('router-tests')}/model.tar.gz"
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=tarball(files))
    return f"s3://{conn.bucket}/{key}"


@pytest.fixture(scope="module")
def two_endpoints(conn: mlaccel.Connection) -> Iterator[dict[str, Any]]:
    """An XGBoost endpoint and a linear one, each with the model that answers on it."""
    rng = np.random.default_rng(3)
    features = rng.random((100, 3))
    label = features @ np.array([30.0, -10.0, 5.0]) + 20
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(features, label=label),
        num_boost_round=6,
    )
    coefficients, intercept = [25.0, -5.0, 2.0], 18.0
    suffix = uuid.uuid4().hex[:6]
    names = {"xgb": f"router-xgb-{suffix}", "linear": f"router-linear-{suffix}"}
    inference.deploy_model(
        names["xgb"],
        model_data=_model_data(conn, {"xgboost-model": bytes(booster.save_raw("ubj"))}),
        data_capture=False,
        connection=conn,
    )
    linear = json.dumps({"coefficients": coefficients, "intercept": intercept}).encode()
    inference.deploy_model(
        names["linear"],
        model_data=_model_data(conn, {"linear-model.json": linear}),
        image_uri="twin/linear-learner",
        data_capture=False,
        connection=conn,
    )
    yield {
        "names": names,
        "xgb": lambda rows: booster.predict(xgb.DMatrix(rows)),
        "linear": lambda rows: rows @ np.array(coefficients) + intercept,
    }
    for name in names.values():
        inference.delete_endpoint(name, connection=conn)


def test_router_on_real_endpoints_returns_the_larger_prediction(
    router: ModuleType, two_endpoints: dict[str, Any]
) -> None:
    names = two_endpoints["names"]
    environ = {
        "PRIMARY_ENDPOINT_NAME": names["xgb"],
        "SECONDARY_ENDPOINT_NAME": names["linear"],
        "FEATURE_COUNT": "3",
    }
    # The last row is outside the training range: there the linear model predicts more.
    rows = np.vstack([np.round(np.random.default_rng(5).random((8, 3)), 5), [[3.0, 0.0, 0.0]]])
    status, answer = _answer(router.handle(_event({"instances": rows.tolist()}), environ))
    assert status == 200, answer
    xgb_expected = two_endpoints["xgb"](rows)
    linear_expected = two_endpoints["linear"](rows)
    np.testing.assert_allclose(answer["endpoints"][names["xgb"]], xgb_expected, rtol=1e-5)
    np.testing.assert_allclose(answer["endpoints"][names["linear"]], linear_expected, rtol=1e-5)
    np.testing.assert_allclose(
        answer["predictions"], np.maximum(xgb_expected, linear_expected), rtol=1e-5
    )
    assert (xgb_expected > linear_expected).any() and (xgb_expected < linear_expected).any(), (
        "the rows exercise both endpoints winning"
    )


def test_lambda_handler_reads_its_environment_and_reports_a_down_endpoint(
    router: ModuleType, two_endpoints: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIMARY_ENDPOINT_NAME", two_endpoints["names"]["xgb"])
    monkeypatch.setenv("SECONDARY_ENDPOINT_NAME", "router-no-such-endpoint")
    rows = [[0.1, 0.2, 0.3]]
    status, answer = _answer(router.lambda_handler(_event({"instances": rows}), None))
    assert status == 502
    assert answer["endpoint"] == "router-no-such-endpoint"
    assert "router-no-such-endpoint" in answer["error"]


def test_router_deployed_as_a_lambda_answers_api_gateway_events(
    conn: mlaccel.Connection, two_endpoints: dict[str, Any]
) -> None:
    from mlaccel import lambdas

    names = two_endpoints["names"]
    function = f"router-test-{uuid.uuid4().hex[:6]}"
    environment = {
        "PRIMARY_ENDPOINT_NAME": names["xgb"],
        "SECONDARY_ENDPOINT_NAME": names["linear"],
    }
    lambdas.deploy_function(
        function, HANDLER.parent, "handler.lambda_handler", environment=environment, connection=conn
    )
    client = conn.client("lambda")
    try:
        rows = np.array([[0.2, 0.4, 0.6], [3.0, 0.0, 0.0]])
        answer = client.invoke(
            FunctionName=function, Payload=json.dumps(_event({"instances": rows.tolist()}))
        )
        assert "FunctionError" not in answer
        status, body = _answer(json.loads(answer["Payload"].read()))
        assert status == 200, body
        expected = np.maximum(two_endpoints["xgb"](rows), two_endpoints["linear"](rows))
        np.testing.assert_allclose(body["predictions"], expected, rtol=1e-5)

        bad = client.invoke(FunctionName=function, Payload=json.dumps(_event("{oops")))
        status, body = _answer(json.loads(bad["Payload"].read()))
        assert status == 400 and "not valid JSON" in body["error"]

        # Deploying again updates the function: now the secondary endpoint is down.
        lambdas.deploy_function(
            function,
            HANDLER.parent,
            "handler.lambda_handler",
            environment={**environment, "SECONDARY_ENDPOINT_NAME": "router-gone"},
            connection=conn,
        )
        down = client.invoke(
            FunctionName=function, Payload=json.dumps(_event({"instances": rows.tolist()}))
        )
        status, body = _answer(json.loads(down["Payload"].read()))
        assert status == 502 and body["endpoint"] == "router-gone"
    finally:
        client.delete_function(FunctionName=function)
