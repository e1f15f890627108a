"""The Glue catalog as the lake's functions see it: names, lookups that list what exists, tags.

Every lookup that can miss says which databases or tables do exist, so a typo is fixed from the
message alone.
"""

from __future__ import annotations

from typing import Any

from mlaccel._aws import error_code
from mlaccel.errors import MLAccelInputError

DEFAULT_DATABASE = "mlaccel_lake"
LAKE_PREFIX = "lake"
# Tags are also table parameters ``tag.<key>``: what the catalog functions read, on every backend.
TAG_PARAMETER_PREFIX = "tag."


def database_names(glue: Any) -> list[str]:
    """Names of every Glue database, sorted."""
    names: list[str] = []
    for page in glue.get_paginator("get_databases").paginate():
        names.extend(db["Name"] for db in page["DatabaseList"])
    return sorted(names)


def glue_tables(glue: Any, database: str) -> list[dict[str, Any]]:
    """Every table of ``database`` as Glue describes it, sorted by name."""
    tables: list[dict[str, Any]] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        tables.extend(page["TableList"])
    return sorted(tables, key=lambda t: str(t["Name"]))


def require_database(glue: Any, database: Any) -> str:
    """The catalog's (lowercase) name of ``database``, or an error listing the databases."""
    if not isinstance(database, str) or not database.strip():
        raise MLAccelInputError(f"database={database!r} must be the name of a Glue database")
    names = database_names(glue)
    if database.lower() not in names:
        raise MLAccelInputError(
            f"database={database!r} is not in the Glue catalog; databases that exist: "
            f"{', '.join(names) or 'none'}. Publish a data product into it first "
            "(mlaccel.data.publish_data_product) or fix the name"
        )
    return database.lower()


def require_table(glue: Any, database: str, table: Any) -> dict[str, Any]:
    """Glue's description of ``database.table``, or an error listing the database's tables."""
    database = require_database(glue, database)
    if not isinstance(table, str) or not table.strip():
        raise MLAccelInputError(f"table={table!r} must be the name of a table in {database!r}")
    try:
        found: dict[str, Any] = glue.get_table(DatabaseName=database, Name=table.lower())["Table"]
    except Exception as exc:
        if error_code(exc) != "EntityNotFoundException":
            raise
        existing = [t["Name"] for t in glue_tables(glue, database)]
        raise MLAccelInputError(
            f"table={table!r} is not in database {database!r}; tables that exist there: "
            f"{', '.join(existing) or 'none'}"
        ) from None
    return found


def tags_of(table: dict[str, Any]) -> dict[str, str]:
    """The tags of a Glue table, read from its ``tag.<key>`` parameters.

    Examples
    --------
    >>> tags_of({"Parameters": {"tag.domain": "finance", "target": "default"}})
    {'domain': 'finance'}
    """
    parameters = table.get("Parameters") or {}
    return {
        key[len(TAG_PARAMETER_PREFIX) :]: value
        for key, value in sorted(parameters.items())
        if key.startswith(TAG_PARAMETER_PREFIX)
    }
