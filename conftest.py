"""Fixtures and hooks for every test of the repository, the library's doctests included.

- The network guard (``tests/network_guard/pytest_plugin.py``): connections outside loopback
  are refused and recorded, in the pytest process and in every Python process a test starts;
  a test during which anything tried fails.
- Tests skipped because a tool is missing (``tests.support.needs_tool``) are listed at the end
  of the session, and fail it when ``CI`` is set (``tests.support.ToolSkipReport``).
"""

from __future__ import annotations

import pytest

from tests.support import report_tool_skips

pytest_plugins = ["pytester", "tests.network_guard.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    report_tool_skips(config)
