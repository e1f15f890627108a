"""Where data sets and results live: local paths and S3, listed, opened and written.

S3 is reached through boto3 (a session argument, or the default session, which on the local
twin already points at it); URIs are parsed by the kit's one parser, :mod:`mlaccel._s3`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mlaccel._s3 import is_s3, parse_path
from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._dataset_format import describe_file_name

_S3_READ_BUFFER = 8 << 20


@dataclass(frozen=True)
class DataFile:
    """One file of a data set: a local path or an S3 object.

    Attributes
    ----------
    address
        The local path or ``s3://`` URI.
    kind
        The format its name implies (see :func:`describe_file_name`), or ``None``.
    compression
        ``"gzip"``, ``"bz2"`` or ``None``, from its name.
    size
        Bytes, when listing told.
    """

    address: str
    kind: str | None
    compression: str | None
    size: int | None = None


def s3_client(boto3_session: Any | None) -> Any:
    """An S3 client of ``boto3_session`` (or of the default session)."""
    import boto3

    session = boto3_session or boto3.session.Session()
    return session.client("s3")


def read_bytes(location: str | Path, *, boto3_session: Any | None = None) -> bytes:
    """The bytes of a local file or an S3 object, with errors that name it."""
    if is_s3(location):
        bucket, key = parse_path(str(location), name="location")
        client = s3_client(boto3_session)
        try:
            return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey:
            raise MLAccelInputError(f"{location} does not exist") from None
    path = Path(location)
    if not path.is_file():
        raise MLAccelInputError(f"{path} does not exist or is not a file")
    return path.read_bytes()


def read_lines(address: str, boto3_session: Any | None = None) -> Iterator[str]:
    """The lines of a local file or an S3 object, streamed (UTF-8)."""
    if is_s3(address):
        bucket, key = parse_path(address, name="address")
        body = s3_client(boto3_session).get_object(Bucket=bucket, Key=key)["Body"]
        for raw in body.iter_lines():
            yield raw.decode("utf-8")
        return
    with open(address, encoding="utf-8") as handle:
        yield from handle


def write_text(
    location: str | Path, name: str, text: str, *, boto3_session: Any | None = None
) -> str:
    """Write ``text`` as file ``name`` under a local directory or S3 prefix; return its address.

    Examples
    --------
    >>> import tempfile
    >>> written = write_text(tempfile.mkdtemp(), "note.txt", "hello")
    >>> written.endswith("note.txt")
    True
    """
    if is_s3(location):
        bucket, prefix = parse_path(str(location), name="location")
        key = f"{prefix.rstrip('/')}/{name}" if prefix else name
        s3_client(boto3_session).put_object(Bucket=bucket, Key=key, Body=text.encode())
        return f"s3://{bucket}/{key}"
    directory = Path(location)
    if directory.exists() and not directory.is_dir():
        raise MLAccelInputError(f"{directory} is a file; give a directory to write {name} into")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    target.write_text(text)
    return str(target)


def list_files(
    location: str | Path, *, infer_format: bool = False, boto3_session: Any | None = None
) -> list[DataFile]:
    """The data files at a local path or S3 location, in name order.

    Parameters
    ----------
    location
        A file, a folder (searched recursively) or an ``s3://`` object or prefix.
    infer_format
        The format comes from the file names, so each must name one.
    boto3_session
        Session for ``s3://`` locations.

    Returns
    -------
    list[DataFile]
    """
    files = _list_s3(str(location), boto3_session) if is_s3(location) else _list_local(location)
    if not files:
        raise MLAccelInputError(
            f"{location} holds no data files; point to a file or a folder of Parquet, CSV or "
            "JSON Lines files"
        )
    unknown = [file.address for file in files if file.kind is None]
    if infer_format and unknown:
        raise MLAccelInputError(
            f"cannot tell the format of {unknown[0]} from its name; pass "
            "dataset_format='csv', 'parquet' or 'json'"
        )
    return files


def _skipped(name: str) -> bool:
    # Marker and checksum files that Spark, Hadoop and SageMaker leave beside data.
    return name.startswith((".", "_")) or name.endswith((".crc", ".manifest"))


def _list_local(location: str | Path) -> list[DataFile]:
    path = Path(location)
    if not path.exists():
        raise MLAccelInputError(f"{path} does not exist; check the data set's path")
    if path.is_file():
        candidates = [path]
    else:
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and not _skipped(p.name))
    return [
        DataFile(str(candidate), *describe_file_name(candidate.name), candidate.stat().st_size)
        for candidate in candidates
    ]


def _list_s3(uri: str, boto3_session: Any | None) -> list[DataFile]:
    bucket, prefix = parse_path(uri, name="location")
    paginator = s3_client(boto3_session).get_paginator("list_objects_v2")
    files = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            name = key.rsplit("/", 1)[-1]
            if key.endswith("/") or _skipped(name) or not _under(key, prefix):
                continue
            kind, compression = describe_file_name(name)
            files.append(DataFile(f"s3://{bucket}/{key}", kind, compression, int(item["Size"])))
    return sorted(files, key=lambda file: file.address)


def _under(key: str, prefix: str) -> bool:
    # "s3://b/data" must not pick up "s3://b/data-old/...".
    if key == prefix or not prefix or prefix.endswith("/"):
        return True
    return key[len(prefix) :].startswith("/")


def open_stream(file: DataFile, boto3_session: Any | None, *, seekable: bool) -> Any:
    """A binary stream of ``file``, decompressed; seekable S3 reads use ranged GETs."""
    if not is_s3(file.address):
        return pa.input_stream(file.address, compression=file.compression)
    bucket, key = parse_path(file.address, name="address")
    client = s3_client(boto3_session)
    if seekable and file.compression is None:
        size = file.size
        if size is None:
            size = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        raw = _S3RangeFile(client, bucket, key, size)
        return io.BufferedReader(raw, buffer_size=_S3_READ_BUFFER)
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    stream = pa.PythonFile(body, mode="r")
    if file.compression:
        return pa.CompressedInputStream(stream, file.compression)
    return stream


class _S3RangeFile(io.RawIOBase):
    """A read-only, seekable view of an S3 object through ranged GETs (for Parquet footers)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or len(view) == 0:
            return 0
        end = min(self._size, self._position + len(view)) - 1
        response = self._client.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-{end}"
        )
        chunk = response["Body"].read()
        view[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)
