"""The twin's SageMaker model registry and model listing, as AWS keeps them."""
