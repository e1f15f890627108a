"""Model Monitor schedules as data, and the processing job each firing starts.

A schedule names a job definition (a data-quality or model-quality job definition, or an
inline ``MonitoringJobDefinition``) and a cron expression. At each time ``T`` it fires on the
twin's clock, it starts a processing job of that definition over the endpoint's data capture,
with ``start_time``/``end_time`` marking the analysis window (by default the hour before
``T``, as Model Monitor analyzes an hourly schedule's last hour). The functions here are pure:
the seam (:mod:`mlaccel_twin.monitoring.seam`) stores schedules and calls the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# The keys of each job-definition kind, mapped onto the inline definition's.
_DEFINITION_KEYS = {
    "DataQuality": ("DataQuality", "DataQualityAppSpecification", "DataQualityBaselineConfig"),
    "ModelQuality": ("ModelQuality", "ModelQualityAppSpecification", "ModelQualityBaselineConfig"),
}
_DURATION = re.compile(r"^-PT(?:(\d+)H)?(?:(\d+)M)?$")
CONTAINER_INPUT = "/opt/ml/processing/input/endpoint"
CONTAINER_OUTPUT = "/opt/ml/processing/output"
BASELINE_DIR = "/opt/ml/processing/baseline"


@dataclass
class MonitoringSchedule:
    """One schedule, with what the twin's clock reads (``arn``, ``name``,
    ``scheduled_expression``) and the executions it started."""

    name: str
    arn: str
    config: dict[str, Any]
    created: datetime
    status: str = "Scheduled"
    tags: list[dict[str, str]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    modified: datetime | None = None
    endpoint: str | None = None  # of the job definition it names, when not inline

    @property
    def scheduled_expression(self) -> str | None:
        """The cron expression while the schedule runs; None when stopped."""
        if self.status != "Scheduled":
            return None
        expression = self.config.get("ScheduleConfig", {}).get("ScheduleExpression")
        return str(expression) if expression else None

    @property
    def monitoring_type(self) -> str:
        return str(self.config.get("MonitoringType", "DataQuality"))

    def describe(self) -> dict[str, Any]:
        """DescribeMonitoringSchedule's answer."""
        answer: dict[str, Any] = {
            "MonitoringScheduleArn": self.arn,
            "MonitoringScheduleName": self.name,
            "MonitoringScheduleStatus": self.status,
            "MonitoringType": self.monitoring_type,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified or self.created,
            "MonitoringScheduleConfig": self.config,
        }
        endpoint = self.endpoint or endpoint_of(self.config)
        if endpoint:
            answer["EndpointName"] = endpoint
        if self.executions:
            answer["LastMonitoringExecutionSummary"] = self.executions[-1]
        return answer

    def summary(self) -> dict[str, Any]:
        """ListMonitoringSchedules' entry."""
        described = self.describe()
        keys = (
            "MonitoringScheduleName",
            "MonitoringScheduleArn",
            "CreationTime",
            "LastModifiedTime",
            "MonitoringScheduleStatus",
            "EndpointName",
            "MonitoringType",
        )
        answer = {k: described[k] for k in keys if k in described}
        name = self.config.get("MonitoringJobDefinitionName")
        if name:
            answer["MonitoringJobDefinitionName"] = name
        return answer


def endpoint_of(config: dict[str, Any], definition: dict[str, Any] | None = None) -> str | None:
    """The endpoint a schedule monitors, from its inline definition or ``definition``."""
    inline = definition or config.get("MonitoringJobDefinition") or {}
    for item in inline.get("MonitoringInputs", []):
        if "EndpointInput" in item:
            return str(item["EndpointInput"]["EndpointName"])
    return None


def inline_definition(described: dict[str, Any], kind: str) -> dict[str, Any]:
    """A data-quality or model-quality job definition (its Describe answer) in the shape of a
    schedule's inline ``MonitoringJobDefinition``.

    Examples
    --------
    >>> described = {
    ...     "DataQualityAppSpecification": {"ImageUri": "analyzer", "Environment": {"a": "1"}},
    ...     "DataQualityBaselineConfig": {"ConstraintsResource": {"S3Uri": "s3://b/c.json"}},
    ...     "DataQualityJobInput": {"EndpointInput": {"EndpointName": "e"}},
    ...     "DataQualityJobOutputConfig": {"MonitoringOutputs": []},
    ...     "JobResources": {"ClusterConfig": {"InstanceCount": 1}},
    ...     "RoleArn": "role"}
    >>> inline = inline_definition(described, "DataQuality")
    >>> inline["MonitoringAppSpecification"], inline["Environment"], endpoint_of({}, inline)
    ({'ImageUri': 'analyzer'}, {'a': '1'}, 'e')
    """
    prefix, app_key, baseline_key = _DEFINITION_KEYS[kind]
    app = dict(described.get(app_key, {}))
    environment = app.pop("Environment", {})
    job_input = described.get(f"{prefix}JobInput", {})
    inputs = [{k: v} for k, v in job_input.items() if k in ("EndpointInput", "BatchTransformInput")]
    if "GroundTruthS3Input" in job_input:
        environment = {**environment, "ground_truth_s3_uri": job_input["GroundTruthS3Input"]}
    inline = {
        "BaselineConfig": described.get(baseline_key, {}),
        "MonitoringInputs": inputs,
        "MonitoringOutputConfig": described.get(f"{prefix}JobOutputConfig", {}),
        "MonitoringResources": described.get("JobResources", {}),
        "MonitoringAppSpecification": app,
        "Environment": environment,
        "RoleArn": described.get("RoleArn"),
    }
    for key in ("StoppingCondition", "NetworkConfig"):
        if described.get(key):
            inline[key] = described[key]
    return inline


