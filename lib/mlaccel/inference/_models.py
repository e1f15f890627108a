"""SageMaker models: the container a model serves, the built-in XGBoost image, model artifacts."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel._s3 import is_s3, parse_path
from mlaccel.cleanup import kit_tags, tag_dict, tag_list
from mlaccel.errors import MLAccelInputError
from mlaccel.inference._names import check_name, new_stamp, stamped
from mlaccel.inference._registry import ModelPackageInfo

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import ContainerDefinitionTypeDef, TagTypeDef


#: The XGBoost built-in algorithm version the kit trains and serves.
XGBOOST_VERSION = "1.7-1"


def xgboost_image_uri(region: str, version: str = XGBOOST_VERSION) -> str:
    """The built-in XGBoost algorithm image of ``region`` (the twin serves it locally).

    Examples
    --------
    >>> xgboost_image_uri("us-east-1")  # doctest: +SKIP
    '<account>.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1'
    """
    from mlaccel._sagemaker import _import_sagemaker

    sagemaker = _import_sagemaker()
    return str(sagemaker.image_uris.retrieve("xgboost", region, version))


def create_model(
    *,
    model_package: str | ModelPackageInfo | None = None,
    model_data: str | None = None,
    image_uri: str | None = None,
    environment: Mapping[str, str] | None = None,
    name: str | None = None,
    tags: Sequence[Mapping[str, str]] | None = None,
    connection: Connection,
) -> str:
    """Create a SageMaker model from a registered model package or from a model artifact.

    Parameters
    ----------
    model_package
        A model package ARN (or :class:`ModelPackageInfo`): the model serves the package's
        container, as SageMaker resolves it.
    model_data
        Instead of a package: the ``s3://.../model.tar.gz`` to serve.
    image_uri
        Container image for ``model_data``; the built-in XGBoost image when omitted.
    environment
        Container environment (``SAGEMAKER_PROGRAM``, ...).
    name
        Model name; ``mlaccel-model-<timestamp>`` when omitted.
    tags
        Tags for the model, besides the kit's own (``mlaccel:created-by``, ``mlaccel:run-id``),
        which let ``mlaccel cleanup`` find it.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    str
        The model name.

    Examples
    --------
    >>> create_model(model_data="s3://bucket/model.tar.gz", connection=conn)  # doctest: +SKIP
    'mlaccel-model-20240501120000-1a2b'
    """
    conn = check_connection(connection)
    container = model_container(conn, model_package, model_data, image_uri, environment)
    model_name = check_name(name or stamped("mlaccel-model", new_stamp()), "name")
    conn.client("sagemaker").create_model(
        ModelName=model_name,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer=container,
        Tags=cast("list[TagTypeDef]", tag_list({**tag_dict(tags or []), **kit_tags()})),
    )
    return model_name


def model_container(
    conn: Connection,
    model_package: str | ModelPackageInfo | None,
    model_data: str | None,
    image_uri: str | None,
    environment: Mapping[str, str] | None,
) -> ContainerDefinitionTypeDef:
    """The ``PrimaryContainer`` of a model serving a package or an artifact (exactly one)."""
    if (model_package is None) == (model_data is None):
        raise MLAccelInputError(
            "pass exactly one of model_package (a registered model package ARN) and "
            "model_data (an s3:// model.tar.gz)"
        )
    container: ContainerDefinitionTypeDef
    if model_package is not None:
        container = _package_container(model_package, image_uri)
    else:
        if not is_s3(model_data):
            raise MLAccelInputError(
                f"model_data={model_data!r} must be the s3:// URI of a model.tar.gz"
            )
        parse_path(str(model_data), name="model_data")  # names a bucket
        container = {
            "Image": image_uri or xgboost_image_uri(conn.region),
            "ModelDataUrl": str(model_data),
        }
    if environment:
        container["Environment"] = {str(k): str(v) for k, v in environment.items()}
    return container


def _package_container(
    model_package: str | ModelPackageInfo, image_uri: str | None
) -> ContainerDefinitionTypeDef:
    arn = model_package.arn if isinstance(model_package, ModelPackageInfo) else model_package
    if not isinstance(arn, str) or ":model-package/" not in arn:
        raise MLAccelInputError(
            f"model_package={arn!r} is not a model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>); "
            "get one with latest_model_package(group)"
        )
    if image_uri is not None:
        raise MLAccelInputError(
            "image_uri is only for model_data; a model package names its own image, so drop it"
        )
    return {"ModelPackageName": arn}


def upload_xgboost_model(booster: Any, destination_uri: str, *, connection: Connection) -> str:
    """Package an XGBoost booster as SageMaker's ``model.tar.gz`` and upload it.

    The archive holds ``xgboost-model`` in XGBoost's JSON format, which the built-in XGBoost
    container (and the twin) serve.

    Returns
    -------
    str
        ``destination_uri``, to pass to :func:`deploy_model` as ``model_data``.

    Examples
    --------
    >>> upload_xgboost_model(
    ...     booster, "s3://bucket/models/used_cars/linear/model.tar.gz", connection=conn
    ... )  # doctest: +SKIP
    's3://bucket/models/used_cars/linear/model.tar.gz'
    """
    save_raw = getattr(booster, "save_raw", None)
    if not callable(save_raw):
        raise MLAccelInputError(
            f"booster is a {type(booster).__name__}, not an xgboost.Booster; "
            "pass model.get_booster() for a scikit-learn style model"
        )
    bucket, key = parse_path(destination_uri, name="destination_uri")
    conn = check_connection(connection)
    data = bytes(save_raw("json"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    conn.client("s3").put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return destination_uri


def sdk_model(model_name: str, *, connection: Connection) -> Any:
    """The SageMaker model ``model_name`` as the SDK's ``sagemaker.model.Model``.

    What an endpoint serves (``Deployment.model_name``), rebuilt from ``DescribeModel`` so a
    notebook shows the SDK object (image, artifact, environment) and a reader can
    ``deploy(...)`` or ``transformer(...)`` it themselves. A model served from a model
    package has its package's container.

    Examples
    --------
    >>> model = sdk_model(deployment.model_name, connection=conn)  # doctest: +SKIP
    >>> report.show_summary(model)  # doctest: +SKIP
    """
    from sagemaker.model import Model

    conn = check_connection(connection)
    check_name(model_name, "model_name")
    description = conn.client("sagemaker").describe_model(ModelName=model_name)
    container = description.get("PrimaryContainer") or description["Containers"][0]
    image, model_data = container.get("Image"), container.get("ModelDataUrl")
    package = container.get("ModelPackageName")
    if package and not image:
        inference = conn.client("sagemaker").describe_model_package(ModelPackageName=package)
        served = inference["InferenceSpecification"]["Containers"][0]
        image, model_data = served["Image"], served.get("ModelDataUrl")
    return Model(
        image_uri=image,
        model_data=model_data,
        env=dict(container.get("Environment") or {}),
        name=model_name,
        role=description.get("ExecutionRoleArn") or conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
    )
