"""Step Functions on the twin: the SageMaker task integration (``sagemaker_task``) and the seam
into moto's state-machine interpreter (``seam``)."""
