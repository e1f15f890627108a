"""Title: Register your table as a data product
Description: Infer its contract (problem type, id, features, and why) and land it in the lake.
Needs: conn
"""

from mlaccel import data, demo

# source: your file, an s3:// prefix of Parquet or CSV objects, a Glue table "database.table"
# or a DataFrame (here demo rows); target: the column to predict
source = demo.generate("used_cars", 5000, seed=0)
registration = data.register(
    source, name="used_cars", target="price", connection=conn, database="mlaccel_lake"
)
product = registration.product
print(registration)
