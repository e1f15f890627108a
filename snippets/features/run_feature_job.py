"""Title: Run the feature-engineering processing job
Description: seedcode/processing/preprocess.py as a Processing job on a registered product.
Needs: conn, a registered data product (data_access/publish_data_product.py)
"""

from mlaccel import data, features, report

product = data.load_product("used_cars", connection=conn, database="mlaccel_lake")
job = features.feature_job(product, connection=conn, database="mlaccel_lake")
report.show_summary(job.processor, **job.run_arguments)  # image, instance, inputs, outputs
job.processor.run(**job.run_arguments, logs=False)
feature_set = job.feature_set()
feature_set.train
