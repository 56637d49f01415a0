"""Sealing and reading the personal text of the care desk.

Subjects, messages, contacts and CSAT comments are encrypted under the ticket's owner (the
holder, or a data key made for that ticket), with ``table/column/row`` as associated data,
so a ciphertext moved to another ticket or column does not decrypt.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.models import DataKey
from anxin.models.care import Csat, Ticket, TicketMessage
from anxin.privacy.vault import Vault

CONTACT_LOOKUP_COLUMN = "care.contact"


def seal(
    session: Session, vault: Vault, owner_id: uuid.UUID, *, table: str, column: str,
    row_id: uuid.UUID, text: str,
) -> bytes:  # fmt: skip
    return vault.encrypt(
        session, owner_id, table=table, column=column, row_id=row_id, plaintext=text
    )


def ensure_owner_key(session: Session, vault: Vault, owner_id: uuid.UUID, now: datetime) -> None:
    """A data key for someone without a wallet (made once, on their first ticket)."""
    if session.get(DataKey, owner_id) is None:
        vault.create_data_key(session, owner_id, now)


def contact_lookup(vault: Vault, kind: str, normalised: str) -> str:
    """Blind index of a ticket's contact, to find every ticket of one email or phone."""
    return vault.blind_index(CONTACT_LOOKUP_COLUMN, f"{kind}:{normalised}")


def ticket_subject(session: Session, vault: Vault, ticket: Ticket) -> str:
    return vault.decrypt(
        session, ticket.owner_id, table="care_tickets", column="subject_enc",
        row_id=ticket.id, ciphertext=ticket.subject_enc,
    )  # fmt: skip


def ticket_contact(session: Session, vault: Vault, ticket: Ticket) -> str | None:
    """The normalised email or phone to answer someone outside the app (for sending only)."""
    if ticket.contact_enc is None:
        return None
    return vault.decrypt(
        session, ticket.owner_id, table="care_tickets", column="contact_enc",
        row_id=ticket.id, ciphertext=ticket.contact_enc,
    )  # fmt: skip


def message_body(session: Session, vault: Vault, message: TicketMessage) -> str:
    # Messages are sealed under their ticket's owner; a merged ticket keeps its own owner.
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket is not None  # foreign key
    return vault.decrypt(
        session, ticket.owner_id, table="care_messages", column="body_enc",
        row_id=message.id, ciphertext=message.body_enc,
    )  # fmt: skip


def csat_comment(session: Session, vault: Vault, ticket: Ticket, csat: Csat) -> str | None:
    if csat.comment_enc is None:
        return None
    return vault.decrypt(
        session, ticket.owner_id, table="care_csat", column="comment_enc",
        row_id=ticket.id, ciphertext=csat.comment_enc,
    )  # fmt: skip
