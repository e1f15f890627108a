"""Data-lake accelerators: publish data products, discover them in the catalog, read and query them.

A producer team *publishes* a data product: partitioned Parquet under
``s3://<bucket>/lake/<database>/<table>/`` and a Glue table that documents it (description,
column comments, tags). A consumer *browses* the catalog (:func:`list_tables`,
:func:`search_tables`, :func:`describe_table`), then *reads* a table (:func:`read_table`) or
*queries* it with SQL (:func:`query`). Every function takes the ``connection`` returned by
:func:`mlaccel.connect` and makes the same awswrangler / boto3 calls on both backends; on the
twin, Athena runs :func:`query`'s SQL in DuckDB over the same Glue catalog.

Tags are stored twice: as table parameters ``tag.<key>`` (what the catalog functions read, and
what Athena's ``SHOW TBLPROPERTIES`` shows) and, where the backend allows tagging a Glue table,
as resource tags.

=====================  ===========================================================
module                 concern
=====================  ===========================================================
``_publish``           :func:`publish_data_product`: Parquet on S3 and a Glue table
``_register``          :func:`register` any source as a data product, :func:`load_product`
``_validate``          what a data product must be before it is published
``_table_metadata``    description, comments, parameters and tags in the catalog
``_catalog``           Glue lookups that list what exists when they miss
``_discover``          :func:`list_databases`, :func:`list_tables`, :func:`search_tables`
``_read``              :func:`read_table`
``_sql``               :func:`format_sql`, :func:`query`
=====================  ===========================================================
"""

from mlaccel.data._catalog import DEFAULT_DATABASE, LAKE_PREFIX, TAG_PARAMETER_PREFIX
from mlaccel.data._discover import describe_table, list_databases, list_tables, search_tables
from mlaccel.data._publish import (
    WRITE_MODES,
    PublishedTable,
    WriteMode,
    publish_data_product,
    table_location,
)
from mlaccel.data._read import read_table
from mlaccel.data._register import (
    Registration,
    load_product,
    read_source,
    register,
    register_demo,
    register_product,
    registered_products,
    save_product,
)
from mlaccel.data._sql import ATHENA_RESULTS_PREFIX, format_sql, query

__all__ = [
    "ATHENA_RESULTS_PREFIX",
    "DEFAULT_DATABASE",
    "LAKE_PREFIX",
    "TAG_PARAMETER_PREFIX",
    "WRITE_MODES",
    "PublishedTable",
    "Registration",
    "WriteMode",
    "describe_table",
    "format_sql",
    "list_databases",
    "list_tables",
    "load_product",
    "publish_data_product",
    "query",
    "read_source",
    "read_table",
    "register",
    "register_demo",
    "register_product",
    "registered_products",
    "save_product",
    "search_tables",
    "table_location",
]
