"""A SageMaker Pipeline execution run inside the twin, from its definition JSON alone.

Steps run one at a time, each once every step it depends on (``DependsOn``, and every step
whose properties its arguments read) has succeeded; a Condition step adds its chosen branch.
Jobs go through the twin's own SageMaker API, so each step is a real, described, logged job:
Processing, Training, Tuning (its trials listed best first), Transform, Model (CreateModel),
RegisterModel (creating the model package group when it is missing, as the service does),
QualityCheck (data and model quality, against the supplied or the registry's drift-check
baseline), Condition, Fail and Lambda steps.
``CacheConfig`` reuses an earlier run of a step with the same arguments. A failed step fails
the execution with its reason; steps that cannot run then are not started.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mlaccel_twin.pipelines.expressions import (
    Context,
    condition_holds,
    evaluate,
    referenced_steps,
)

POLL_SECONDS = 0.2
JOB_TIMEOUT_SECONDS = 3600.0
# Step type: (Create call, name key, Describe call, status key, metadata key)
_JOBS = {
    "Processing": (
        "create_processing_job",
        "ProcessingJobName",
        "describe_processing_job",
        "ProcessingJobStatus",
        "ProcessingJob",
    ),
    "Training": (
        "create_training_job",
        "TrainingJobName",
        "describe_training_job",
        "TrainingJobStatus",
        "TrainingJob",
    ),
    "Transform": (
        "create_transform_job",
        "TransformJobName",
        "describe_transform_job",
        "TransformJobStatus",
        "TransformJob",
    ),
    "Tuning": (
        "create_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobStatus",
        "TuningJob",
    ),
}
# (pipeline, step, arguments as JSON) -> (properties, metadata, source execution arn)
_cache: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any], str]] = {}


class StepFailed(Exception):
    """A step ended badly; its message is the step's and the execution's FailureReason."""


@dataclass
class StepRecord:
    """One entry of ListPipelineExecutionSteps."""

    name: str
    type: str
    started: datetime
    status: str = "Executing"
    ended: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    cache_source: str = ""

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "StepName": self.name,
            "StepDisplayName": self.name,
            "StartTime": self.started,
            "StepStatus": self.status,
            "Metadata": self.metadata,
            "AttemptCount": 1,
        }
        if self.ended:
            answer["EndTime"] = self.ended
        if self.reason:
            answer["FailureReason"] = self.reason
        if self.cache_source:
            answer["CacheHitResult"] = {"SourcePipelineExecutionArn": self.cache_source}
        return answer


def parameter_values(definition: dict[str, Any], given: list[dict[str, Any]]) -> dict[str, Any]:
    """The execution's parameters: each declared default, overridden by those given (text),
    typed as declared.

    Examples
    --------
    >>> declared = {"Parameters": [{"Name": "Rows", "Type": "Integer", "DefaultValue": 5},
    ...                            {"Name": "Bar", "Type": "Float", "DefaultValue": 0.5}]}
    >>> parameter_values(declared, [{"Name": "Rows", "Value": "7"}])
    {'Rows': 7, 'Bar': 0.5}
    """
    types = {p["Name"]: p.get("Type", "String") for p in definition.get("Parameters", [])}
    values = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    for item in given or []:
        if item["Name"] not in types:
            raise StepFailed(f"the pipeline has no parameter {item['Name']!r}")
        values[item["Name"]] = _typed(item["Value"], types[item["Name"]])
    return values


def _typed(text: Any, kind: str) -> Any:
    if kind == "Integer":
        return int(text)
    if kind == "Float":
        return float(text)
    if kind == "Boolean":
        return str(text).lower() == "true"
    return text


def run_execution(
    client: Callable[[str], Any],
    pipeline: str,
    execution_arn: str,
    definition: dict[str, Any],
    given_parameters: list[dict[str, Any]],
    records: list[StepRecord],
) -> tuple[str, str]:
    """Run a definition to its end; return the execution's status and failure reason."""
    execution_id = execution_arn.rsplit("/", 1)[-1]
    context = Context(
        parameters={},
        execution={
            "PipelineExecutionId": execution_id,
            "PipelineExecutionArn": execution_arn,
            "PipelineName": pipeline,
            "StartDateTime": datetime.now(UTC).isoformat(),
        },
        read_json=lambda uri: _read_json(client("s3"), uri),
    )
    try:
        context.parameters = parameter_values(definition, given_parameters)
    except (StepFailed, ValueError) as exc:
        return "Failed", str(exc)
    pending = list(definition.get("Steps", []))
    done: set[str] = set()
    while pending:
        ready = next((s for s in pending if _dependencies(s) <= done), None)
        if ready is None:  # what is left waits on steps that will not run
            break
        pending.remove(ready)
        record = StepRecord(ready["Name"], ready["Type"], datetime.now(UTC))
        records.append(record)
        try:
            branch = _run_step(client, pipeline, execution_arn, ready, context, record)
        except Exception as exc:  # a step's failure is the execution's
            record.status, record.reason, record.ended = "Failed", str(exc), datetime.now(UTC)
            return "Failed", f"Step failure: One or multiple steps failed. {ready['Name']}: {exc}"
        record.status, record.ended = "Succeeded", datetime.now(UTC)
        done.add(ready["Name"])
        pending.extend(branch)
    return "Succeeded", ""


