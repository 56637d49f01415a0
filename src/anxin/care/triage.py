"""What agents change about a ticket besides its state: who handles it, how urgent it is,
which category it belongs to (correcting the classifier), and what it is linked to.

Each change is a ticket event and an audit entry (who did what, never what anyone wrote).
A category or priority change re-chooses the SLA policy, since targets depend on both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.care import sla, states
from anxin.care.errors import InvalidTicket
from anxin.identity.permissions import has_permission
from anxin.models import User
from anxin.models.care import CATEGORIES, TICKET_PRIORITIES, Ticket


def _audit(session: Session, event: str, ticket: Ticket, actor: User, now: datetime,
           **data: object) -> None:  # fmt: skip
    audit.append(
        session, event=f"care.{event}", actor_id=actor.id, actor_role=actor.role,
        subject_id=ticket.holder_id, data={"ticket": ticket.reference, **data}, now=now,
    )  # fmt: skip


def assign(
    session: Session, ticket: Ticket, assignee_id: uuid.UUID | None, *, actor: User,
    now: datetime,
) -> None:  # fmt: skip
    """Give the ticket to a staff member who may work tickets (None: back to the queue)."""
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if (
            assignee is None or assignee.kind != "staff" or assignee.status != "active"
            or not has_permission(assignee.role, "care:work")
        ):  # fmt: skip
            raise InvalidTicket("assign to an active staff member who works tickets",
                                field="assignee_id")  # fmt: skip
    if ticket.assignee_id == assignee_id:
        return
    old = ticket.assignee_id
    ticket.assignee_id = assignee_id
    ticket.updated_at = now
    states.record(session, ticket, "assigned", now=now, actor_id=actor.id,
                  old=str(old) if old else None,
                  new=str(assignee_id) if assignee_id else None)  # fmt: skip
    _audit(session, "ticket_assigned", ticket, actor, now,
           assignee=str(assignee_id) if assignee_id else None)  # fmt: skip
    session.flush()


def set_priority(session: Session, ticket: Ticket, priority: str, *, actor: User,
                 now: datetime) -> None:  # fmt: skip
    if priority not in TICKET_PRIORITIES:
        raise InvalidTicket(f"unknown priority {priority!r}", field="priority")
    if ticket.priority == priority:
        return
    old, ticket.priority, ticket.updated_at = ticket.priority, priority, now
    states.record(session, ticket, "priority", now=now, actor_id=actor.id, old=old, new=priority)
    _audit(session, "ticket_priority", ticket, actor, now, old=old, new=priority)
    session.flush()
    sla.reapply_policy(session, ticket, now)


def set_category(session: Session, ticket: Ticket, category: str, *, actor: User,
                 now: datetime) -> None:  # fmt: skip
    """An agent's correction: the category is theirs from now on (``category_source``
    "agent"), and the event keeps what the classifier said, for its accuracy reports."""
    if category not in CATEGORIES:
        raise InvalidTicket(f"unknown category {category!r}", field="category")
    if ticket.category == category and ticket.category_source == "agent":
        return
    old, old_source = ticket.category, ticket.category_source
    ticket.category, ticket.category_source, ticket.updated_at = category, "agent", now
    states.record(session, ticket, "category", now=now, actor_id=actor.id, old=old,
                  old_source=old_source, new=category,
                  confidence=ticket.category_confidence)  # fmt: skip
    _audit(session, "ticket_category", ticket, actor, now, old=old, new=category)
    session.flush()
    sla.reapply_policy(session, ticket, now)
