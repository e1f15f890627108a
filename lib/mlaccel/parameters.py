"""What a notebook's parameters may be, declared once and checked before any work starts.

A kit notebook keeps its ``parameters`` cell plain literals (papermill and SageMaker Studio
need that) and declares, in the next cell (tagged ``validate-parameters``), the type and allowed
values of each parameter::

    from mlaccel.parameters import check_parameters

    check_parameters(globals(), {"n_rows": {"type": "int", "min": 1}, ...})

Run alone, the notebook stops in that cell with every problem listed. The suite runner
(:mod:`mlaccel.notebooks`) reads the same literal with :func:`spec_from_source` and checks the
values of every notebook before any kernel starts.

A parameter's spec is a mapping with these keys (only ``type`` is required):

``type``
    ``"int"``, ``"float"`` (an int is accepted too), ``"bool"`` or ``"str"``. A bool is not an
    int here, though Python says it is.
``min``, ``max``
    Inclusive bounds: a number, or the name of another parameter (``"max": "tuning_jobs"``).
``above``, ``below``
    Exclusive bounds (numbers).
``choices``
    The values allowed.
``allow_empty``
    A ``str`` may be ``""`` (the notebook then uses its own default); without it, it may not.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Any

from mlaccel.errors import MLAccelInputError

__all__ = [
    "SPEC_KEYS",
    "TYPES",
    "check_parameters",
    "describe",
    "parameter_problems",
    "spec_from_source",
    "spec_problems",
]

Spec = Mapping[str, Any]
Specs = Mapping[str, Spec]

TYPES = ("int", "float", "bool", "str")
SPEC_KEYS = ("type", "min", "max", "above", "below", "choices", "allow_empty")
_NUMERIC = ("int", "float")
_CHECK_FUNCTION = "check_parameters"


def check_parameters(namespace: Mapping[str, Any], specs: Specs) -> None:
    """Raise one error listing every parameter in ``namespace`` that breaks its spec.

    ``namespace`` is the notebook's ``globals()``: the values the parameters cell assigned,
    or papermill injected after it.

    Examples
    --------
    >>> check_parameters({"n_rows": 10}, {"n_rows": {"type": "int", "min": 1}})
    >>> check_parameters({"n_rows": -5}, {"n_rows": {"type": "int", "min": 1}})
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: 1 parameter is not valid; change it in the parameters cell (or pass another value, e.g. papermill -p NAME VALUE):
      n_rows=-5 must be an int of at least 1
    """  # noqa: E501
    wrong_spec = spec_problems(specs)
    if wrong_spec:
        raise MLAccelInputError(
            "the parameter spec passed to check_parameters is not valid; fix it:\n"
            + "\n".join(f"  {problem}" for problem in wrong_spec)
        )
    missing = [name for name in specs if name not in namespace]
    problems = [f"{name} is not assigned; assign it in the parameters cell" for name in missing]
    values = {name: namespace[name] for name in specs if name in namespace}
    problems += list(parameter_problems(values, specs).values())
    if len(problems) == 1:
        head = "1 parameter is not valid; change it in the parameters cell (or pass another value"
    else:
        head = f"{len(problems)} parameters are not valid; change them in the parameters cell "
        head += "(or pass other values"
    if problems:
        raise MLAccelInputError(
            f"{head}, e.g. papermill -p NAME VALUE):\n"
            + "\n".join(f"  {problem}" for problem in problems)
        )


def parameter_problems(values: Mapping[str, Any], specs: Specs) -> dict[str, str]:
    """For each value in ``values`` that breaks its spec, the parameter's name and why.

    Values without a spec, and specs without a value, are not this function's concern.

    Examples
    --------
    >>> specs = {"tuning_jobs": {"type": "int", "min": 1},
    ...          "parallel_jobs": {"type": "int", "min": 1, "max": "tuning_jobs"},
    ...          "approve": {"type": "bool"}}
    >>> parameter_problems({"tuning_jobs": 4, "parallel_jobs": 2, "approve": True}, specs)
    {}
    >>> for why in parameter_problems(
    ...     {"tuning_jobs": "four", "parallel_jobs": 2, "approve": 1}, specs
    ... ).values():
    ...     print(why)
    tuning_jobs='four' must be an int of at least 1 (it is a str)
    approve=1 must be True or False (it is an int)
    >>> parameter_problems({"tuning_jobs": 4, "parallel_jobs": 5}, specs)["parallel_jobs"]
    'parallel_jobs=5 must be an int from 1 to tuning_jobs (4)'
    """
    problems = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is not None and not _is_allowed(value, spec, values):
            problems[name] = f"{name}={value!r} must be {describe(spec, values)}" + _type_note(
                value, spec
            )
    return problems


def describe(spec: Spec, values: Mapping[str, Any] | None = None) -> str:
    """What ``spec`` allows, in words; ``values`` resolves bounds named after other parameters.

    Examples
    --------
    >>> describe({"type": "float", "above": 0, "below": 1})
    'a number above 0 and below 1'
    >>> describe({"type": "str", "choices": ["local", "aws"]})
    "one of 'local', 'aws'"
    >>> describe({"type": "int", "min": 100, "max": 50_000_000})
    'an int from 100 to 50,000,000'
    >>> describe({"type": "str", "allow_empty": True})
    "a str ('' for the notebook's default)"
    """
    values = values or {}
    if "choices" in spec:
        empty = " or '' for the notebook's default" if spec.get("allow_empty") else ""
        return "one of " + ", ".join(repr(choice) for choice in spec["choices"]) + empty
    kind = spec["type"]
    if kind == "bool":
        return "True or False"
    if kind == "str":
        empty = "('' for the notebook's default)" if spec.get("allow_empty") else "(not empty)"
        return f"a str {empty}"
    noun = "an int" if kind == "int" else "a number"
    low, high = (_bound_text(spec.get(key), values) for key in ("min", "max"))
    parts = [f"from {low} to {high}"] if low and high else []
    if not parts:
        parts += [f"of at least {low}"] if low else []
        parts += [f"of at most {high}"] if high else []
    parts += [f"above {_number(spec['above'])}"] if "above" in spec else []
    parts += [f"below {_number(spec['below'])}"] if "below" in spec else []
    return " ".join([noun, " and ".join(parts)]) if parts else noun


def spec_problems(specs: Any) -> list[str]:
    """What is wrong with a spec itself (unknown keys, bounds on a str, ...); empty if nothing.

    Examples
    --------
    >>> spec_problems({"n_rows": {"type": "int", "mn": 1}})
    ["n_rows: unknown key 'mn'; a spec may have type, min, max, above, below, choices, allow_empty"]
    >>> spec_problems({"backend": {"choices": ["local", "aws"]}})
    ["backend: 'type' is missing; use one of 'int', 'float', 'bool', 'str'"]
    """
    if not isinstance(specs, Mapping):
        return [f"the spec must be a mapping of parameter names to specs, not {specs!r}"]
    problems = []
    for name, spec in specs.items():
        if not isinstance(spec, Mapping):
            problems.append(f"{name}: its spec must be a mapping such as {{'type': 'int'}}")
            continue
        problems += [f"{name}: {why}" for why in _one_spec_problems(spec, specs)]
    return problems


def spec_from_source(source: str) -> dict[str, dict[str, Any]] | None:
    """The literal spec of the ``check_parameters(globals(), {...})`` call in a cell's source.

    ``None`` when the cell does not call :func:`check_parameters`; an error when the call's
    spec is not a literal (the runner reads it without running the notebook).

    Examples
    --------
    >>> spec_from_source('check_parameters(globals(), {"seed": {"type": "int", "min": 0}})')
    {'seed': {'type': 'int', 'min': 0}}
    >>> spec_from_source("print('no check here')") is None
    True
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _called_name(node.func) == _CHECK_FUNCTION:
            if len(node.args) != 2:
                raise MLAccelInputError(
                    f"line {node.lineno}: call check_parameters(globals(), {{...}}) with the "
                    "spec as its second argument"
                )
            try:
                spec = ast.literal_eval(node.args[1])
            except ValueError as exc:
                raise MLAccelInputError(
                    f"line {node.lineno}: the spec given to check_parameters must be a literal "
                    "dict (no names or calls), so the suite runner can read it"
                ) from exc
            if not isinstance(spec, dict):
                raise MLAccelInputError(
                    f"line {node.lineno}: the spec given to check_parameters must be a dict"
                )
            return spec
    return None


