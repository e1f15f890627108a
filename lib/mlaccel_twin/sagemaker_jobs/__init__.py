"""SageMaker training, processing and tuning jobs on the twin: the runs (``engine``, ``tuning``),
the container contract (``container``, ``xgboost_algorithm``) and the seam into moto (``seam``)."""
