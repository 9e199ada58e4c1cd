"""The audit trail is append-only and tamper-evident: PostgreSQL refuses changes, audit_verify finds a
forged row, and concurrent writers extend one unbroken chain."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from governance.models import AuditChainHead, AuditEvent
from governance.services.audit import (
    GENESIS_HASH,
    audit_chain_verify,
    audit_event_digest,
    audit_event_record,
)
from tests.factories import DenyingGateDecisionFactory


def record_events(count: int) -> list[AuditEvent]:
    return [audit_event_record(action="test.event", actor="tester", data={"n": n}) for n in range(count)]


@pytest.mark.django_db
def test_postgres_rejects_update_and_delete_of_audit_events() -> None:
    event = record_events(1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "test.event"


@pytest.mark.django_db
def test_postgres_rejects_truncate_of_audit_events_unless_the_connection_opted_in() -> None:
    record_events(2)
    with connection.cursor() as cursor:
        cursor.execute("SHOW mlgov.allow_audit_truncate")
        assert cursor.fetchone()[0] == "on"  # the test settings' opt-in, so flushes between tests work
    for statement in [
        "TRUNCATE governance_auditevent",
        "TRUNCATE auth_user CASCADE",  # reaches the audit table through actor_user
    ]:
        with (
            pytest.raises(DatabaseError, match="TRUNCATE rejected"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET LOCAL mlgov.allow_audit_truncate = off")  # as every production connection
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test transaction's deferred FK checks
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_audit_verify_names_the_forged_row() -> None:
    record_events(5)
    call_command("audit_verify")  # intact chain: no error
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER governance_auditevent_append_only")
        cursor.execute("UPDATE governance_auditevent SET data = %s WHERE sequence = 3", ['{"n": 999}'])
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER governance_auditevent_append_only")
    result = audit_chain_verify()
    assert (result.ok, result.first_broken_sequence, result.events_checked) == (False, 3, 2)
    assert "does not match its hash" in result.problem
    with pytest.raises(CommandError, match="broken at event #3"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_audit_verify_detects_a_removed_row() -> None:
    record_events(4)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER governance_auditevent_append_only")
        cursor.execute("DELETE FROM governance_auditevent WHERE sequence = 2")
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER governance_auditevent_append_only")
    result = audit_chain_verify()
    assert (result.ok, result.first_broken_sequence) == (False, 3)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_leave_one_unbroken_chain() -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def writer(index: int) -> None:
        try:
            start.wait()
            for n in range(5):
                if index % 2:  # inside a caller's transaction, as most services write
                    with transaction.atomic():
                        audit_event_record(action="test.concurrent", actor=f"writer-{index}", data={"n": n})
                else:  # on its own, as the gate writes (one statement: its own transaction)
                    audit_event_record(action="test.concurrent", actor=f"writer-{index}", data={"n": n})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 101)
    )
    result = audit_chain_verify()
    assert result.ok and result.events_checked == 100


@pytest.mark.django_db
def test_events_written_during_a_request_carry_its_id_inside_the_hash() -> None:
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from tests.factories import ModelVersionFactory, RaciAssignmentFactory, UserFactory

    version = ModelVersionFactory.create()
    owner = UserFactory.create()
    owner.groups.add(Group.objects.get(name="model_owner"))
    RaciAssignmentFactory.create(registered_model=version.registered_model, user=owner)
    client = APIClient()
    client.force_authenticate(owner)
    body = {"model": version.registered_model.name, "version": version.version, "target": "staging"}
    assert (
        client.post("/api/v1/approvals", body, format="json", HTTP_X_REQUEST_ID="req-123").status_code == 201
    )
    record_events(1)  # outside a request: no id

    in_request, outside = AuditEvent.objects.order_by("sequence")
    assert (in_request.action, in_request.request_id, outside.request_id) == (
        "approval.created",
        "req-123",
        "",
    )
    assert audit_chain_verify().ok
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER governance_auditevent_append_only")
        cursor.execute(
            "UPDATE governance_auditevent SET request_id = 'req-999' WHERE sequence = %s",
            [in_request.sequence],
        )
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER governance_auditevent_append_only")
    assert audit_chain_verify().first_broken_sequence == in_request.sequence


@pytest.mark.django_db
def test_the_database_finishes_each_digest_as_the_verifier_computes_it() -> None:
    """PostgreSQL computes the hash from the head (sha256 of prev_hash + the event's canonical JSON, in UTF-8);
    it must be the same bytes audit_event_digest hashes, for any text, from the very first event on."""
    assert not AuditChainHead.objects.exists()  # the first append creates the head
    texts = ["plain", "Zoë's café", "模型 審查", 'emoji 🚀 and "quotes" \\ slash', "tab\tnewline\n"]
    events = [
        audit_event_record(
            action="test.unicode",
            actor=f"actor-{text}",
            object_type="registry_sync.registeredmodel",
            object_id=text,
            data={"text": text, "nested": {"list": [text, 1, 2.5, None, True]}},
        )
        for text in texts
    ]
    previous = GENESIS_HASH
    for sequence, event in enumerate(events, start=1):
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (event.sequence, event.prev_hash, event.hash) == (sequence, previous, stored.hash)
        assert stored.prev_hash == previous and stored.sequence == sequence
        assert stored.hash == audit_event_digest(stored, prev_hash=previous, sequence=sequence)
        previous = stored.hash
    head = AuditChainHead.objects.get()
    assert (head.last_sequence, head.last_hash, head.prev_hash) == (5, events[-1].hash, events[-2].hash)
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_append_that_fails_changes_nothing_even_outside_a_transaction() -> None:
    """In autocommit the row, its event and the head move are one statement: a failure leaves none of them."""
    decision = DenyingGateDecisionFactory.create()
    record_events(2)
    duplicate = DenyingGateDecisionFactory.build(id=decision.pk, model_version=decision.model_version)
    with pytest.raises(DatabaseError, match="duplicate key"):
        audit_event_record(action="gate.decision", actor="ci", target=duplicate, insert_target=True)
    assert AuditEvent.objects.count() == 2
    assert AuditChainHead.objects.get().last_sequence == 2
    fresh = DenyingGateDecisionFactory.build(model_version=decision.model_version)
    event = audit_event_record(action="gate.decision", actor="ci", target=fresh, insert_target=True)
    assert event.sequence == 3 and event.object_id == str(fresh.pk)
    assert AuditEvent.objects.get(sequence=3).object_id == str(fresh.pk)
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_the_step_by_step_append_of_other_databases_continues_the_same_chain() -> None:
    """SQLite (the demo) appends with a locked head, a Python digest and one statement per row; interleaved with
    the one-statement append, the chain stays one chain."""
    from django.utils import timezone

    from governance.services.audit import _append_in_steps

    record_events(2)
    for n in range(2):
        event = AuditEvent(
            occurred_at=timezone.now(), actor="sqlite-path", action="test.steps", data={"n": n}
        )
        with transaction.atomic():
            _append_in_steps(event, [])
        record_events(1)
    sequences = list(AuditEvent.objects.values_list("actor", "sequence"))
    assert [s for _, s in sequences] == [1, 2, 3, 4, 5, 6]
    assert [a for a, _ in sequences].count("sqlite-path") == 2
    assert AuditChainHead.objects.get().last_sequence == 6
    assert audit_chain_verify().ok
