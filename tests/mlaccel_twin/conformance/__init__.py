"""Conformance tests of the twin, one module per service group, each written as public
examples write their code (boto3 clients, the SageMaker SDK) with only the session wiring
pointed at the twin:

- ``test_athena``: Athena's SQL (functions, UNLOAD, prepared statements, parameters);
- ``test_endpoints``: endpoint request limits;
- ``test_glue``: Glue Python shell jobs and Step Functions' ``glue:startJobRun(.sync)``;
- ``test_lambda``: Lambda timeouts and concurrency;
- ``test_lineage``: ML Lineage Tracking;
- ``test_model_registry``: model packages and models;
- ``test_monitoring``: Model Monitor schedules on the twin's clock;
- ``test_pipelines``: SageMaker Pipelines run from their definition;
- ``test_sagemaker_jobs``: processing and training jobs, the built-in XGBoost;
- ``test_stepfunctions``: executions, history, Choice rules and paths;
- ``test_unsupported``: what the twin lacks answers AWS's error at once.

Durability (stop/start, kill -9) is ``tests/mlaccel_twin/test_durability.py``.
"""
