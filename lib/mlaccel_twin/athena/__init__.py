"""Athena on the twin: DuckDB over the Glue catalog (``engine``), the statements Athena runs
(``statements``), its result formats (``results``) and the seam into moto (``seam``)."""
