"""Lambda handlers the Step Functions workflows call between SageMaker steps.

``training_results``   the finished training job's final metrics
``compare_with_best``  the candidate against the best model already registered in its group
``endpoint_status``    whether an endpoint exists, and its status
``latest_model``       a SageMaker model from the group's latest approved (else latest) version
``consolidate_capture`` the endpoint's captured data since the last monitoring run, merged with
                       the ground truth that arrived for it
``evaluate_violations`` the drift checks' violations as rows for SQL, and a readable e-mail
``quality_report``     the processing job's ``quality.json`` as one line per column, for the
                       scoring workflow's notification
``add_predicted_class`` a multiclass model's scored rows with the most probable class appended,
                       the field Model Monitor's multiclass analysis reads

Each handler is a thin shell over pure functions, so the logic is tested without AWS. Only the
standard library and boto3 are used: the folder deploys as is.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

DIRECTIONS = ("Minimize", "Maximize")


class BadEvent(ValueError):
    """The event misses a field or has a wrong value; the message names it."""


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def require(event: Mapping[str, Any], *names: str) -> list[Any]:
    """The event's values for ``names``, or BadEvent naming the missing ones."""
    missing = [n for n in names if event.get(n) in (None, "")]
    if missing:
        raise BadEvent(f"the event needs {', '.join(missing)}; it has {sorted(event)}")
    return [event[n] for n in names]


# ------------------------------------------------------------------------------ pure functions


