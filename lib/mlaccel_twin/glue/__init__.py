"""AWS Glue jobs in the twin: Python shell jobs really run."""
