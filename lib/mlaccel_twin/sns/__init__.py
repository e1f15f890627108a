"""SNS on the twin: the e-mail outbox (``outbox``) and the seam into moto (``seam``)."""
