"""The twin's clock: scheduled EventBridge rules fire on time, and the clock can be advanced
(``mlaccel twin advance 1h``, :func:`advance_clock`) so an hourly schedule runs now."""

from mlaccel_twin.clock.client import advance_clock, clock_now, parse_duration

__all__ = ["advance_clock", "clock_now", "parse_duration"]
