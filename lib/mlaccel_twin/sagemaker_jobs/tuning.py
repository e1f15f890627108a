"""Hyperparameter tuning on the twin: trials sampled from the ranges, run as training jobs.

:func:`run_tuning` does what a SageMaker tuning job does with a
``CreateHyperParameterTuningJob`` request: it samples the ranges (``Grid`` walks them, the
other strategies sample them at random, seeded by the request's ``RandomSeed`` or else the job's
name), starts each trial as a training job through the twin's own SageMaker API, at most
``MaxParallelTrainingJobs`` (and two, the machine's cores) at a time, and picks the best trial by
the objective metric.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_PARALLEL_TRIALS = 2  # the machine the twin targets has two cores
TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True)
class TuningOutcome:
    """How a tuning job ended: its status, the best trial's summary, or the failure reason."""

    status: str
    best: dict[str, Any] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TuningPlan:
    """The trials of a tuning job: their hyperparameters, how many run at once, the objective."""

    name: str
    definition: dict[str, Any]
    objective: dict[str, str]
    samples: list[dict[str, str]]
    parallel: int

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> TuningPlan:
        """The plan of a ``CreateHyperParameterTuningJob`` request (PascalCase, as sent)."""
        name = request["HyperParameterTuningJobName"]
        config = request["HyperParameterTuningJobConfig"]
        limits = config.get("ResourceLimits", {})
        total = int(limits.get("MaxNumberOfTrainingJobs", 1))
        ranges = config.get("ParameterRanges", {})
        samples = (
            grid(ranges)[:total]
            if config.get("Strategy") == "Grid"
            else sample_hyperparameters(ranges, total, seed=search_seed(config, name))
        )
        return cls(
            name=name,
            definition=request.get("TrainingJobDefinition") or request["TrainingJobDefinitions"][0],
            objective=config["HyperParameterTuningJobObjective"],
            samples=samples,
            parallel=max(
                1, min(int(limits.get("MaxParallelTrainingJobs", 1)), MAX_PARALLEL_TRIALS, total)
            ),
        )

    @property
    def metric(self) -> str:
        """The objective metric's name."""
        return self.objective["MetricName"]

    def waves(self) -> Iterator[list[tuple[int, dict[str, str]]]]:
        """The trials (numbered from 1) in groups of at most :attr:`parallel`."""
        numbered = list(enumerate(self.samples, start=1))
        for start in range(0, len(numbered), self.parallel):
            yield numbered[start : start + self.parallel]

    def trial_name(self, index: int) -> str:
        """A training job name of at most 63 characters, unique to this job and trial."""
        suffix = abs(hash((self.name, index))) % 16**8
        return f"{self.name[:22]}-{index:03d}-{suffix:08x}"


def run_tuning(
    client: Any,
    request: dict[str, Any],
    *,
    on_started: Callable[[str], None],
    on_finished: Callable[[dict[str, Any], bool], None],
) -> TuningOutcome:
    """Run every trial of a tuning request to its end and pick the best.

    ``on_started(trial)`` runs when a trial's training job is created, ``on_finished(described,
    scored)`` when it ends (``scored``: it reported the objective metric), so the caller can
    keep the tuning job's counters.
    """
    plan = TuningPlan.from_request(request)
    results: list[dict[str, Any]] = []
    for wave in plan.waves():
        trials = []
        for index, sampled in wave:
            trials.append(_start_trial(client, plan, index, sampled))
            on_started(trials[-1])
        for trial in trials:
            described = wait_for_training(client, trial)
            results.append(described)
            on_finished(described, objective_value(described, plan.metric) is not None)
    best = best_trial(results, plan.objective)
    if best is None:
        return TuningOutcome(
            "Failed", reason=f"No training job reported the objective metric {plan.metric}"
        )
    return TuningOutcome("Completed", best=trial_summary(best, plan.objective, plan.name))


def _start_trial(client: Any, plan: TuningPlan, index: int, sampled: dict[str, str]) -> str:
    trial = plan.trial_name(index)
    client.create_training_job(**training_request_for(plan.definition, trial, sampled, plan.metric))
    return trial


def objective_value(described: dict[str, Any], metric: str) -> float | None:
    """The final value of ``metric`` in a ``DescribeTrainingJob`` answer, if it reported one.

    Examples
    --------
    >>> objective_value({"FinalMetricDataList": [{"MetricName": "auc", "Value": 0.9}]}, "auc")
    0.9
    """
    for item in described.get("FinalMetricDataList", []):
        if item["MetricName"] == metric:
            return float(item["Value"])
    return None


def best_trial(results: list[dict[str, Any]], objective: dict[str, str]) -> dict[str, Any] | None:
    """The completed trial with the best objective value (``Minimize`` or ``Maximize``)."""
    scored = [
        (v, r)
        for r in results
        if r["TrainingJobStatus"] == "Completed"
        and (v := objective_value(r, objective["MetricName"])) is not None
    ]
    if not scored:
        return None
    pick = min if objective["Type"] == "Minimize" else max
    return pick(scored, key=lambda item: item[0])[1]


