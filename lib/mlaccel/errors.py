"""Every error the kit raises on purpose, all under :class:`MLAccelError`.

A leaf module, shared by the accelerators, the drift engine and the twin: it imports nothing.
Catch :class:`MLAccelError` for anything the kit refuses or reports; :class:`MLAccelInputError`
(also a ``ValueError``) when an argument or a data set is what needs fixing.
"""


class MLAccelError(Exception):
    """Base class of every error mlaccel raises on purpose."""


class MLAccelInputError(MLAccelError, ValueError):
    """An argument or a data set is not what the function needs; the message says how to fix it."""


# -------------------------------------------------------------------- accelerators


class ModelPackageNotFound(MLAccelInputError):
    """No model package in the group matches what was asked (status, version)."""


class EndpointFailed(MLAccelError):
    """An endpoint ended ``Failed``; the message carries SageMaker's ``FailureReason``."""


class TransformJobFailed(MLAccelError):
    """A batch transform job ended ``Failed`` or ``Stopped``; the message carries the reason."""


# -------------------------------------------------------------------- the twin


class TwinError(MLAccelError):
    """The local twin could not do what was asked; the message says what to change."""


class SeamBroken(TwinError):
    """A library the twin extends (moto, the SageMaker SDK) changed where the twin hooks in.

    The message names the library, the missing piece and the version the seam was written for.
    """


class JobFailed(TwinError):
    """A SageMaker job the twin ran failed; the message is the job's ``FailureReason``."""


class PipelineStepFailed(TwinError):
    """A SageMaker Pipelines step's job failed on the twin; the message carries its reason."""


class InferenceError(TwinError):
    """A request the model cannot answer; ``status`` is the HTTP status a container would send.

    415 for an unsupported content type, 406 for an unsupported accept type, 400 for a payload
    the model cannot read (wrong number of features, not numbers), 500 for a failing model.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = int(status)


class EndpointNotLive(TwinError):
    """An endpoint has no running model server (not created, still creating, or deleted)."""


class UnknownVariant(TwinError, MLAccelInputError):
    """A request named a production variant the endpoint does not have."""


class TransformStopped(TwinError):
    """A batch transform job on the twin was stopped while it ran."""


class StatementFailed(TwinError):
    """An Athena statement failed on the twin; the message is Athena's ``StateChangeReason``."""
