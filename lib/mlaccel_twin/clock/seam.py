"""Seam: the twin's clock runs scheduled EventBridge rules and Model Monitor schedules, and
answers at ``/_mlaccel/clock``.

moto stores rules with a ``ScheduleExpression`` and never fires them. The twin's clock
(:class:`~mlaccel_twin.clock.engine.TwinClock`) fires them on time, delivering the scheduled
event to their Step Functions and Lambda targets (:mod:`mlaccel_twin.events.delivery`), and
starts each Model Monitor schedule's job (:mod:`mlaccel_twin.monitoring.seam`);
``GET /_mlaccel/clock`` tells its time and ``POST`` ``{"advance_seconds": n}`` moves it on.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's server or rules no longer have what this seam uses.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.clock.client import CLOCK_PATH
from mlaccel_twin.clock.engine import TwinClock, scheduled_event, scheduled_rules
from mlaccel_twin.events.delivery import DELIVERED, deliver, target_service
from mlaccel_twin.monitoring import seam as monitoring
from mlaccel_twin.monitoring.schedules import MonitoringSchedule

log = logging.getLogger(__name__)
SERVICE_KEY = "clock"  # pragma: allowlist secret


def check_seams() -> None:
    """Fail loudly when moto's server or EventBridge backend changed what this seam uses."""
    from moto.events.models import EventsBackend, Rule
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    problems = missing_attributes(
        [(DomainDispatcherApplication, "get_application"), (Rule, "send_to_targets")]
    )
    if "self.event_buses" not in inspect.getsource(EventsBackend.__init__):
        problems.append("EventsBackend no longer keeps self.event_buses")
    fail_if_broken("clock", problems)


def install(runtime: TwinRuntime) -> None:
    """Answer the clock's route (each twin starts its own clock: :func:`start_clock`)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    check_seams()
    replace(DomainDispatcherApplication, "get_application", _clock_route)


def start_clock(runtime: TwinRuntime) -> TwinClock:
    """Start ``runtime``'s clock; it stops with the twin (``runtime.shutdown``)."""
    clock = TwinClock(lambda item, when: _fire(runtime, item, when), rules=_schedules)
    runtime.services[SERVICE_KEY] = clock
    clock.start()
    return clock


def _schedules() -> Iterator[Any]:
    """What runs by the clock: scheduled EventBridge rules and Model Monitor schedules."""
    yield from scheduled_rules()
    yield from monitoring.scheduled()


def _fire(runtime: TwinRuntime, rule: Any, when: datetime) -> None:
    if isinstance(rule, MonitoringSchedule):  # its job starts beside the clock, not in it
        lived = runtime.services[SERVICE_KEY].lived_offset_seconds  # before the thread runs
        threading.Thread(
            target=monitoring.fire,
            args=(runtime, rule, when, lived),
            name=f"monitoring-{rule.name}",
            daemon=True,
        ).start()
        return
    event = scheduled_event(rule, when)
    for target in rule.targets:
        if target_service(target) not in DELIVERED:
            log.info("scheduled rule %s: target %s is not run by the twin", rule.name, target)
            continue
        # AWS delivers asynchronously: a slow target must not hold the clock.
        threading.Thread(
            target=_deliver,
            args=(target, event, runtime),
            name=f"schedule-{rule.name}",
            daemon=True,
        ).start()


def _deliver(target: dict[str, Any], event: dict[str, Any], runtime: TwinRuntime) -> None:
    try:
        deliver(target, dict(event), runtime.client)
    except Exception:
        log.exception("could not deliver the scheduled event to %s", target)


def _clock_route(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_application(self: Any, environ: dict[str, Any]) -> Any:
        if str(environ.get("PATH_INFO", "")).startswith(CLOCK_PATH):
            return _clock_app
        return original(self, environ)

    return get_application


def _clock_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    clock = active_runtime().services[SERVICE_KEY]
    answer: dict[str, Any] = {}
    status = "200 OK"
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            seconds = float(json.loads(environ["wsgi.input"].read(length))["advance_seconds"])
            answer["fired"] = clock.advance(seconds)
        except (KeyError, TypeError, ValueError) as exc:
            status = "400 Bad Request"
            answer["message"] = f'send {{"advance_seconds": <seconds, 0 or more>}} ({exc})'
    answer.update({"now": clock.now().isoformat(), "offset_seconds": clock.offset_seconds})
    body = json.dumps(answer).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
