"""S3 locations as AWS accepts them in requests: ``s3://`` URIs and ``https://`` object URLs.

SageMaker's ``S3Uri`` and ``ModelDataUrl`` fields take ``https://`` URLs too
(virtual-hosted ``https://bucket.s3.region.amazonaws.com/key`` or path-style
``https://s3.region.amazonaws.com/bucket/key``); the twin reads both as the ``s3://`` URI they
name before it fetches anything.
"""

from __future__ import annotations

import re
from typing import Any

# The request fields that hold an S3 location.
S3_LOCATION_KEYS = frozenset({"S3Uri", "ModelDataUrl", "S3OutputPath", "S3ModelArtifacts"})

_VIRTUAL_HOSTED = re.compile(
    r"^https://(?P<bucket>[a-z0-9][a-z0-9.\-]*)\.s3(?:[.\-](?:dualstack\.)?[a-z0-9\-]+)?"
    r"\.amazonaws\.com(?:\.cn)?(?:/(?P<key>.*))?$"
)
_PATH_STYLE = re.compile(
    r"^https://s3(?:[.\-](?:dualstack\.)?[a-z0-9\-]+)?\.amazonaws\.com(?:\.cn)?"
    r"/(?P<bucket>[^/]+)(?:/(?P<key>.*))?$"
)


def to_s3_uri(location: str) -> str:
    """The ``s3://`` URI an S3 ``https://`` URL names; any other string unchanged.

    Examples
    --------
    >>> to_s3_uri("https://my-bucket.s3.us-east-1.amazonaws.com/data/train.csv")
    's3://my-bucket/data/train.csv'
    >>> to_s3_uri("https://s3.amazonaws.com/my-bucket/data/")
    's3://my-bucket/data/'
    >>> to_s3_uri("https://my-bucket.s3.amazonaws.com")
    's3://my-bucket/'
    >>> to_s3_uri("s3://my-bucket/key"), to_s3_uri("https://example.com/file.csv")
    ('s3://my-bucket/key', 'https://example.com/file.csv')
    """
    for pattern in (_VIRTUAL_HOSTED, _PATH_STYLE):
        match = pattern.match(location)
        if match:
            return f"s3://{match['bucket']}/{match['key'] or ''}"
    return location


def with_s3_uris(request: Any) -> Any:
    """A copy of ``request`` whose S3 location fields are all ``s3://`` URIs.

    Examples
    --------
    >>> with_s3_uris({"Inputs": [{"S3Input": {"S3Uri": "https://b.s3.amazonaws.com/k"}}]})
    {'Inputs': [{'S3Input': {'S3Uri': 's3://b/k'}}]}
    """
    if isinstance(request, dict):
        return {
            key: to_s3_uri(value)
            if key in S3_LOCATION_KEYS and isinstance(value, str)
            else with_s3_uris(value)
            for key, value in request.items()
        }
    if isinstance(request, list):
        return [with_s3_uris(item) for item in request]
    return request
