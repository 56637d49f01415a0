"""Escalation of breached tickets to senior agents, and the staff notices of SLA warnings
and breaches (in-app inbox; only the ticket's reference, never what the customer wrote)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.models.care import Ticket, TicketEvent

OPEN_STATUSES = ("new", "open", "pending_customer")


def record_event(
    session: Session, ticket: Ticket, kind: str, now: datetime, **data: object
) -> None:
    session.add(TicketEvent(id=new_id(), ticket_id=ticket.id, kind=kind, actor_id=None,
                            data=dict(data), created_at=now))  # fmt: skip


class SeniorPicker:
    """Chooses the active senior agent with the fewest open tickets (ties: the oldest
    account), loading the counts once and keeping them current as it assigns (a tick may
    escalate many tickets)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loads: dict[uuid.UUID, tuple[int, datetime]] | None = None

    def _load(self) -> dict[uuid.UUID, tuple[int, datetime]]:
        if self._loads is None:
            load = (
                select(Ticket.assignee_id, func.count().label("open_tickets"))
                .where(Ticket.status.in_(OPEN_STATUSES), Ticket.assignee_id.is_not(None))
                .group_by(Ticket.assignee_id)
                .subquery()
            )
            rows = self._session.execute(
                select(User.id, User.created_at, func.coalesce(load.c.open_tickets, 0))
                .outerjoin(load, load.c.assignee_id == User.id)
                .where(User.kind == "staff", User.role == "senior_agent", User.status == "active")
            )
            self._loads = {user_id: (count, created) for user_id, created, count in rows}
        return self._loads

    def pick(self) -> uuid.UUID | None:
        loads = self._load()
        if not loads:
            return None
        return min(loads, key=lambda user_id: (*loads[user_id], user_id))

    def moved(self, to: uuid.UUID, previous: uuid.UUID | None) -> None:
        loads = self._load()
        for user_id, change in ((to, 1), (previous, -1)):
            if user_id is not None and user_id in loads:
                count, created = loads[user_id]
                loads[user_id] = (count + change, created)


def least_loaded_senior(session: Session) -> uuid.UUID | None:
    return SeniorPicker(session).pick()


def escalate(
    session: Session, ticket: Ticket, clock_kind: str, now: datetime,
    picker: SeniorPicker | None = None,
) -> bool:  # fmt: skip
    """Hand a breached ticket to the least-loaded senior agent (unless a senior agent has it
    already), mark it escalated and tell them. False when there is nobody to hand it to."""
    ticket.escalated = True
    ticket.updated_at = now
    current = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    if current is not None and current.role == "senior_agent" and current.status == "active":
        record_event(session, ticket, "sla_escalated", now, clock=clock_kind,
                     assignee=str(current.id), reassigned=False)  # fmt: skip
        notify_staff(session, current.id, ticket, "care.sla_breached", clock_kind, None, now)
        return True
    picker = picker or SeniorPicker(session)
    senior = picker.pick()
    if senior is None:
        record_event(session, ticket, "sla_escalated", now, clock=clock_kind, assignee=None,
                     reassigned=False, reason="no active senior agent")  # fmt: skip
        return False
    previous = ticket.assignee_id
    ticket.assignee_id = senior
    picker.moved(senior, previous)
    record_event(session, ticket, "sla_escalated", now, clock=clock_kind, assignee=str(senior),
                 previous=str(previous) if previous else None, reassigned=True)  # fmt: skip
    notify_staff(session, senior, ticket, "care.sla_breached", clock_kind, None, now)
    return True


# Staff notices in the staff member's locale; full-width punctuation is right in Chinese.
_TEXT = {
    "care.sla_warning": (
        ("SLA warning: {ref}", "Ticket {ref}: the {clock} target is due at {due}."),
        ("SLA 预警：{ref}", "工单 {ref} 的{clock}时限将于 {due} 到期。"),  # noqa: RUF001
    ),
    "care.sla_breached": (
        ("SLA breached, escalated to you: {ref}",
         "Ticket {ref} missed its {clock} target and is now yours."),
        ("SLA 超时，已升级给您：{ref}", "工单 {ref} 已超出{clock}时限，现由您处理。"),  # noqa: RUF001
    ),
}  # fmt: skip
_CLOCK_NAMES = {
    "first_response": ("first response", "首次响应"),
    "next_response": ("next response", "后续响应"),
    "resolution": ("resolution", "办结"),
}


def notify_staff(
    session: Session, user_id: uuid.UUID, ticket: Ticket, kind: str, clock_kind: str,
    due_at: datetime | None, now: datetime,
) -> None:  # fmt: skip
    """An in-app notice for staff; only the reference, never what the customer wrote."""
    user = session.get(User, user_id)
    if user is None:
        return
    chinese = user.locale.lower().startswith("zh")
    title, body = _TEXT[kind][1 if chinese else 0]
    clock_name = _CLOCK_NAMES[clock_kind][1 if chinese else 0]
    due = due_at.strftime("%Y-%m-%d %H:%M UTC") if due_at is not None else "-"
    session.add(
        Notification(
            id=new_id(), user_id=user_id, kind=kind, title=title.format(ref=ticket.reference),
            body=body.format(ref=ticket.reference, clock=clock_name, due=due),
            data={"ticket_id": str(ticket.id), "reference": ticket.reference, "clock": clock_kind},
            created_at=now, read_at=None,
        )
    )  # fmt: skip
