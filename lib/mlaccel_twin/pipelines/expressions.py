"""A SageMaker Pipeline definition's expressions and conditions, evaluated as the service does.

A definition (the JSON the SDK sends as ``PipelineDefinition``) refers to values known only
while it runs: ``{"Get": "Parameters.InstanceType"}``, ``{"Get": "Execution.PipelineExecutionId"}``,
``{"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}`` (a step's Describe answer),
``{"Std:Join": ...}`` and ``{"Std:JsonGet": ...}`` (a value of a property file a processing step
wrote). These functions are pure: a :class:`Context` holds what is known so far, and reading a
property file goes through the function it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"([A-Za-z_][\w:-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)")


@dataclass
class Context:
    """What an execution knows: its parameters, ids, and each finished step's properties."""

    parameters: dict[str, Any]
    execution: dict[str, Any]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: dict[str, dict[str, str]] = field(default_factory=dict)  # step: name: uri
    read_json: Callable[[str], Any] = lambda uri: {}


def evaluate(value: Any, context: Context) -> Any:
    """``value`` with every expression in it replaced by what it stands for.

    Examples
    --------
    >>> ctx = Context({"Rows": 5}, {"PipelineExecutionId": "abc"},
    ...               {"Prep": {"ProcessingOutputConfig": {"Outputs": [
    ...                   {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}}]}}})
    >>> uri = {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    >>> run = {"Get": "Execution.PipelineExecutionId"}
    >>> name = {"Std:Join": {"On": "-", "Values": ["run", run]}}
    >>> evaluate({"n": {"Get": "Parameters.Rows"}, "uri": uri, "name": name}, ctx)
    {'n': 5, 'uri': 's3://b/train', 'name': 'run-abc'}
    """
    if isinstance(value, list):
        return [evaluate(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(str(value["Get"]), context)
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return str(join.get("On", "")).join(_text(evaluate(v, context)) for v in join["Values"])
    if set(value) == {"Std:JsonGet"}:
        return _json_get(value["Std:JsonGet"], context)
    return {key: evaluate(item, context) for key, item in value.items()}


def condition_holds(condition: dict[str, Any], context: Context) -> bool:
    """Whether one condition of a Condition step holds.

    Examples
    --------
    >>> ctx = Context({"Bar": 0.5}, {})
    >>> condition_holds({"Type": "GreaterThanOrEqualTo", "LeftValue": 0.7,
    ...                  "RightValue": {"Get": "Parameters.Bar"}}, ctx)
    True
    >>> condition_holds({"Type": "Not", "Expression": {"Type": "In", "QueryValue": "b",
    ...                  "Values": ["a", "b"]}}, ctx)
    False
    """
    kind = condition["Type"]
    if kind == "Not":
        return not condition_holds(condition["Expression"], context)
    if kind == "Or":
        return any(condition_holds(c, context) for c in condition["Conditions"])
    if kind == "In":
        query = evaluate(condition["QueryValue"], context)
        return any(query == evaluate(v, context) for v in condition["Values"])
    left = evaluate(condition["LeftValue"], context)
    right = evaluate(condition["RightValue"], context)
    if kind == "Equals":
        return bool(left == right)
    left, right = float(left), float(right)
    comparisons = {
        "GreaterThan": left > right,
        "GreaterThanOrEqualTo": left >= right,
        "LessThan": left < right,
        "LessThanOrEqualTo": left <= right,
    }
    if kind not in comparisons:
        raise ValueError(f"condition type {kind!r} is not one SageMaker Pipelines knows")
    return comparisons[kind]


def referenced_steps(value: Any) -> set[str]:
    """The steps whose properties ``value`` reads (they must run first).

    Examples
    --------
    >>> sorted(referenced_steps({"a": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
    ...     "b": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
    ...                           "Path": "mse"}}}))
    ['Eval', 'Train']
    """
    if isinstance(value, list):
        return set().union(*(referenced_steps(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    if isinstance(value.get("Get"), str):
        match = _STEP_REFERENCE.match(value["Get"])
        if match:
            found.add(match.group(1))
    for item in value.values():
        found |= referenced_steps(item)
    return found


def lookup(root: Any, path: str) -> Any:
    """A value at ``path`` (``A.B['name'].C[0]``) in a Describe answer; a list index by name
    picks the item naming it (``OutputName``, ``MetricName``, ...).

    Examples
    --------
    >>> lookup({"FinalMetricDataList": [{"MetricName": "validation:rmse", "Value": 2.5}]},
    ...        "FinalMetricDataList['validation:rmse'].Value")
    2.5
    """
    value = root
    for name, index, key, quoted in _TOKEN.findall(path):
        if name:
            value = value[name]
        elif index:
            value = value[int(index)]
        else:
            wanted = key or quoted
            if isinstance(value, dict):
                value = value[wanted]
            else:
                value = next(item for item in value if wanted in item.values())
    return value


def _get(reference: str, context: Context) -> Any:
    head, _, rest = reference.partition(".")
    if head == "Parameters":
        if rest not in context.parameters:
            raise KeyError(f"the pipeline has no parameter {rest!r}")
        return context.parameters[rest]
    if head == "Execution":
        return context.execution[rest]
    if head == "Steps":
        step, _, path = rest.partition(".")
        if step not in context.properties:
            raise KeyError(f"step {step!r} has not run, so {reference} has no value")
        return lookup(context.properties[step], path) if path else context.properties[step]
    raise KeyError(f"{reference!r} is not a value SageMaker Pipelines knows")


def _json_get(spec: dict[str, Any], context: Context) -> Any:
    reference = spec["PropertyFile"]
    if isinstance(reference, dict):
        reference = str(reference["Get"])
    _, step, _, name = [*reference.split("."), "", "", "", ""][:4]
    files = context.property_files.get(step, {})
    if name not in files:
        raise KeyError(f"step {step!r} declares no property file {name!r}")
    document = context.read_json(files[name])
    return lookup(document, str(evaluate(spec["Path"], context)))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
