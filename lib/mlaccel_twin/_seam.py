"""The one helper every seam shares: what a seam needs and no longer finds becomes
:class:`~mlaccel.errors.SeamBroken`, and hooks install once, keeping the library's original.

A leaf of the twin: the seams import it, and it imports none of them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from mlaccel.errors import SeamBroken

PINNED_VERSIONS = {"moto": "5.2.5", "sagemaker": "2.257.7", "stepfunctions": "2.3.0"}
# The oldest version a seam also fits, where the twin accepts a range: the lowest lane
# (`make test-lowest`) runs the twin on these, the lock on PINNED_VERSIONS. sagemaker 2.253.1 is
# the newest SDK that still allows pandas 2.2. pyproject's `twin` extra states the same ranges.
OLDEST_VERSIONS = {"sagemaker": "2.253.1"}


def supported_versions(library: str) -> str:
    """The versions of ``library`` the seams were written for, as people read them.

    Examples
    --------
    >>> supported_versions("moto")
    '5.2.5'
    >>> supported_versions("sagemaker")
    '2.253.1 to 2.257.7'
    """
    pinned = PINNED_VERSIONS.get(library, "?")
    oldest = OLDEST_VERSIONS.get(library, pinned)
    return pinned if oldest == pinned else f"{oldest} to {pinned}"


def is_supported(library: str, version: str) -> bool:
    """Whether the seams fit ``version`` of ``library``: from its oldest to its pinned version.

    Examples
    --------
    >>> is_supported("sagemaker", "2.255.0"), is_supported("sagemaker", "2.258.0")
    (True, False)
    >>> is_supported("moto", "5.2.5"), is_supported("moto", "5.2.4")
    (True, False)
    """
    from packaging.version import Version

    pinned = PINNED_VERSIONS[library]
    oldest = OLDEST_VERSIONS.get(library, pinned)
    return Version(oldest) <= Version(version) <= Version(pinned)


def fail_if_broken(seam: str, problems: Iterable[str], *, library: str = "moto") -> None:
    """Raise :class:`SeamBroken` naming ``seam``, what it misses and the version it was written for.

    Examples
    --------
    >>> fail_if_broken("sns", [])
    >>> fail_if_broken("sns", ["Subscription.publish is gone"])
    Traceback (most recent call last):
    ...
    mlaccel.errors.SeamBroken: the twin's sns seam no longer fits moto ...
    """
    found = list(problems)
    if not found:
        return
    raise SeamBroken(
        f"the twin's {seam} seam no longer fits {library} {_installed_version(library)} "
        f"(written for {supported_versions(library)}): {'; '.join(found)}. Reinstall the "
        f"pinned versions (pip install -e '.[twin]') or update mlaccel_twin's {seam} seam"
    )


def missing_attributes(needed: Iterable[tuple[Any, str]]) -> list[str]:
    """``Owner.name`` for each ``(owner, name)`` whose owner no longer has that attribute.

    Examples
    --------
    >>> missing_attributes([(str, "upper"), (str, "shout")])
    ['str.shout is gone']
    """
    return [
        f"{getattr(owner, '__name__', owner)}.{name} is gone"
        for owner, name in needed
        if not hasattr(owner, name)
    ]


def import_problems(*modules: str) -> list[str]:
    """``module no longer imports`` for each module that fails to import, with the reason.

    A seam module that imports the library's internals at its top is checked this way: a
    moved or renamed internal then reads as a broken seam, not as a bare ``ImportError``.

    Examples
    --------
    >>> import_problems("json")
    []
    >>> import_problems("json.no_such_module")
    ["json.no_such_module no longer imports (No module named 'json.no_such_module')"]
    """
    problems = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            problems.append(f"{name} no longer imports ({exc})")
    return problems


def signature_problems(owners: Mapping[str, Any], expected: Mapping[str, list[str]]) -> list[str]:
    """What changed in the signatures of ``Owner.method`` entries, against the expected names."""
    problems = []
    for dotted, parameters in expected.items():
        owner_name, attribute = dotted.split(".")
        function = unwrapped(getattr(owners[owner_name], attribute, None))
        if function is None:
            problems.append(f"{dotted} is gone")
            continue
        found = list(inspect.signature(function).parameters)
        if found != parameters:
            problems.append(f"{dotted}{tuple(found)} (expected {tuple(parameters)})")
    return problems


def unwrapped(function: Any) -> Any:
    """The moto function a seam replaced, or ``function`` itself when no seam wraps it."""
    return getattr(function, "_mlaccel_original", function)


def replace(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` with ``make(original)``, once: a second install changes nothing."""
    original = getattr(owner, name)
    if getattr(original, "_mlaccel_seam", False):
        return
    replacement = make(original)
    replacement._mlaccel_seam = True
    replacement._mlaccel_original = original
    replacement.__name__ = name
    setattr(owner, name, replacement)


def add(owner: Any, name: str, function: Any) -> None:
    """Give ``owner`` a method moto lacks, once."""
    existing = getattr(owner, name, None)
    if existing is not None and getattr(existing, "_mlaccel_seam", False):
        return
    function._mlaccel_seam = True
    setattr(owner, name, function)


def _installed_version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "(not installed)"
