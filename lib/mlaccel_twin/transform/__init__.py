"""Batch transform on the twin: the request (``spec``), the records of an object (``records``,
``json_path``), the job run (``engine``) and the seam into moto (``seam``)."""
