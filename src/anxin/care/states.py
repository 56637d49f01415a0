"""A ticket's life: new -> open -> pending_customer -> resolved -> closed.

A customer's message moves ``pending_customer`` back to ``open``, and reopens a resolved
ticket until its ``reopen_until`` (set on resolution from the configured window); after it
the ticket is closed and a new message opens a new ticket. Every change is an event, tells
the customer, and moves the SLA clocks (paused while we wait for the customer).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care import csat, notify, sla
from anxin.care.errors import InvalidTransition
from anxin.kit.ids import new_id
from anxin.models.care import TICKET_STATUSES, Ticket, TicketEvent
from anxin.privacy.vault import Vault

DEFAULT_REOPEN_WINDOW = timedelta(days=7)

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending_customer", "resolved", "closed"}),
    "open": frozenset({"pending_customer", "resolved", "closed"}),
    "pending_customer": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


def record(
    session: Session, ticket: Ticket, kind: str, *, now: datetime,
    actor_id: uuid.UUID | None = None, **data: object,
) -> TicketEvent:  # fmt: skip
    event = TicketEvent(id=new_id(), ticket_id=ticket.id, kind=kind, actor_id=actor_id,
                        data=dict(data), created_at=now)  # fmt: skip
    session.add(event)
    return event


def change_status(
    session: Session, vault: Vault, ticket: Ticket, new: str, *, now: datetime,
    actor_id: uuid.UUID | None = None, reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    tell: bool = True, reason: str | None = None,
) -> None:  # fmt: skip
    """Move ``ticket`` to ``new`` (no-op if already there); refuses what ``TRANSITIONS``
    does not allow."""
    old = ticket.status
    if new == old:
        return
    if new not in TICKET_STATUSES:
        raise InvalidTransition(f"unknown ticket state {new!r}", field="status")
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"a ticket cannot go from {old} to {new}")
    ticket.status = new
    ticket.updated_at = now
    if new == "resolved":
        ticket.resolved_at = now
        ticket.reopen_until = now + reopen_window
    elif new == "closed":
        ticket.closed_at = now
        ticket.reopen_until = None
    elif old == "resolved":  # reopened
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.reopen_until = None
    data: dict[str, object] = {"old": old, "new": new}
    if reason:
        data["reason"] = reason
    record(session, ticket, "status", now=now, actor_id=actor_id, **data)
    session.flush()
    sla.on_status(session, ticket, old, new, now)
    # The rating request says the complaint is resolved; no second notice for that.
    asked = new == "resolved" and csat.request(session, vault, ticket, now) is not None
    if tell and not asked:
        notify.tell_customer(session, vault, ticket, "care.status", now=now)


def close_expired(session: Session, vault: Vault, now: datetime, *, limit: int = 500) -> int:
    """Close resolved tickets whose reopen window has passed (the auto-close job)."""
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == "resolved", Ticket.reopen_until <= now)
        .order_by(Ticket.reopen_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in tickets:
        change_status(session, vault, ticket, "closed", now=now, reason="reopen window passed",
                      tell=False)  # fmt: skip
    return len(tickets)
