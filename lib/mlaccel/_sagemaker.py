"""The one place that builds SageMaker SDK sessions (the SDK takes seconds to import)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from typing import Any

QUIET_LOGGERS = {
    "sagemaker.config": logging.WARNING,
    "sagemaker.telemetry.telemetry_logging": logging.WARNING,
    "sagemaker.workflow.utilities": logging.ERROR,
}


def quiet_sdk_logs() -> None:
    """Quiet the SDKs' notices and chatty loggers (``QUIET_LOGGERS``), without importing them.

    On import the SageMaker SDK warns that a v3 exists, naming its own file, and logs at INFO
    each config file it looks for by its absolute path (the checkout's, the home directory's);
    the Step Functions SDK imports ``pkg_resources``, whose deprecation warning names the
    importing file. The SageMaker SDK also logs a telemetry notice on every call even when
    telemetry is opted out (as the kit's config does), and warns about each job name a
    pipeline definition leaves to execution time. It keeps a logger level set before its
    import, so :func:`mlaccel.connect` calls this before any accelerator imports an SDK:
    notebooks, shared as they are, then show no path of the machine that ran them.
    """
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    warnings.filterwarnings(
        "ignore",
        message="pkg_resources is deprecated",
        category=UserWarning,
        module="stepfunctions",
    )
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def _import_sagemaker() -> Any:
    quiet_sdk_logs()
    root = logging.getLogger()
    level_before = root.level
    import sagemaker
    import sagemaker.experiments._metrics  # sets the root logger to INFO on import

    root.setLevel(level_before)
    _validate_config_once()

    return sagemaker


def _validate_config_once() -> None:
    """Validate each SDK defaults config once, not on every lookup.

    ``sagemaker.utils.get_sagemaker_config_value`` re-validates the whole config against the
    SDK's JSON schema on every call (about 0.15 s each; building one workflow makes dozens).
    The config does not change between lookups, so a config that passed stays valid.
    """
    import sagemaker.utils as sdk_utils

    original: Any = sdk_utils.validate_sagemaker_config  # type: ignore[attr-defined]
    if getattr(original, "mlaccel_cached", False):
        return
    valid: set[str] = set()

    def validate_once(config: Any = None) -> None:
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in valid:
            original(config)
            valid.add(key)

    validate_once.mlaccel_cached = True  # type: ignore[attr-defined]
    sdk_utils.validate_sagemaker_config = validate_once  # type: ignore[attr-defined,assignment]


def make_sagemaker_session(
    *,
    boto3_session: Any,
    sagemaker_client: Any,
    runtime_client: Any,
    bucket: str,
    poll_seconds: float,
) -> Any:
    """A ``sagemaker.Session`` on these clients with its bucket set explicitly.

    Its waits poll every ``poll_seconds`` (the connection's :attr:`Connection.wait`): the SDK's
    own polls (5-30 s) are sized for AWS and would dominate a run on the twin.
    """
    sagemaker = _import_sagemaker()
    return _polled_session_class(sagemaker, poll_seconds)(
        boto_session=boto3_session,
        sagemaker_client=sagemaker_client,
        sagemaker_runtime_client=runtime_client,
        default_bucket=bucket,
        settings=_session_settings(),
    )


def _session_settings() -> Any:
    # The SDK looks for JumpStart tags by reading an estimator's model_data before a tuning
    # job starts, which warns "No finished training job found"; the kit uses no JumpStart model.
    from sagemaker.session_settings import SessionSettings

    return SessionSettings(include_jumpstart_tags=False)


def make_pipeline_session(*, boto3_session: Any, sagemaker_client: Any, bucket: str) -> Any:
    """A SageMaker ``PipelineSession``: steps are built into a definition, not run."""
    _import_sagemaker()
    from sagemaker.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=boto3_session,
        sagemaker_client=sagemaker_client,
        default_bucket=bucket,
        settings=_session_settings(),
    )


def _polled_session_class(sagemaker: Any, poll_seconds: float) -> Any:
    class PolledSageMakerSession(sagemaker.Session):  # type: ignore[misc]
        """A SageMaker session that polls its backend at the connection's pace."""

        # The SDK prints a dot per poll; the kit shows one line that says what it waits for.
        def wait_for_job(self, job: str, poll: float = poll_seconds) -> Any:
            return quietly(
                f"training job {job}", "TrainingJobStatus", super().wait_for_job, job, poll
            )

        def wait_for_processing_job(self, job: str, poll: float = poll_seconds) -> Any:
            wait = super().wait_for_processing_job
            return quietly(f"processing job {job}", "ProcessingJobStatus", wait, job, poll)

        def wait_for_transform_job(self, job: str, poll: float = poll_seconds) -> Any:
            wait = super().wait_for_transform_job
            return quietly(f"transform job {job}", "TransformJobStatus", wait, job, poll)

        def wait_for_tuning_job(self, job: str, poll: float = poll_seconds) -> Any:
            # The SDK prints only dots while a tuner runs; the line says how far it got.
            def wait(name: str, poll: float) -> Any:
                client = self.sagemaker_client
                while True:
                    described = client.describe_hyper_parameter_tuning_job(
                        HyperParameterTuningJobName=name
                    )
                    if described["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
                        break
                    sys.stdout.write(f"{tuning_progress(described)}\n")  # the progress line
                    time.sleep(poll)
                return super(PolledSageMakerSession, self).wait_for_tuning_job(name, poll=poll)

            return quietly(f"tuning job {job}", "HyperParameterTuningJobStatus", wait, job, poll)

        def wait_for_model_package(
            self, model_package_name: str, poll: float = poll_seconds
        ) -> Any:
            return super().wait_for_model_package(model_package_name, poll=poll)

        def wait_for_endpoint(
            self, endpoint: str, poll: float = poll_seconds, live_logging: bool = False
        ) -> Any:
            def wait(name: str, poll: float) -> Any:
                return super(PolledSageMakerSession, self).wait_for_endpoint(
                    name, poll=poll, live_logging=live_logging
                )

            return quietly(f"endpoint {endpoint}", "EndpointStatus", wait, endpoint, poll)

        def logs_for_job(
            self,
            job_name: str,
            wait: bool = False,
            poll: float = poll_seconds,
            log_type: str = "All",
            timeout: float | None = None,
        ) -> Any:
            return super().logs_for_job(
                job_name, wait=wait, poll=poll, log_type=log_type, timeout=timeout
            )

        def logs_for_processing_job(
            self, job_name: str, wait: bool = False, poll: float = poll_seconds
        ) -> Any:
            return super().logs_for_processing_job(job_name, wait=wait, poll=poll)

        def logs_for_transform_job(
            self, job_name: str, wait: bool = False, poll: float = poll_seconds
        ) -> Any:
            # The SDK re-checks a transform job's status only every 30 s while it shows logs;
            # wait for the end here, then let it print the logs of the finished job.
            while wait:
                status = self.sagemaker_client.describe_transform_job(TransformJobName=job_name)
                if status["TransformJobStatus"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(poll)
            return super().logs_for_transform_job(job_name, wait=wait, poll=poll)

    return PolledSageMakerSession


def tuning_progress(described: dict[str, Any]) -> str:
    """A running tuning job's state, from DescribeHyperParameterTuningJob.

    Examples
    --------
    >>> tuning_progress({"TrainingJobStatusCounters": {"Completed": 3, "InProgress": 2},
    ...     "HyperParameterTuningJobConfig": {"ResourceLimits": {"MaxNumberOfTrainingJobs": 10}}})
    'InProgress - 3 of 10 training jobs completed, 2 running'
    """
    counters = described.get("TrainingJobStatusCounters") or {}
    limit = (
        described.get("HyperParameterTuningJobConfig", {})
        .get("ResourceLimits", {})
        .get("MaxNumberOfTrainingJobs", "?")
    )
    failed = counters.get("NonRetryableError", 0) + counters.get("RetryableError", 0)
    text = (
        f"InProgress - {counters.get('Completed', 0)} of {limit} training jobs completed, "
        f"{counters.get('InProgress', 0)} running"
    )
    return text + (f", {failed} failed" if failed else "")


def quietly(what: str, status_key: str, wait: Any, name: str, poll: float) -> Any:
    """Run the SDK's ``wait(name, poll=poll)`` with its dots and status messages shown as one
    progress line (:mod:`mlaccel.progress`), ending with the final status."""
    import contextlib

    from mlaccel.progress import DotsToProgress, progress_line

    with progress_line(what) as line:
        with contextlib.redirect_stdout(DotsToProgress(line)):
            description = wait(name, poll=poll)
        status = description.get(status_key, "done") if isinstance(description, dict) else "done"
        line.finish(str(status))
    return description


def default_bucket_for(boto3_session: Any) -> str:
    """The SageMaker SDK's default bucket of a real account (``sagemaker-<region>-<account>``)."""
    sagemaker = _import_sagemaker()
    return str(sagemaker.Session(boto_session=boto3_session).default_bucket())


def execution_role_for(boto3_session: Any) -> str:
    """The SageMaker execution role of the caller (Studio's role inside SageMaker Studio)."""
    sagemaker = _import_sagemaker()
    return str(sagemaker.get_execution_role(sagemaker.Session(boto_session=boto3_session)))
