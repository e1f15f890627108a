"""The one S3-URI parser, shared by the accelerators, the drift engine and the twin.

A leaf module: it imports nothing else of the kit, so every part may use it.
"""

from __future__ import annotations

from typing import Any

from mlaccel.errors import MLAccelInputError

S3_SCHEME = "s3://"


def is_s3(location: Any) -> bool:
    """True for an ``s3://`` URI.

    Examples
    --------
    >>> is_s3("s3://bucket/key"), is_s3("data/file.csv")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(S3_SCHEME)


def parse_path(uri: str, *, name: str = "uri") -> tuple[str, str]:
    """``s3://bucket/key`` → ``("bucket", "key")``; the key may be empty (a whole bucket).

    ``name`` is the argument the URI came from, so the error names it.

    Examples
    --------
    >>> parse_path("s3://bucket/models/model.tar.gz")
    ('bucket', 'models/model.tar.gz')
    >>> parse_path("s3://bucket")
    ('bucket', '')
    """
    if not is_s3(uri):
        raise MLAccelInputError(f"{name}={uri!r} is not an s3:// URI; write s3://bucket/key")
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise MLAccelInputError(f"{name}={uri!r} names no bucket; write s3://bucket/key")
    return bucket, key


def join_uri(bucket: str, *parts: str) -> str:
    """``s3://<bucket>/<parts...>``, with single slashes between the parts.

    Examples
    --------
    >>> join_uri("bucket", "a/", "/b", "c.csv")
    's3://bucket/a/b/c.csv'
    """
    key = "/".join(p.strip("/") for p in parts if p)
    return f"{S3_SCHEME}{bucket}/{key}"
