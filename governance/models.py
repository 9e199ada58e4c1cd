"""Governance records. For now: the append-only, hash-chained audit trail every state change writes to."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditChainHead(models.Model):
    """Singleton row locked while appending, so concurrent writers extend the chain one at a time."""

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.last_sequence}"


class AuditEvent(models.Model):
    """One audit fact. hash = sha256(prev_hash + canonical JSON of the event); rows are never changed."""

    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=256, help_text="Username, or system:<component> for automation.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=128)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=128, blank=True, default="")
    object_repr = models.CharField(max_length=300, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_repr}"
