"""The ``local`` backend of ``mlaccel.connect``: how a connection finds, starts and uses the twin.

The accelerators never import the twin: ``mlaccel.connect`` loads :class:`TwinBackend` through
the ``mlaccel.backends`` entry point (``pyproject.toml``), so an account user who installs the
kit without its ``twin`` extra gets a clear message instead of the emulator. This module stays
light: moto and the SageMaker SDK load only when a twin starts or a pipeline session is built.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from mlaccel.errors import MLAccelInputError, TwinError
from mlaccel_twin import config

log = logging.getLogger(__name__)
# Said once, when a connection starts the shared service: it outlives the kernel on purpose.
STARTED_SERVICE_NOTICE = (
    "started the local AWS twin as a background service at %s; it keeps running after this "
    "kernel exits, shared by other kernels and runs. Stop it with `mlaccel twin stop`."
)


class TwinBackend:
    """What the twin gives a connection: its URL, credentials, defaults and local-only features."""

    name = "local"
    credentials: Mapping[str, str] = config.TWIN_CREDENTIALS
    region = config.TWIN_REGION
    bucket = config.TWIN_BUCKET

    def endpoint_url(self, requested: str | None) -> str:
        """The URL of the twin to use: ``requested``, the twin of this process, or the service.

        A requested URL must be on loopback and answer; with none, a running twin of this
        process or the background service is used, and the service is started when neither runs.
        """
        from mlaccel_twin._server import current_url
        from mlaccel_twin._service import is_listening

        url = requested or current_url()
        if not url:
            url, started = self.start_service()
            if started:
                log.warning(STARTED_SERVICE_NOTICE, url)
            return url
        if not url.startswith(("http://127.", "http://localhost")):
            raise MLAccelInputError(
                f"twin_url={url!r} is not on loopback; the twin only listens on 127.0.0.1"
            )
        if not is_listening(url):
            raise TwinError(
                f"no twin answers at {url}; start one with `mlaccel twin start` or unset "
                "MLACCEL_TWIN_URL"
            )
        return url

    def execution_role(self, iam: Any) -> str:
        """The SageMaker execution role of the twin's account, created on first use.

        As a Studio execution role set up for the kit, SageMaker, Step Functions and EventBridge
        may assume it (the notebooks run jobs, workflows and rules as it), and its policy says
        what the twin enforces: nothing, so a policy simulation answers what the twin allows.
        The ARN comes from the twin, so no account id is written anywhere in the kit.
        """
        try:
            return str(iam.get_role(RoleName=config.TWIN_ROLE_NAME)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            try:
                role = iam.create_role(
                    RoleName=config.TWIN_ROLE_NAME,
                    AssumeRolePolicyDocument=json.dumps(config.TWIN_ROLE_TRUST),
                )
            except iam.exceptions.EntityAlreadyExistsException:  # another run, this moment
                role = iam.get_role(RoleName=config.TWIN_ROLE_NAME)
            iam.put_role_policy(
                RoleName=config.TWIN_ROLE_NAME,
                PolicyName=config.TWIN_ROLE_POLICY_NAME,
                PolicyDocument=json.dumps(config.TWIN_ROLE_POLICY),
            )
            return str(role["Role"]["Arn"])

    def read_outbox(self, s3: Any, topic: str | None = None) -> list[dict[str, Any]]:
        """E-mails the twin delivered (oldest first), optionally for one topic name or ARN."""
        from mlaccel_twin.sns.outbox import read_outbox

        return read_outbox(s3, topic)

    def start_service(self) -> tuple[str, bool]:
        """Start the background twin unless one runs; return its URL and whether it was started."""
        from mlaccel_twin._service import service_status, start_service

        started = service_status() is None
        return start_service().url, started

    def stop_service(self) -> bool:
        """Stop the background twin; False when none was running."""
        from mlaccel_twin._service import stop_service

        return stop_service()

    def command(self, argv: Sequence[str]) -> int:
        """``mlaccel twin start|status|stop|reset [--port N]`` and ``mlaccel twin advance 1h``:
        the background twin service and its clock."""
        return main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Manage the background twin that several kernels share; print what it did."""
    from mlaccel_twin._service import reset_service, service_status, start_service, stop_service

    parser = argparse.ArgumentParser(prog="mlaccel twin", description=main.__doc__)
    parser.add_argument("action", choices=["start", "status", "stop", "reset", "advance"])
    parser.add_argument("duration", nargs="?", help="for advance: how far, e.g. 1h, 30m, 1d")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--json", action="store_true", help="status: print it as JSON")
    args = parser.parse_args(argv)
    if args.action == "start":
        info = start_service(port=args.port)
        _say(f"twin running at {info.url} (pid {info.pid})")
        _say(f"point kernels at it with: export MLACCEL_TWIN_URL={info.url}")
    elif args.action == "status":
        running = service_status()
        if running is None:
            _say("twin: not running")
            return 3
        _say(json.dumps(running.__dict__, indent=2) if args.json else describe_service(running))
    elif args.action == "advance":
        from mlaccel_twin.clock import advance_clock

        running = service_status()
        if running is None:
            _say("twin: not running; start it with `mlaccel twin start`")
            return 3
        if not args.duration:
            parser.error("advance needs a duration, e.g. `mlaccel twin advance 1h`")
        moved = advance_clock(running.url, args.duration)
        _say(f"twin clock now {moved['now']} ({moved['offset_seconds']:.0f} s ahead)")
        for rule, when in moved["fired"]:
            _say(f"  fired {rule} (due {when})")
    elif args.action == "reset":
        restarted = reset_service()
        _say("twin reset: its state is empty" + (" (restarted)" if restarted else ""))
    else:
        _say("twin stopped" if stop_service() else "twin: not running")
    return 0


def describe_service(info: Any, now: float | None = None) -> str:
    """``mlaccel twin status`` for people: what runs where, since when (local time).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> info = SimpleNamespace(url="http://127.0.0.1:5000", pid=42, work_dir="jobs",
    ...                        started_at=0.0)
    >>> print(describe_service(info, now=3725.0).splitlines()[3].split("(")[1])
    up 1 h 2 min)
    """
    import time as clock

    elapsed = int((clock.time() if now is None else now) - info.started_at)
    hours, rest = divmod(max(elapsed, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    uptime = f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"
    started = clock.strftime("%Y-%m-%d %H:%M:%S %Z", clock.localtime(info.started_at))
    return "\n".join(
        [
            "twin: running",
            f"  url      {info.url}   (export MLACCEL_TWIN_URL={info.url})",
            f"  process  {info.pid}",
            f"  started  {started} (up {uptime})",
            f"  jobs     {info.work_dir}",
        ]
    )


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