# -------------------------------------------------------------------- checking one value


def _is_allowed(value: Any, spec: Spec, values: Mapping[str, Any]) -> bool:
    if not _has_type(value, spec["type"]):
        return False
    if value == "" and spec.get("allow_empty"):  # "" stands for the notebook's default
        return True
    if "choices" in spec:
        return value in spec["choices"]
    if spec["type"] == "str":
        return bool(value) or bool(spec.get("allow_empty"))
    if spec["type"] in _NUMERIC:
        return _in_range(value, spec, values)
    return True


def _has_type(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):  # True is an int to Python, not to a parameter
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, str)


def _in_range(value: float, spec: Spec, values: Mapping[str, Any]) -> bool:
    low, high = (_resolve(spec.get(key), values) for key in ("min", "max"))
    return (
        (low is None or value >= low)
        and (high is None or value <= high)
        and ("above" not in spec or value > spec["above"])
        and ("below" not in spec or value < spec["below"])
    )


def _resolve(bound: Any, values: Mapping[str, Any]) -> float | None:
    """A bound's number; a bound naming a parameter whose value is no number checks nothing
    (that parameter's own spec reports it)."""
    if isinstance(bound, str):
        bound = values.get(bound)
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return None
    return bound


def _bound_text(bound: Any, values: Mapping[str, Any]) -> str:
    if bound is None:
        return ""
    if isinstance(bound, str):
        resolved = _resolve(bound, values)
        return bound if resolved is None else f"{bound} ({_number(resolved)})"
    return _number(bound)


