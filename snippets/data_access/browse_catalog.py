"""Title: Browse and search the catalog
Description: List the lake's tables, describe one, and search by keyword or by tag.
Needs: conn, a published table
"""

from mlaccel import data

tables = data.list_tables("mlaccel_lake", connection=conn)
columns = data.describe_table("mlaccel_lake", "used_cars", connection=conn)
by_keyword = data.search_tables("mileage", connection=conn)
by_tag = data.search_tables(tags={"domain": "automotive"}, connection=conn)
by_tag[["database", "table", "description"]]
