"""The server's merchant worker: closes lapsed payment intents, then sends due webhooks."""

from __future__ import annotations

from functools import partial

from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.privacy.keys import KeyService
from anxin.settings import Settings
from anxin.wallet.payments import close_lapsed
from anxin.wallet.webhooks import WebhookWorker


def start_merchant_worker(
    settings: Settings, database: Database, keys: KeyService, clock: Clock
) -> WebhookWorker | None:
    """Started with the server, at the outbox's pace; None when delivery is switched off
    (``ANXIN_DELIVERY_INTERVAL_SECONDS=0``: tests and `anxin dev deliver` drive it)."""
    if settings.delivery_interval_seconds <= 0:
        return None
    return WebhookWorker(
        database, keys, clock, interval=settings.delivery_interval_seconds,
        housekeeping=partial(close_lapsed, database, keys, clock),
    ).start()  # fmt: skip
