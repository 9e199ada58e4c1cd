"""Registry mirror: MLflow adapter, the idempotent sync engine, webhook receiver and Celery tasks."""
