"""Work queues: the tickets still needing us, by category and language, most urgent first.

Urgency is the earliest due time among a ticket's running SLA clocks (a breached clock has
the earliest of all); tickets without a running clock (waiting for the customer) come last,
oldest first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.models.care import SlaClock, Ticket

ACTIVE_STATUSES = ("new", "open", "pending_customer")


@dataclass(frozen=True)
class QueueCount:
    category: str
    language: str
    tickets: int
    unassigned: int
    escalated: int


@dataclass(frozen=True)
class QueueItem:
    ticket: Ticket
    due_at: datetime | None


def queue(
    session: Session, *, category: str | None = None, language: str | None = None,
    statuses: tuple[str, ...] = ACTIVE_STATUSES, assignee_id: uuid.UUID | None = None,
    unassigned: bool = False, holder_id: uuid.UUID | None = None, limit: int = 50,
    offset: int = 0,
) -> list[QueueItem]:  # fmt: skip
    due = (
        select(SlaClock.ticket_id, func.min(SlaClock.due_at).label("due_at"))
        .where(SlaClock.status == "running")
        .group_by(SlaClock.ticket_id)
        .subquery()
    )
    query = (
        select(Ticket, due.c.due_at)
        .outerjoin(due, due.c.ticket_id == Ticket.id)
        .where(Ticket.status.in_(statuses), Ticket.merged_into_id.is_(None))
    )
    if category is not None:
        query = query.where(Ticket.category == category)
    if language is not None:
        query = query.where(Ticket.language == language)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    if holder_id is not None:
        query = query.where(Ticket.holder_id == holder_id)
    # NULLs last on both databases: sort on "has no due time" first.
    query = (
        query.order_by(due.c.due_at.is_(None), due.c.due_at, Ticket.created_at, Ticket.id)
        .limit(limit)
        .offset(offset)
    )
    return [QueueItem(ticket=row[0], due_at=row[1]) for row in session.execute(query)]


def counts(session: Session) -> list[QueueCount]:
    """Open work per (category, language): the queue overview."""
    rows = session.execute(
        select(
            Ticket.category,
            Ticket.language,
            func.count(),
            func.count().filter(Ticket.assignee_id.is_(None)),
            func.count().filter(Ticket.escalated.is_(True)),
        )
        .where(Ticket.status.in_(ACTIVE_STATUSES), Ticket.merged_into_id.is_(None))
        .group_by(Ticket.category, Ticket.language)
        .order_by(Ticket.category, Ticket.language)
    )
    return [QueueCount(category=c, language=lang, tickets=n, unassigned=u, escalated=e)
            for c, lang, n, u, e in rows]  # fmt: skip
