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
- ``tagging.seam``: scalable targets keep their tags, and EventBridge rules are found by tag.
- ``iam.seam``: ``SimulatePrincipalPolicy`` evaluates a principal's policies
  (``iam.simulation``), and the twin's caller answers as its execution role.
- ``servicequotas.seam``: SageMaker's instance quotas (``servicequotas.quotas``).
- ``model_registry.seam``: UpdateModelPackage keeps the fields it is not given, ListModels
  filters by name and time.
- ``clock.seam``: the twin's clock fires scheduled EventBridge rules and Model Monitor
  schedules and can be advanced (``clock.engine``, ``clock.schedule``, ``clock.client``).
- ``pipelines.seam``: SageMaker Pipeline executions run their definition's steps in the twin,
  whatever session started them (``pipelines.executor``, ``pipelines.expressions``).
- ``glue.seam``: Glue job runs run their Python shell script (``glue.runs``); Step Functions'
  ``glue:startJobRun(.sync)`` is ``stepfunctions.glue_task``.
- ``lineage.seam``: ML Lineage Tracking (moto has none): artifacts, contexts, actions,
  associations and QueryLineage (``lineage.graph``).
- ``monitoring.seam``: Model Monitor schedules (moto has none); each firing runs the
  schedule's job over the endpoint's capture (``monitoring.schedules``).
- ``state.seam``: S3 objects on disk and the control plane saved as JSON, restored at start
  (``state.objects``, ``state.control``).
- ``unsupported.seam``: actions moto lacks answer AWS's unknown-operation error, naming them.

Every seam was written against the versions in :data:`PINNED_VERSIONS` (the SageMaker SDK's
from :data:`OLDEST_VERSIONS` on): :func:`check_versions` refuses other versions, and each
``check_seams()`` collects what it needs and no longer finds (:func:`missing_attributes`,
:func:`signature_problems`, :func:`import_problems`) and reports it
through :func:`fail_if_broken`, which raises :class:`~mlaccel.errors.SeamBroken` naming the
library, the missing pieces and the version the seam was written for. Seams install their hooks
with :func:`replace` and :func:`add`, so installing twice changes nothing.
``tests/mlaccel_twin/test_seams.py`` holds that contract.
"""

from __future__ import annotations

from importlib import metadata

from mlaccel.errors import SeamBroken
from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import (
    OLDEST_VERSIONS,
    PINNED_VERSIONS,
    add,
    fail_if_broken,
    import_problems,
    is_supported,
    missing_attributes,
    replace,
    signature_problems,
    supported_versions,
    unwrapped,
)

__all__ = [
    "OLDEST_VERSIONS",
    "PINNED_VERSIONS",
    "add",
    "check_versions",
    "fail_if_broken",
    "import_problems",
    "install",
    "is_supported",
    "missing_attributes",
    "replace",
    "signature_problems",
    "supported_versions",
    "unwrapped",
]


_installed: set[str] = set()


def check_versions() -> None:
    """Raise :class:`SeamBroken` when a library the seams extend is not at a version they were
    written for: its pinned version, or from its oldest to its pinned one (``OLDEST_VERSIONS``)."""
    wrong = {
        name: metadata.version(name)
        for name in PINNED_VERSIONS
        if not is_supported(name, metadata.version(name))
    }
    if wrong:
        found = ", ".join(
            f"{n}=={v} (patched for {supported_versions(n)})" for n, v in wrong.items()
        )
        raise SeamBroken(
            f"the local twin patches internals of {found}; reinstall the pinned versions "
            "with `pip install -e '.[twin]'` or update the twin's seams and their tests"
        )


def install(runtime: TwinRuntime) -> None:
    """Install every seam once per process; the seams read the active runtime when called."""
    from mlaccel_twin.athena import seam as athena
    from mlaccel_twin.awslambda import seam as awslambda
    from mlaccel_twin.clock import seam as clock
    from mlaccel_twin.endpoints import seam as endpoints
    from mlaccel_twin.events import seam as events
    from mlaccel_twin.glue import seam as glue
    from mlaccel_twin.iam import seam as iam
    from mlaccel_twin.lineage import seam as lineage
    from mlaccel_twin.model_registry import seam as model_registry
    from mlaccel_twin.monitoring import seam as monitoring
    from mlaccel_twin.pipelines import seam as pipelines
    from mlaccel_twin.sagemaker_jobs import seam as sagemaker_jobs
    from mlaccel_twin.servicequotas import seam as servicequotas
    from mlaccel_twin.sns import seam as sns
    from mlaccel_twin.state import seam as state
    from mlaccel_twin.stepfunctions import seam as stepfunctions
    from mlaccel_twin.tagging import seam as tagging
    from mlaccel_twin.transform import seam as transform
    from mlaccel_twin.unsupported import seam as unsupported

    for seam in (
        athena,
        awslambda,
        clock,
        endpoints,
        events,
        glue,
        iam,
        lineage,
        model_registry,
        monitoring,
        pipelines,
        sagemaker_jobs,
        servicequotas,
        sns,
        state,
        stepfunctions,
        tagging,
        transform,
        unsupported,
    ):
        if seam.__name__ not in _installed:
            seam.install(runtime)
            _installed.add(seam.__name__)
