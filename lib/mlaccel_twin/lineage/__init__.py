"""SageMaker ML Lineage Tracking in the twin: artifacts, contexts, actions, associations."""
