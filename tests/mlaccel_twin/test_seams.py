"""The seam contract: every place the twin hooks into moto or the SageMaker SDK still fits.

Each seam names what it needs; an upgrade that removes it fails here, loudly, with the library,
the missing piece and the version the seam was written for.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest

import mlaccel
from mlaccel.errors import MLAccelError, SeamBroken
from mlaccel_twin import seams

SEAMS = [
    "mlaccel_twin.athena.seam",
    "mlaccel_twin.awslambda.seam",
    "mlaccel_twin.clock.seam",
    "mlaccel_twin.endpoints.seam",
    "mlaccel_twin.events.seam",
    "mlaccel_twin.glue.seam",
    "mlaccel_twin.iam.seam",
    "mlaccel_twin.model_registry.seam",
    "mlaccel_twin.lineage.seam",
    "mlaccel_twin.monitoring.seam",
    "mlaccel_twin.pipelines.seam",
    "mlaccel_twin.sagemaker_jobs.seam",
    "mlaccel_twin.servicequotas.seam",
    "mlaccel_twin.sns.seam",
    "mlaccel_twin.state.seam",
    "mlaccel_twin.stepfunctions.seam",
    "mlaccel_twin.tagging.seam",
    "mlaccel_twin.transform.seam",
    "mlaccel_twin.unsupported.seam",
]


# Every hook a seam installs: (module, owner within it, attribute). Owner "" is the module.
HOOKS = [
    ("moto.athena.models", "AthenaBackend", "start_query_execution"),
    ("moto.glue.models", "GlueBackend", "start_job_run"),
    ("moto.glue.models", "FakeJobRun", "advance"),
    ("moto.glue.models", "FakeJobRun", "as_dict"),
    ("moto.athena.responses", "AthenaResponse", "get_query_execution"),
    ("moto.athena.responses", "AthenaResponse", "get_query_results"),
    ("moto.athena.responses", "AthenaResponse", "get_prepared_statement"),
    ("moto.awslambda.models", "LambdaFunction", "invoke"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "create_endpoint"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "delete_endpoint"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "update_endpoint"),
    ("moto.sagemaker.responses", "SageMakerResponse", "update_endpoint"),
    ("moto.sagemakerruntime.responses", "SageMakerRuntimeResponse", "invoke_endpoint"),
    ("moto.events.models", "Rule", "send_to_targets"),
    ("moto.sagemaker.responses", "SageMakerResponse", "create_training_job"),
    ("moto.sagemaker.responses", "SageMakerResponse", "create_processing_job"),
    ("moto.sagemaker.responses", "SageMakerResponse", "create_hyper_parameter_tuning_job"),
    (
        "moto.sagemaker.responses",
        "SageMakerResponse",
        "list_training_jobs_for_hyper_parameter_tuning_job",
    ),
    ("moto.sns.models", "Subscription", "publish"),
    (
        "moto.applicationautoscaling.responses",
        "ApplicationAutoScalingResponse",
        "register_scalable_target",
    ),
    ("moto.applicationautoscaling.responses", "ApplicationAutoScalingResponse", "tag_resource"),
    ("moto.applicationautoscaling.responses", "ApplicationAutoScalingResponse", "untag_resource"),
    (
        "moto.applicationautoscaling.responses",
        "ApplicationAutoScalingResponse",
        "list_tags_for_resource",
    ),
    ("moto.events.models", "EventsBackend", "iter_tagged_resources"),
    ("moto.sagemaker.models", "FakeEndpointConfig", "__init__"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
        ".state_task_service_factory",
        "",
        "state_task_service_for",
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory",
        "",
        "state_task_service_for",
    ),
    ("moto.iam.responses", "IamResponse", "simulate_principal_policy"),
    ("moto.sts.models", "STSBackend", "get_caller_identity"),
    ("moto.servicequotas.responses", "ServiceQuotasResponse", "list_service_quotas"),
    ("moto.servicequotas.models", "ServiceQuotasBackend", "list_aws_default_service_quotas"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "create_transform_job"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "stop_transform_job"),
    ("moto.sagemaker.responses", "SageMakerResponse", "stop_transform_job"),
    ("moto.sagemaker.models", "SageMakerModelBackend", "update_model_package"),
    ("moto.sagemaker.responses", "SageMakerResponse", "list_models"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend", "start_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse", "describe_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse", "get_execution_history"),
    ("moto.sagemaker.responses", "SageMakerResponse", "create_monitoring_schedule"),
    ("moto.sagemaker.responses", "SageMakerResponse", "list_monitoring_executions"),
    ("flask", "Flask", "handle_http_exception"),
    ("moto.sagemaker.responses", "SageMakerResponse", "start_pipeline_execution"),
    ("moto.sagemaker.responses", "SageMakerResponse", "list_pipeline_execution_steps"),
    ("moto.stepfunctions.parser.asl.utils.json_path", "", "extract_json"),
    ("moto.stepfunctions.parser.asl.eval.states", "", "extract_json"),
    ("moto.core.responses", "BaseResponse", "call_action"),
    ("moto.s3.models", "S3Backend", "put_object"),
    ("moto.s3.models", "S3Backend", "delete_object"),
    ("moto.s3.models", "S3Backend", "create_bucket"),
    ("moto.s3.models", "S3Backend", "delete_bucket"),
    ("moto.moto_server.werkzeug_app", "DomainDispatcherApplication", "__call__"),
    ("moto.moto_server.werkzeug_app", "DomainDispatcherApplication", "get_application"),
]


def test_every_seam_module_is_in_the_contract() -> None:
    package = Path(seams.__file__).parent
    found = {
        "mlaccel_twin." + ".".join(path.relative_to(package).with_suffix("").parts)
        for path in package.glob("*/seam.py")
    }
    assert found == set(SEAMS)


@pytest.mark.parametrize(("module", "owner", "attribute"), HOOKS)
def test_every_hook_is_installed_once_through_the_helpers(
    module: str, owner: str, attribute: str, conn: mlaccel.Connection
) -> None:
    target = import_module(module)
    for part in filter(None, owner.split(".")):
        target = getattr(target, part)
    hook = getattr(target, attribute)
    assert getattr(hook, "_mlaccel_seam", False), f"{module}.{owner}.{attribute} is not hooked"
    original = seams.unwrapped(hook)
    if original is not hook:  # replaced (not added): the library's own function is kept
        assert original.__module__.startswith(("moto.", "sagemaker.", "flask.")), (
            original.__module__
        )
        assert not getattr(original, "_mlaccel_seam", False)


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


def test_the_sdk_is_accepted_from_its_oldest_to_its_pinned_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lowest lane runs the twin on the oldest SDK, the lock on the pinned one; a version
    outside that range is refused with the range in the message."""
    found = {"moto": "5.2.5", "sagemaker": "2.253.1", "stepfunctions": "2.3.0"}
    monkeypatch.setattr(seams.metadata, "version", lambda name: found[name])
    seams.check_versions()
    found["sagemaker"] = "2.257.7"
    seams.check_versions()
    found["sagemaker"] = "2.252.0"
    with pytest.raises(
        SeamBroken, match=r"sagemaker==2\.252\.0 \(patched for 2\.253\.1 to 2\.257\.7\)"
    ):
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


def test_the_helper_names_the_library_the_pieces_and_the_version() -> None:
    class Executor:
        def execute(self) -> None: ...

    needed = [(Executor, "execute"), (Executor, "_build"), (Executor, "_run")]
    with pytest.raises(SeamBroken) as caught:
        seams.fail_if_broken("pipelines", seams.missing_attributes(needed), library="sagemaker")
    message = str(caught.value)
    assert "the twin's pipelines seam no longer fits sagemaker" in message
    assert "Executor._build is gone; Executor._run is gone" in message
    assert "(written for 2.253.1 to 2.257.7)" in message  # the SDK's range, oldest to pinned
    assert "pip install -e '.[twin]'" in message


def test_a_seam_whose_module_no_longer_imports_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlaccel_twin.stepfunctions import seam

    monkeypatch.setattr(seam, "TASK_MODULES", ("mlaccel_twin.stepfunctions.moved_away",))
    with pytest.raises(SeamBroken, match=r"stepfunctions seam .*moved_away no longer imports"):
        seam.check_seams()
