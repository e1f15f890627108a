"""Baselines and checks as mergeable partial results, so shards of a data set run apart.

Each shard (one instance of a distributed analyzer job, one file of many) gathers the same
running statistics a single pass would: counts, moments, a quantile summary, category counts
and, for a check, the counts between the baseline's quantile edges. Those merge exactly
(counts add; moments pool; summaries merge level by level), so the verdicts of a sharded
run are the verdicts of one process reading everything.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 50})
>>> parts = [baseline_partial(frame[:100]), baseline_partial(frame[100:])]
>>> merged = finish_baseline(merge_partials(parts))
>>> merged.statistics["dataset"]["item_count"]
200
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._baseline import baseline_from_profiles, profile_columns
from mlaccel.monitor._check import (
    CheckCounts,
    gather_check,
    new_checks,
    report_check,
)
from mlaccel.monitor._formats import Baseline, MonitoringConfig
from mlaccel.monitor._profile import ColumnStats, Moments
from mlaccel.monitor._sketch import QuantileSummary
from mlaccel.monitor._violations import Violations

BASELINE = "baseline"
CHECK = "check"


def baseline_partial(data: Any, **read_options: Any) -> dict[str, Any]:
    """A shard's share of a baseline, as JSON-ready state (see :func:`merge_partials`).

    ``read_options`` are :func:`compute_baseline`'s ``dataset_format``, ``columns``,
    ``batch_rows`` and ``boto3_session``.
    """
    profiles, item_count = profile_columns(data, **read_options)
    return {
        "kind": BASELINE,
        "item_count": item_count,
        "columns": {name: _stats_state(stats) for name, stats in profiles.items()},
    }


def check_partial(
    data: Any, baseline: Baseline, *, config: Any = None, **read_options: Any
) -> dict[str, Any]:
    """A shard's share of a check against ``baseline``, as JSON-ready state.

    ``read_options`` are :func:`check_against_baseline`'s ``dataset_format``, ``batch_rows``,
    ``boto3_session`` and ``column_names``.
    """
    settings = baseline.monitoring_config.with_overrides(config)
    gathered = gather_check(data, baseline, settings, **read_options)
    return {
        "kind": CHECK,
        "item_count": gathered.item_count,
        "seen": list(gathered.seen),
        "columns": {
            name: {
                "stats": _stats_state(check.stats),
                "matched": check.matched,
                "in_domain": check.in_domain,
            }
            for name, check in gathered.checks.items()
        },
        "extras": {name: _stats_state(stats) for name, stats in gathered.extras.items()},
    }


def merge_partials(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One partial result holding every shard's: counts added, summaries merged.

    Raises
    ------
    MLAccelInputError
        If there are no parts or they mix baselines and checks.
    """
    if not parts:
        raise MLAccelInputError("merge_partials needs at least one partial result")
    kinds = {part.get("kind") for part in parts}
    if len(kinds) != 1 or not kinds <= {BASELINE, CHECK}:
        raise MLAccelInputError(
            "partial results must all be baselines or all checks, got kinds "
            f"{sorted(map(str, kinds))}"
        )
    merged: dict[str, Any] = {"kind": parts[0]["kind"], "item_count": 0, "columns": {}}
    if merged["kind"] == CHECK:
        merged.update(seen=[], extras={})
    for part in parts:
        merged["item_count"] += int(part["item_count"])
        for name, state in part["columns"].items():
            merged["columns"][name] = _merge_column(merged["columns"].get(name), state)
        for name in part.get("seen", []):
            if name not in merged["seen"]:
                merged["seen"].append(name)
        for name, state in part.get("extras", {}).items():
            held = merged["extras"].get(name)
            merged["extras"][name] = state if held is None else _merge_stats(held, state)
    return merged


def finish_baseline(partial: dict[str, Any], *, config: Any = None) -> Baseline:
    """The baseline of a (merged) baseline partial result."""
    _expect(partial, BASELINE)
    settings = MonitoringConfig().with_overrides(config)
    profiles = {name: _stats_from(name, state) for name, state in partial["columns"].items()}
    return baseline_from_profiles(profiles, int(partial["item_count"]), settings)


