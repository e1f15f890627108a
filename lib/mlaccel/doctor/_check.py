"""What one check of ``mlaccel doctor`` finds, and the helpers every check shares."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
MARKS = {PASS: "✓", FAIL: "✗", NOT_RUN: "–"}
# What stands for the account id in a report, so it can be shared as it is.
REDACTED_ACCOUNT = "<account-id>"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, what was found and how to fix it.

    ``status`` is ``"pass"``, ``"fail"`` or ``"not run"`` (then ``detail`` says why).
    """

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def mark(self) -> str:
        """✓, ✗ or – for the table."""
        return MARKS[self.status]

    def as_dict(self) -> dict[str, str]:
        """The check as plain data (``--json``)."""
        return {**dataclasses.asdict(self), "mark": self.mark}


def passed(name: str, detail: str) -> Check:
    return Check(name, PASS, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, FAIL, detail, fix)


def not_run(name: str, why: str, fix: str = "") -> Check:
    return Check(name, NOT_RUN, why, fix)


def redact(checks: Iterable[Check], account: str | None) -> list[Check]:
    """The checks with the account id replaced, so a report can be shared as it is."""
    if not account:
        return list(checks)

    def hide(text: str) -> str:
        return text.replace(account, REDACTED_ACCOUNT)

    return [Check(hide(c.name), c.status, hide(c.detail), hide(c.fix)) for c in checks]


def error_code(exc: Exception) -> str:
    """AWS's error code of a botocore error (``NoSuchEntity``), else the exception's type."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def error_reason(exc: Exception, permission: str) -> str:
    """Why a call failed: the ``permission`` it needs when access was denied, else AWS's words."""
    code = error_code(exc)
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"access denied (needs {permission})"
    return f"{code}: {getattr(exc, 'response', {}).get('Error', {}).get('Message', exc)}"
