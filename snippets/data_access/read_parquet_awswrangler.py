"""Title: Read a table's Parquet files with awswrangler
Description: Straight from S3, with a partition filter when the table has partitions.
Needs: conn, a published table
"""

import awswrangler as wr

from mlaccel import data

location = data.table_location("mlaccel_lake", "used_cars", connection=conn)
frame = wr.s3.read_parquet(location, dataset=True, boto3_session=conn.boto3_session)
frame.shape
