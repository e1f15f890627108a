"""Title: Run the feature-engineering processing job
Description: seedcode/processing/preprocess.py as a Processing job on a registered product.
Needs: conn, a registered data product (data_access/publish_data_product.py)
"""

from mlaccel import data, features

product = data.load_product("used_cars", connection=conn, database="mlaccel_lake")
feature_set = features.run_feature_job(product, connection=conn, database="mlaccel_lake")
feature_set.train
