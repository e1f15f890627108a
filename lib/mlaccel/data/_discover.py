"""Browse and search the lake's catalog, as a data-mesh consumer looks for approved data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel.data._catalog import (
    database_names,
    glue_tables,
    require_database,
    require_table,
    tags_of,
)
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

_LISTING_COLUMNS = [
    "database",
    "table",
    "description",
    "columns",
    "partition_keys",
    "tags",
    "location",
    "updated",
]


def list_databases(*, connection: Connection) -> pd.DataFrame:
    """Databases of the Glue catalog, with their description and number of tables.

    Examples
    --------
    >>> list_databases(connection=mlaccel.connect())  # doctest: +SKIP
           database                     description  tables  location
    0  mlaccel_lake  Data products published with ...       2
    """
    import pandas as pd

    glue = check_connection(connection).client("glue")
    rows = [
        {
            "database": db["Name"],
            "description": db.get("Description", ""),
            "tables": len(glue_tables(glue, db["Name"])),
            "location": db.get("LocationUri", ""),
        }
        for page in glue.get_paginator("get_databases").paginate()
        for db in page["DatabaseList"]
    ]
    frame = pd.DataFrame(rows, columns=["database", "description", "tables", "location"])
    return frame.sort_values("database", ignore_index=True)


def list_tables(database: str | None = None, *, connection: Connection) -> pd.DataFrame:
    """Tables of one database (or of all), one row each.

    Columns: ``database``, ``table``, ``description``, ``columns`` (count, partition keys
    included), ``partition_keys``, ``tags`` (dict), ``location``, ``updated``.

    Examples
    --------
    >>> list_tables("mlaccel_lake", connection=conn)[["table", "description"]]  # doctest: +SKIP
             table                              description
    0  credit_risk  Loan applications and whether they ...
    1    used_cars  Used-car listings with their sale price
    """
    glue = check_connection(connection).client("glue")
    databases = [require_database(glue, database)] if database is not None else None
    records = [
        table_record(db, t)
        for db in databases or database_names(glue)
        for t in glue_tables(glue, db)
    ]
    return _listing(records)


def describe_table(database: str, table: str, *, connection: Connection) -> pd.DataFrame:
    """Columns of a table: ``column``, ``type``, ``comment``, ``partition`` (a partition key?).

    Examples
    --------
    >>> describe_table("mlaccel_lake", "used_cars", connection=conn).head(2)  # doctest: +SKIP
      column    type          comment  partition
    0     id  bigint  Listing identifier      False
    1   make  string     Manufacturer      False
    """
    import pandas as pd

    glue = check_connection(connection).client("glue")
    found = require_table(glue, database, table)
    storage = found.get("StorageDescriptor") or {}
    rows = [
        {
            "column": c["Name"],
            "type": c.get("Type", ""),
            "comment": c.get("Comment", ""),
            "partition": is_partition,
        }
        for columns, is_partition in (
            (storage.get("Columns", []), False),
            (found.get("PartitionKeys", []), True),
        )
        for c in columns
    ]
    return pd.DataFrame(rows, columns=["column", "type", "comment", "partition"])


def search_tables(
    keyword: str | None = None,
    *,
    tags: Mapping[str, str | None] | None = None,
    database: str | None = None,
    connection: Connection,
) -> pd.DataFrame:
    """Find tables by keyword and/or tags, as a data-mesh consumer browses approved data.

    ``keyword`` matches (case-insensitively, as a substring) table names, descriptions, column
    names, column comments and tag values. ``tags`` keeps tables having every given tag; a value
    of None only requires the key. With neither, every table is listed.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`list_tables` plus ``matched_in``: where the keyword was found.

    Examples
    --------
    >>> search_tables("price", connection=conn)[["table", "matched_in"]]  # doctest: +SKIP
           table                     matched_in
    0  used_cars  description, column:price
    >>> search_tables(tags={"domain": "finance"}, connection=conn)  # doctest: +SKIP
    """
    glue = check_connection(connection).client("glue")
    if keyword is not None and (not isinstance(keyword, str) or not keyword.strip()):
        raise MLAccelInputError(f"keyword={keyword!r} must be a non-empty string or None")
    wanted_tags = _check_wanted_tags(tags)
    databases = [require_database(glue, database)] if database is not None else None
    needle = keyword.strip().lower() if keyword else None
    records = []
    for db in databases or database_names(glue):
        for table in glue_tables(glue, db):
            record = table_record(db, table)
            if not has_tags(record["tags"], wanted_tags):
                continue
            matched = keyword_matches(table, record["tags"], needle) if needle else []
            if needle and not matched:
                continue
            records.append({**record, "matched_in": ", ".join(matched)})
    return _listing(records, extra=["matched_in"])


def table_record(database: str, table: dict[str, Any]) -> dict[str, Any]:
    """One row of :func:`list_tables` from Glue's description of a table."""
    storage = table.get("StorageDescriptor") or {}
    return {
        "database": database,
        "table": table["Name"],
        "description": table.get("Description", ""),
        "columns": len(storage.get("Columns", [])) + len(table.get("PartitionKeys", [])),
        "partition_keys": [k["Name"] for k in table.get("PartitionKeys", [])],
        "tags": tags_of(table),
        "location": storage.get("Location", ""),
        "updated": table.get("UpdateTime") or table.get("CreateTime"),
    }


def has_tags(table_tags: dict[str, str], wanted: dict[str, str | None]) -> bool:
    """True when the table has every wanted tag (keys and values compared case-insensitively).

    Examples
    --------
    >>> has_tags({"Domain": "Finance"}, {"domain": "finance"}), has_tags({}, {"domain": None})
    (True, False)
    """
    lowered = {k.lower(): v for k, v in table_tags.items()}
    for key, value in wanted.items():
        if key.lower() not in lowered:
            return False
        if value is not None and lowered[key.lower()].lower() != value.lower():
            return False
    return True


def keyword_matches(table: dict[str, Any], tags: dict[str, str], needle: str) -> list[str]:
    """Where ``needle`` (lowercase) occurs in a table: name, description, columns, tags.

    Examples
    --------
    >>> keyword_matches({"Name": "used_cars", "Description": "Car prices"}, {}, "price")
    ['description']
    """
    matched = []
    if needle in table["Name"].lower():
        matched.append("name")
    if needle in str(table.get("Description", "")).lower():
        matched.append("description")
    storage = table.get("StorageDescriptor") or {}
    for column in [*storage.get("Columns", []), *table.get("PartitionKeys", [])]:
        if needle in column["Name"].lower() or needle in str(column.get("Comment", "")).lower():
            matched.append(f"column:{column['Name']}")
    matched.extend(
        f"tag:{key}" for key, value in tags.items() if needle in f"{key} {value}".lower()
    )
    return matched


def _check_wanted_tags(tags: Any) -> dict[str, str | None]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise MLAccelInputError(
            f"tags must be a dict such as {{'domain': 'finance'}}, got {type(tags).__name__}"
        )
    for key, value in tags.items():
        if not isinstance(key, str) or (value is not None and not isinstance(value, str)):
            raise MLAccelInputError(
                f"tags entry {key!r}: {value!r} must map a string to a string or None"
            )
    return dict(tags)


def _listing(records: list[dict[str, Any]], extra: Sequence[str] = ()) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(records, columns=[*_LISTING_COLUMNS, *extra])
