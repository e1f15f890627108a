"""Tags on the twin where moto lacks them: Application Auto Scaling's scalable targets, and
EventBridge rules in the Resource Groups Tagging API (``seam``)."""
