"""Seams in the kernel: the SageMaker SDK's local pipeline executor, with jobs on the twin
(``local_pipelines``, ``local_session``)."""
