"""Title: Query a lake table with SQL
Description: Athena in an account, DuckDB on the local twin: one call.
Needs: conn, a published table
"""

from mlaccel import data

prices = data.query(
    "SELECT make, count(*) AS n, avg(price) AS mean_price "
    "FROM used_cars GROUP BY 1 ORDER BY 2 DESC",
    database="mlaccel_lake",
    connection=conn,
)
prices.head()
