"""Sync against a real MLflow server: the mirror must match MLflow exactly, and re-running changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from mlflow import MlflowClient

from governance.models import AuditEvent
from governance.services.audit import audit_chain_verify
from registry_sync import services
from registry_sync.models import (
    MirrorState,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    Run,
    SyncCursor,
    SyncRun,
    SyncStatus,
)
from tests.mlflow_factory import experiment_id, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow]


def assert_mirror_matches(client: MlflowClient) -> None:
    """Every model, version, tag, alias and run datum in MLflow is in the mirror; nothing else is active."""
    mlflow_models = {m.name: m for m in client.search_registered_models(max_results=1000)}
    active = {m.name: m for m in RegisteredModel.objects.filter(state=MirrorState.ACTIVE)}
    assert set(active) == set(mlflow_models)
    for name, remote in mlflow_models.items():
        local = active[name]
        assert local.description == (remote.description or "")
        assert local.tags == remote.tags
        local_aliases = dict(
            ModelAlias.objects.filter(registered_model=local).values_list("alias", "model_version__version")
        )
        assert local_aliases == {alias: int(v) for alias, v in remote.aliases.items()}
    remote_versions = {(v.name, int(v.version)): v for v in client.search_model_versions(max_results=10000)}
    local_versions = {
        (mv.registered_model.name, mv.version): mv
        for mv in ModelVersion.objects.filter(state=MirrorState.ACTIVE).select_related(
            "registered_model", "run"
        )
    }
    assert set(local_versions) == set(remote_versions)
    for key, remote_version in remote_versions.items():
        mv = local_versions[key]
        assert mv.tags == remote_version.tags
        assert mv.source == remote_version.source
        assert mv.mlflow_run_id == remote_version.run_id
        assert mv.mlflow_updated_ms == remote_version.last_updated_timestamp
        assert mv.run is not None
        remote_run = client.get_run(remote_version.run_id)
        assert remote_run.inputs is not None
        assert mv.run.metrics == remote_run.data.metrics
        assert mv.run.params == remote_run.data.params
        assert [d["digest"] for d in mv.run.datasets] == [
            i.dataset.digest for i in remote_run.inputs.dataset_inputs
        ]


def test_incremental_then_full_sync_mirror_mlflow_exactly(mlflow: MlflowClient) -> None:
    exp = experiment_id(mlflow)
    mlflow.create_registered_model("credit-scorer", tags={"team": "risk"}, description="PD model")
    v1 = make_version(
        mlflow,
        model="credit-scorer",
        experiment=exp,
        metrics={"auc": 0.81, "bias.demographic_parity_difference": 0.04, "fairness.eod": 0.02},
        params={"C": "1.0"},
        tags={"validation_status": "pending"},
    )
    v2 = make_version(
        mlflow, model="credit-scorer", experiment=exp, metrics={"auc": 0.84}, dataset_name="v2-data"
    )
    make_version(mlflow, model="churn", experiment=exp, metrics={"f1": 0.7})
    mlflow.set_registered_model_alias("credit-scorer", "champion", str(v1))

    first = services.sync_incremental()
    assert first.status == SyncStatus.SUCCEEDED
    assert (first.models_created, first.versions_created) == (2, 3)
    assert first.aliases_changed == 1
    assert_mirror_matches(mlflow)
    mirrored = ModelVersion.objects.get(registered_model__name="credit-scorer", version=v1)
    assert mirrored.run is not None
    assert mirrored.run.bias_metrics == {"bias.demographic_parity_difference": 0.04, "fairness.eod": 0.02}
    assert mirrored.run.datasets[0]["source"] == "https://data.example/training-data.csv"

    events_before = AuditEvent.objects.count()
    again = services.sync_incremental()
    assert again.changes == 0 and again.runs_synced == 0
    # Only the pass's own completion event is written when nothing changed.
    assert AuditEvent.objects.count() == events_before + 1

    # Changes MLflow does not reflect in timestamps (tags, aliases), a deletion and a new version.
    mlflow.set_registered_model_tag("credit-scorer", "tier", "high")
    mlflow.set_model_version_tag("credit-scorer", str(v1), "validation_status", "approved")
    mlflow.set_registered_model_alias("credit-scorer", "champion", str(v2))
    mlflow.set_registered_model_alias("credit-scorer", "challenger", str(v1))
    mlflow.delete_registered_model("churn")
    v3 = make_version(mlflow, model="credit-scorer", experiment=exp, metrics={"auc": 0.86})

    incremental = services.sync_incremental()
    assert incremental.versions_created == 1
    assert ModelVersion.objects.filter(registered_model__name="credit-scorer", version=v3).exists()

    full = services.sync_full()
    assert full.status == SyncStatus.SUCCEEDED
    assert full.models_archived == 1 and full.versions_archived == 1
    assert_mirror_matches(mlflow)
    churn = RegisteredModel.objects.get(name="churn")
    assert churn.state == MirrorState.ARCHIVED and churn.archived_at is not None
    assert churn.versions.get().state == MirrorState.ARCHIVED  # kept, never deleted
    assert AuditEvent.objects.filter(action="registry.model_archived", object_id=str(churn.pk)).exists()
    moved = AuditEvent.objects.filter(action="registry.alias_set", data__alias="champion").latest("sequence")
    assert moved.data == {
        "alias": "champion",
        "version": v2,
        "previous_version": v1,
        "outside_platform": True,
    }

    # Deleting one version is detected by the next reconciliation as well.
    mlflow.delete_model_version("credit-scorer", str(v1))
    services.sync_full()
    assert_mirror_matches(mlflow)
    assert (
        ModelVersion.objects.get(registered_model__name="credit-scorer", version=v1).state
        == MirrorState.ARCHIVED
    )

    runs_before = Run.objects.count()
    idle = services.sync_full()
    assert idle.changes == 0 and Run.objects.count() == runs_before
    assert audit_chain_verify().ok


def test_full_sync_picks_up_metrics_logged_after_registration(mlflow: MlflowClient) -> None:
    """Bias metrics are often logged after the version exists; MLflow sends no event for run data."""
    exp = experiment_id(mlflow)
    number = make_version(mlflow, model="late-bias", experiment=exp, metrics={"auc": 0.7})
    services.sync_full()
    # A full pass sets both watermarks, so the next incremental pass starts from them.
    marks = dict(SyncCursor.objects.values_list("key", "watermark_ms"))
    assert marks[services.sync.MODELS_CURSOR] > 0 and marks[services.sync.VERSIONS_CURSOR] > 0
    run_id = mlflow.get_model_version("late-bias", str(number)).run_id
    assert run_id is not None
    mlflow.log_metric(run_id, "bias.equal_opportunity_difference", 0.31)
    services.sync_full()
    run = Run.objects.get(run_id=run_id)
    assert run.bias_metrics == {"bias.equal_opportunity_difference": 0.31}


def test_noop_incremental_reads_one_small_page_and_constant_queries(
    mlflow: MlflowClient, django_assert_max_num_queries, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.sync, "FIRST_INCREMENTAL_PAGE", 5)
    exp = experiment_id(mlflow)
    for _ in range(4):
        make_version(mlflow, model="small", experiment=exp)
    services.sync_incremental()
    with django_assert_max_num_queries(20) as small_ctx:
        small = services.sync_incremental()
    for _ in range(services.sync.FIRST_INCREMENTAL_PAGE + 6):
        make_version(mlflow, model="large", experiment=exp)
    grown = services.sync_incremental()
    assert grown.versions_created == services.sync.FIRST_INCREMENTAL_PAGE + 6
    assert grown.pages >= 3  # small first page, then the rest with full pages
    with django_assert_max_num_queries(len(small_ctx.captured_queries)):
        large = services.sync_incremental()
    assert small.changes == large.changes == 0
    assert large.pages == 2  # one models page and one versions page: the watermark stops paging
    assert RegisteredModel.objects.count() == 2 and ModelVersion.objects.count() == 4 + 5 + 6


def test_sync_registry_command_prints_a_summary(
    mlflow: MlflowClient, capsys: pytest.CaptureFixture[str]
) -> None:
    make_version(mlflow, model="cmd-model", experiment=experiment_id(mlflow))
    call_command("sync_registry", "--full", "--no-progress")
    out = capsys.readouterr().out
    assert "full sync #" in out and "versions +1" in out
    assert SyncRun.objects.get().status == SyncStatus.SUCCEEDED


def test_a_pass_left_running_by_a_killed_worker_is_marked_abandoned(
    mlflow: MlflowClient, settings: Any
) -> None:
    """A worker killed mid-pass (or one that lost the database for good) never records its failure; the next
    pass marks its SyncRun failed, with an audit event, and leaves a pass that is still in progress alone."""
    settings.SYNC_RUN_ABANDONED_AFTER_SECONDS = 3600
    killed = SyncRun.objects.create(kind="full")
    SyncRun.objects.filter(pk=killed.pk).update(started_at=timezone.now() - timedelta(hours=3))
    in_progress = SyncRun.objects.create(kind="full")

    run = services.sync_incremental()

    killed.refresh_from_db()
    in_progress.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED
    assert killed.status == SyncStatus.FAILED and killed.finished_at is not None
    assert killed.error == "abandoned: still running 3600 s after it started"
    assert in_progress.status == SyncStatus.RUNNING
    (event,) = AuditEvent.objects.filter(action="registry.sync_abandoned")
    assert event.object_id == str(killed.pk) and event.data["kind"] == "full"
    assert audit_chain_verify().ok