def final_metrics(description: Mapping[str, Any]) -> dict[str, float]:
    """``{"validation:rmse": 1234.5, ...}`` from a DescribeTrainingJob response."""
    return {m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList", [])}


def pick_metric(metrics: Mapping[str, float], name: str, job: str) -> float:
    """One metric, or BadEvent listing those the job reported."""
    if name not in metrics:
        raise BadEvent(
            f"training job {job} reported no {name!r}; it reported {sorted(metrics)} "
            "(check the estimator's metric definitions and eval_metric)"
        )
    return metrics[name]


def is_better(candidate: float, incumbent: float, direction: str) -> bool:
    """True when ``candidate`` beats ``incumbent`` in ``direction``."""
    if direction not in DIRECTIONS:
        raise BadEvent(f"Direction={direction!r} must be Minimize or Maximize")
    return candidate < incumbent if direction == "Minimize" else candidate > incumbent


def best_of(scored: Iterable[tuple[str, float]], direction: str) -> tuple[str, float] | None:
    """The best ``(package_arn, metric)`` pair, or None when there is none."""
    best: tuple[str, float] | None = None
    for arn, value in scored:
        if best is None or is_better(value, best[1], direction):
            best = (arn, value)
    return best


def comparison_summary(
    metric: str, candidate: float, best: tuple[str, float] | None, threshold: Any
) -> str:
    """The sentence a notification carries."""
    text = f"candidate {metric} = {candidate:.6g}"
    if threshold is not None:
        text += f" (threshold {threshold})"
    if best is None:
        return text + "; no registered model to compare with"
    return text + f"; best registered model {best[0]} has {metric} = {best[1]:.6g}"


def newest_package(packages: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The latest approved package, else the latest of any status."""

    def order(p: Mapping[str, Any]) -> tuple[int, str]:
        return int(p.get("ModelPackageVersion") or 0), str(p.get("CreationTime", ""))

    approved = [p for p in packages if p.get("ModelApprovalStatus") == "Approved"]
    pool = approved or [p for p in packages if p.get("ModelApprovalStatus") != "Rejected"]
    return max(pool, key=order) if pool else None


def model_name_for(package_arn: str) -> str:
    """``mlaccel-used-cars-v3`` for ``.../model-package/mlaccel-used-cars/3``."""
    group, version = package_arn.split(":model-package/")[-1].rsplit("/", 1)
    return f"{group}-v{version}"[-63:].lstrip("-")


# ------------------------------------------------------------------------------------ handlers


def _list_packages(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    packages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sagemaker.list_model_packages(
            ModelPackageGroupName=group, **({"NextToken": token} if token else {})
        )
        packages += page.get("ModelPackageSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return packages


def training_results(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"TrainingJobName", "MetricName"}`` → ``{"metric", "metrics", "job", "status"}``."""
    job, metric_name = require(event, "TrainingJobName", "MetricName")
    described = _client("sagemaker").describe_training_job(TrainingJobName=job)
    metrics = final_metrics(described)
    value = pick_metric(metrics, metric_name, job)
    log.info("training job %s: %s = %s", job, metric_name, value)
    return {
        "job": job,
        "status": described["TrainingJobStatus"],
        "metric_name": metric_name,
        "metric": value,
        "metrics": metrics,
    }


def compare_with_best(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Compare a candidate's metric with the best version registered in its group.

    Event: ``ModelPackageGroupName``, ``MetricName``, ``Direction``, ``Candidate`` (its value),
    optionally ``Threshold``. Versions are scored by their training job's final metric.
    """
    group, metric, direction, candidate = require(
        event, "ModelPackageGroupName", "MetricName", "Direction", "Candidate"
    )
    sagemaker = _client("sagemaker")
    try:
        packages = _list_packages(sagemaker, group)
    except sagemaker.exceptions.ClientError:
        packages = []
    scored = []
    for summary in packages:
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        job = (described.get("CustomerMetadataProperties") or {}).get("training_job")
        if not job:
            continue
        metrics = final_metrics(sagemaker.describe_training_job(TrainingJobName=job))
        if metric in metrics:
            scored.append((summary["ModelPackageArn"], metrics[metric]))
    best = best_of(scored, direction)
    candidate = float(candidate)
    summary_text = comparison_summary(metric, candidate, best, event.get("Threshold"))
    return {
        "candidate": candidate,
        "previous_best": None if best is None else {"model_package": best[0], "metric": best[1]},
        "candidate_is_better": best is None or is_better(candidate, best[1], direction),
        "summary": summary_text,
    }


def endpoint_status(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"EndpointName"}`` → ``{"exists": bool, "status": "InService" | ... | "Absent"}``."""
    (name,) = require(event, "EndpointName")
    sagemaker = _client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as error:
        if "Could not find" in str(error) or "ValidationException" in str(error):
            return {"exists": False, "status": "Absent"}
        raise
    return {
        "exists": True,
        "status": described["EndpointStatus"],
        "failure_reason": described.get("FailureReason", ""),
    }


def latest_model(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Create (once) a SageMaker model from the group's latest approved or registered version.

    Event: ``ModelPackageGroupName``, ``ExecutionRoleArn``.
    """
    group, role = require(event, "ModelPackageGroupName", "ExecutionRoleArn")
    sagemaker = _client("sagemaker")
    package = newest_package(_list_packages(sagemaker, group))
    if package is None:
        raise BadEvent(
            f"model package group {group} has no approved or pending version; register one "
            "(notebook 03) before scoring"
        )
    arn = str(package["ModelPackageArn"])
    name = model_name_for(arn)
    try:
        sagemaker.describe_model(ModelName=name)
    except sagemaker.exceptions.ClientError:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=role,
            PrimaryContainer={"ModelPackageName": arn},
        )
    return {
        "ModelName": name,
        "ModelPackageArn": arn,
        "ApprovalStatus": package.get("ModelApprovalStatus"),
    }


# ------------------------------------------------------------------------------- monitoring


def split_s3(uri: str) -> tuple[str, str]:
    """``("bucket", "key/prefix")`` of ``s3://bucket/key/prefix``."""
    if not str(uri).startswith("s3://"):
        raise BadEvent(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def event_key(record: Mapping[str, Any]) -> str:
    """The id a captured inference and its ground truth share: inferenceId, else eventId."""
    metadata = record.get("eventMetadata") or {}
    return str(metadata.get("inferenceId") or metadata.get("eventId") or "")


def merge_ground_truth(
    captured: list[dict[str, Any]], truths: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Captured records that have ground truth, each with its ``groundTruthData`` added."""
    by_id = {event_key(t): t.get("groundTruthData") for t in truths if event_key(t)}
    return [
        {**record, "groundTruthData": by_id[event_key(record)]}
        for record in captured
        if event_key(record) in by_id
    ]


def with_predicted_class(line: str, first: int, classes: int) -> str:
    """``line`` (CSV) with the index of its most probable class appended.

    A ``multi:softprob`` model answers one probability per class, fields ``first`` to
    ``first + classes - 1``; Model Monitor's multiclass analysis needs the predicted class as a
    field of its own (``inference_attribute``). Ties go to the lower index, as argmax does.
    """
    fields = line.split(",")
    answers = fields[first : first + classes]
    if len(answers) != classes:
        raise BadEvent(
            f"a scored row has {len(fields)} fields, fewer than the {classes} class "
            f"probabilities expected from field {first}: {line[:80]!r}"
        )
    try:
        probabilities = [float(value) for value in answers]
    except ValueError:
        raise BadEvent(
            f"a scored row holds a probability that is not a number: {line[:80]!r}"
        ) from None
    best = max(range(classes), key=probabilities.__getitem__)
    return f"{line},{best}"


def _lines_with_predicted_class(text: str, first: int, classes: int) -> str:
    rows = [with_predicted_class(row, first, classes) for row in text.splitlines() if row.strip()]
    return "".join(row + "\n" for row in rows)


def _endpoint_output_with_predicted_class(record: dict[str, Any], classes: int) -> dict[str, Any]:
    """A captured record whose endpoint output (one CSV row of probabilities per line) has the
    predicted class appended to each line, in the record's own encoding."""
    capture = record.get("captureData") or {}
    output = dict(capture.get("endpointOutput") or {})
    if "data" not in output:
        raise BadEvent(f"captured record {event_key(record)!r} has no endpointOutput data")
    encoded = str(output.get("encoding", "CSV")).upper() == "BASE64"
    text = base64.b64decode(output["data"]).decode("utf-8") if encoded else str(output["data"])
    labelled = _lines_with_predicted_class(text, 0, classes).rstrip("\n")
    output["data"] = base64.b64encode(labelled.encode()).decode() if encoded else labelled
    return {**record, "captureData": {**capture, "endpointOutput": output}}


def class_count(event: Mapping[str, Any]) -> int:
    """The event's optional ``Classes``: 0 (not multiclass) or the number of classes."""
    value = event.get("Classes", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value == 1:
        raise BadEvent(f"Classes={value!r} must be the number of classes (2 or more), or 0")
    return value


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _new_objects(s3: Any, uri: str, after: str) -> list[dict[str, Any]]:
    """Objects under ``uri`` modified after the ISO time ``after`` (all when it is empty)."""
    bucket, prefix = split_s3(uri)
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            modified = item["LastModified"].astimezone(UTC).isoformat()
            if not after or modified > after:
                found.append({"Bucket": bucket, "Key": item["Key"], "Modified": modified})
    return sorted(found, key=lambda o: (o["Modified"], o["Key"]))


def _read_all(s3: Any, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for obj in objects:
        body = s3.get_object(Bucket=obj["Bucket"], Key=obj["Key"])["Body"].read()
        records += jsonl(body.decode("utf-8"))
    return records


def _put_jsonl(s3: Any, uri: str, records: list[dict[str, Any]]) -> str:
    bucket, key = split_s3(uri)
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    return uri


def consolidate_capture(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Gather the data captured since the last monitoring run into one file per analysis.

    Event: ``CaptureUri`` (the endpoint's capture prefix), ``GroundTruthUri`` (where labels
    arrive, as Model Monitor's ground-truth JSON Lines), ``OutputUri`` (this run's folder),
    ``WatermarkParameter`` (SSM parameter holding the last run's high-water mark), and for a
    multiclass model ``Classes`` (how many): each merged record's endpoint output then ends
    with the predicted class.

    Returns the counts, the files written, whether ground truth matched any record, and the new
    watermark, which the workflow commits only when the run succeeds.
    """
    capture_uri, truth_uri, output_uri, parameter = require(
        event, "CaptureUri", "GroundTruthUri", "OutputUri", "WatermarkParameter"
    )
    classes = class_count(event)
    ssm, s3 = _client("ssm"), _client("s3")
    try:
        since = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        since = ""
    objects = _new_objects(s3, capture_uri, since)
    captured = _read_all(s3, objects)
    result: dict[str, Any] = {
        "since": since or "the beginning",
        "files": len(objects),
        "records": len(captured),
        "watermark": objects[-1]["Modified"] if objects else since,
        "capture_uri": f"{output_uri.rstrip('/')}/capture/",
        "merged_uri": f"{output_uri.rstrip('/')}/merged/",
        "has_ground_truth": False,
        "matched": 0,
    }
    if not captured:
        log.info("no data captured since %s", result["since"])
        return result
    _put_jsonl(s3, result["capture_uri"] + "capture.jsonl", captured)
    merged = merge_ground_truth(captured, _read_all(s3, _new_objects(s3, truth_uri, "")))
    if classes:  # the model-quality copy carries the predicted class; the capture stays as is
        merged = [_endpoint_output_with_predicted_class(record, classes) for record in merged]
    if merged:
        _put_jsonl(s3, result["merged_uri"] + "merged.jsonl", merged)
    result.update(has_ground_truth=bool(merged), matched=len(merged))
    return result


def violation_rows(
    violations: Mapping[str, Any], *, analysis: str, endpoint: str, run: str, checked_at: str
) -> list[dict[str, Any]]:
    """Flat rows, one per violation, for the results table."""
    return [
        {
            "checked_at": checked_at,
            "run": run,
            "endpoint": endpoint,
            "analysis": analysis,
            "feature_name": v.get("feature_name", ""),
            "constraint_check_type": v.get("constraint_check_type", ""),
            "description": v.get("description", ""),
        }
        for v in violations.get("violations", [])
    ]


def summary_text(rows: list[Mapping[str, Any]], endpoint: str, run: str, records: int) -> str:
    """The readable e-mail: how much was checked, what drifted, where the details are."""
    lines = [f"Monitoring run {run} checked {records} captured records of endpoint {endpoint}."]
    if not rows:
        return lines[0] + "\nNo violations: data and model quality match their baselines."
    lines.append(f"{len(rows)} violation(s):")
    for row in rows:
        lines.append(
            f"- [{row['analysis']}] {row['feature_name']}: {row['constraint_check_type']}"
            f" - {row['description'][:160]}"
        )
    return "\n".join(lines)


def _read_violations(s3: Any, uri: str | None) -> dict[str, Any] | None:
    if not uri:
        return None
    bucket, prefix = split_s3(uri.rstrip("/") + "/constraint_violations.json")
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return dict(json.loads(body))


def evaluate_violations(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Read the drift checks' violations, store them as rows for SQL, and notify.

    Event: ``EndpointName``, ``RunName``, ``Records``, ``DataQualityUri``, optional
    ``ModelQualityUri``, ``ResultsUri`` (the results table's folder), ``TopicArn``.
    """
    endpoint, run, data_uri, results_uri, topic = require(
        event, "EndpointName", "RunName", "DataQualityUri", "ResultsUri", "TopicArn"
    )
    s3 = _client("s3")
    checked_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: list[dict[str, Any]] = []
    for analysis, uri in (
        ("data_quality", data_uri),
        ("model_quality", event.get("ModelQualityUri")),
    ):
        found = _read_violations(s3, uri)
        if found is not None:
            rows += violation_rows(
                found, analysis=analysis, endpoint=endpoint, run=run, checked_at=checked_at
            )
    if rows:
        _put_jsonl(s3, f"{results_uri.rstrip('/')}/{checked_at[:10]}-{run}.jsonl", rows)
    by_check: dict[str, int] = {}
    for row in rows:
        by_check[row["constraint_check_type"]] = by_check.get(row["constraint_check_type"], 0) + 1
    message = summary_text(rows, endpoint, run, int(event.get("Records") or 0))
    subject = f"mlaccel monitoring: {len(rows)} violation(s) on {endpoint}"[:100]
    _client("sns").publish(TopicArn=topic, Subject=subject, Message=message)
    return {"violations": len(rows), "by_check": by_check, "summary": message}


# ------------------------------------------------------------------------------- data quality


def quality_summary(report: Mapping[str, Any]) -> str:
    """One line per column with values that could not be used or categories never seen in
    training, from ``preprocess.py``'s ``quality.json``; ``no invalid values`` when clean."""
    rows = int(report.get("rows") or 0)

    def share(count: int) -> str:
        return f"{count:,} of {rows:,} rows ({count / rows:.1%})" if rows else f"{count:,}"

    lines = [
        f"column {column}: {share(int(count))} not numbers or dates"
        for column, count in sorted((report.get("invalid") or {}).items())
    ]
    lines += [
        f"column {column}: {share(int(count))} categories unseen in training"
        for column, count in sorted((report.get("unknown_categories") or {}).items())
    ]
    if report.get("target_missing"):
        lines.append(f"{int(report['target_missing']):,} rows without a target left out")
    return "\n".join(lines) if lines else f"no invalid values in {rows:,} rows"


def quality_report(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"QualityUri": "s3://.../quality/quality.json"}`` → ``{"summary", "invalid",
    "unknown_categories", "rows", "target_missing", "max_invalid_fraction"}``."""
    (uri,) = require(event, "QualityUri")
    bucket, key = split_s3(str(uri))
    s3 = _client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise BadEvent(
            f"QualityUri={uri} holds no file; the processing job writes quality/quality.json "
            "in its output folder: point at that folder's quality/quality.json"
        ) from None
    try:
        report = json.loads(body)
    except ValueError as exc:
        raise BadEvent(f"QualityUri={uri} is not JSON ({exc}): it must be a quality.json") from exc
    if not isinstance(report, dict) or "invalid" not in report:
        raise BadEvent(f"QualityUri={uri} is not a quality.json (no 'invalid' counts)")
    summary = quality_summary(report)
    log.info("data quality of %s: %s", uri, summary.replace("\n", "; "))
    return {
        "summary": summary,
        "invalid": report.get("invalid") or {},
        "unknown_categories": report.get("unknown_categories") or {},
        "rows": int(report.get("rows") or 0),
        "target_missing": int(report.get("target_missing") or 0),
        "max_invalid_fraction": report.get("max_invalid_fraction"),
    }


def add_predicted_class(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"ScoredUri", "OutputUri", "FirstProbability", "Classes"}`` → ``{"files", "rows",
    "output_uri"}``: every CSV object under ``ScoredUri`` (a batch transform's output, one row
    per line) copied under ``OutputUri`` with each row's most probable class appended."""
    scored_uri, output_uri, first = require(event, "ScoredUri", "OutputUri", "FirstProbability")
    classes = class_count(event)
    if not classes:
        raise BadEvent("Classes is missing: add_predicted_class is for multiclass models")
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise BadEvent(f"FirstProbability={first!r} must be a field index (0 or more)")
    s3 = _client("s3")
    source_bucket, source_prefix = split_s3(str(scored_uri))
    target_bucket, target_prefix = split_s3(str(output_uri).rstrip("/") + "/")
    objects = _new_objects(s3, str(scored_uri), "")
    if not objects:
        raise BadEvent(f"ScoredUri={scored_uri} holds no file: the transform wrote nothing there")
    rows = 0
    for obj in objects:
        text = s3.get_object(Bucket=source_bucket, Key=obj["Key"])["Body"].read().decode("utf-8")
        labelled = _lines_with_predicted_class(text, first, classes)
        rows += labelled.count("\n")
        name = obj["Key"][len(source_prefix) :].lstrip("/")
        s3.put_object(Bucket=target_bucket, Key=target_prefix + name, Body=labelled.encode())
    log.info("added the predicted class to %d rows in %d files", rows, len(objects))
    return {
        "files": len(objects),
        "rows": rows,
        "output_uri": f"s3://{target_bucket}/{target_prefix}",
    }
