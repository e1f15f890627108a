"""Lambda on the twin: the Python handler called in-process (``runner``) and the seam into moto."""