def finish_check(partial: dict[str, Any], baseline: Baseline, *, config: Any = None) -> Violations:
    """The violations of a (merged) check partial result against the same baseline."""
    _expect(partial, CHECK)
    settings = baseline.monitoring_config.with_overrides(config)
    checks = new_checks(baseline, settings)
    for name, state in partial["columns"].items():
        check = checks.get(name)
        if check is None:
            raise MLAccelInputError(
                f"the partial check has feature {name!r}, which the baseline does not know; "
                "finish it with the baseline it was gathered against"
            )
        _load_stats(check.stats, state["stats"])
        check.matched = int(state["matched"])
        check.in_domain = int(state["in_domain"])
    extras = {name: _stats_from(name, state) for name, state in partial["extras"].items()}
    gathered = CheckCounts(checks, extras, list(partial["seen"]), int(partial["item_count"]))
    return report_check(gathered, settings)


def _expect(partial: Any, kind: str) -> None:
    if not isinstance(partial, dict) or partial.get("kind") != kind:
        found = partial.get("kind") if isinstance(partial, dict) else type(partial).__name__
        raise MLAccelInputError(f"expected a {kind} partial result, got {found!r}")


def _merge_column(held: dict[str, Any] | None, state: dict[str, Any]) -> dict[str, Any]:
    if held is None:
        return state
    if "stats" not in state:
        return _merge_stats(held, state)
    return {
        "stats": _merge_stats(held["stats"], state["stats"]),
        "matched": held["matched"] + state["matched"],
        "in_domain": held["in_domain"] + state["in_domain"],
    }


def _merge_stats(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    stats = _stats_from("merged", first)
    other = _stats_from("merged", second)
    for key in ("rows", "integral", "fractional", "text", "whole"):
        setattr(stats, key, getattr(stats, key) + getattr(other, key))
    stats.source = stats.source or other.source
    _merge_moments(stats.moments, other.moments)
    for mine, theirs in ((stats.summary, other.summary), (stats.tails, other.tails)):
        if mine is not None and theirs is not None:
            mine.merge(theirs)
    if stats.slots is not None and other.slots is not None:
        stats.slots = stats.slots + other.slots
    categories = stats.categories
    if other.categories.overflowed:
        categories.overflowed, categories.counts = True, {}
    else:
        labels = list(other.categories.counts)
        counts = np.asarray(list(other.categories.counts.values()), dtype=np.int64)
        categories.add(labels, counts)
    return _stats_state(stats)


def _merge_moments(moments: Moments, other: Moments) -> None:
    if other.count == 0:
        return
    combined = moments.count + other.count
    delta = other.mean - moments.mean
    moments.m2 += other.m2 + delta * delta * moments.count * other.count / combined
    moments.mean += delta * other.count / combined
    moments.count = combined
    moments.total += other.total
    moments.low, moments.high = min(moments.low, other.low), max(moments.high, other.high)
    moments.negative += other.negative


def _stats_state(stats: ColumnStats) -> dict[str, Any]:
    moments = stats.moments
    return {
        "source": stats.source,
        "counts": [stats.rows, stats.integral, stats.fractional, stats.text, stats.whole],
        "moments": [
            moments.count,
            moments.total,
            moments.mean,
            moments.m2,
            moments.low,
            moments.high,
            moments.negative,
        ],
        "summary": stats.summary.to_json() if stats.summary is not None else None,
        "slots": stats.slots.tolist() if stats.slots is not None else None,
        "tails": stats.tails.to_json() if stats.tails is not None else None,
        "categories": None if stats.categories.overflowed else stats.categories.counts,
    }


def _stats_from(name: str, state: dict[str, Any]) -> ColumnStats:
    stats = ColumnStats(name, keep_summary=False)
    _load_stats(stats, state)
    return stats


def _load_stats(stats: ColumnStats, state: dict[str, Any]) -> None:
    stats.source = state["source"]
    stats.rows, stats.integral, stats.fractional, stats.text, stats.whole = (
        int(count) for count in state["counts"]
    )
    moments = stats.moments
    count, total, mean, m2, low, high, negative = state["moments"]
    moments.count, moments.negative = int(count), int(negative)
    moments.total, moments.mean, moments.m2 = float(total), float(mean), float(m2)
    moments.low, moments.high = float(low), float(high)
    summary = state.get("summary")
    stats.summary = QuantileSummary.from_json(summary) if summary is not None else None
    if state.get("slots") is not None:
        stats.slots = np.asarray(state["slots"], dtype=np.int64)
    tails = state.get("tails")
    if tails is not None:
        stats.tails = QuantileSummary.from_json(tails)
    categories = state.get("categories")
    stats.categories.overflowed = categories is None
    stats.categories.counts = dict(categories) if categories is not None else {}
