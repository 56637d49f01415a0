"""Chat: a holder opens a conversation (a ticket of channel ``chat``) and both sides append
messages that the other sees live.

Live means a Server-Sent Events stream (chat_endpoints.py) that polls the conversation
after a cursor: the id of the last message the reader has seen, sent as each event's id,
so a reconnecting browser resumes from ``Last-Event-ID`` without gaps or repeats. Message
ids are time-ordered (UUIDv7) and the cursor compares (created_at, id), the order the
conversation is shown in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from anxin.care.errors import TicketClosed, TicketNotFound
from anxin.care.merge import merged_ids
from anxin.care.sealing import message_body, ticket_subject
from anxin.care.tickets import NewTicket, add_message, open_ticket, survivor
from anxin.models import User
from anxin.models.care import Ticket, TicketMessage
from anxin.privacy.vault import Vault
from anxin.wallet import accounts

MAX_EVENTS = 200  # per poll; a reader far behind catches up over several


@dataclass(frozen=True)
class ChatEvent:
    id: uuid.UUID
    author: str  # holders: you | agent | system; staff: customer | agent | system
    visibility: str
    body: str
    created_at: datetime


def open_chat(session: Session, vault: Vault, holder: User, *, body: str, now: datetime) -> Ticket:
    """A new chat: the first message opens the ticket (the holder is in the conversation,
    so no separate "we received it" notice)."""
    links = tuple(
        ("account", str(account.id)) for account in accounts.wallet_accounts_of(session, holder.id)
    )
    return open_ticket(
        session, vault,
        NewTicket(channel="chat", subject="", body=body, holder_id=holder.id, links=links),
        now=now, acknowledge=False,
    )  # fmt: skip


def holder_chat(session: Session, holder: User, ticket_id: uuid.UUID, *,
                for_update: bool = False) -> Ticket:  # fmt: skip
    """The holder's own chat; anyone else's, or another channel's ticket, is not found."""
    query = select(Ticket).where(
        Ticket.id == ticket_id, Ticket.holder_id == holder.id, Ticket.channel == "chat"
    )
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound("no such chat", code="chat_not_found")
    return ticket


def staff_chat(session: Session, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.channel == "chat")
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound("no such chat", code="chat_not_found")
    return ticket


def say(
    session: Session, vault: Vault, holder: User, ticket: Ticket, *, body: str, now: datetime
) -> tuple[Ticket, TicketMessage, bool]:
    """The holder's message, the ticket it landed in, and whether that is a new chat (the
    old one was closed; the new one is linked to it)."""
    try:
        message = add_message(session, vault, ticket, author_kind="customer", body=body,
                              channel="chat", now=now, author_id=holder.id)  # fmt: skip
    except TicketClosed:
        new = open_ticket(
            session, vault,
            NewTicket(channel="chat", subject=ticket_subject(session, vault, ticket), body=body,
                      holder_id=holder.id, links=(("ticket", str(ticket.id)),)),
            now=now, acknowledge=False,
        )  # fmt: skip
        first = session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == new.id))
        return new, first.one(), True
    landed = session.get(Ticket, message.ticket_id)
    assert landed is not None  # foreign key
    return landed, message, False


def answer(
    session: Session, vault: Vault, agent: User, ticket: Ticket, *, body: str, now: datetime
) -> TicketMessage:
    """An agent's public reply in the chat (the core records the first response)."""
    return add_message(session, vault, ticket, author_kind="agent", body=body, channel="chat",
                       now=now, author_id=agent.id)  # fmt: skip


def _after(session: Session, cursor: uuid.UUID | None) -> ColumnElement[bool] | None:
    if cursor is None:
        return None
    seen = session.get(TicketMessage, cursor)
    if seen is None:
        return None
    return or_(
        TicketMessage.created_at > seen.created_at,
        and_(TicketMessage.created_at == seen.created_at, TicketMessage.id > seen.id),
    )


def events_after(
    session: Session, vault: Vault, ticket: Ticket, cursor: uuid.UUID | None, *, staff: bool
) -> list[ChatEvent]:
    """Messages after ``cursor`` (all of them without one), oldest first: public ones for
    the holder, internal notes too for staff. A chat merged into another ticket continues
    there, and so does its stream."""
    live = survivor(session, ticket)
    query = select(TicketMessage).where(TicketMessage.ticket_id.in_(merged_ids(session, live)))
    if not staff:
        query = query.where(TicketMessage.visibility == "public")
    after = _after(session, cursor)
    if after is not None:
        query = query.where(after)
    rows = session.scalars(
        query.order_by(TicketMessage.created_at, TicketMessage.id).limit(MAX_EVENTS)
    )
    events = []
    for row in rows:
        author = row.author_kind
        if not staff and author == "customer":
            author = "you"
        body = message_body(session, vault, row)
        events.append(ChatEvent(row.id, author, row.visibility, body, row.created_at))
    return events
