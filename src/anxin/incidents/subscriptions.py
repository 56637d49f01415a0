"""Email subscriptions to the status page, for holders and anyone else.

The address is sealed under a data key of its own (one per subscriber, so forgetting a
subscriber is shredding one key) and found by a blind index. Subscribing sends a confirm
link through the delivery outbox; only confirmed subscribers get updates. The confirm token
is stored as a hash; the unsubscribe link in every email is signed (keyed HMAC of the
subscriber id), so it needs no stored secret and keeps working for old emails.
Subscribing again answers the same way whether or not the address is known.

Both links only lead to a page with a button (mail providers' link scanners open links);
confirming and leaving are idempotent, so a second press says the same as the first. The
update emails also carry ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` (RFC 8058), so
mail apps can offer one-click unsubscribing by POSTing to the same signed link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.identity.contacts import normalise_email
from anxin.identity.outbox import enqueue
from anxin.incidents.errors import InvalidIncident, SubscriptionNotFound
from anxin.incidents.texts import LANGUAGES, fill, notice
from anxin.kit.ids import new_id
from anxin.models.incidents import Incident, IncidentUpdate, StatusSubscriber
from anxin.privacy.vault import Vault

LOOKUP_COLUMN = "status.email"
UNSUBSCRIBE_COLUMN = "status.unsubscribe"
_TABLE = "status_subscribers"
# An unconfirmed address may be asked again after this long (no mail bombing someone).
RESEND_AFTER = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_signature(vault: Vault, subscriber_id: uuid.UUID) -> str:
    return vault.blind_index(UNSUBSCRIBE_COLUMN, str(subscriber_id))


def unsubscribe_url(site_url: str, vault: Vault, subscriber_id: uuid.UUID) -> str:
    signature = unsubscribe_signature(vault, subscriber_id)
    return f"{site_url}/status/subscriptions/unsubscribe?id={subscriber_id}&sig={signature}"


def _address(session: Session, vault: Vault, row: StatusSubscriber) -> str:
    return vault.decrypt(session, row.owner_id, table=_TABLE, column="email_enc", row_id=row.id,
                         ciphertext=row.email_enc)  # fmt: skip


def subscribe(
    session: Session, vault: Vault, email: str, *, locale: str, now: datetime, site_url: str
) -> None:
    """Ask ``email`` to confirm (again, if it had not or had left); a confirmed address
    is left alone. Returns nothing either way, so callers cannot tell which it was."""
    if locale not in LANGUAGES:
        raise InvalidIncident("locale is zh or en", field="locale")
    try:
        address = normalise_email(email)
    except Exception as error:
        raise InvalidIncident("not an email address", field="email") from error
    lookup = vault.blind_index(LOOKUP_COLUMN, address)
    row = session.scalars(
        select(StatusSubscriber).where(StatusSubscriber.email_lookup == lookup).with_for_update()
    ).one_or_none()
    token = secrets.token_urlsafe(32)
    if row is None:
        row_id = new_id()
        vault.create_data_key(session, row_id, now)
        row = StatusSubscriber(
            id=row_id, owner_id=row_id,
            email_enc=vault.encrypt(session, row_id, table=_TABLE, column="email_enc",
                                    row_id=row_id, plaintext=address),
            email_lookup=lookup, locale=locale, token_hash=_hash(token), confirmed_at=None,
            unsubscribed_at=None, created_at=now,
        )  # fmt: skip
        session.add(row)
    elif (row.confirmed_at is not None and row.unsubscribed_at is None) or (
        row.created_at > now - RESEND_AFTER
    ):
        return
    else:
        row.token_hash, row.locale, row.created_at = _hash(token), locale, now
        row.confirmed_at = row.unsubscribed_at = None
    session.flush()
    text = notice("subscribe")[locale]
    confirm_url = f"{site_url}/status/subscriptions/confirm?token={token}"
    enqueue(session, vault, user_id=None, channel="email", recipient=address,
            subject=text["title"], body=fill(text["body"], {"confirm_url": confirm_url}),
            now=now)  # fmt: skip


def _by_token(session: Session, token: str) -> StatusSubscriber:
    row = session.scalars(
        select(StatusSubscriber).where(StatusSubscriber.token_hash == _hash(token))
    ).one_or_none()
    # A link from before the address left (or asked again) no longer subscribes it.
    if row is None or row.unsubscribed_at is not None:
        raise SubscriptionNotFound()
    return row


def check_confirm(session: Session, token: str) -> None:
    """Whether a confirm link is good, without using it (the page that shows the button)."""
    _by_token(session, token)


def confirm(session: Session, token: str, *, now: datetime) -> StatusSubscriber:
    """Idempotent: the token stays good until the address leaves or asks again, so a
    second press of the button (or a reload) confirms nothing new and says the same."""
    row = _by_token(session, token)
    if row.confirmed_at is None:
        row.confirmed_at = now
    session.flush()
    return row


def _signed(
    session: Session, vault: Vault, subscriber_id: uuid.UUID, signature: str
) -> StatusSubscriber:
    expected = unsubscribe_signature(vault, subscriber_id)
    row = session.get(StatusSubscriber, subscriber_id)
    if row is None or not hmac.compare_digest(expected, signature):
        raise SubscriptionNotFound()
    return row


def check_unsubscribe(
    session: Session, vault: Vault, subscriber_id: uuid.UUID, signature: str
) -> None:
    """Whether an unsubscribe link is good, without using it."""
    _signed(session, vault, subscriber_id, signature)


def unsubscribe(
    session: Session, vault: Vault, subscriber_id: uuid.UUID, signature: str, *, now: datetime
) -> None:
    """Idempotent: leaving again keeps the first time."""
    row = _signed(session, vault, subscriber_id, signature)
    if row.unsubscribed_at is None:
        row.unsubscribed_at = now
    session.flush()


def send_update(
    session: Session, vault: Vault, incident: Incident, update: IncidentUpdate, *,
    now: datetime, site_url: str,
) -> int:  # fmt: skip
    """Email an update to every confirmed subscriber in their language; how many."""
    rows = session.scalars(
        select(StatusSubscriber).where(
            StatusSubscriber.confirmed_at.is_not(None), StatusSubscriber.unsubscribed_at.is_(None)
        )
    )
    sent = 0
    for row in rows:
        lang = row.locale if row.locale in update.texts else "en"
        text = update.texts[lang]
        leave = unsubscribe_url(site_url, vault, row.id)
        footer = fill(notice("update_email_footer")[lang], {
            "status_url": f"{site_url}/status?lang={lang}", "unsubscribe_url": leave,
        })  # fmt: skip
        # RFC 2369 and RFC 8058: mail apps show their own unsubscribe button, which POSTs
        # "List-Unsubscribe=One-Click" to the signed link (see web.status_subscription_pages).
        headers = {"List-Unsubscribe": f"<{leave}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # fmt: skip
        enqueue(session, vault, user_id=None, channel="email",
                recipient=_address(session, vault, row),
                subject=f"[{incident.reference}] {text['title']}",
                body=f"{text['body']}\n{footer}", now=now, headers=headers)  # fmt: skip
        sent += 1
    return sent
