"""Texts of the data-rights and breach notices (``data/notices.json``, zh-CN and en), and
sending a text to a holder: the in-app inbox plus email/SMS to their verified contacts
through the identity outbox."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from anxin.identity import contacts as book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.privacy.vault import Vault

LANGUAGES = ("zh-CN", "en")


@cache
def catalogue() -> dict[str, Any]:
    path = resources.files("anxin.privacy").joinpath("data/notices.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def language(locale: str | None) -> str:
    """The notice language for a holder's locale: Chinese for zh*, else English."""
    return "zh-CN" if (locale or "zh-CN").lower().startswith("zh") else "en"


def text(kind: str, locale: str) -> tuple[str, str]:
    title, body = catalogue()["notifications"][kind][language(locale)]
    return str(title), str(body)


def deliver(
    session: Session, vault: Vault, user: User, *, kind: str, title: str, body: str,
    now: datetime, data: dict[str, Any] | None = None, in_app: bool = True,
    sealed_by: uuid.UUID | None = None,
) -> Notification | None:  # fmt: skip
    """Tell a holder: an inbox entry (unless ``in_app`` is false) and the same text to every
    verified contact. The email/SMS copies are encrypted under ``sealed_by``'s data key
    (default: the holder's own)."""
    row = None
    if in_app:
        row = Notification(
            id=new_id(), user_id=user.id, kind=kind, title=title[:200], body=body[:4000],
            data=data or {}, created_at=now, read_at=None,
        )  # fmt: skip
        session.add(row)
    for contact in book.contacts_of(session, user.id, verified=True):
        enqueue(
            session, vault, user_id=sealed_by or user.id, channel=CHANNEL_OF[contact.kind],
            recipient=book.reveal(session, vault, contact), subject=title, body=body, now=now,
        )  # fmt: skip
    session.flush()
    return row
