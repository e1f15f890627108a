"""EventBridge on the twin: delivery to state machines and functions (``delivery``) and the seam
into moto (``seam``)."""
