"""The database connection is killed while a sync page is being written: the page's transaction is lost as a
whole (no version without its audit event), and the next pass writes everything exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from mlflow import MlflowClient

from governance.models import AuditEvent
from governance.services.audit import audit_chain_verify
from registry_sync import services
from registry_sync.models import ModelVersion, RegisteredModel, SyncStatus
from tests.mlflow_factory import experiment_id, make_version


def terminate_own_backend_before_audit_insert() -> Callable[..., Any]:
    """A query wrapper that kills this connection's server process just before the audit row is inserted,
    i.e. after the page's version rows were written in the same transaction."""
    fired = {"done": False}

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        values = params.values() if isinstance(params, dict) else params or ()
        is_versions_event = (
            'INSERT INTO "governance_auditevent"' in sql and "registry.versions_mirrored" in values
        )
        if not fired["done"] and is_versions_event:
            fired["done"] = True
            pid = connection.connection.info.backend_pid
            db = settings.DATABASES["default"]
            with psycopg.connect(
                host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.mlflow
@pytest.mark.django_db(transaction=True)
def test_connection_killed_mid_page_leaves_no_partial_state(mlflow: MlflowClient) -> None:
    exp = experiment_id(mlflow)
    for index in range(4):
        make_version(mlflow, model=f"dropped-{index % 2}", experiment=exp, metrics={"auc": 0.7})

    with (
        pytest.raises(DatabaseError),
        connection.execute_wrapper(terminate_own_backend_before_audit_insert()),
    ):
        services.sync_full()

    connection.close()  # the next query reconnects
    assert RegisteredModel.objects.count() == 2  # the models page had committed
    assert ModelVersion.objects.count() == 0  # the versions went with their transaction
    assert not AuditEvent.objects.filter(action="registry.versions_mirrored").exists()

    run = services.sync_full()
    assert run.status == SyncStatus.SUCCEEDED and run.versions_created == 4
    pairs = list(ModelVersion.objects.values_list("registered_model__name", "version"))
    assert len(pairs) == len(set(pairs)) == 4
    assert audit_chain_verify().ok
