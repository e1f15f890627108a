"""Tests that need a tool never skip silently: the session lists them at its end, and fails
when CI is set (tests.support.ToolSkipReport, registered by the root conftest)."""

from __future__ import annotations

import os
import re

import pytest

from tests.support import MISSING_TOOL, REPO, needs_chromium, needs_git, needs_shellcheck

INNER_CONFTEST = """
from tests.support import report_tool_skips

def pytest_configure(config):
    report_tool_skips(config)
"""

INNER_TESTS = """
import pytest

from tests.support import needs_tool

@needs_tool("mlaccel-no-such-tool", "apt-get install mlaccel-no-such-tool")
def test_needs_the_tool():
    pass

@pytest.mark.skip(reason="not about a tool")
def test_skipped_for_another_reason():
    pass

def test_plain():
    pass
"""

LISTED = [
    "*= tests skipped for a missing tool =*",
    "test_inner.py::test_needs_the_tool: missing tool mlaccel-no-such-tool: "
    "apt-get install mlaccel-no-such-tool",
]


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A tiny session: one test needs a missing tool, one skips for another reason, one runs."""
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


def test_outside_ci_a_missing_tool_is_listed_and_the_run_passes(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [*LISTED, "with CI set (CI=true, as CI services set it) these skips fail the run"]
    )
    result.stdout.no_fnmatch_line("*test_skipped_for_another_reason: *")


@pytest.mark.parametrize("value", ["true", "1"])
def test_under_ci_a_missing_tool_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            *LISTED,
            "CI is set, so 1 skipped for a missing tool fail the run: install the tools "
            "(.ci/run does)",
        ]
    )


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_ci_set_to_false_is_not_ci(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    assert inner.runpytest().ret == pytest.ExitCode.OK


def test_under_ci_with_only_other_skips_the_run_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS.replace('"mlaccel-no-such-tool", ', '"sh", ', 1))
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*tests skipped for a missing tool*")


@pytest.mark.slow
def test_under_ci_with_xdist_workers_a_missing_tool_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The skips happen on the workers; the controller, which reports, sees them all."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ["PYTHONPATH"]]))
    result = inner.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([*LISTED, "CI is set, so 1 skipped for a missing tool fail*"])


def test_the_shared_tool_marks_say_what_to_install() -> None:
    for mark, tool in ((needs_chromium, "chromium"), (needs_shellcheck, "shellcheck")):
        assert mark.kwargs["reason"].startswith(f"{MISSING_TOOL} {tool}: apt-get install {tool}")
    assert needs_git.kwargs["reason"] == f"{MISSING_TOOL} git: apt-get install git"


def test_no_test_skips_on_its_own_for_a_missing_tool() -> None:
    """A tool check outside needs_tool would skip silently again."""
    own_check = re.compile(r"skipif\(\s*(shutil\.which\(|which\(|CHROMIUM is None)")
    own_checks = [
        f"{path.relative_to(REPO)}:{text.count(chr(10), 0, found.start()) + 1}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.name != "support.py"
        for text in [path.read_text()]
        for found in own_check.finditer(text)
    ]
    assert not own_checks, f"use tests.support.needs_tool instead: {own_checks}"
