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
        ("1,x\r\n3,4\r\n", "text/csv", "record 1, feature 2: 'x' is not a number"),
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


def _response_bytes(response: dict[str, Any]) -> int:
    """The size of what Lambda sends back: the whole proxy response serialized."""
    return len(json.dumps(response).encode())


HUGE_TEXT = "ü" * (1024 * 1024)  # 2 MB of UTF-8


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (HUGE_TEXT, "text/csv", "record 1, feature 1: 'üüü"),
        (
            json.dumps({"instances": [[1, HUGE_TEXT]]}, ensure_ascii=False),
            "application/json",
            "record 1, feature 2",
        ),
        (
            json.dumps({HUGE_TEXT: 1}, ensure_ascii=False),
            "application/json",
            'needs an "instances"',
        ),
        ("1,2", HUGE_TEXT, "Content-Type 'üüü"),
    ],
)
def test_a_huge_non_ascii_value_is_quoted_as_a_short_excerpt(
    router: ModuleType, body: str, content_type: str, message: str
) -> None:
    response = router.handle(_event(body, content_type), ENVIRON, FakeEndpoints())
    assert _response_bytes(response) < 2000, "the answer does not repeat the value"
    status, answer = _answer(response)
    assert status == 400
    assert message in answer["error"]
    left_out = len(HUGE_TEXT) - router.EXCERPT_CHARS
    assert f"'… ({left_out} more characters)" in answer["error"]


def test_every_answer_stays_well_under_the_lambda_response_limit(router: ModuleType) -> None:
    assert router.MAX_RESPONSE_BYTES <= 5 * 1024 * 1024 < 6 * 1024 * 1024


