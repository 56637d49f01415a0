"""Telling holders what a remediation gave them: one notice per holder and chunk, in the
same transaction as the money (never sent for a payment that rolled back), listing every
item done: refunds, goodwill, waived fees, lifted freezes.

The in-app notices of a chunk are written with one multi-row insert; email and SMS copies
go through the delivery outbox to the holder's verified contacts, on the channels they
chose for money notices (both unless they opted out), like ``wallet.notify.money_moved``.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from anxin.identity import contacts as contact_book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.models import Contact, Notification, NotificationPreference
from anxin.privacy.vault import Vault
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.wallet.notify import format_amount

KIND = "incident.remediated"
_TITLE = {"zh": "事件补偿：{reference}", "en": "Incident {reference}: what we put right"}
_BODY = {
    "zh": "关于事件 {reference}，我们已为您：{items}。如有疑问，请在应用内联系客服。",
    "en": "About incident {reference}, we have {items}. Questions? Contact us in the app.",
}
_ITEM = {
    "refund": ("退还被扣款项 {amount}", "refunded {amount} you were debited"),
    "goodwill": ("补偿 {amount}", "credited {amount} as an apology"),
    "fee_waiver": ("在 {until} 前免收手续费", "waived your fees until {until}"),
    "unfreeze": ("解除钱包冻结", "lifted the freeze on your wallet"),
}


@dataclass(frozen=True)
class Done:
    """One item just done, as the holder is told it."""

    holder_id: uuid.UUID
    kind: str
    asset: str | None
    amount: int
    ref: str
    until: datetime | None = None  # a fee waiver's end


def _lang(locale: str) -> str:
    return "zh" if locale.lower().startswith("zh") else "en"


def _line(session: Session, item: Done, lang: str, scales: dict[str, int]) -> str:
    zh, en = _ITEM[item.kind]
    template = zh if lang == "zh" else en
    amount = ""
    if item.asset is not None and item.amount:
        if item.asset not in scales:
            scales[item.asset] = get_asset(session, item.asset).scale
        amount = format_amount(item.amount, scales[item.asset], item.asset)
    until = f"{item.until.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}" if item.until else ""
    return template.format(amount=amount, until=until)


def notify_done(
    session: Session, vault: Vault, *, reference: str, plan_id: uuid.UUID,
    done: Sequence[Done], locales: dict[uuid.UUID, str], now: datetime,
) -> int:  # fmt: skip
    """One notice per holder for the items in ``done``; returns how many were written."""
    by_holder: dict[uuid.UUID, list[Done]] = defaultdict(list)
    for item in done:
        by_holder[item.holder_id].append(item)
    if not by_holder:
        return 0
    scales: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    texts: dict[uuid.UUID, tuple[str, str]] = {}
    for holder_id, items in by_holder.items():
        lang = _lang(locales[holder_id])
        joiner = "；" if lang == "zh" else "; "
        lines = joiner.join(_line(session, item, lang, scales) for item in items)
        title = _TITLE[lang].format(reference=reference)
        body = _BODY[lang].format(reference=reference, items=lines)
        texts[holder_id] = (title, body)
        data = {
            "kind": KIND, "incident": reference, "plan_id": str(plan_id),
            "items": [{"kind": i.kind, "asset": i.asset, "amount": i.amount, "ref": i.ref}
                      for i in items],
        }  # fmt: skip
        rows.append({"id": new_id(), "user_id": holder_id, "kind": KIND, "title": title,
                     "body": body, "data": data, "created_at": now, "read_at": None})  # fmt: skip
    session.execute(insert(cast(Table, Notification.__table__)), rows)  # Core: no ORM per row
    _copies(session, vault, texts, now)
    return len(rows)


def _copies(session: Session, vault: Vault, texts: dict[uuid.UUID, tuple[str, str]],
            now: datetime) -> None:  # fmt: skip
    holders = list(texts)
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.user_id.in_(holders), Contact.verified_at.is_not(None))
            .order_by(Contact.user_id, Contact.created_at)
        )
    )  # fmt: skip
    if not contacts:
        return
    opted_out = {
        row.user_id: row
        for row in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(holders))
        )
    }
    for contact in contacts:
        channel = CHANNEL_OF[contact.kind]
        preference = opted_out.get(contact.user_id)
        if preference is not None and not getattr(preference, channel):
            continue
        title, body = texts[contact.user_id]
        enqueue(
            session, vault, user_id=contact.user_id, channel=channel,
            recipient=contact_book.reveal(session, vault, contact), subject=title, body=body,
            now=now,
        )  # fmt: skip
