"""The twin's durable state: S3 objects on disk and the control plane saved as JSON.

:mod:`.objects` keeps every S3 object as a file as soon as it is written; :mod:`.control`
saves the catalog, the model registry, models, endpoint definitions, state machines, Lambda
functions and IAM roles after each change, and restores them all when the twin starts
(:mod:`.seam` hooks both into moto's server).
"""
