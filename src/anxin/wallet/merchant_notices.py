"""Notices about mandates: a merchant gaining or losing the right to debit a wallet.

These are not money movements (each debit is notified as one, through
``anxin.wallet.notify.money_moved``) but security notices: a stolen session must not be
able to let a merchant take money unnoticed, so they go to the inbox and every verified
contact, whatever the holder's preferences.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.identity import contacts as contact_book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.privacy.vault import Vault

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "mandate.accepted": {
        "zh-CN": ("已授权商户扣款", "您已授权{merchant}按约定从钱包扣款，可随时在应用内取消。"  # noqa: RUF001
                  "如果不是您本人操作，请立即取消并修改密码。"),  # noqa: RUF001
        "en": ("Merchant may now debit you", "You allowed {merchant} to debit your wallet "
               "within the agreed terms. You can cancel this at any time in the app. If this "
               "was not you, cancel it and change your password now."),
    },
    "mandate.cancelled": {
        "zh-CN": ("扣款授权已取消", "{merchant}的扣款授权已取消，此后不能再从您的钱包扣款。"),  # noqa: RUF001
        "en": ("Debit permission cancelled", "{merchant} can no longer debit your wallet: "
               "the permission was cancelled."),
    },
}  # fmt: skip


def _text(kind: str, locale: str) -> tuple[str, str]:
    texts = TEXTS[kind]
    return texts.get(locale) or texts.get(locale.split("-", 1)[0]) or texts["zh-CN"]


def mandate_notice(
    session: Session, vault: Vault, user_id: uuid.UUID, kind: str, merchant_name: str, *,
    now: datetime, data: dict[str, Any],
) -> Notification:  # fmt: skip
    user = session.get(User, user_id)
    assert user is not None
    title, template = _text(kind, user.locale)
    body = template.format(merchant=merchant_name)
    row = Notification(
        id=new_id(), user_id=user.id, kind=kind, title=title, body=body, data=data,
        created_at=now, read_at=None,
    )  # fmt: skip
    session.add(row)
    for contact in contact_book.contacts_of(session, user.id, verified=True):
        enqueue(
            session, vault, user_id=user.id, channel=CHANNEL_OF[contact.kind],
            recipient=contact_book.reveal(session, vault, contact), subject=title, body=body,
            now=now,
        )  # fmt: skip
    session.flush()
    return row
