"""Model artifacts: ``model.tar.gz`` and script code fetched from S3 into a local model folder."""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlaccel._s3 import is_s3, parse_path
from mlaccel.errors import MLAccelInputError
from mlaccel_twin.s3_urls import with_s3_uris


def fetch_model(
    container: Mapping[str, Any], *, s3_client: Any, dest: Path
) -> tuple[Path, dict[str, str]]:
    """Download and extract a SageMaker container definition's model artifact and code.

    Parameters
    ----------
    container
        A ``ContainerDefinition`` (``Image``, ``ModelDataUrl`` or ``ModelDataSource``,
        ``Environment``), as ``DescribeModel`` returns ``PrimaryContainer``.
    s3_client
        A boto3 S3 client of the backend holding the artifacts.
    dest
        Empty folder to extract into; ``dest/model`` becomes the model folder.

    Returns
    -------
    tuple
        The model folder and the environment, with an S3 ``SAGEMAKER_SUBMIT_DIRECTORY``
        replaced by the local folder it was extracted to.

    Examples
    --------
    >>> model_dir, env = fetch_model(
    ...     {"Image": image, "ModelDataUrl": "s3://bucket/model.tar.gz"},
    ...     s3_client=conn.client("s3"), dest=tmp_path,
    ... )  # doctest: +SKIP
    """
    dest = Path(dest)
    model_dir = dest / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    container = with_s3_uris(dict(container))  # https:// S3 URLs name s3:// objects
    url = container.get("ModelDataUrl")
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if url:
        _download_artifact(s3_client, str(url), model_dir, dest / "model.tar.gz")
    elif source.get("S3Uri"):
        uri = str(source["S3Uri"])
        if str(source.get("CompressionType", "None")) == "Gzip":
            _download_artifact(s3_client, uri, model_dir, dest / "model.tar.gz")
        else:
            _download_prefix(s3_client, uri, model_dir)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if is_s3(submit):
        code_dir = dest / "code"
        code_dir.mkdir(exist_ok=True)
        if submit.endswith((".tar.gz", ".tgz")):
            _download_artifact(s3_client, submit, code_dir, dest / "sourcedir.tar.gz")
        else:
            _download_prefix(s3_client, submit, code_dir)
        environment["SAGEMAKER_SUBMIT_DIRECTORY"] = str(code_dir)
    return model_dir, environment


def _download_artifact(s3_client: Any, uri: str, into: Path, archive: Path) -> None:
    bucket, key = parse_path(uri)
    try:
        s3_client.download_file(bucket, key, str(archive))
    except Exception as exc:
        raise MLAccelInputError(f"cannot download the model artifact {uri}: {exc}") from exc
    if not tarfile.is_tarfile(archive):
        # A bare model file (not a tarball) is served as it is.
        shutil.copy(archive, into / Path(key).name)
        return
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths, links out and devices
    archive.unlink()


def _download_prefix(s3_client: Any, uri: str, into: Path) -> None:
    bucket, prefix = parse_path(uri)
    paginator = s3_client.get_paginator("list_objects_v2")
    found = False
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/") or Path(item["Key"]).name
            if relative.endswith("/") or ".." in Path(relative).parts:
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3_client.download_file(bucket, item["Key"], str(target))
            found = True
    if not found:
        raise MLAccelInputError(f"no model files under {uri}; check the model's S3 location")
