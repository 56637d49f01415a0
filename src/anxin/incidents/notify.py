"""Telling the affected: every affected holder gets an in-app notice plus email/SMS copies
(the channels they chose), and every linked ticket a public reply pointing to the incident;
at resolution, another of each. Idempotent: a holder is told once per stage
(``notified_at``, ``resolution_notified_at``), a ticket once per stage (the timeline keeps
which tickets were told), so running it again only reaches those added since.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.care.errors import TicketClosed
from anxin.care.tickets import add_message
from anxin.identity import contacts as contact_book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.incidents.errors import InvalidIncidentTransition
from anxin.incidents.service import linked_tickets, record_event
from anxin.incidents.texts import fill, holder_locale, notice
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.models.incidents import AffectedHolder, Incident, IncidentEvent
from anxin.privacy.vault import Vault
from anxin.wallet.notify import preferences

STAGES = ("affected", "resolved")


@dataclass
class NotifyReport:
    stage: str
    holders: int = 0
    tickets: int = 0
    skipped_tickets: int = 0  # closed tickets: the holder is told as a holder instead
    remaining: int = 0  # holders left for the next run when a limit was given
    ticket_ids: list[str] = field(default_factory=list)


def tell_holder(
    session: Session, vault: Vault, user: User, incident: Incident, stage: str, *, now: datetime
) -> Notification:
    """The inbox entry and email/SMS copies of one incident notice."""
    text = notice(stage)[holder_locale(user.locale)]
    values = {"reference": incident.reference, "title": incident.title}
    title, body = fill(text["title"], values), fill(text["body"], values)
    row = Notification(
        id=new_id(), user_id=user.id, kind=f"incident.{stage}", title=title, body=body,
        data={"incident_id": str(incident.id), "reference": incident.reference},
        created_at=now, read_at=None,
    )  # fmt: skip
    session.add(row)
    prefs = preferences(session, user.id)
    wanted = {c for c, on in (("email", prefs.email), ("sms", prefs.sms)) if on}
    for contact in contact_book.contacts_of(session, user.id, verified=True):
        channel = CHANNEL_OF[contact.kind]
        if channel in wanted:
            enqueue(session, vault, user_id=user.id, channel=channel,
                    recipient=contact_book.reveal(session, vault, contact), subject=title,
                    body=body, now=now)  # fmt: skip
    return row


def _told_tickets(session: Session, incident: Incident, stage: str) -> set[str]:
    told: set[str] = set()
    for data in session.scalars(
        select(IncidentEvent.data).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "notified"
        )
    ):
        if data.get("stage") == stage:
            told.update(data.get("ticket_ids", []))
    return told


def notify(
    session: Session, vault: Vault, incident: Incident, *, stage: str = "affected",
    actor_id: uuid.UUID | None, now: datetime, limit: int | None = None,
) -> NotifyReport:  # fmt: skip
    """Tell the affected holders and reply on the linked tickets not yet told at ``stage``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if stage == "resolved" and incident.status not in ("resolved", "reviewed"):
        raise InvalidIncidentTransition("resolution notices go out once the incident is resolved")
    report = NotifyReport(stage)
    stamp = "notified_at" if stage == "affected" else "resolution_notified_at"
    column = getattr(AffectedHolder, stamp)
    query = (
        select(AffectedHolder, User)
        .join(User, User.id == AffectedHolder.holder_id)
        .where(AffectedHolder.incident_id == incident.id, column.is_(None))
        .order_by(AffectedHolder.holder_id)
    )
    rows = session.execute(query.limit(limit + 1) if limit is not None else query).all()
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    for affected, user in rows:
        if user.status != "closed":
            tell_holder(session, vault, user, incident, stage, now=now)
        setattr(affected, stamp, now)
        report.holders += 1
    if more:
        session.flush()
        report.remaining = (
            session.scalar(
                select(func.count())
                .select_from(AffectedHolder)
                .where(AffectedHolder.incident_id == incident.id, column.is_(None))
            )
            or 0
        )
    told = _told_tickets(session, incident, stage)
    key = "ticket_linked" if stage == "affected" else "ticket_resolved"
    for ticket in linked_tickets(session, incident):
        if str(ticket.id) in told:
            continue
        lang = "en" if ticket.language == "en" else "zh"
        body = fill(notice(key)[lang], {"reference": incident.reference, "title": incident.title})
        # The incident's resolution resolves the complaints about it (a reply reopens one).
        settle = "resolved" if stage == "resolved" and ticket.status != "resolved" else None
        try:
            add_message(session, vault, ticket, author_kind="agent" if actor_id else "system",
                        author_id=actor_id, body=body, channel=ticket.channel, now=now,
                        status=settle)  # fmt: skip
        except TicketClosed:
            report.skipped_tickets += 1
            continue
        report.ticket_ids.append(str(ticket.id))
        report.tickets += 1
    session.flush()
    if report.holders or report.ticket_ids:
        if stage == "affected" and incident.first_notified_at is None:
            incident.first_notified_at = now
        data: dict[str, Any] = {
            "stage": stage, "holders": report.holders, "tickets": report.tickets,
            "ticket_ids": report.ticket_ids,
        }  # fmt: skip
        record_event(session, incident, "notified", data, actor_id, now)
    return report
