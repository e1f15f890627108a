"""SageMaker endpoints on the twin: live model servers (``fleet``), data capture (``capture``)
and the seam into moto (``seam``)."""
