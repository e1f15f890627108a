"""Title: Run the feature-engineering processing job
Description: seedcode/processing/preprocess.py as a SageMaker Processing job on a lake table.
Needs: conn, the published used_cars table
"""

from mlaccel import features

feature_set = features.run_feature_job("used_cars", connection=conn, database="mlaccel_lake")
feature_set.train
