"""JSON shapes of ledger objects, shared by the engine (stored results) and the API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


TRANSFER_COLUMNS = (
    "id", "action", "kind", "status", "source_id", "destination_id", "asset", "amount",
    "settled_amount", "pending_id", "reverses_id", "link_id", "reference", "metadata",
    "expires_at", "created_at", "first_seq",
)  # fmt: skip
ENTRY_COLUMNS = (
    "seq", "transfer_id", "account_id", "side", "posted", "pending", "debits_posted",
    "credits_posted", "debits_pending", "credits_pending", "created_at", "hash",
)  # fmt: skip


def json_text(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else "{}"
