"""Baselining: statistics.json and suggested constraints.json from a training data set."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._formats import (
    CONSTRAINTS_FILE,
    FRACTIONAL,
    INTEGRAL,
    STATISTICS_FILE,
    STRING,
    Baseline,
    MonitoringConfig,
    dumps,
    parse_json_text,
    unused_settings,
    validate_constraints,
    validate_statistics,
)
from mlaccel.monitor._io import DEFAULT_BATCH_ROWS, iter_chunks, read_ahead, system_allocator
from mlaccel.monitor._locations import read_bytes, write_text
from mlaccel.monitor._profile import ColumnStats, inferred_type

log = logging.getLogger(__name__)

# Deequ's categorical-range rule: a domain is suggested for a string column with at most this
# many distinct values, of which at most this share occur only once.
DOMAIN_MAX_DISTINCT = 120
DOMAIN_MAX_UNIQUE_SHARE = 0.1


@contextmanager
def column_workers() -> Iterator[ThreadPoolExecutor]:
    """Threads that update columns in parallel (numpy and Arrow release the GIL)."""
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlaccel-monitor") as pool:
        yield pool


def run_all(pool: ThreadPoolExecutor, tasks: Iterable[Callable[[], Any]]) -> None:
    """Run tasks on the pool and re-raise the first error."""
    for future in [pool.submit(task) for task in tasks]:
        future.result()


def compute_baseline(
    data: Any,
    *,
    dataset_format: Any = None,
    columns: Iterable[str] | None = None,
    config: Any = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
) -> Baseline:
    """Profile a data set into Model Monitor's statistics.json and suggested constraints.json.

    The data is read in batches (memory does not grow with the number of rows). Each feature
    gets its inferred type (Integral, Fractional, String or Unknown when every value is
    missing), completeness, numeric statistics with 10 equal-width buckets and a sketch of
    1000 quantile points, or category counts; constraints suggest completeness,
    non-negativity and, for low-cardinality strings, the domain of values.

    Parameters
    ----------
    data
        A pandas DataFrame, an Arrow table, or a local path / ``s3://`` URI of Parquet, CSV or
        JSON Lines files (a file or a folder).
    dataset_format
        ``"csv"``, ``"parquet"``, ``"json"`` or Model Monitor's ``{"csv": {"header": true}}``;
        inferred from file names when ``None``.
    columns
        Profile only these columns.
    config
        Overrides of the suggested ``monitoring_config`` (e.g. ``{"comparison_method":
        "Simple"}``), or a ``MonitoringConfig``.
    batch_rows
        Rows read per batch.
    boto3_session
        Session for ``s3://`` data.

    Returns
    -------
    Baseline

    Raises
    ------
    MLAccelInputError
        If the data set has no rows or cannot be read.

    Examples
    --------
    >>> import pandas as pd
    >>> baseline = compute_baseline(pd.DataFrame({"x": [1, 2, 3], "c": ["a", "b", "a"]}))
    >>> [f["inferred_type"] for f in baseline.statistics["features"]]
    ['Integral', 'String']
    """
    settings = MonitoringConfig().with_overrides(config)
    profiles, item_count = profile_columns(
        data,
        dataset_format=dataset_format,
        columns=columns,
        batch_rows=batch_rows,
        boto3_session=boto3_session,
    )
    return baseline_from_profiles(profiles, item_count, settings)


def profile_columns(
    data: Any,
    *,
    dataset_format: Any = None,
    columns: Iterable[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
) -> tuple[dict[str, ColumnStats], int]:
    """Each column's running statistics over a data set (or one shard of it), and its rows."""
    profiles: dict[str, ColumnStats] = {}
    item_count = 0
    chunks = iter_chunks(
        data,
        dataset_format=dataset_format,
        columns=columns,
        batch_rows=batch_rows,
        boto3_session=boto3_session,
    )
    with system_allocator(), column_workers() as pool:
        for new_rows, batch in read_ahead(chunks):
            item_count += new_rows
            tasks = []
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                profile = profiles.get(name)
                if profile is None:
                    profile = profiles[name] = ColumnStats(name)
                tasks.append(_profile_task(profile, column))
            run_all(pool, tasks)
    return profiles, item_count


def baseline_from_profiles(
    profiles: dict[str, ColumnStats], item_count: int, settings: MonitoringConfig
) -> Baseline:
    """statistics.json and suggested constraints.json from the columns' statistics."""
    if item_count == 0:
        raise MLAccelInputError(
            "the baseline data set has no rows; a baseline needs the training data (or a "
            "representative sample of it)"
        )
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": item_count},
        "features": [profile.statistics(item_count) for profile in profiles.values()],
    }
    constraints = {
        "version": 0.0,
        "features": [suggest_constraints(profile, item_count) for profile in profiles.values()],
        "monitoring_config": settings.to_json(),
    }
    log.info("baseline of %d rows and %d features", item_count, len(profiles))
    return Baseline(statistics, constraints)


def _profile_task(profile: ColumnStats, column: pa.Array) -> Callable[[], None]:
    def task() -> None:
        # Once a column holds text it is a String: its numbers are no longer needed.
        profile.update(column, want_numbers=profile.text == 0)
        if profile.text:
            profile.drop_numbers()

    return task


