"""What a data product must be before it is published: Athena-safe names, a non-empty frame,
documentation within Glue's limits and partition columns Hive can store."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel.data._catalog import TAG_PARAMETER_PREFIX
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

# Glue and Athena keep names only in lowercase snake case.
_NAME = re.compile(r"^[a-z0-9_]{1,255}$")


@dataclass(frozen=True)
class TableDocs:
    """The checked documentation of a table: what Glue stores next to its columns."""

    description: str
    comments: dict[str, str]
    tags: dict[str, str]
    extra_parameters: dict[str, str]

    @property
    def parameters(self) -> dict[str, str]:
        """Table parameters: the extra ones plus a ``tag.<key>`` parameter per tag."""
        tagged = {TAG_PARAMETER_PREFIX + k: v for k, v in self.tags.items()}
        return {**self.extra_parameters, **tagged}


def check_name(kind: str, value: Any) -> str:
    """``value`` when it is a valid Glue/Athena name, else an error suggesting one.

    Examples
    --------
    >>> check_name("table", "used_cars")
    'used_cars'
    >>> check_name("table", "Used Cars")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: table='Used Cars' is not a valid ... such as 'used_cars'
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        suggestion = ""
        if isinstance(value, str) and value.strip():
            fixed = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
            suggestion = f" such as {fixed!r}" if fixed else ""
        raise MLAccelInputError(
            f"{kind}={value!r} is not a valid Glue/Athena name; use lowercase letters, digits "
            f"and underscores{suggestion}"
        )
    return value


def check_frame(df: Any) -> pd.DataFrame:
    """``df`` when it is a non-empty DataFrame whose column names Athena keeps as they are."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise MLAccelInputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty or len(df.columns) == 0:
        raise MLAccelInputError(
            f"df is empty ({len(df)} rows, {len(df.columns)} columns); publish at least one row"
        )
    bad = [c for c in df.columns if not isinstance(c, str) or not _NAME.fullmatch(c)]
    if bad:
        from awswrangler.catalog import sanitize_column_name

        renames = {c: sanitize_column_name(str(c)) for c in bad}
        raise MLAccelInputError(
            f"df has column names Athena cannot keep as they are: {bad}; rename them first, "
            f"e.g. df.rename(columns={renames})"
        )
    duplicated = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if duplicated:
        raise MLAccelInputError(f"df has duplicated columns {duplicated}; keep one of each")
    return df


def check_text_mapping(name: str, value: Any, *, max_key: int, max_value: int) -> dict[str, str]:
    """``value`` as a dict of non-empty string keys to strings, within Glue's length limits."""
    if not isinstance(value, Mapping):
        raise MLAccelInputError(
            f"{name} must be a dict of str to str, got {type(value).__name__}; "
            f"pass {name}={{}} for none"
        )
    checked: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > max_key:
            raise MLAccelInputError(
                f"{name} key {key!r} must be a non-empty string of at most {max_key} characters"
            )
        if not isinstance(text, str) or len(text) > max_value:
            raise MLAccelInputError(
                f"{name}[{key!r}]={text!r} must be a string of at most {max_value} characters"
            )
        checked[key] = text
    return checked


def check_documentation(
    df: pd.DataFrame,
    *,
    description: Any,
    column_comments: Any,
    tags: Any,
    parameters: Any,
) -> TableDocs:
    """The table's description, column comments, tags and parameters, checked against ``df``
    and Glue's limits."""
    if not isinstance(description, str) or not description.strip() or len(description) > 2048:
        raise MLAccelInputError(
            "description must say what the table holds in 1 to 2048 characters (Glue's limit); "
            "people browsing the catalog read it"
        )
    comments = check_text_mapping("column_comments", column_comments, max_key=255, max_value=255)
    unknown = sorted(set(comments) - set(df.columns))
    if unknown:
        raise MLAccelInputError(
            f"column_comments names columns that df does not have: {unknown}; "
            f"columns are {list(df.columns)}"
        )
    tag_values = check_text_mapping("tags", tags, max_key=128, max_value=256)
    # Glue keeps up to 512,000 bytes per parameter: room for a data product's contract.
    extra = check_text_mapping("parameters", parameters or {}, max_key=255, max_value=512_000)
    clashing = sorted(k for k in extra if k.startswith(TAG_PARAMETER_PREFIX))
    if clashing:
        raise MLAccelInputError(
            f"parameters {clashing} start with {TAG_PARAMETER_PREFIX!r}, reserved for tags; "
            "pass them in tags= instead"
        )
    return TableDocs(description, comments, tag_values, extra)


def check_partition_cols(df: pd.DataFrame, partition_cols: Any) -> list[str]:
    """The partition columns as a list: columns of ``df``, each once, without missing values."""
    if partition_cols is None:
        return []
    columns = [partition_cols] if isinstance(partition_cols, str) else partition_cols
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise MLAccelInputError(
            f"partition_cols={partition_cols!r} must be a list of column names or None"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MLAccelInputError(
            f"partition_cols {missing} are not columns of df; columns are {list(df.columns)}"
        )
    if len(set(columns)) != len(columns):
        raise MLAccelInputError(f"partition_cols={list(columns)} names a column twice")
    if len(columns) >= len(df.columns):
        raise MLAccelInputError(
            "partition_cols names every column of df; keep at least one data column"
        )
    with_missing = [c for c in columns if df[c].isna().any()]
    if with_missing:
        raise MLAccelInputError(
            f"partition columns {with_missing} have missing values, which Hive stores as "
            "__HIVE_DEFAULT_PARTITION__; fill them (df.fillna) or partition by another column"
        )
    return list(columns)
