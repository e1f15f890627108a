"""Title: Train SageMaker's built-in XGBoost
Description: Estimator with the algorithm image, CSV channels with the label first.
Needs: conn, feature_set (from features/run_feature_job.py)
"""

from mlaccel import training

model = training.train_builtin_xgboost(
    feature_set, connection=conn, hyperparameters={"num_round": 50}
)
model.metrics
