"""Celery tasks for the registry mirror: thin wrappers that take names and call the sync services."""

from __future__ import annotations

from celery import shared_task

from registry_sync import services
from registry_sync.mlflow_adapter import RegistryUnavailable

# Retry only when MLflow is unreachable, with exponential backoff (5 s doubling, capped) and jitter.
retry_on_registry_outage = shared_task(
    autoretry_for=(RegistryUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)


@retry_on_registry_outage
def sync_registry_incremental() -> int:
    return services.sync_incremental().pk


@retry_on_registry_outage
def sync_registry_full() -> int:
    return services.sync_full().pk


@retry_on_registry_outage
def sync_registry_targeted(model_name: str, version: int | None = None) -> int:
    return services.sync_targeted(model_name=model_name, version=version).pk