def suggest_constraints(profile: ColumnStats, item_count: int) -> dict[str, Any]:
    """The constraints.json entry Model Monitor would suggest for one profiled column."""
    kind = inferred_type(profile.integral, profile.fractional, profile.text)
    entry: dict[str, Any] = {
        "name": profile.name,
        "inferred_type": kind,
        "completeness": suggested_completeness(profile.present, item_count),
    }
    if kind in (INTEGRAL, FRACTIONAL):
        entry["num_constraints"] = {"is_non_negative": profile.moments.low >= 0}
    elif kind == STRING:
        counter = profile.categories
        counts = list(counter.counts.values())
        if not counter.overflowed and 0 < len(counts) <= DOMAIN_MAX_DISTINCT:
            unique_share = sum(1 for count in counts if count == 1) / len(counts)
            if unique_share <= DOMAIN_MAX_UNIQUE_SHARE:
                entry["string_constraints"] = {"domains": sorted(counter.counts)}
    return entry


def suggested_completeness(present: int, item_count: int) -> float:
    """Completeness a check must reach: 1.0 for a complete column, else a margin below.

    The rule of Model Monitor's analyzer (Deequ's completeness suggestion): the 95 % lower
    confidence bound of the observed share, rounded down to whole percent, so a batch of
    similar size and the same missing rate does not trip it. The rounding is coarse: a
    column 99 % complete gets 0.98, which a doubling of its missing values (to 1.9 %)
    still meets; tighten the file's ``completeness`` where that matters.

    Examples
    --------
    >>> suggested_completeness(1000, 1000), suggested_completeness(950, 1000)
    (1.0, 0.93)
    """
    if item_count == 0:
        return 0.0
    share = present / item_count
    if share >= 1.0:
        return 1.0
    bound = share - 1.96 * math.sqrt(share * (1 - share) / item_count)
    return max(0.0, math.floor(bound * 100) / 100)


def write_baseline(
    baseline: Baseline, location: str | Path, *, boto3_session: Any | None = None
) -> dict[str, str]:
    """Write statistics.json and constraints.json to a local directory or ``s3://`` prefix.

    Parameters
    ----------
    baseline
        From :func:`compute_baseline` or :func:`load_baseline`.
    location
        A directory (created if needed) or an ``s3://bucket/prefix``.
    boto3_session
        Session for ``s3://`` locations.

    Returns
    -------
    dict[str, str]
        File name → where it was written.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> written = write_baseline(compute_baseline(pd.DataFrame({"x": [1.0]})), tempfile.mkdtemp())
    >>> sorted(written)
    ['constraints.json', 'statistics.json']
    """
    if not isinstance(baseline, Baseline):
        raise MLAccelInputError(
            f"baseline must be a Baseline (from compute_baseline or load_baseline), got "
            f"{type(baseline).__name__}"
        )
    written = {}
    files = ((STATISTICS_FILE, baseline.statistics), (CONSTRAINTS_FILE, baseline.constraints))
    for name, body in files:
        if body is not None:
            written[name] = write_text(location, name, dumps(body), boto3_session=boto3_session)
    return written


def load_baseline(
    statistics_path: str | Path | None = None,
    constraints_path: str | Path | None = None,
    *,
    directory: str | Path | None = None,
    boto3_session: Any | None = None,
) -> Baseline:
    """Read a baseline written by this engine or by SageMaker Model Monitor.

    Parameters
    ----------
    statistics_path
        statistics.json (local path or ``s3://`` URI), or ``None``.
    constraints_path
        constraints.json, or ``None``.
    directory
        A directory or ``s3://`` prefix holding both files (instead of the two paths).
    boto3_session
        Session for ``s3://`` files.

    Returns
    -------
    Baseline

    Raises
    ------
    MLAccelInputError
        If a file is missing, is not JSON, or lacks the fields the check needs.

    Examples
    --------
    >>> load_baseline(directory="does-not-exist")
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: does-not-exist/statistics.json does not exist or is not a file
    """
    if directory is not None:
        if statistics_path is not None or constraints_path is not None:
            raise MLAccelInputError("pass either directory or the two file paths, not both")
        base = str(directory).rstrip("/")
        statistics_path = f"{base}/{STATISTICS_FILE}"
        constraints_path = f"{base}/{CONSTRAINTS_FILE}"
    bodies: list[dict[str, Any] | None] = []
    validators = (validate_statistics, validate_constraints)
    for path, validate in zip((statistics_path, constraints_path), validators, strict=True):
        if path is None:
            bodies.append(None)
            continue
        text = read_bytes(path, boto3_session=boto3_session)
        body = parse_json_text(text, str(path))
        validate(body, str(path))
        bodies.append(body)
    if bodies[1] is not None:
        unused = unused_settings(bodies[1])
        if unused:
            log.info(
                "%s: settings the engine does not use are kept and written back unchanged: %s",
                constraints_path,
                ", ".join(unused),
            )
    return Baseline(bodies[0], bodies[1])
