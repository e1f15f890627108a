"""How ``mlaccel doctor`` shows its checks: a table of ✓ / ✗ / – with the fixes, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlaccel.doctor._check import FAIL, NOT_RUN, PASS, Check


def exit_code(checks: Sequence[Check]) -> int:
    """0 when no check failed, else 1 (a check not run does not fail the account)."""
    return 1 if any(c.status == FAIL for c in checks) else 0


def summary(checks: Sequence[Check]) -> str:
    """``12 passed, 1 failed, 2 not run``."""
    counts = {status: sum(c.status == status for c in checks) for status in (PASS, FAIL, NOT_RUN)}
    return f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[NOT_RUN]} not run"


def render_table(checks: Sequence[Check], *, title: str = "") -> str:
    """The checks as a text table, each failure followed by its fix.

    Examples
    --------
    >>> print(render_table([Check("region", "pass", "eu-west-1")]))
    ✓ region  eu-west-1
    1 passed, 0 failed, 0 not run
    """
    width = max((len(c.name) for c in checks), default=0)
    lines = [title] if title else []
    for check in checks:
        lines.append(f"{check.mark} {check.name.ljust(width)}  {check.detail}")
        if check.fix:
            lines.append(f"  {' ' * width}  fix: {check.fix}")
    lines.append(summary(checks))
    return "\n".join(lines)


def to_json(checks: Sequence[Check], **about: str) -> str:
    """The checks as JSON: ``{"ok": ..., "summary": ..., "checks": [...]}`` and ``about``."""
    document = {
        **about,
        "ok": exit_code(checks) == 0,
        "summary": summary(checks),
        "checks": [c.as_dict() for c in checks],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
