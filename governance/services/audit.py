"""The append-only, hash-chained audit trail: every state change records its event through audit_event_record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from config.observability import request_id_var
from governance.models import AuditChainHead, AuditEvent

SYSTEM_SYNC_ACTOR = "system:registry-sync"


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


GENESIS_HASH = "0" * 64


def _digest_prefix(event: AuditEvent) -> str:
    """The canonical JSON of an event up to its sequence number: "sequence" is the last key in sorted order, so the
    hashed body is this prefix + str(sequence) + "}" (which lets PostgreSQL finish the digest when it assigns the
    sequence)."""
    fields: dict[str, Any] = {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
    }
    # Outside a request (commands, tasks) there is none, and the hashed form stays as before request ids existed.
    if event.request_id:
        fields["request_id"] = event.request_id
    return _canonical_json(fields)[:-1] + ',"sequence":'


def audit_event_digest(event: AuditEvent, *, prev_hash: str, sequence: int) -> str:
    """sha256(prev_hash + canonical JSON of the event's fields, sequence included)."""
    return hashlib.sha256(f"{prev_hash}{_digest_prefix(event)}{sequence}}}".encode()).hexdigest()


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
    """Append one event to the chain inside the caller's transaction (the change fails if this fails); outside
    one, the event is its own transaction.

    insert_target: target is a new, unsaved instance (with its primary key set) that is inserted together with
    the event, atomically.

    On PostgreSQL the whole append is one statement: the chain head is advanced (row-locked, so concurrent writers
    queue and the chain never forks), the event's digest is finished by the database from the head's hash, and the
    event and the new rows are inserted; a single statement needs no transaction round trips of its own.
    """
    actor_user = actor if isinstance(actor, User) else None
    actor_name = actor.get_username() if isinstance(actor, User) else actor
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    payload = json.loads(_canonical_json(data or {}))
    request_id = request_id_var.get()
    request_id = "" if request_id == "-" else request_id[:128]
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor_name,
        actor_user=actor_user,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(target)[:300] if target is not None else "",
        data=payload,
        request_id=request_id,
    )
    new_rows = [target] if insert_target and target is not None else []
    # The connection itself, not the django.db.connection proxy, whose every attribute read is a context-local
    # lookup (the statement below reads it once per bound value).
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        _append_in_one_statement(event, new_rows, db)
    else:
        with transaction.atomic(savepoint=False):
            _append_in_steps(event, new_rows)
    for instance in (*new_rows, event):
        instance._state.adding = False
        instance._state.db = db.alias
    return event


