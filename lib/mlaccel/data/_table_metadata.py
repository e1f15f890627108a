"""Make the Glue catalog say what a publish asked for: the database, the table's description,
column comments and parameters, and its resource tags where the backend allows them."""

from __future__ import annotations

import logging
from typing import Any

from mlaccel._aws import error_code
from mlaccel._connect import Connection
from mlaccel.data._catalog import TAG_PARAMETER_PREFIX
from mlaccel.data._validate import TableDocs

log = logging.getLogger(__name__)

# The keys of GetTable's answer that UpdateTable's TableInput accepts.
_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
)


def ensure_database(glue: Any, database: str) -> None:
    """Create the Glue database unless it exists."""
    try:
        glue.create_database(
            DatabaseInput={
                "Name": database,
                "Description": "Data products published with mlaccel.data.publish_data_product",
            }
        )
        log.info("created Glue database %s", database)
    except Exception as exc:
        if error_code(exc) != "AlreadyExistsException":
            raise


def sync_table_metadata(glue: Any, database: str, table: str, docs: TableDocs) -> None:
    """Make the Glue table say exactly what this publish asked for.

    awswrangler's ``append`` modes merge metadata into what the table had, which would keep
    tags and comments the producer has since removed.
    """
    current = glue.get_table(DatabaseName=database, Name=table)["Table"]
    wanted = {k: current[k] for k in _TABLE_INPUT_KEYS if k in current}
    wanted["Description"] = docs.description
    kept = {
        k: v
        for k, v in (current.get("Parameters") or {}).items()
        if not k.startswith(TAG_PARAMETER_PREFIX)
    }
    wanted["Parameters"] = {**kept, **docs.parameters}
    storage = dict(wanted.get("StorageDescriptor") or {})
    storage["Columns"] = [with_comment(c, docs.comments) for c in storage.get("Columns", [])]
    wanted["StorageDescriptor"] = storage
    wanted["PartitionKeys"] = [
        with_comment(c, docs.comments) for c in wanted.get("PartitionKeys", [])
    ]
    if all(wanted.get(k) == current.get(k) for k in wanted):
        return
    glue.update_table(DatabaseName=database, TableInput=wanted, SkipArchive=True)


def with_comment(column: dict[str, Any], comments: dict[str, str]) -> dict[str, Any]:
    """A Glue column with the comment ``comments`` gives it, or none.

    Examples
    --------
    >>> with_comment({"Name": "price", "Type": "double", "Comment": "old"}, {"price": "EUR"})
    {'Name': 'price', 'Type': 'double', 'Comment': 'EUR'}
    >>> with_comment({"Name": "price", "Comment": "old"}, {})
    {'Name': 'price'}
    """
    updated = {k: v for k, v in column.items() if k != "Comment"}
    if comments.get(column["Name"]):
        updated["Comment"] = comments[column["Name"]]
    return updated


def sync_resource_tags(
    connection: Connection, glue: Any, database: str, table: str, tags: dict[str, str]
) -> None:
    """Tag the Glue table as a resource too, where the backend supports it."""
    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    catalog_id = described.get("CatalogId")
    if not catalog_id:
        return
    partition = connection.boto3_session.get_partition_for_region(connection.region)
    arn = f"arn:{partition}:glue:{connection.region}:{catalog_id}:table/{database}/{table}"
    try:
        current = glue.get_tags(ResourceArn=arn).get("Tags", {})
        stale = sorted(set(current) - set(tags))
        if stale:
            glue.untag_resource(ResourceArn=arn, TagsToRemove=stale)
        if tags and tags != current:
            glue.tag_resource(ResourceArn=arn, TagsToAdd=tags)
    except Exception as exc:
        if not error_code(exc):
            raise
        # Not every account lets Glue tables be tagged; the tag.* parameters stay the record.
        log.info("kept tags of %s.%s as table parameters only (%s)", database, table, exc)