def _number(value: float) -> str:
    return f"{value:,}"


def _type_note(value: Any, spec: Spec) -> str:
    if _has_type(value, spec["type"]):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return " (it is not finite)"
    return f" (it is {_article(type(value).__name__)})"


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


# -------------------------------------------------------------------- checking a spec


def _one_spec_problems(spec: Spec, specs: Specs) -> list[str]:
    unknown = [key for key in spec if key not in SPEC_KEYS]
    if unknown:
        return [f"unknown key {key!r}; a spec may have {', '.join(SPEC_KEYS)}" for key in unknown]
    kind = spec.get("type")
    if kind not in TYPES:
        known = ", ".join(repr(t) for t in TYPES)
        got = "'type' is missing" if kind is None else f"type {kind!r} is unknown"
        return [f"{got}; use one of {known}"]
    problems = []
    bounds = [key for key in ("min", "max", "above", "below") if key in spec]
    if bounds and kind not in _NUMERIC:
        problems.append(f"{', '.join(bounds)} only apply to 'int' and 'float', not {kind!r}")
    for key in bounds:
        problems += _bound_problems(key, spec[key], specs)
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list | tuple) or not choices:
            problems.append("choices must be a non-empty list")
        elif not all(_has_type(choice, kind) for choice in choices):
            problems.append(f"every choice must be of type {kind!r}: {list(choices)!r}")
    if "allow_empty" in spec and (kind != "str" or not isinstance(spec["allow_empty"], bool)):
        problems.append("allow_empty must be True or False, and only for type 'str'")
    return problems


def _bound_problems(key: str, bound: Any, specs: Specs) -> list[str]:
    if isinstance(bound, str) and key in ("min", "max"):
        other = specs.get(bound)
        if not isinstance(other, Mapping) or other.get("type") not in _NUMERIC:
            return [f"{key}={bound!r} must name another 'int' or 'float' parameter of the spec"]
        return []
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return [f"{key}={bound!r} must be a number"]
    return []


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
