"""A notebook's parameter spec: types as a notebook means them, ranges, choices, empty strings,
and a spec that is itself wrong."""

from __future__ import annotations

import pytest

from mlaccel.errors import MLAccelInputError
from mlaccel.parameters import check_parameters, parameter_problems, spec_from_source, spec_problems


@pytest.mark.parametrize(
    ("spec", "value", "problem"),
    [
        ({"type": "int", "min": 1}, True, "n=True must be an int of at least 1 (it is a bool)"),
        ({"type": "int"}, 2.0, "n=2.0 must be an int (it is a float)"),
        (
            {"type": "float", "min": 0},
            False,
            "n=False must be a number of at least 0 (it is a bool)",
        ),
        ({"type": "float"}, float("nan"), "n=nan must be a number (it is not finite)"),
        ({"type": "bool"}, 0, "n=0 must be True or False (it is an int)"),
        ({"type": "str"}, "", "n='' must be a str (not empty)"),
        (
            {"type": "str", "choices": ["s3", "athena"]},
            "S3",
            "n='S3' must be one of 's3', 'athena'",
        ),
        ({"type": "float", "above": 0, "below": 1}, 1, "n=1 must be a number above 0 and below 1"),
        ({"type": "int", "min": 1, "max": 10}, 11, "n=11 must be an int from 1 to 10"),
    ],
)
def test_a_value_outside_its_spec_is_named_with_what_is_allowed(
    spec: dict[str, object], value: object, problem: str
) -> None:
    assert parameter_problems({"n": value}, {"n": spec}) == {"n": problem}


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ({"type": "float", "min": 0}, 3),  # an int where a float is expected
        ({"type": "float", "above": 0, "below": 1}, 0.5),
        ({"type": "str", "allow_empty": True}, ""),  # "" means the notebook's default
        ({"type": "bool"}, False),
        ({"type": "int", "min": 0, "max": 0}, 0),
    ],
)
def test_a_value_inside_its_spec_passes(spec: dict[str, object], value: object) -> None:
    assert parameter_problems({"n": value}, {"n": spec}) == {}


def test_check_parameters_lists_every_problem_and_every_missing_name() -> None:
    specs = {
        "n_rows": {"type": "int", "min": 1},
        "seed": {"type": "int", "min": 0},
        "backend": {"type": "str", "choices": ["local", "aws"]},
    }

    with pytest.raises(MLAccelInputError) as raised:
        check_parameters({"n_rows": -5, "backend": "cloud", "other": 1}, specs)

    assert str(raised.value).splitlines() == [
        "3 parameters are not valid; change them in the parameters cell "
        "(or pass other values, e.g. papermill -p NAME VALUE):",
        "  seed is not assigned; assign it in the parameters cell",
        "  n_rows=-5 must be an int of at least 1",
        "  backend='cloud' must be one of 'local', 'aws'",
    ]


def test_a_wrong_spec_is_refused_before_any_value_is_checked() -> None:
    specs = {
        "n_rows": {"type": "integer"},
        "name": {"type": "str", "min": 1},
        "jobs": {"type": "int", "max": "workers"},
        "mode": {"type": "str", "choices": [1, 2]},
    }

    assert spec_problems(specs) == [
        "n_rows: type 'integer' is unknown; use one of 'int', 'float', 'bool', 'str'",
        "name: min only apply to 'int' and 'float', not 'str'",
        "jobs: max='workers' must name another 'int' or 'float' parameter of the spec",
        "mode: every choice must be of type 'str': [1, 2]",
    ]
    with pytest.raises(MLAccelInputError, match=r"^the parameter spec passed to check_parameters"):
        check_parameters({"n_rows": 1}, specs)


def test_the_runner_reads_only_a_literal_spec() -> None:
    assert spec_from_source(
        "from mlaccel.parameters import check_parameters\n"
        "check_parameters(globals(), {'n': {'type': 'int', 'min': 1}})  # checked"
    ) == {"n": {"type": "int", "min": 1}}
    with pytest.raises(MLAccelInputError, match=r"^line 1: the spec given to check_parameters"):
        spec_from_source("check_parameters(globals(), dict(n={'type': 'int'}))")
