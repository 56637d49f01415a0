"""Telling people what happened to their account: the in-app inbox, and email/SMS copies
through the outbox. Texts are short, in the user's language, and carry no personal data
beyond what the recipient already knows (no full numbers, no addresses, no names).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.identity import contacts as contact_book
from anxin.identity.outbox import enqueue
from anxin.kit.errors import NotFound
from anxin.kit.ids import new_id
from anxin.models import Contact, Notification, User
from anxin.privacy.vault import Vault

CHANNEL_OF = {"phone": "sms", "email": "email"}


@cache
def _catalogue() -> dict[str, Any]:
    """Texts by kind and locale (title, body); bodies are ``str.format`` templates."""
    path = resources.files("anxin.identity").joinpath("data/messages.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _text(section: str, kind: str, locale: str) -> tuple[str, str]:
    texts = _catalogue()[section][kind]
    title, body = texts.get(locale) or texts.get(locale.split("-", 1)[0]) or texts["zh-CN"]
    return str(title), str(body)


def channel_word(kind: str, locale: str) -> str:
    words = _catalogue()["channels"]
    return str((words.get(locale) or words["en"]).get(kind, kind))


def send_to_contact(
    session: Session, vault: Vault, contact: Contact, *, template: str, locale: str,
    now: datetime, **params: Any,
) -> None:  # fmt: skip
    """A message to one contact (codes, notices) through the outbox."""
    title, body = _text("messages", template, locale)
    params.setdefault("channel", channel_word(contact.kind, locale))
    enqueue(
        session, vault, user_id=contact.user_id, channel=CHANNEL_OF[contact.kind],
        recipient=contact_book.reveal(session, vault, contact), subject=title,
        body=body.format(**params), now=now,
    )  # fmt: skip


def notify(
    session: Session, vault: Vault, user: User, kind: str, *, now: datetime,
    data: dict[str, Any] | None = None, copy_to_contacts: bool = True, **params: Any,
) -> Notification:  # fmt: skip
    """An inbox entry, and (by default) the same text to every verified contact."""
    title, template = _text("notifications", kind, user.locale)
    body = template.format(**params)
    row = Notification(
        id=new_id(), user_id=user.id, kind=kind, title=title, body=body, data=data or {},
        created_at=now, read_at=None,
    )  # fmt: skip
    session.add(row)
    if copy_to_contacts:
        for contact in contact_book.contacts_of(session, user.id, verified=True):
            enqueue(
                session, vault, user_id=user.id, channel=CHANNEL_OF[contact.kind],
                recipient=contact_book.reveal(session, vault, contact),
                subject=title, body=body, now=now,
            )  # fmt: skip
    session.flush()
    return row


def inbox(
    session: Session, user_id: uuid.UUID, *, limit: int, unread_only: bool = False
) -> tuple[list[Notification], int]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = list(
        session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        )
    )
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return rows, int(unread or 0)


def mark_read(
    session: Session, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
) -> Notification:
    row = session.get(Notification, notification_id)
    # Someone else's notification is "not found", never "forbidden": ids disclose nothing.
    if row is None or row.user_id != user_id:
        raise NotFound("no such notification", code="notification_not_found")
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return row
