"""SageMaker Pipeline executions run inside the twin from their definition JSON (moto records
them as succeeded at once and runs nothing)."""
