"""Title: Register a model and approve it
Description: A model package in the data product's group, with its evaluation as metrics.
Needs: conn, model (from training/train_builtin_xgboost.py), feature_set
"""

from mlaccel import registry, training

training.evaluate(model, feature_set, connection=conn)
group = registry.group_name("used_cars")
package_arn = registry.register_model(model, group=group, connection=conn)
registry.set_approval(package_arn, "Approved", connection=conn, note="reviewed")
registry.list_versions(group, connection=conn).tail(3)
