"""Model instances from plain SQL rows, for the few hot paths that skip the ORM's query compiler (the gate, API key
authentication). The instances behave as the ORM's own: built with Model.from_db, so a column not passed is
deferred (reading it costs a query; the query-count tests catch that)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


def json_value(value: Any) -> Any:
    """A JSON column as a plain cursor returns it: text on PostgreSQL (with Django's loaders) and on SQLite."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def aware_datetime(value: Any) -> datetime | None:
    """A timestamp column as a plain cursor returns it (text on SQLite), time-zone aware; None stays None."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def instance_from_row(model_class: type[M], **values: Any) -> M:
    """An instance as the ORM loads one with only these columns (the others deferred)."""
    names = [f.attname for f in model_class._meta.concrete_fields if f.attname in values]
    return model_class.from_db(connection.alias, names, [values[name] for name in names])
