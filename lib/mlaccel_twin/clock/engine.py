"""The twin's clock: real time plus an offset that tests and workshops move forward.

A background thread looks at the scheduled EventBridge rules once a second; each one fires at
its times of the twin's clock, and advancing the clock fires what falls due in between.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from mlaccel_twin.clock.schedule import next_fire, parse_schedule

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
MAX_CATCH_UP = 24  # firings of one rule in one step; a long advance skips the older ones

Fire = Callable[[Any, datetime], None]


def scheduled_event(rule: Any, when: datetime) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's targets."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


def scheduled_rules() -> Iterator[Any]:
    """Every enabled rule with a schedule, in every account and region of the twin."""
    from moto.events.models import events_backends

    for regions in list(events_backends.values()):
        for backend in list(regions.values()):
            for bus in list(backend.event_buses.values()):
                for rule in list(bus.rules.values()):
                    if rule.scheduled_expression and rule.state == "ENABLED":
                        yield rule


class TwinClock:
    """Time on the twin, and the schedules that run by it."""

    def __init__(self, fire: Fire, rules: Callable[[], Iterator[Any]] = scheduled_rules) -> None:
        self._fire = fire
        self._rules = rules
        self._offset = timedelta(0)
        self._lived_offset = timedelta(0)  # the offset before a jump, while it fires
        self._due: dict[str, tuple[str, datetime, datetime]] = {}  # arn: expr, anchor, next
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    @property
    def lived_offset_seconds(self) -> float:
        """The offset the latest real time ran with: during an advance, the one before the
        jump. What happened in real time (a request, its capture) happened at that twin time;
        the hours jumped over saw nothing."""
        return self._lived_offset.total_seconds()

    def advance(self, seconds: float) -> list[tuple[str, str]]:
        """Move the clock forward and fire what falls due; returns (rule, time) fired."""
        if seconds < 0:
            raise ValueError("the twin's clock only moves forward")
        with self._lock:
            self.tick()  # rules seen before the jump count from the time they were created
            self._lived_offset = self._offset
            self._offset += timedelta(seconds=seconds)
            try:
                return self.tick()
            finally:
                self._lived_offset = self._offset

    def tick(self) -> list[tuple[str, str]]:
        """Fire every schedule due by now, once per time it was due (up to MAX_CATCH_UP)."""
        fired = []
        with self._lock:
            now = self.now()
            seen = set()
            for rule in self._rules():
                seen.add(rule.arn)
                expression = rule.scheduled_expression
                known = self._due.get(rule.arn)
                if known is None or known[0] != expression:  # new, or its schedule changed
                    schedule = parse_schedule(expression)
                    self._due[rule.arn] = (expression, now, next_fire(schedule, now, now))
                    continue
                _, anchor, due = known
                schedule = parse_schedule(expression)
                times = []
                while due <= now:
                    times.append(due)
                    due = next_fire(schedule, due, anchor)
                self._due[rule.arn] = (expression, anchor, due)
                for when in times[-MAX_CATCH_UP:]:
                    self._fire(rule, when)
                    fired.append((rule.name, when.isoformat()))
            for arn in set(self._due) - seen:  # deleted or disabled
                del self._due[arn]
        return fired

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(TICK_SECONDS):
                try:
                    self.tick()
                except Exception:  # a bad rule must not stop the others' schedules
                    log.exception("the twin's clock could not run its schedules")

        self._thread = threading.Thread(target=run, name="twin-clock", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
