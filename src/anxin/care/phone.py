"""Phone notes: an agent logs what a caller said as a ticket of channel ``phone``, with the
agent as the author of the first message. The caller is found among holders by the blind
index of the number; a number no holder has verified makes a ticket answered by SMS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from anxin.care.tickets import NewTicket, open_ticket
from anxin.identity.contacts import ContactValue, find_contact, normalise_phone
from anxin.models import User
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault
from anxin.wallet import accounts


def holder_for_phone(session: Session, vault: Vault, phone: str) -> User | None:
    """The holder whose verified phone this (normalised) number is."""
    contact = find_contact(session, vault, ContactValue("phone", phone))
    if contact is None or contact.verified_at is None:
        return None
    user = session.get(User, contact.user_id)
    if user is None or user.kind != "holder" or user.status == "closed":
        return None
    return user


def log_call(
    session: Session, vault: Vault, agent: User, *, phone: str, subject: str, body: str,
    category: str | None, priority: str, language: str | None, now: datetime,
) -> Ticket:  # fmt: skip
    number = normalise_phone(phone)
    holder = holder_for_phone(session, vault, number)
    links: tuple[tuple[str, str], ...] = ()
    if holder is not None:
        links = tuple(
            ("account", str(a.id)) for a in accounts.wallet_accounts_of(session, holder.id)
        )
    return open_ticket(
        session, vault,
        NewTicket(
            channel="phone", subject=subject, body=body,
            holder_id=holder.id if holder is not None else None, contact_kind="phone",
            contact=number, category=category, priority=priority, language=language,
            links=links, author_id=agent.id,
        ),
        now=now,
    )  # fmt: skip
