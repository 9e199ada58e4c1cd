"""Registry writes: the sync passes (sync.py) and webhook intake (webhooks.py)."""

from registry_sync.services.sync import (
    SyncProgress,
    sync_full,
    sync_incremental,
    sync_targeted,
    sync_watermark,
)
from registry_sync.services.webhooks import WebhookRejected, webhook_delivery_accept

__all__ = [
    "SyncProgress",
    "WebhookRejected",
    "sync_full",
    "sync_incremental",
    "sync_targeted",
    "sync_watermark",
    "webhook_delivery_accept",
]