def test_a_body_larger_than_lambda_accepts_is_a_413(router: ModuleType) -> None:
    endpoints = FakeEndpoints()
    body = "1,2\n" * (router.MAX_REQUEST_BYTES // 4 + 1)
    response = router.handle(_event(body, "text/csv"), ENVIRON, endpoints)
    status, answer = _answer(response)
    assert status == 413
    assert (
        f"the request body is {len(body)} bytes, more than the {router.MAX_REQUEST_BYTES}"
        in answer["error"]
    )
    assert "split the batch" in answer["error"]
    assert not endpoints.calls
    # Counted in UTF-8 bytes, not characters; base64 counted as sent.
    wide = _event('{"instances": [[1]], "note": "' + "ü" * (router.MAX_REQUEST_BYTES // 2) + '"}')
    assert _answer(router.handle(wide, ENVIRON, endpoints))[0] == 413
    encoded = base64.b64encode(b"1\n" * (router.MAX_REQUEST_BYTES // 2)).decode()
    assert _answer(router.handle(_event(encoded, isBase64Encoded=True), ENVIRON, endpoints))[0] == (
        413
    )


def test_records_the_endpoints_cannot_take_in_one_payload_are_a_413(router: ModuleType) -> None:
    # Each "1," of the JSON body becomes "1.0," in the CSV sent to the endpoints.
    endpoints = FakeEndpoints()
    features = [1] * (router.MAX_ENDPOINT_PAYLOAD_BYTES // 4 + 1)
    status, answer = _answer(router.handle(_event({"instances": [features]}), ENVIRON, endpoints))
    assert status == 413
    assert "more than the 6291456 bytes (6 MB) a SageMaker endpoint accepts" in answer["error"]
    assert not endpoints.calls


def test_an_answer_too_large_for_lambda_is_a_413_saying_how_many_records_fit(
    router: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router, "MAX_RESPONSE_BYTES", 4000)
    environ = {**ENVIRON, "MAX_RECORDS": "1000"}
    response = router.handle(_event({"instances": [[1]] * 400}), environ, FakeEndpoints())
    status, answer = _answer(response)
    assert status == 413
    assert "the answer to 400 records is " in answer["error"]
    assert "more than the 4000 bytes a Lambda response may carry" in answer["error"]
    assert _response_bytes(response) <= 4000
    fits = int(answer["error"].rsplit("send at most ", 1)[1].split()[0])
    assert 0 < fits < 400
    smaller = router.handle(_event({"instances": [[1]] * fits}), environ, FakeEndpoints())
    assert _answer(smaller)[0] == 200 and _response_bytes(smaller) <= 4000

    # An error answer never comes near the cap; if one did, a short 500 would go instead.
    monkeypatch.setattr(router, "MAX_RESPONSE_BYTES", 150)
    response = router.handle(_event({"instances": [["a long enough value"]]}), environ)
    assert _answer(response) == (500, {"error": "internal error in the router; see its logs"})


def test_a_huge_endpoint_error_is_shortened(router: ModuleType) -> None:
    def verbose(endpoint: str, payload: str) -> str:
        raise RuntimeError("model said: " + "é" * 3_000_000)

    response = router.handle(_event({"instances": [[1]]}), ENVIRON, verbose)
    assert _response_bytes(response) < 5000
    status, answer = _answer(response)
    assert status == 502 and answer["endpoint"] in ENVIRON.values()
    assert "RuntimeError: model said: éé" in answer["error"]
    assert f"… ({3_000_000 + 26 - router.MESSAGE_CHARS} more characters)" in answer["error"]


def test_non_finite_predictions_are_never_answered(
    router: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nan_answer(endpoint: str, payload: str) -> str:
        return "nan\n" if endpoint == "linear" else "1.0\n"

    status, answer = _answer(router.handle(_event({"instances": [[1]]}), ENVIRON, nan_answer))
    assert status == 502 and answer["endpoint"] == "linear"
    assert "answered 'nan', which is not a finite number" in answer["error"]

    def overflowing(predictions: list[float]) -> float:
        return predictions[0] * 1e308

    monkeypatch.setattr(router, "combine", overflowing)
    response = router.handle(_event({"instances": [[1]]}), ENVIRON, FakeEndpoints())
    status, answer = _answer(response)
    assert status == 500
    assert "the combining rule 'overflowing' gave inf for record 1" in answer["error"]
    assert "NaN" not in response["body"] and "Infinity" not in response["body"]


def test_deeply_nested_json_is_a_400(router: ModuleType) -> None:
    status, answer = _answer(router.handle(_event("[" * 100_000), ENVIRON, FakeEndpoints()))
    assert status == 400
    assert "nested too deeply" in answer["error"]


def test_a_batch_over_max_records_is_refused_before_its_values_are_read(
    router: ModuleType,
) -> None:
    environ = {**ENVIRON, "MAX_RECORDS": "2"}
    csv_event = _event("1\n2\n3\nnot-a-number\n", "text/csv")
    status, answer = _answer(router.handle(csv_event, environ, FakeEndpoints()))
    assert status == 413
    assert "more than the 2 records one request may carry" in answer["error"]
    json_event = _event({"instances": [[1], [2], [3], ["x"]]})
    status, answer = _answer(router.handle(json_event, environ, FakeEndpoints()))
    assert status == 413 and "4 records is more than the 2" in answer["error"]


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


# --------------------------------------------------------------------------- multiclass


class ClassEndpoints:
    """Two multiclass endpoints answering 3 probabilities per record, as CSV lines or JSON."""

    def __init__(
        self, answers: dict[str, list[list[float]]], as_json: tuple[str, ...] = ()
    ) -> None:
        self.answers = answers
        self.as_json = as_json

    def __call__(self, endpoint: str, payload: str) -> str:
        rows = self.answers[endpoint][: len(payload.splitlines())]
        if endpoint in self.as_json:
            return json.dumps({"predictions": [{"score": row} for row in rows]})
        return "".join(",".join(str(p) for p in row) + "\n" for row in rows)


PROBABILITIES = {
    "xgb": [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]],
    "linear": [[0.2, 0.5, 0.3], [0.2, 0.2, 0.6]],
}


@pytest.mark.parametrize("as_json", [(), ("linear",), ("xgb", "linear")])
def test_multiclass_answers_combine_probabilities_class_by_class(
    router: ModuleType, as_json: tuple[str, ...]
) -> None:
    event = _event({"instances": [[1, 2], [3, 4]]})
    status, body = _answer(router.handle(event, ENVIRON, ClassEndpoints(PROBABILITIES, as_json)))
    assert status == 200, body
    assert body["endpoints"] == PROBABILITIES
    assert body["predictions"] == [
        {"class": 0, "probabilities": [0.7, 0.5, 0.3]},
        {"class": 2, "probabilities": [0.2, 0.3, 0.6]},
    ]
    environ = {**ENVIRON, "COMBINE_RULE": "mean", "CLASSES": '["red", "white", "rose"]'}
    status, body = _answer(router.handle(event, environ, ClassEndpoints(PROBABILITIES)))
    assert [p["class"] for p in body["predictions"]] == ["red", "rose"]
    np.testing.assert_allclose(body["predictions"][0]["probabilities"], [0.45, 0.35, 0.2])
    environ = {**ENVIRON, "COMBINE_RULE": "primary", "CLASSES": '["red", "white", "rose"]'}
    status, body = _answer(router.handle(event, environ, ClassEndpoints(PROBABILITIES)))
    assert body["predictions"][0] == {"class": "red", "probabilities": [0.7, 0.2, 0.1]}


def test_one_multiclass_record_is_not_read_as_three_records(router: ModuleType) -> None:
    event = _event({"instances": [1, 2]})
    status, body = _answer(router.handle(event, ENVIRON, ClassEndpoints(PROBABILITIES)))
    assert status == 200 and body["predictions"] == [{"class": 0, "probabilities": [0.7, 0.5, 0.3]}]


def test_multiclass_mismatches_are_named(router: ModuleType) -> None:
    event = _event({"instances": [[1, 2], [3, 4]]})
    mixed = {"xgb": PROBABILITIES["xgb"], "linear": [[0.4], [0.6]]}
    status, body = _answer(router.handle(event, ENVIRON, ClassEndpoints(mixed)))
    assert status == 502 and body["endpoint"] == "linear"
    assert "answered one number per record but xgb answered 3 probabilities" in body["error"]
    ragged = {"xgb": [[0.5, 0.5], [0.2, 0.2, 0.6]], "linear": PROBABILITIES["linear"]}
    status, body = _answer(router.handle(event, ENVIRON, ClassEndpoints(ragged)))
    assert status == 502 and "answered records of different widths [2, 3]" in body["error"]
    environ = {**ENVIRON, "CLASSES": '["a", "b"]'}
    status, body = _answer(router.handle(event, environ, ClassEndpoints(PROBABILITIES)))
    assert status == 500
    assert "CLASSES names 2 classes but the endpoints answer 3 probabilities" in body["error"]
    environ = {**ENVIRON, "CLASSES": "a,b,c"}
    status, body = _answer(router.handle(event, environ, ClassEndpoints(PROBABILITIES)))
    assert status == 500 and "CLASSES='a,b,c' must be a JSON list of class labels" in body["error"]
    bad = {"xgb": [[0.5, "nan", 0.5], [0.2, 0.2, 0.6]], "linear": PROBABILITIES["linear"]}
    status, body = _answer(router.handle(event, ENVIRON, ClassEndpoints(bad)))
    assert status == 502 and "'nan', which is not a finite number" in body["error"]


@pytest.fixture(scope="module")
def two_class_endpoints(conn: mlaccel.Connection) -> Iterator[dict[str, Any]]:
    """Two multi:softprob XGBoost endpoints on the twin, trained on different halves."""
    rng = np.random.default_rng(4)
    features = rng.random((150, 3))
    label = np.digitize(features[:, 0] + 0.3 * features[:, 1], [0.5, 0.9])
    boosters, names = {}, {}
    for key, rows in (("a", slice(0, 75)), ("b", slice(75, 150))):
        boosters[key] = xgb.train(
            {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "nthread": 1},
            xgb.DMatrix(features[rows], label=label[rows]),
            num_boost_round=8,
        )
        names[key] = f"router-classes-{key}-{uuid.uuid4().hex[:6]}"
        raw = bytes(boosters[key].save_raw("ubj"))
        inference.deploy_model(
            names[key],
            model_data=_model_data(conn, {"xgboost-model": raw}),
            data_capture=False,
            connection=conn,
        )
    yield {"names": names, "boosters": boosters}
    for name in names.values():
        inference.delete_endpoint(name, connection=conn)


def test_router_on_multiclass_endpoints_answers_classes(
    router: ModuleType, two_class_endpoints: dict[str, Any]
) -> None:
    names, boosters = two_class_endpoints["names"], two_class_endpoints["boosters"]
    environ = {
        "PRIMARY_ENDPOINT_NAME": names["a"],
        "SECONDARY_ENDPOINT_NAME": names["b"],
        "COMBINE_RULE": "mean",
        "CLASSES": '["low", "mid", "high"]',
    }
    rows = np.round(np.random.default_rng(6).random((6, 3)), 4)
    status, answer = _answer(router.handle(_event({"instances": rows.tolist()}), environ))
    assert status == 200, answer
    expected = {k: b.predict(xgb.DMatrix(rows)) for k, b in boosters.items()}
    for key in ("a", "b"):
        np.testing.assert_allclose(answer["endpoints"][names[key]], expected[key], rtol=1e-5)
    mean = (expected["a"] + expected["b"]) / 2
    got = np.array([p["probabilities"] for p in answer["predictions"]])
    np.testing.assert_allclose(got, mean, rtol=1e-5)
    labels = ["low", "mid", "high"]
    assert [p["class"] for p in answer["predictions"]] == [labels[i] for i in mean.argmax(1)]
