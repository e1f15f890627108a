"""IAM and STS on the twin where moto lacks them: the policy simulation (``simulation``, the
evaluation of identity policies) and the seam into moto (``seam``: ``SimulatePrincipalPolicy``,
and the twin's caller answering as its execution role)."""
