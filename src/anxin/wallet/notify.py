"""Notices of money movements and wallet security events.

Every notice is an in-app inbox entry (``notifications``) written in the caller's
transaction, plus email/SMS copies through the transactional delivery outbox
(``anxin.identity.outbox``): delivered at least once, retried, never lost if the server
dies, and never sent for a movement that rolled back. Money notices go to the channels the
holder chose (both by default); security notices (freezes) go to every verified contact,
whatever the preference, because they must not be missable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.identity import contacts as contact_book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.models import Notification, NotificationPreference, User
from anxin.privacy.vault import Vault
from anxin.wallet import messages


def format_amount(amount: int, scale: int, asset: str) -> str:
    """Minor units as a decimal string with the asset code, by integer arithmetic only:
    ``format_amount(-3805, 2, "CNY") == "-38.05 CNY"``."""
    sign = "-" if amount < 0 else ""
    if scale == 0:
        return f"{sign}{abs(amount)} {asset}"
    whole, fraction = divmod(abs(amount), 10**scale)
    return f"{sign}{whole}.{fraction:0{scale}d} {asset}"


def money(session: Session, amount: int, asset: str) -> str:
    return format_amount(amount, get_asset(session, asset).scale, asset)


@dataclass(frozen=True)
class Preferences:
    email: bool
    sms: bool


def preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    row = session.get(NotificationPreference, user_id)
    if row is None:
        return Preferences(email=True, sms=True)
    return Preferences(email=row.email, sms=row.sms)


def set_preferences(
    session: Session, user_id: uuid.UUID, *, email: bool, sms: bool, now: datetime
) -> Preferences:
    row = session.get(NotificationPreference, user_id)
    if row is None:
        session.add(NotificationPreference(user_id=user_id, email=email, sms=sms, updated_at=now))
    else:
        row.email, row.sms, row.updated_at = email, sms, now
    session.flush()
    return Preferences(email=email, sms=sms)


def send(
    session: Session, vault: Vault, user: User, kind: str, *, now: datetime,
    data: dict[str, Any], channels: set[str], params: dict[str, Any],
) -> Notification:  # fmt: skip
    """An inbox entry, and copies to the verified contacts on ``channels`` (email, sms)."""
    title, template = messages.text(kind, user.locale)
    body = template.format(**params)
    row = Notification(
        id=new_id(), user_id=user.id, kind=kind, title=title, body=body, data=data,
        created_at=now, read_at=None,
    )  # fmt: skip
    session.add(row)
    for contact in contact_book.contacts_of(session, user.id, verified=True):
        channel = CHANNEL_OF[contact.kind]
        if channel not in channels:
            continue
        enqueue(
            session, vault, user_id=user.id, channel=channel,
            recipient=contact_book.reveal(session, vault, contact), subject=title, body=body,
            now=now,
        )  # fmt: skip
    session.flush()
    return row


def _user(session: Session, user: User | uuid.UUID) -> User:
    if isinstance(user, User):
        return user
    found = session.get(User, user)
    if found is None:
        raise LookupError(f"no user {user}")
    return found


def _unnamed(kind: str, locale: str) -> str:
    """Who a counterparty is when nobody was named: the bank for money in or out of the
    wallet, otherwise the other party."""
    bank = kind.startswith(("topup.", "withdrawal.", "reconciliation."))
    return messages.word("bank" if bank else "someone", locale)


def money_moved(
    session: Session, vault: Vault, user: User | uuid.UUID, kind: str, *, amount: int,
    asset: str, now: datetime, fee: int = 0, counterparty: str | None = None,
    balance_after: int | None = None, reference: str | None = None, reason: str | None = None,
    incoming: bool | None = None, data: dict[str, Any] | None = None,
) -> Notification:  # fmt: skip
    """Tell a holder money moved: ``kind`` such as ``topup.completed``, ``payment.sent``,
    ``refund.received`` (each has its own text in ``messages``; an unknown kind gets a
    generic one). ``counterparty`` must already
    be masked; ``incoming`` signs the amount in the generic text."""
    holder = _user(session, user)
    locale = holder.locale
    scale = get_asset(session, asset).scale
    shown = format_amount(amount, scale, asset)
    signed = shown if incoming is None else ("+" if incoming else "-") + shown
    balance_text = (
        messages.word("balance", locale).format(balance=format_amount(balance_after, scale, asset))
        if balance_after is not None
        else ""
    )
    params = {
        "amount": shown, "signed_amount": signed, "fee": format_amount(fee, scale, asset),
        "counterparty": counterparty or _unnamed(kind, locale),
        "counterparty_text": (
            messages.word("with", locale).format(counterparty=counterparty) if counterparty else ""
        ),
        "balance_text": balance_text, "reason": reason or "",
    }  # fmt: skip
    payload = {
        "kind": kind, "amount": amount, "asset": asset, "fee": fee, "reference": reference,
        "balance_after": balance_after, **(data or {}),
    }  # fmt: skip
    prefs = preferences(session, holder.id)
    channels = {c for c, wanted in (("email", prefs.email), ("sms", prefs.sms)) if wanted}
    return send(
        session, vault, holder, kind, now=now, data=payload, channels=channels, params=params
    )


def security_event(
    session: Session, vault: Vault, user: User | uuid.UUID, kind: str, *, now: datetime,
    data: dict[str, Any] | None = None, **params: Any,
) -> Notification:  # fmt: skip
    """A wallet security notice (freeze, unfreeze, appeal, reconciliation): to the inbox
    and every verified contact, whatever the holder's preferences."""
    holder = _user(session, user)
    return send(
        session, vault, holder, kind, now=now, data=data or {}, channels={"email", "sms"},
        params=params,
    )  # fmt: skip
