"""CloudWatch Logs of a job the twin runs, where the SageMaker SDK reads them."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


class CloudWatchJobLog:
    """Sends a job's log lines to a CloudWatch Logs stream, as SageMaker containers do.

    Parameters
    ----------
    logs_client
        boto3 CloudWatch Logs client.
    group, stream
        Log group (``/aws/sagemaker/TransformJobs``) and stream (``<job>/<instance>``).

    Examples
    --------
    >>> job_log = CloudWatchJobLog(logs, "/aws/sagemaker/TransformJobs", "my-job/twin-0")
    ... # doctest: +SKIP
    >>> job_log("Starting")  # doctest: +SKIP
    """

    def __init__(self, logs_client: Any, group: str, stream: str) -> None:
        self._logs = logs_client
        self.group = group
        self.stream = stream
        for create, kwargs in (
            (logs_client.create_log_group, {"logGroupName": group}),
            (logs_client.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
        ):
            with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
                create(**kwargs)

    def __call__(self, message: str) -> None:
        log.info("%s: %s", self.stream, message)
        try:
            self._logs.put_log_events(
                logGroupName=self.group,
                logStreamName=self.stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
            )
        except Exception:
            log.warning("could not write to log stream %s", self.stream, exc_info=True)