def _dependencies(step: dict[str, Any]) -> set[str]:
    return (
        set(step.get("DependsOn", []))
        | referenced_steps(step.get("Arguments", {}))
        | (referenced_steps(step.get("FunctionArn")))
    )


def _run_step(
    client: Callable[[str], Any],
    pipeline: str,
    execution_arn: str,
    step: dict[str, Any],
    context: Context,
    record: StepRecord,
) -> list[dict[str, Any]]:
    """Run one step; return the steps of a Condition's chosen branch."""
    kind, name = step["Type"], step["Name"]
    if kind == "Condition":
        arguments = step["Arguments"]
        outcome = all(condition_holds(c, context) for c in arguments.get("Conditions", []))
        record.metadata = {"Condition": {"Outcome": str(outcome).lower()}}
        context.properties[name] = {"Outcome": outcome}
        return list(arguments.get("IfSteps" if outcome else "ElseSteps", []))
    if kind == "Fail":
        message = evaluate(step.get("Arguments", {}).get("ErrorMessage", ""), context)
        record.metadata = {"Fail": {"ErrorMessage": str(message)}}
        raise StepFailed(str(message))
    arguments = evaluate(step.get("Arguments", {}), context)
    # what caching compares: the arguments with this execution's own ids left as names, so
    # default output paths (which hold the execution id) do not defeat it
    same_run = {key: f"{{{key}}}" for key in context.execution}
    key_arguments = evaluate(step.get("Arguments", {}), replace(context, execution=same_run))
    cached = _from_cache(pipeline, step, key_arguments)
    if cached is not None:
        properties, record.metadata, record.cache_source = cached
    else:
        properties, record.metadata = _execute(client, kind, name, step, arguments, context)
        if (step.get("CacheConfig") or {}).get("Enabled"):
            key = (pipeline, name, json.dumps(key_arguments, sort_keys=True, default=str))
            _cache[key] = (properties, record.metadata, execution_arn)
    context.properties[name] = properties
    if step.get("PropertyFiles"):
        outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
        uris = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs}
        context.property_files[name] = {
            f["PropertyFileName"]: f"{uris[f['OutputName']].rstrip('/')}/{f['FilePath']}"
            for f in step["PropertyFiles"]
        }
    return []


def _from_cache(
    pipeline: str, step: dict[str, Any], arguments: Any
) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    if not (step.get("CacheConfig") or {}).get("Enabled"):
        return None
    return _cache.get((pipeline, step["Name"], json.dumps(arguments, sort_keys=True, default=str)))


def _execute(
    client: Callable[[str], Any],
    kind: str,
    name: str,
    step: dict[str, Any],
    arguments: dict[str, Any],
    context: Context,
) -> tuple[dict[str, Any], dict[str, Any]]:
    sm = client("sagemaker")
    job_name = _job_name(context.execution["PipelineExecutionId"], name)
    if kind == "Tuning":
        return _tune(sm, _job_name(context.execution["PipelineExecutionId"], name, 32), arguments)
    if kind in _JOBS:
        described, arn = run_job(sm, kind, job_name, arguments)
        return described, {_JOBS[kind][4]: {"Arn": arn}}
    if kind == "QualityCheck":
        return _quality_check(client, job_name, step, arguments, context)
    if kind == "Model":
        created = sm.create_model(**{**arguments, "ModelName": job_name})
        return {"ModelName": job_name}, {"Model": {"Arn": created["ModelArn"]}}
    if kind == "RegisterModel":
        group = arguments.get("ModelPackageGroupName")
        if group:
            _ensure_group(sm, group)
        arn = sm.create_model_package(**arguments)["ModelPackageArn"]
        return {"ModelPackageArn": arn}, {"RegisterModel": {"Arn": arn}}
    if kind == "Lambda":
        function = evaluate(step["FunctionArn"], context)
        answer = client("lambda").invoke(FunctionName=function, Payload=json.dumps(arguments))
        payload = json.loads(answer["Payload"].read() or b"{}")
        if answer.get("FunctionError"):
            raise StepFailed(f"Lambda function {function} failed: {payload}")
        outputs = {
            o["OutputName"]: payload.get(o["OutputName"]) for o in step.get("OutputParameters", [])
        }
        listed = [{"Name": k, "Value": str(v)} for k, v in outputs.items()]
        return {"OutputParameters": outputs}, {
            "Lambda": {"Arn": function, "OutputParameters": listed}
        }
    raise StepFailed(
        f"step type {kind} is not run by the local twin; run this pipeline on AWS "
        "(MLACCEL_BACKEND=aws), or leave the step out when running locally"
    )