def _append_in_steps(event: AuditEvent, new_rows: list[models.Model]) -> None:
    """Other databases (SQLite in development): lock the head, then one statement per row, in a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_LOCKED_SQL if connection.features.has_select_for_update else _HEAD_SQL)
        row = cursor.fetchone()
    if row is None:  # the very first event: create the head (a racing creator fails on the primary key)
        head = AuditChainHead.objects.select_for_update().get_or_create(pk=1)[0]
        row = (head.last_sequence, head.last_hash)
    event.sequence = int(row[0]) + 1
    event.prev_hash = str(row[1])
    event.hash = audit_event_digest(event, prev_hash=event.prev_hash, sequence=event.sequence)
    for new_row in new_rows:
        new_row.save(force_insert=True)
    event.save(force_insert=True)
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_UPDATE_SQL, [event.prev_hash, event.sequence, event.hash])


_HEAD_SQL = "SELECT last_sequence, last_hash FROM governance_auditchainhead WHERE id = 1"
_HEAD_LOCKED_SQL = _HEAD_SQL + " FOR UPDATE"
_HEAD_UPDATE_SQL = (
    "UPDATE governance_auditchainhead SET prev_hash = %s, last_sequence = %s, last_hash = %s WHERE id = 1"
)

# PostgreSQL: advance the head and finish the digest in one upsert. The first event ever creates the head. In SET,
# h.* is the row before the update (after waiting for a concurrent writer's lock: its committed version), so
# prev_hash takes the old hash and the new hash chains from it; RETURNING gives the new values. The digest is
# sha256 over the UTF-8 of prev_hash + the event's canonical JSON, whose last key is the sequence (_digest_prefix).
_HEAD_ADVANCE_SQL = """head AS (
    INSERT INTO governance_auditchainhead AS h (id, last_sequence, prev_hash, last_hash)
    VALUES (1, 1, CAST(%(genesis)s AS text), encode(sha256(convert_to(
        CAST(%(genesis)s AS text) || CAST(%(prefix)s AS text) || '1}', 'UTF8')), 'hex'))
    ON CONFLICT (id) DO UPDATE SET
        last_sequence = h.last_sequence + 1,
        prev_hash = h.last_hash,
        last_hash = encode(sha256(convert_to(
            h.last_hash || CAST(%(prefix)s AS text) || CAST(h.last_sequence + 1 AS text) || '}', 'UTF8')), 'hex')
    RETURNING last_sequence, prev_hash, last_hash
)"""
# The event's chain columns, from the advanced head.
_EVENT_CHAIN_COLUMNS = (
    ("sequence", "(SELECT last_sequence FROM head)"),
    ("prev_hash", "(SELECT prev_hash FROM head)"),
    ("hash", "(SELECT last_hash FROM head)"),
)


@cache
def _insert_template(
    model: type[models.Model],
    *,
    key: str,
    with_pk: bool,
    computed: tuple[tuple[str, str], ...] = (),
    returning: tuple[str, ...] = (),
) -> tuple[str, tuple[Field[Any, Any], ...]]:
    """INSERT ... VALUES with a %(key_N)s placeholder per value field and SQL expressions for the computed
    columns, RETURNING the given columns (default: the primary key); built once per model and shape (the gate
    writes one per decision) instead of compiling the ORM's."""
    meta = model._meta
    skipped = {column for column, _ in computed}
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field.column not in skipped and (with_pk or field is not meta.pk)
    )
    quote = connection.ops.quote_name
    columns = [quote(str(field.column)) for field in fields] + [quote(column) for column, _ in computed]
    values = [f"%({key}_{index})s" for index in range(len(fields))] + [sql for _, sql in computed]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(values)})"  # noqa: S608 # nosec B608
        f" RETURNING {', '.join(quote(column) for column in returning or (str(meta.pk.column),))}"
    )
    return sql, fields


def _insert_params(
    instance: models.Model, fields: tuple[Field[Any, Any], ...], *, key: str, db: BaseDatabaseWrapper
) -> dict[str, Any]:
    """The bound values, prepared as Django's insert compiler prepares them: pre_save (auto values), then the
    database adaptation (JSON, time zones, UUIDs)."""
    return {
        f"{key}_{index}": field.get_db_prep_save(field.pre_save(instance, True), connection=db)
        for index, field in enumerate(fields)
    }


def _append_in_one_statement(
    event: AuditEvent, new_rows: list[models.Model], db: BaseDatabaseWrapper
) -> None:
    """PostgreSQL: advance the head, insert the new rows and the event in one statement (data-modifying CTEs)."""
    ctes = [_HEAD_ADVANCE_SQL]
    params: dict[str, Any] = {"genesis": GENESIS_HASH, "prefix": _digest_prefix(event)}
    for index, row in enumerate(new_rows):
        key = f"row{index}"
        sql, fields = _insert_template(type(row), key=key, with_pk=True)
        ctes.append(f"{key} AS ({sql})")
        params.update(_insert_params(row, fields, key=key, db=db))
    sql, fields = _insert_template(
        AuditEvent,
        key="event",
        with_pk=False,
        computed=_EVENT_CHAIN_COLUMNS,
        returning=("id", "sequence", "prev_hash", "hash"),
    )
    ctes.append(f"event AS ({sql})")
    params.update(_insert_params(event, fields, key="event", db=db))
    # Only the templates above (model metadata and constants) are joined; every value is a bound parameter.
    statement = f"WITH {', '.join(ctes)} SELECT * FROM event"  # noqa: S608 # nosec B608
    with db.cursor() as cursor:
        cursor.execute(statement, params)
        event.pk, event.sequence, event.prev_hash, event.hash = cursor.fetchone()


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
    prev_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size):
        if event.sequence != expected_sequence:
            return ChainVerification(checked, event.sequence, f"gap: expected #{expected_sequence}")
        if event.prev_hash != prev_hash:
            return ChainVerification(checked, event.sequence, "prev_hash does not match the previous event")
        recomputed = audit_event_digest(event, prev_hash=prev_hash, sequence=event.sequence)
        if recomputed != event.hash:
            return ChainVerification(checked, event.sequence, "content does not match its hash")
        prev_hash = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_sequence != checked:
        return ChainVerification(checked, checked + 1, "events missing at the end of the chain")
    return ChainVerification(checked, None, "")
