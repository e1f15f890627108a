"""Title: Publish a data product to the lake
Description: Partitioned Parquet on S3 plus a Glue table with description, comments and tags.
Needs: conn
"""

from mlaccel import data

published = data.publish("used_cars", 5000, seed=0, connection=conn, database="mlaccel_lake")
published