def _tune(
    sm: Any, job_name: str, arguments: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A tuning job; its properties list the trials best first, as ``TrainingJobSummaries``
    (what ``TuningStep.get_top_model_s3_uri(top_k)`` reads)."""
    described, arn = run_job(sm, "Tuning", job_name, arguments)
    objective = arguments["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=job_name,
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending" if objective["Type"] == "Minimize" else "Descending",
        MaxResults=50,
    )["TrainingJobSummaries"]
    properties = {**described, "TrainingJobSummaries": trials}
    return properties, {"TuningJob": {"Arn": arn}}


def _quality_check(
    client: Callable[[str], Any],
    job_name: str,
    step: dict[str, Any],
    arguments: dict[str, Any],
    context: Context,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A data- or model-quality check step. Unless ``SkipCheck``, the step's data is first
    checked against the previous baseline (the one supplied, else the latest approved model
    package's drift-check baseline of that type), failing the step on violations when
    ``FailOnViolation``, before anything is written over it; then a baselining job calculates
    the data's own baseline."""
    sm = client("sagemaker")
    check_type = step.get("CheckType", "DATA_QUALITY")
    settings = {key: evaluate(step.get(key), context) for key in _CHECK_SETTINGS}
    group = settings["ModelPackageGroupName"]
    skip, register_new = bool(settings["SkipCheck"]), bool(settings["RegisterNewBaseline"])
    output = arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
    new = {"Statistics": f"{output}/statistics.json", "Constraints": f"{output}/constraints.json"}
    previous = _previous_baseline(sm, check_type, group, settings)
    if previous is None and not (skip and register_new):
        raise StepFailed(
            f"{check_type} check: no baseline to check against. Supply one "
            "(supplied_baseline_statistics and supplied_baseline_constraints), approve a model "
            f"package in group {group!r} registered with drift-check baselines, or run this "
            "step once with skip_check=True and register_new_baseline=True"
        )
    metadata: dict[str, Any] = {"CheckType": check_type, "SkipCheck": skip}
    if not skip and previous is not None:
        report, metadata["CheckJobArn"] = _check_against(
            client, f"{job_name[:54]}-check", arguments, previous, output
        )
        metadata["ViolationReport"] = report
        violations = context.read_json(report).get("violations", [])
        if violations and settings["FailOnViolation"] is not False:
            found = "; ".join(
                f"{v.get('feature_name') or v.get('metric_name')} ({v['constraint_check_type']})"
                for v in violations[:5]
            )
            raise StepFailed(
                f"{check_type} check found {len(violations)} violation(s) against the "
                f"baseline {previous['Constraints']}: {found}. See {report}"
            )
    _, baselining_arn = run_job(sm, "Processing", job_name, arguments)
    metadata.setdefault("CheckJobArn", baselining_arn)
    used = new if register_new or previous is None else previous
    properties = {
        "BaselineUsedForDriftCheckStatistics": used["Statistics"],
        "BaselineUsedForDriftCheckConstraints": used["Constraints"],
        "CalculatedBaselineStatistics": new["Statistics"],
        "CalculatedBaselineConstraints": new["Constraints"],
    }
    metadata.update(properties, RegisterNewBaseline=register_new)
    if group:
        metadata["ModelPackageGroupName"] = group
    return properties, {"QualityCheck": metadata}


_CHECK_SETTINGS = (
    "ModelPackageGroupName",
    "SkipCheck",
    "FailOnViolation",
    "RegisterNewBaseline",
    "SuppliedBaselineStatistics",
    "SuppliedBaselineConstraints",
)
# Which drift-check baseline of a model package a check type compares with
_DRIFT_BASELINE = {"DATA_QUALITY": "ModelDataQuality", "MODEL_QUALITY": "ModelQuality"}


def run_job(
    sm: Any, kind: str, job_name: str, request: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Create a job of a step type (``Processing``, ``Training``, ``Transform``, ``Tuning``)
    and wait for it; return its description and ARN, or fail the step with its reason."""
    create, name_key, describe, status_key, _ = _JOBS[kind]
    created = getattr(sm, create)(**{**request, name_key: job_name})
    arn = next(v for k, v in created.items() if k.endswith("Arn"))
    described = _wait(lambda: getattr(sm, describe)(**{name_key: job_name}), status_key)
    if described[status_key] != "Completed":
        raise StepFailed(
            f"{kind} job {job_name} {described[status_key]}: "
            f"{described.get('FailureReason', 'no reason given')}"
        )
    return described, arn


def _previous_baseline(
    sm: Any, check_type: str, group: str | None, settings: dict[str, Any]
) -> dict[str, str] | None:
    """The baseline a check compares with: supplied, else the group's latest approved one."""
    if settings["SuppliedBaselineStatistics"] or settings["SuppliedBaselineConstraints"]:
        return {
            "Statistics": settings["SuppliedBaselineStatistics"] or "",
            "Constraints": settings["SuppliedBaselineConstraints"] or "",
        }
    if not group:
        return None
    try:
        approved = sm.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        )["ModelPackageSummaryList"]
    except sm.exceptions.ClientError:
        return None
    for summary in approved:
        package = sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        files = (package.get("DriftCheckBaselines") or {}).get(_DRIFT_BASELINE[check_type], {})
        if files.get("Constraints", {}).get("S3Uri"):
            return {
                "Statistics": files.get("Statistics", {}).get("S3Uri", ""),
                "Constraints": files["Constraints"]["S3Uri"],
            }
    return None


def _check_against(
    client: Callable[[str], Any],
    job_name: str,
    request: dict[str, Any],
    baseline: dict[str, str],
    output: str,
) -> tuple[str, str]:
    """Run the step's analyzer job with the baseline mounted; return the violations' S3 URI
    (under ``<output>/drift-check``) and the job's ARN."""
    inputs = list(request.get("ProcessingInputs", []))
    environment = dict(request.get("Environment") or {})
    for kind, variable in (
        ("Constraints", "baseline_constraints"),
        ("Statistics", "baseline_statistics"),
    ):
        uri = baseline.get(kind)
        if not uri:
            continue
        folder = f"/opt/ml/processing/baseline/{kind.lower()}"
        inputs.append(
            {
                "InputName": f"baseline_{kind.lower()}",
                "S3Input": {
                    "S3Uri": uri,
                    "LocalPath": folder,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        )
        environment[variable] = f"{folder}/{uri.rsplit('/', 1)[-1]}"
    outputs = [
        {**o, "S3Output": {**o["S3Output"], "S3Uri": f"{output}/drift-check"}}
        for o in request["ProcessingOutputConfig"]["Outputs"]
    ]
    check = {
        **request,
        "ProcessingInputs": inputs,
        "Environment": environment,
        "ProcessingOutputConfig": {**request["ProcessingOutputConfig"], "Outputs": outputs},
    }
    _, arn = run_job(client("sagemaker"), "Processing", job_name, check)
    return f"{output}/drift-check/constraint_violations.json", arn


def _wait(describe: Callable[[], dict[str, Any]], status_key: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        described = describe()
        if described[status_key] not in ("InProgress", "Stopping") or time.monotonic() > deadline:
            return described
        time.sleep(POLL_SECONDS)


def _ensure_group(sm: Any, group: str) -> None:
    try:
        sm.describe_model_package_group(ModelPackageGroupName=group)
    except sm.exceptions.ClientError:
        sm.create_model_package_group(ModelPackageGroupName=group)


def _job_name(execution_id: str, step: str, limit: int = 63) -> str:
    """``pipelines-<execution>-<step>-<random>``, within SageMaker's 63 characters (32 for a
    tuning job).

    Examples
    --------
    >>> name = _job_name("abc123", "Train model")
    >>> name.startswith("pipelines-abc123-Train-model-"), len(name) <= 63
    (True, True)
    >>> len(_job_name("execution-of-a-pipeline", "Tune", 32)) <= 32
    True
    """
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", f"pipelines-{execution_id}-{step}")
    stem = stem[: limit - 9].strip("-")
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def _read_json(s3: Any, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
