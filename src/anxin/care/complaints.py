"""A holder's complaint from the app, and their answers on it.

A complaint is linked to the holder, their wallet accounts and, if they name any,
transfers of theirs. A transfer that is not theirs is as absent as one that does not exist
(404), so ids cannot be probed. An answer on a closed ticket opens a new ticket linked to
the old one, as the core contract asks of every channel.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.care.errors import LinkNotAllowed, TicketClosed
from anxin.care.sealing import ticket_subject
from anxin.care.tickets import NewTicket, add_message, open_ticket
from anxin.models import User
from anxin.models.care import Ticket
from anxin.models.ledger import Transfer
from anxin.privacy.vault import Vault
from anxin.wallet import accounts


def _own_transfer(session: Session, holder: User, transfer_id: uuid.UUID) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    owner = accounts.holder_owner(holder.id)
    if transfer is None or owner not in (
        accounts.owner_of(session, transfer.source_id),
        accounts.owner_of(session, transfer.destination_id),
    ):
        raise LinkNotAllowed(f"no transfer {transfer_id} in your statement")
    return transfer


def file_complaint(
    session: Session, vault: Vault, holder: User, *, subject: str, body: str,
    transfer_ids: list[uuid.UUID], now: datetime,
) -> Ticket:  # fmt: skip
    links: list[tuple[str, str]] = [
        ("account", str(account.id)) for account in accounts.wallet_accounts_of(session, holder.id)
    ]
    for transfer_id in dict.fromkeys(transfer_ids):
        links.append(("transfer", str(_own_transfer(session, holder, transfer_id).id)))
    return open_ticket(
        session, vault,
        NewTicket(channel="app", subject=subject, body=body, holder_id=holder.id,
                  links=tuple(links)),
        now=now,
    )  # fmt: skip


def answer(
    session: Session, vault: Vault, holder: User, ticket: Ticket, *, body: str,
    now: datetime,
) -> tuple[Ticket, bool]:  # fmt: skip
    """The holder's message on their ticket: the ticket it landed in, and whether that is
    a new one (the old was closed)."""
    try:
        message = add_message(session, vault, ticket, author_kind="customer", body=body,
                              channel="app", now=now, author_id=holder.id)  # fmt: skip
    except TicketClosed:
        new = open_ticket(
            session, vault,
            NewTicket(channel="app", subject=ticket_subject(session, vault, ticket), body=body,
                      holder_id=holder.id, links=(("ticket", str(ticket.id)),)),
            now=now,
        )  # fmt: skip
        return new, True
    landed = session.get(Ticket, message.ticket_id)
    assert landed is not None
    return landed, False
