"""The MLflow server process is killed in the middle of a sync and started again on the same data: the pass
fails cleanly, and the next one completes with nothing lost and nothing duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from registry_sync import services
from registry_sync.mlflow_adapter import MlflowRegistry, RegistryUnavailable
from registry_sync.mlflow_server import free_port, start_mlflow_server
from registry_sync.models import ModelVersion, SyncRun, SyncStatus
from tests.mlflow_factory import experiment_id, make_version


@pytest.mark.mlflow
@pytest.mark.django_db
def test_mlflow_killed_mid_sync_and_restarted(tmp_path: Path) -> None:
    workdir = tmp_path / "mlflow"
    port = free_port()
    server = start_mlflow_server(workdir=workdir, port=port)
    try:
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        exp = experiment_id(client)
        for index in range(9):
            make_version(client, model=f"restart-{index % 3}", experiment=exp, metrics={"auc": 0.6})

        def crash_after_first_versions_page(step: services.SyncProgress) -> None:
            if step.phase == "versions":
                server.kill()

        with pytest.raises(RegistryUnavailable):
            services.sync_incremental(
                registry=MlflowRegistry(server.url), page_size=3, progress=crash_after_first_versions_page
            )
        assert SyncRun.objects.get().status == SyncStatus.FAILED
        assert ModelVersion.objects.count() == 3 and services.sync_watermark() == 0

        server = start_mlflow_server(workdir=workdir, port=port)  # same data, same address
        resumed = services.sync_incremental(registry=MlflowRegistry(server.url), page_size=3)
        assert resumed.status == SyncStatus.SUCCEEDED and resumed.versions_created == 6
        pairs = list(ModelVersion.objects.values_list("registered_model__name", "version"))
        assert len(pairs) == len(set(pairs)) == 9
    finally:
        server.stop()
