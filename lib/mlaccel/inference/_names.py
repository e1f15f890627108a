"""SageMaker resource names: the rule they follow and the time stamps that keep them unique."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from mlaccel.errors import MLAccelInputError

#: The production variant an endpoint serves when none is named.
DEFAULT_VARIANT = "AllTraffic"

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_STAMP_SUFFIX = re.compile(r"-\d{14}-[0-9a-f]{4}$")


def check_name(value: Any, what: str) -> str:
    """``value`` when it is a valid SageMaker name, else an error naming ``what``.

    Examples
    --------
    >>> check_name("used-cars-xgboost", "endpoint_name")
    'used-cars-xgboost'
    """
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise MLAccelInputError(
            f"{what}={value!r} is not a SageMaker name: use 1-63 letters, digits and hyphens, "
            "starting with a letter or digit (e.g. 'used-cars-xgboost')"
        )
    return value


def new_stamp() -> str:
    """A UTC time stamp to the second and four random hex digits: ``20240501120000-1a2b``."""
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"


def stamped(base: str, stamp: str) -> str:
    """``<base>-<stamp>``, the base shortened so the name stays within 63 characters.

    Examples
    --------
    >>> stamped("used-cars", "20240501120000-1a2b")
    'used-cars-20240501120000-1a2b'
    """
    return f"{base[: 62 - len(stamp)].rstrip('-')}-{stamp}"


def unstamped(name: str) -> str:
    """``name`` without the stamp :func:`stamped` added, so a derived name carries one stamp.

    Examples
    --------
    >>> unstamped("used-cars-20240501120000-1a2b"), unstamped("used-cars")
    ('used-cars', 'used-cars')
    """
    return _STAMP_SUFFIX.sub("", name) or name
