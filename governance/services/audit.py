"""The append-only, hash-chained audit trail: every state change records its event through audit_event_record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from config.observability import request_id_var
from governance.models import AuditChainHead, AuditEvent

SYSTEM_SYNC_ACTOR = "system:registry-sync"


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def audit_event_digest(
    *,
    prev_hash: str,
    sequence: int,
    occurred_at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any],
    request_id: str = "",
) -> str:
    fields = {
        "sequence": sequence,
        "occurred_at": occurred_at.isoformat(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    if request_id:  # outside a request (commands, tasks) there is none, and the hashed form stays as before
        fields["request_id"] = request_id
    body = _canonical_json(fields)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


# No savepoint: the event belongs to the caller's transaction, and if it fails the whole change must fail.
@transaction.atomic(savepoint=False)
def audit_event_record(
    *,
    action: str,
    actor: str | User,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
    insert_target: bool = False,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (the change fails if this fails).

    insert_target: target is a new, unsaved instance (with its primary key set) that is inserted together with
    the event; on PostgreSQL the two inserts and the chain-head update are one statement (the gate's hot path).
    """
    actor_user = actor if isinstance(actor, User) else None
    actor_name = actor.get_username() if isinstance(actor, User) else actor
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    payload = json.loads(_canonical_json(data or {}))
    last_sequence, last_hash = _chain_head_locked()
    sequence = last_sequence + 1
    occurred_at = timezone.now()
    request_id = request_id_var.get()
    request_id = "" if request_id == "-" else request_id[:128]
    digest = audit_event_digest(
        prev_hash=last_hash,
        sequence=sequence,
        occurred_at=occurred_at,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=payload,
        request_id=request_id,
    )
    event = AuditEvent(
        sequence=sequence,
        occurred_at=occurred_at,
        actor=actor_name,
        actor_user=actor_user,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(target)[:300] if target is not None else "",
        data=payload,
        request_id=request_id,
        prev_hash=last_hash,
        hash=digest,
    )
    new_rows = [target] if insert_target and target is not None else []
    if connection.vendor == "postgresql":
        _append_in_one_statement(event, new_rows, sequence=sequence, digest=digest)
    else:
        for row in new_rows:
            row.save(force_insert=True)
        event.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_UPDATE_SQL, [sequence, digest])
    return event


_HEAD_UPDATE_SQL = "UPDATE governance_auditchainhead SET last_sequence = %s, last_hash = %s WHERE id = 1"


def _insert_statement(instance: models.Model, *, returning_pk: bool = False) -> tuple[str, list[Any]]:
    """The INSERT that saving this new instance would send, from Django's own insert compiler (field preparation,
    defaults, auto_now values), so it can be combined with others into one statement."""
    meta = instance._meta
    fields = [f for f in meta.local_concrete_fields if not (f is meta.auto_field and instance.pk is None)]
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(connection=connection)
    if returning_pk:
        compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, list(params)


def _append_in_one_statement(
    event: AuditEvent, new_rows: list[models.Model], *, sequence: int, digest: str
) -> None:
    """PostgreSQL: insert the new rows and the event and move the chain head in one round trip (data-modifying
    CTEs), instead of one statement each. The head row is already locked by this transaction."""
    ctes, params = [], []
    for index, row in enumerate(new_rows):
        sql, row_params = _insert_statement(row)
        ctes.append(f"row_{index} AS ({sql})")
        params += row_params
    sql, event_params = _insert_statement(event, returning_pk=True)
    ctes.append(f"event AS ({sql})")
    params += event_params
    # Only Django's compiled INSERTs and constants are joined here; every value is a bound parameter.
    statement = f"WITH {', '.join(ctes)} {_HEAD_UPDATE_SQL} RETURNING (SELECT id FROM event)"  # noqa: S608 # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, sequence, digest])
        (event.pk,) = cursor.fetchone()
    for instance in (*new_rows, event):
        instance._state.adding = False
        instance._state.db = connection.alias


_HEAD_SQL = "SELECT last_sequence, last_hash FROM governance_auditchainhead WHERE id = 1"
_HEAD_LOCKED_SQL = "SELECT last_sequence, last_hash FROM governance_auditchainhead WHERE id = 1 FOR UPDATE"


def _chain_head_locked() -> tuple[int, str]:
    """The chain head, row-locked until the caller's transaction ends: concurrent writers queue here, so the
    chain never forks. Plain SQL because every state change passes through it (the ORM's compile doubled it)."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_LOCKED_SQL if connection.features.has_select_for_update else _HEAD_SQL)
        row = cursor.fetchone()
    if row is None:  # the very first event: create the head (a racing creator fails on the primary key)
        head = AuditChainHead.objects.select_for_update().get_or_create(pk=1)[0]
        return head.last_sequence, head.last_hash
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class ChainVerification:
    events_checked: int
    first_broken_sequence: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_broken_sequence is None


def audit_chain_verify(*, batch_size: int = 2000) -> ChainVerification:
    """Walk the whole chain in order and report the first event whose link or digest does not hold."""
    prev_hash = "0" * 64
    expected_sequence = 1
    checked = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size):
        if event.sequence != expected_sequence:
            return ChainVerification(checked, event.sequence, f"gap: expected #{expected_sequence}")
        if event.prev_hash != prev_hash:
            return ChainVerification(checked, event.sequence, "prev_hash does not match the previous event")
        recomputed = audit_event_digest(
            prev_hash=prev_hash,
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
            request_id=event.request_id,
        )
        if recomputed != event.hash:
            return ChainVerification(checked, event.sequence, "content does not match its hash")
        prev_hash = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_sequence != checked:
        return ChainVerification(checked, checked + 1, "events missing at the end of the chain")
    return ChainVerification(checked, None, "")
