"""Service Quotas on the twin where moto lacks them: the SageMaker instance quotas the twin
reports (``quotas``) and the seam into moto (``seam``)."""