def trial_summary(
    described: dict[str, Any], objective: dict[str, str], tuning: str
) -> dict[str, Any]:
    """A ``HyperParameterTrainingJobSummary`` of one trial, as the tuning API lists it."""
    value = objective_value(described, objective["MetricName"])
    created = described["CreationTime"]
    summary = {
        "TrainingJobName": described["TrainingJobName"],
        "TrainingJobArn": described["TrainingJobArn"],
        "TuningJobName": tuning,
        "CreationTime": created,
        "TrainingStartTime": described.get("TrainingStartTime", created),
        "TrainingEndTime": described.get("TrainingEndTime", created),
        "TrainingJobStatus": described["TrainingJobStatus"],
        "TunedHyperParameters": {
            k: v
            for k, v in described.get("HyperParameters", {}).items()
            if not k.startswith(("_", "sagemaker_"))
        },
        "ObjectiveStatus": "Succeeded" if value is not None else "Failed",
    }
    if value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
    return summary


def sorted_summaries(
    summaries: list[dict[str, Any]], sort_by: str, order: str
) -> list[dict[str, Any]]:
    """Trials in ListTrainingJobsForHyperParameterTuningJob's order: by ``Name``,
    ``CreationTime``, ``Status`` or ``FinalObjectiveMetricValue`` (trials without a value
    last, whichever the order).

    Examples
    --------
    >>> rows = [{"TrainingJobName": n, "FinalHyperParameterTuningJobObjectiveMetric":
    ...          {"Value": v}} for n, v in (("a", 0.3), ("b", 0.1))] + [{"TrainingJobName": "c"}]
    >>> [r["TrainingJobName"] for r in sorted_summaries(rows, "FinalObjectiveMetricValue",
    ...                                                 "Descending")]
    ['a', 'b', 'c']
    """
    descending = order == "Descending"
    if sort_by == "FinalObjectiveMetricValue":
        scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        unscored = [s for s in summaries if s not in scored]
        scored.sort(
            key=lambda s: float(s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]),
            reverse=descending,
        )
        return scored + unscored
    key = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
    field = key.get(sort_by, "TrainingJobName")
    return sorted(summaries, key=lambda s: str(s.get(field, "")), reverse=descending)


def search_seed(config: dict[str, Any], job_name: str) -> str:
    """What seeds a tuning job's search: its ``RandomSeed`` when the request sets one (the same
    seed samples the same hyperparameters, as on SageMaker), else the job's own name.

    >>> search_seed({"RandomSeed": 7}, "tune-2026-01-01"), search_seed({}, "tune-2026-01-01")
    ('random-seed:7', 'tune-2026-01-01')
    """
    seed = config.get("RandomSeed")
    return job_name if seed is None else f"random-seed:{int(seed)}"


def sample_hyperparameters(ranges: dict[str, Any], count: int, seed: str) -> list[dict[str, str]]:
    """``count`` deterministic samples of the tuning ranges (Random; Bayesian samples alike)."""
    rng = random.Random(seed)
    samples = []
    for _ in range(count):
        values: dict[str, str] = {}
        for item in ranges.get("ContinuousParameterRanges", []):
            low, high = float(item["MinValue"]), float(item["MaxValue"])
            if item.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic") and low > 0:
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = rng.uniform(low, high)
            values[item["Name"]] = f"{value:.6g}"
        for item in ranges.get("IntegerParameterRanges", []):
            values[item["Name"]] = str(rng.randint(int(item["MinValue"]), int(item["MaxValue"])))
        for item in ranges.get("CategoricalParameterRanges", []):
            values[item["Name"]] = rng.choice(item["Values"])
        samples.append(values)
    return samples


def grid(ranges: dict[str, Any]) -> list[dict[str, str]]:
    """Every combination of the categorical and integer ranges (the ``Grid`` strategy).

    Examples
    --------
    >>> grid({"IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "3"}]})
    [{'depth': '2'}, {'depth': '3'}]
    """
    items = [(i["Name"], i["Values"]) for i in ranges.get("CategoricalParameterRanges", [])]
    items += [
        (i["Name"], [str(v) for v in range(int(i["MinValue"]), int(i["MaxValue"]) + 1)])
        for i in ranges.get("IntegerParameterRanges", [])
    ]
    names = [n for n, _ in items]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*[v for _, v in items])
    ]


def training_request_for(
    definition: dict[str, Any], name: str, sampled: dict[str, str], objective: str
) -> dict[str, Any]:
    """The CreateTrainingJob request of one tuning trial."""
    hyper = {
        **(definition.get("StaticHyperParameters") or {}),
        **sampled,
        "_tuning_objective_metric": objective,
    }
    request = {
        "TrainingJobName": name,
        "HyperParameters": hyper,
        "AlgorithmSpecification": definition["AlgorithmSpecification"],
        "RoleArn": definition["RoleArn"],
        "InputDataConfig": definition.get("InputDataConfig", []),
        "OutputDataConfig": definition["OutputDataConfig"],
        "ResourceConfig": definition.get("ResourceConfig")
        or definition.get("HyperParameterTuningResourceConfig")
        or {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": definition.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
    }
    if definition.get("Environment"):
        request["Environment"] = definition["Environment"]
    return request


def wait_for_training(client: Any, name: str, poll: float = 0.3) -> dict[str, Any]:
    """The description of training job ``name`` once it has ended."""
    while True:
        described = client.describe_training_job(TrainingJobName=name)
        if described["TrainingJobStatus"] in TERMINAL:
            return dict(described)
        time.sleep(poll)
