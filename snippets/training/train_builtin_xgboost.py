"""Title: Train SageMaker's built-in XGBoost
Description: Estimator with the algorithm image, CSV channels with the label first.
Needs: conn, feature_set (from features/run_feature_job.py)
"""

from mlaccel import report, training

estimator = training.builtin_xgboost_estimator(
    feature_set.product, connection=conn, hyperparameters={"num_round": 50}
)
report.show_summary(estimator)  # image, instance, each hyperparameter and what it does
estimator.fit(training.training_inputs(feature_set), logs=False)
model = training.trained_model(estimator, "xgboost (built-in)", connection=conn)
model.metrics
