"""One complaint as the detector sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint as it arrived. ``at`` is timezone-aware; facts are optional."""

    id: str
    at: datetime
    user: str
    channel: str
    text: str
    merchant: str | None = None
    transaction: str | None = None  # the transaction kind: payment, top_up, withdrawal, ...
    category: str | None = None
    app_version: str | None = None
    error_code: str | None = None
