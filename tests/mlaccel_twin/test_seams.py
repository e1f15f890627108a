"""The seam contract: every place the twin hooks into moto or the SageMaker SDK still fits.

Each seam names what it needs; an upgrade that removes it fails here, loudly, with the library,
the missing piece and the version the seam was written for.
"""

from __future__ import annotations

from importlib import import_module

import pytest

import mlaccel
from mlaccel.errors import MLAccelError, SeamBroken
from mlaccel_twin import seams

SEAMS = [
    "mlaccel_twin.athena.seam",
    "mlaccel_twin.awslambda.seam",
    "mlaccel_twin.endpoints.seam",
    "mlaccel_twin.events.seam",
    "mlaccel_twin.sagemaker_jobs.seam",
    "mlaccel_twin.sns.seam",
    "mlaccel_twin.stepfunctions.seam",
    "mlaccel_twin.transform.seam",
    "mlaccel_twin.sdk_patches.local_pipelines",
]


def test_installed_libraries_are_the_pinned_versions() -> None:
    seams.check_versions()


@pytest.mark.parametrize("module", SEAMS)
def test_every_seam_fits_the_installed_libraries(module: str, conn: mlaccel.Connection) -> None:
    # `conn` sets the process up as a kernel is (region, SDK config), so importing the SageMaker
    # SDK looks nothing up outside loopback.
    import_module(module).check_seams()


def test_a_new_version_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(seams.PINNED_VERSIONS, "moto", "0.0.1")
    with pytest.raises(SeamBroken, match=r"moto==\S+ \(patched for 0\.0\.1\).*pip install"):
        seams.check_versions()


def test_a_missing_piece_names_the_seam_library_and_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.sns.models import Subscription

    from mlaccel_twin.sns import seam

    monkeypatch.delattr(Subscription, "publish")
    with pytest.raises(SeamBroken) as caught:
        seam.check_seams()
    message = str(caught.value)
    assert "the twin's sns seam no longer fits moto" in message
    assert "Subscription.publish is gone" in message
    assert f"written for {seams.PINNED_VERSIONS['moto']}" in message
    assert isinstance(caught.value, MLAccelError)


def test_a_changed_signature_is_reported() -> None:
    class Backend:
        def run(self, query: str) -> None: ...

    problems = seams.signature_problems({"Backend": Backend}, {"Backend.run": ["self", "sql"]})
    assert problems == ["Backend.run('self', 'query') (expected ('self', 'sql'))"]
    assert seams.signature_problems({"Backend": Backend}, {"Backend.gone": []}) == [
        "Backend.gone is gone"
    ]


def test_replace_installs_once_and_keeps_the_original() -> None:
    class Owner:
        def action(self) -> str:
            return "moto"

    def make(original: object) -> object:
        return lambda self: "twin+" + original(self)  # type: ignore[operator]

    seams.replace(Owner, "action", make)
    seams.replace(Owner, "action", make)  # a second install changes nothing
    assert Owner().action() == "twin+moto"
    assert seams.unwrapped(Owner.action)(Owner()) == "moto"
