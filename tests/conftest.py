"""Shared fixtures: a real MLflow tracking server for the session, started on a free port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from registry_sync.mlflow_server import MlflowServer, start_mlflow_server
from tests.opa_server import opa  # noqa: F401 - fixture shared by the policy and gate tests


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    workdir: Path = tmp_path_factory.mktemp("mlflow")
    server = start_mlflow_server(
        workdir=workdir,
        # Loopback http webhook targets are refused unless allowed; a 1 s webhook cache lets tests add hooks.
        extra_env={
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "https,http",
            "MLFLOW_WEBHOOK_CACHE_TTL": "1",
        },
    )
    yield server
    server.stop()


@pytest.fixture
def mlflow(mlflow_server: MlflowServer, settings) -> Iterator[MlflowClient]:
    """A client on an empty registry (models and webhooks of earlier tests deleted); settings point at it."""
    settings.MLFLOW_TRACKING_URI = mlflow_server.url
    client = MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    for hook in client.list_webhooks():
        client.delete_webhook(hook.webhook_id)
    for model in client.search_registered_models(max_results=1000):
        client.delete_registered_model(model.name)
    yield client


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
