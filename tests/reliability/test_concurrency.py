"""Concurrency and partial failure: racing promotes and sign-offs leave one winner and one audit chain; a
broker outage while queuing a webhook's sync loses nothing that the periodic passes cannot recover."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from mlflow import MlflowClient

from config.observability import ENQUEUE_FAILURES
from governance import roles
from governance.models import AuditEvent, Deployment, SignOff
from governance.services.audit import audit_chain_verify
from governance.services.gate import GateError, gate_evaluate, gate_promote
from governance.services.records import intended_use_set, signoff_record
from registry_sync.models import ModelVersion, RegisteredModel, SyncRun, WebhookDelivery
from registry_sync.services import sync_full
from registry_sync.services.webhooks import webhook_signature
from tests.factories import RaciAssignmentFactory, UserFactory
from tests.mlflow_factory import experiment_id, make_version
from tests.policies.inputs import minimal_profile

BIAS_OK = {"bias.demographic_parity_difference": 0.03, "bias.equal_opportunity_difference": 0.02}


def race(count: int, action: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run `action` in `count` threads released together; each thread uses (and closes) its own connection."""
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results.append(action(index))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def member(username: str, role: str) -> Any:
    user = UserFactory.create(username=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])  # survives a transactional flush
    return user


@pytest.mark.mlflow
@pytest.mark.django_db(transaction=True)
def test_parallel_promotes_of_one_decision_have_one_winner(mlflow: MlflowClient) -> None:
    number = make_version(mlflow, model="raced", experiment=experiment_id(mlflow), metrics=BIAS_OK)
    sync_full()
    model = RegisteredModel.objects.get(name="raced")
    intended_use_set(registered_model=model, profile=minimal_profile()["profile"], actor="test")
    version = ModelVersion.objects.get(registered_model=model, version=number)
    owner = member("olga", roles.MODEL_OWNER)
    RaciAssignmentFactory.create(registered_model=model, user=owner)
    signoff_record(model_version=version, target="production", role="owner", user=owner)
    caller = member("ci", roles.ADMIN)
    decision = gate_evaluate(model_name="raced", version=number, target="production", caller=caller)
    assert decision.allow

    results, errors = race(6, lambda _: gate_promote(decision_id=decision.pk, caller=caller))
    assert len(results) == 1, errors
    assert len(errors) == 5 and all(isinstance(e, GateError) and e.code == "ALREADY_PROMOTED" for e in errors)
    assert Deployment.objects.count() == 1
    assert AuditEvent.objects.filter(action="gate.promoted").count() == 1
    assert mlflow.get_model_version_by_alias("raced", "champion").version == str(number)
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_signoffs_record_one() -> None:
    from tests.factories import ModelVersionFactory, RunFactory

    version = ModelVersionFactory.create(run=RunFactory.create(user_id="ds"))
    validator = member("vik", roles.VALIDATOR)

    def sign(_: int) -> SignOff:
        return signoff_record(model_version=version, target="production", role="validator", user=validator)

    results, errors = race(8, sign)
    assert len(results) == 1
    assert len(errors) == 7 and all(
        isinstance(e, GateError) and e.code == "SIGNOFF_DUPLICATE" for e in errors
    )
    assert SignOff.objects.filter(valid=True).count() == 1
    assert AuditEvent.objects.filter(action="governance.signoff_recorded").count() == 1
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_broker_down_when_queuing_a_webhook_sync_keeps_the_delivery(
    client: Client, settings, django_capture_on_commit_callbacks
) -> None:
    from config.celery import app

    def drop_broker_connections() -> None:
        # Celery caches its connection and producer pools; a new broker URL only applies to new pools.
        setattr(app, "_pool", None)  # noqa: B010 - private caches, reset on purpose
        setattr(app.amqp, "_producer_pool", None)  # noqa: B010

    app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:9/0")  # nothing listens there
    drop_broker_connections()
    try:
        body = b'{"entity": "model_version", "action": "created", "timestamp": "t", "data": {"name": "m", "version": "1"}}'
        delivery = str(uuid.uuid4())
        stamp = str(int(time.time()))
        headers: dict[str, Any] = {
            "HTTP_X_MLFLOW_DELIVERY_ID": delivery,
            "HTTP_X_MLFLOW_TIMESTAMP": stamp,
            "HTTP_X_MLFLOW_SIGNATURE": webhook_signature(
                secret=settings.MLFLOW_WEBHOOK_SECRET, delivery_id=delivery, timestamp=stamp, body=body
            ),
        }
        failures = ENQUEUE_FAILURES.labels(task="registry_sync.tasks.sync_registry_targeted")
        before = failures._value.get()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(
                "/api/v1/registry/webhooks/mlflow", data=body, content_type="application/json", **headers
            )
        assert response.status_code == 202
        assert len(callbacks) == 1  # the enqueue was attempted after commit, and failed
        assert failures._value.get() == before + 1  # counted (and logged) as an enqueue failure
        # The delivery and its audit event are kept; the lost targeted sync is what the periodic passes redo.
        assert WebhookDelivery.objects.filter(delivery_id=delivery).exists()
        assert AuditEvent.objects.filter(action="registry.webhook_received").count() == 1
        assert not SyncRun.objects.exists()
    finally:
        app.conf.update(
            task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER, broker_url=settings.CELERY_BROKER_URL
        )
        drop_broker_connections()