def analysis_window(config: dict[str, Any], fired_at: datetime) -> tuple[datetime, datetime]:
    """The window of data a firing at ``fired_at`` analyzes: ``DataAnalysisStartTime`` and
    ``DataAnalysisEndTime`` (``-PT1H``-style offsets) when set, else the hour before.

    Examples
    --------
    >>> from datetime import datetime
    >>> at = datetime(2026, 12, 5, 14, 0)
    >>> [t.hour for t in analysis_window({}, at)]
    [13, 14]
    >>> window = {"ScheduleConfig": {"DataAnalysisStartTime": "-PT3H",
    ...                              "DataAnalysisEndTime": "-PT1H"}}
    >>> [t.hour for t in analysis_window(window, at)]
    [11, 13]
    """
    schedule = config.get("ScheduleConfig", {})
    start = fired_at - _offset(schedule.get("DataAnalysisStartTime"), timedelta(hours=1))
    end = fired_at - _offset(schedule.get("DataAnalysisEndTime"), timedelta(0))
    return start, end


def _offset(text: str | None, default: timedelta) -> timedelta:
    if not text:
        return default
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an offset such as -PT1H or -PT30M")
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


def processing_request(
    schedule: MonitoringSchedule,
    definition: dict[str, Any],
    *,
    job_name: str,
    capture_uri: str,
    window: tuple[datetime, datetime],
) -> dict[str, Any]:
    """The CreateProcessingJob request of one firing: the endpoint's capture (``capture_uri``,
    its ``<destination>/<endpoint>`` prefix) as input, the baseline files as inputs, the
    analyzer's environment as Model Monitor sets it, and the definition's outputs."""
    endpoint = endpoint_of({}, definition) or ""
    local_input = CONTAINER_INPUT
    for item in definition.get("MonitoringInputs", []):
        local_input = item.get("EndpointInput", {}).get("LocalPath", local_input)
    inputs = [_s3_input("endpoint", capture_uri, f"{local_input}/{endpoint}")]
    outputs: list[dict[str, Any]] = [
        {"OutputName": f"monitoring-output-{i}", "S3Output": dict(item["S3Output"])}
        for i, item in enumerate(
            definition.get("MonitoringOutputConfig", {}).get("MonitoringOutputs", [])
        )
    ]
    for output in outputs:
        output["S3Output"].setdefault("LocalPath", CONTAINER_OUTPUT)
        output["S3Output"].setdefault("S3UploadMode", "EndOfJob")
    output_config: dict[str, Any] = {"Outputs": outputs}
    kms = definition.get("MonitoringOutputConfig", {}).get("KmsKeyId")
    if kms:
        output_config["KmsKeyId"] = kms
    environment = {
        "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": '
        '["endpointInput", "endpointOutput"]}}',
        "dataset_source": local_input,
        "output_path": outputs[0]["S3Output"]["LocalPath"] if outputs else CONTAINER_OUTPUT,
        "publish_cloudwatch_metrics": "Disabled",
        "sagemaker_endpoint_name": endpoint,
        "sagemaker_monitoring_schedule_name": schedule.name,
        "start_time": window[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_time": window[1].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    baseline = definition.get("BaselineConfig", {})
    for resource, folder, variable in (
        ("ConstraintsResource", "constraints", "baseline_constraints"),
        ("StatisticsResource", "stats", "baseline_statistics"),
    ):
        uri = baseline.get(resource, {}).get("S3Uri")
        if uri:
            file_name = uri.rstrip("/").rsplit("/", 1)[-1]
            inputs.append(_s3_input(folder, uri, f"{BASELINE_DIR}/{folder}", kind="S3Prefix"))
            environment[variable] = f"{BASELINE_DIR}/{folder}/{file_name}"
    environment.update(definition.get("Environment") or {})
    resources = definition.get("MonitoringResources", {}).get("ClusterConfig", {})
    app = definition.get("MonitoringAppSpecification", {})
    request: dict[str, Any] = {
        "ProcessingJobName": job_name,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": output_config,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": int(resources.get("InstanceCount", 1)),
                "InstanceType": resources.get("InstanceType", "ml.m5.xlarge"),
                "VolumeSizeInGB": int(resources.get("VolumeSizeInGB", 30)),
            }
        },
        "AppSpecification": {"ImageUri": app.get("ImageUri", "")},
        "Environment": environment,
        "RoleArn": definition.get("RoleArn"),
        "StoppingCondition": definition.get("StoppingCondition") or {"MaxRuntimeInSeconds": 3600},
    }
    if definition.get("NetworkConfig"):
        request["NetworkConfig"] = definition["NetworkConfig"]
    return request


def _s3_input(name: str, uri: str, local_path: str, kind: str = "S3Prefix") -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": kind,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
