"""Every change the twin makes to moto or to the SageMaker SDK, and the helpers they share.

The twin is laid out as moto pairs ``models.py`` with ``responses.py``: per service, the modules
that do the work beside one thin seam (``<service>/seam.py``) that hooks them into moto's
server. Each seam defines ``install(runtime)`` and ``check_seams()``:

- ``sagemaker_jobs.seam``: training, processing and tuning jobs really run
  (``sagemaker_jobs.engine``, ``.container``, ``.tuning``, ``.xgboost_algorithm``).
- ``transform.seam``: batch transform jobs score with the local predictors
  (``transform.engine``, ``.spec``, ``.records``, ``.json_path``).
- ``endpoints.seam``: endpoints start local model servers (``endpoints.fleet``,
  ``.capture``, and ``serving``); InvokeEndpoint reaches them.
- ``athena.seam``: SQL on Glue tables runs in DuckDB (``athena.engine``, ``.statements``,
  ``.results``).
- ``stepfunctions.seam``: ``sagemaker:*`` and ``.sync`` tasks in moto's state-machine
  interpreter (``stepfunctions.sagemaker_task``).
- ``awslambda.seam``: Lambda invocations call the Python handler in-process (``awslambda.runner``).
- ``events.seam``: EventBridge rules deliver to Step Functions and Lambda targets
  (``events.delivery``).
- ``sns.seam``: e-mail subscriptions deliver to an outbox (``sns.outbox``).

The kernel-side seam, SageMaker Pipelines on the SDK's local executor, is
``sdk_patches.local_pipelines`` (with ``sdk_patches.local_session``).

Every seam was written against the versions in :data:`PINNED_VERSIONS`: :func:`check_versions`
refuses other versions, and each ``check_seams()`` collects what it needs and no longer finds
(:func:`missing_attributes`, :func:`signature_problems`, :func:`import_problems`) and reports it
through :func:`fail_if_broken`, which raises :class:`~mlaccel.errors.SeamBroken` naming the
library, the missing pieces and the version the seam was written for. Seams install their hooks
with :func:`replace` and :func:`add`, so installing twice changes nothing.
``tests/mlaccel_twin/test_seams.py`` holds that contract.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from mlaccel.errors import SeamBroken
from mlaccel_twin._runtime import TwinRuntime

PINNED_VERSIONS = {"moto": "5.2.5", "sagemaker": "2.257.7", "stepfunctions": "2.3.0"}

_installed: set[str] = set()


def check_versions() -> None:
    """Raise :class:`SeamBroken` when a library the seams extend is not at its pinned version."""
    wrong = {
        name: metadata.version(name)
        for name, pinned in PINNED_VERSIONS.items()
        if metadata.version(name) != pinned
    }
    if wrong:
        found = ", ".join(f"{n}=={v} (patched for {PINNED_VERSIONS[n]})" for n, v in wrong.items())
        raise SeamBroken(
            f"the local twin patches internals of {found}; reinstall the pinned versions "
            "with `pip install -e '.[twin]'` or update the twin's seams and their tests"
        )


def install(runtime: TwinRuntime) -> None:
    """Install every seam once per process; the seams read the active runtime when called."""
    from mlaccel_twin.athena import seam as athena
    from mlaccel_twin.awslambda import seam as awslambda
    from mlaccel_twin.endpoints import seam as endpoints
    from mlaccel_twin.events import seam as events
    from mlaccel_twin.sagemaker_jobs import seam as sagemaker_jobs
    from mlaccel_twin.sns import seam as sns
    from mlaccel_twin.stepfunctions import seam as stepfunctions
    from mlaccel_twin.transform import seam as transform

    for seam in (
        athena,
        awslambda,
        endpoints,
        events,
        sagemaker_jobs,
        sns,
        stepfunctions,
        transform,
    ):
        if seam.__name__ not in _installed:
            seam.install(runtime)
            _installed.add(seam.__name__)


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
    pinned = PINNED_VERSIONS.get(library, "?")
    raise SeamBroken(
        f"the twin's {seam} seam no longer fits {library} {_installed_version(library)} "
        f"(written for {pinned}): {'; '.join(found)}. Reinstall the pinned versions "
        f"(pip install -e '.[twin]') or update mlaccel_twin's {seam} seam"
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
