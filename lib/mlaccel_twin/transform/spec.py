"""A ``CreateTransformJob`` request, checked and with SageMaker's defaults filled in.

:meth:`TransformJobSpec.from_request` reads the request one part at a time (the input source,
the input's encoding, the batching, the data processing, the output) and refuses what the twin
cannot do the way SageMaker does, with :class:`~mlaccel.errors.MLAccelInputError` (the seam
answers it as a ``ValidationError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelInputError
from mlaccel_twin.transform.json_path import parse_json_path

DEFAULT_MAX_PAYLOAD_MB = 6


@dataclass(frozen=True)
class TransformJobSpec:
    """A ``CreateTransformJob`` request, checked and with defaults filled in.

    Build it with :meth:`from_request`; field names follow the API's.
    """

    name: str
    model_name: str
    container: Mapping[str, Any]
    input_uri: str
    data_type: str = "S3Prefix"
    content_type: str | None = None
    compression: str = "None"
    split_type: str = "None"
    batch_strategy: str = "MultiRecord"
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB
    output_path: str = ""
    accept: str | None = None
    assemble_with: str = "None"
    input_filter: str | None = None
    output_filter: str | None = None
    join_source: str = "None"
    environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls,
        *,
        name: str,
        model_name: str,
        container: Mapping[str, Any],
        transform_input: Mapping[str, Any],
        transform_output: Mapping[str, Any],
        batch_strategy: str | None = None,
        max_payload_in_mb: int | None = None,
        environment: Mapping[str, str] | None = None,
        data_processing: Mapping[str, Any] | None = None,
    ) -> TransformJobSpec:
        """Check a CreateTransformJob request and fill SageMaker's defaults.

        Examples
        --------
        >>> spec = TransformJobSpec.from_request(
        ...     name="score", model_name="model", container={"Image": "xgboost"},
        ...     transform_input={"DataSource": {"S3DataSource": {
        ...         "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}},
        ...         "ContentType": "text/csv", "SplitType": "Line"},
        ...     transform_output={"S3OutputPath": "s3://bucket/out", "AssembleWith": "Line"},
        ...     data_processing={"InputFilter": "$[1:]", "JoinSource": "Input"},
        ... )
        >>> spec.batch_strategy, spec.max_payload_mb, spec.join_source
        ('MultiRecord', 6, 'Input')
        """
        transform_input = transform_input or {}
        return cls(
            name=name,
            model_name=model_name,
            container=dict(container),
            **_input_source(transform_input),
            **_input_encoding(transform_input),
            **_batching(batch_strategy, max_payload_in_mb),
            **_data_processing(data_processing or {}),
            **_output(transform_output or {}),
            environment=dict(environment or {}),
        )

    @property
    def per_record(self) -> bool:
        """Whether outputs must be matched to input records (filters or join)."""
        return bool(self.input_filter or self.output_filter or self.join_source == "Input")


def _input_source(transform_input: Mapping[str, Any]) -> dict[str, Any]:
    """``TransformInput.DataSource``: the input's S3 URI and how it lists objects."""
    source = (transform_input.get("DataSource") or {}).get("S3DataSource") or {}
    input_uri = str(source.get("S3Uri") or "")
    parse_path(input_uri, name="TransformInput.DataSource.S3DataSource.S3Uri")
    data_type = str(source.get("S3DataType") or "S3Prefix")
    _one_of("S3DataType", data_type, {"S3Prefix", "ManifestFile"})
    return {"input_uri": input_uri, "data_type": data_type}


def _input_encoding(transform_input: Mapping[str, Any]) -> dict[str, Any]:
    """The input's content type, how it splits into records and its compression."""
    split_type = str(transform_input.get("SplitType") or "None")
    _one_of("SplitType", split_type, {"None", "Line"})
    compression = str(transform_input.get("CompressionType") or "None")
    _one_of("CompressionType", compression, {"None", "Gzip"})
    return {
        "content_type": transform_input.get("ContentType") or None,
        "split_type": split_type,
        "compression": compression,
    }


def _batching(batch_strategy: str | None, max_payload_in_mb: int | None) -> dict[str, Any]:
    """``BatchStrategy`` and ``MaxPayloadInMB`` (0 means no limit, as on SageMaker)."""
    strategy = str(batch_strategy or "MultiRecord")
    _one_of("BatchStrategy", strategy, {"MultiRecord", "SingleRecord"})
    payload = int(max_payload_in_mb if max_payload_in_mb is not None else DEFAULT_MAX_PAYLOAD_MB)
    if not 0 <= payload <= 100:
        raise MLAccelInputError(f"MaxPayloadInMB={payload} must be between 0 and 100")
    return {"batch_strategy": strategy, "max_payload_mb": payload}


def _data_processing(processing: Mapping[str, Any]) -> dict[str, Any]:
    """``DataProcessing``: the JSONPath filters (checked now, not on the first record) and join."""
    filters: dict[str, str | None] = {}
    for label in ("InputFilter", "OutputFilter"):
        path = processing.get(label) or None
        if path is not None:
            parse_json_path(str(path), label)
        filters[label] = str(path) if path else None
    join_source = str(processing.get("JoinSource") or "None")
    _one_of("JoinSource", join_source, {"None", "Input"})
    return {
        "input_filter": filters["InputFilter"],
        "output_filter": filters["OutputFilter"],
        "join_source": join_source,
    }


def _output(transform_output: Mapping[str, Any]) -> dict[str, Any]:
    """``TransformOutput``: where the results go, their type and how they are assembled."""
    output_path = str(transform_output.get("S3OutputPath") or "")
    parse_path(output_path, name="TransformOutput.S3OutputPath")
    assemble = str(transform_output.get("AssembleWith") or "None")
    _one_of("AssembleWith", assemble, {"None", "Line"})
    return {
        "output_path": output_path,
        "accept": transform_output.get("Accept") or None,
        "assemble_with": assemble,
    }


def _one_of(name: str, value: str, allowed: set[str]) -> None:
    if value not in allowed:
        choices = " or ".join(sorted(allowed))
        raise MLAccelInputError(f"{name} {value!r} is not supported on the twin; use {choices}")
