"""What holders and agents see of a ticket.

Holders see their ticket's public conversation (with any duplicates merged into it), its
state and when to expect the next answer; never internal notes, events or who the agent
is. Agents see everything about the ticket, and the holder only masked; opening a holder's
ticket is recorded in that holder's access log (they can see who read their complaint).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care import sealing, sla
from anxin.care.merge import thread
from anxin.care.schemas import (
    ClockOut,
    CsatOut,
    EventOut,
    HolderCardOut,
    HolderTicketOut,
    HolderTicketSummary,
    LinkOut,
    PublicMessageOut,
    QueueItemOut,
    StaffMessageOut,
    StaffTicketOut,
)
from anxin.identity import contacts as contact_book
from anxin.models import User
from anxin.models.care import Csat, SlaClock, Ticket, TicketEvent, TicketLink, TicketMessage
from anxin.models.insider import AccessLogEntry
from anxin.privacy import access_log
from anxin.privacy.masking import mask_email, mask_name, mask_phone
from anxin.privacy.vault import DataShredded, Vault

ERASED = "[erased]"
READ_ACTION = "care_ticket_read"
READ_LOG_EVERY = timedelta(hours=1)


def _erasable(read: Callable[[], str | None]) -> str | None:
    """A holder who closed their account had their key destroyed: their tickets stay in
    queues and reports, their words read as erased instead of failing the whole page."""
    try:
        return read()
    except DataShredded:
        return ERASED


def ticket_subject(session: Session, vault: Vault, ticket: Ticket) -> str:
    return _erasable(lambda: sealing.ticket_subject(session, vault, ticket)) or ""


def message_body(session: Session, vault: Vault, message: TicketMessage) -> str:
    return _erasable(lambda: sealing.message_body(session, vault, message)) or ""


def _csat(session: Session, vault: Vault, ticket: Ticket) -> CsatOut | None:
    row = session.get(Csat, ticket.id)
    if row is None:
        return None
    return CsatOut(requested_at=row.requested_at, rating=row.rating,
                   comment=_erasable(lambda: sealing.csat_comment(session, vault, ticket, row)),
                   answered_at=row.answered_at)  # fmt: skip


def _merged_into(session: Session, ticket: Ticket) -> str | None:
    if ticket.merged_into_id is None:
        return None
    target = session.get(Ticket, ticket.merged_into_id)
    return target.reference if target is not None else None


def holder_summary(session: Session, vault: Vault, ticket: Ticket) -> HolderTicketSummary:
    return HolderTicketSummary(
        id=ticket.id, reference=ticket.reference,
        subject=ticket_subject(session, vault, ticket), status=ticket.status,
        category=ticket.category, channel=ticket.channel, created_at=ticket.created_at,
        updated_at=ticket.updated_at, expected_answer_at=sla.expected_answer_at(session, ticket),
        merged_into=_merged_into(session, ticket),
    )  # fmt: skip


def holder_ticket(session: Session, vault: Vault, ticket: Ticket) -> HolderTicketOut:
    summary = holder_summary(session, vault, ticket)
    messages = [
        PublicMessageOut(
            id=m.id,
            author="you" if m.author_kind == "customer" else m.author_kind,
            body=message_body(session, vault, m),
            channel=m.channel,
            created_at=m.created_at,
        )
        for m in thread(session, ticket, public_only=True)
    ]
    transfers = list(
        session.scalars(
            select(TicketLink.ref)
            .where(TicketLink.ticket_id == ticket.id, TicketLink.kind == "transfer")
            .order_by(TicketLink.created_at, TicketLink.ref)
        )
    )
    return HolderTicketOut(**summary.model_dump(), transfer_ids=transfers, messages=messages,
                           csat=_csat(session, vault, ticket))  # fmt: skip


def queue_item(
    session: Session, vault: Vault, ticket: Ticket, due_at: datetime | None
) -> QueueItemOut:
    return QueueItemOut(
        id=ticket.id, reference=ticket.reference, subject=ticket_subject(session, vault, ticket),
        status=ticket.status, priority=ticket.priority, category=ticket.category,
        language=ticket.language, channel=ticket.channel, assignee_id=ticket.assignee_id,
        escalated=ticket.escalated, due_at=due_at, created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )  # fmt: skip


def _holder_card(session: Session, vault: Vault, holder_id: uuid.UUID) -> HolderCardOut | None:
    holder = session.get(User, holder_id)
    if holder is None:
        return None
    name = contact_book.display_name(session, vault, holder) if holder.status != "closed" else None
    return HolderCardOut(
        id=holder.id, name=mask_name(name) if name else None,
        contacts=[c.masked for c in contact_book.contacts_of(session, holder.id)],
        tier=holder.tier, status=holder.status,
    )  # fmt: skip


def _masked_contact(session: Session, vault: Vault, ticket: Ticket) -> str | None:
    value = _erasable(lambda: sealing.ticket_contact(session, vault, ticket))
    if value == ERASED:
        return ERASED
    if value is None:
        return None
    return mask_email(value) if ticket.contact_kind == "email" else mask_phone(value)


def _log_read(
    session: Session, staff: User, holder_id: uuid.UUID, reference: str, now: datetime
) -> None:
    """Tell the holder an agent read their complaint: once an hour per agent and ticket, so
    working a ticket (each reply returns it again) is one line in their log, not twenty."""
    recent = session.scalars(
        select(AccessLogEntry.purpose).where(
            AccessLogEntry.staff_id == staff.id, AccessLogEntry.holder_id == holder_id,
            AccessLogEntry.action == READ_ACTION, AccessLogEntry.at > now - READ_LOG_EVERY,
        )
    )  # fmt: skip
    if any(purpose.get("ticket") == reference for purpose in recent):
        return
    access_log.record(session, staff=staff, holder_id=holder_id, action=READ_ACTION,
                      fields=["complaint"], purpose={"ticket": reference}, now=now)  # fmt: skip


def staff_ticket(
    session: Session, vault: Vault, ticket: Ticket, *, staff: User, now: datetime
) -> StaffTicketOut:
    references = {ticket.id: ticket.reference}
    messages = []
    for m in thread(session, ticket, public_only=False):
        if m.ticket_id not in references:
            owner = session.get(Ticket, m.ticket_id)
            references[m.ticket_id] = owner.reference if owner is not None else "?"
        messages.append(
            StaffMessageOut(
                id=m.id,
                ticket_reference=references[m.ticket_id],
                author_kind=m.author_kind,
                author_id=m.author_id,
                visibility=m.visibility,
                channel=m.channel,
                body=message_body(session, vault, m),
                created_at=m.created_at,
            )
        )
    clocks = [
        ClockOut(
            kind=c.kind,
            status=c.status,
            due_at=c.due_at,
            breached_at=c.breached_at,
            met_at=c.met_at,
        )
        for c in session.scalars(
            select(SlaClock).where(SlaClock.ticket_id == ticket.id).order_by(SlaClock.kind)
        )
    ]
    links = [
        LinkOut(kind=link.kind, ref=link.ref)
        for link in session.scalars(
            select(TicketLink).where(TicketLink.ticket_id == ticket.id)
            .order_by(TicketLink.created_at, TicketLink.kind, TicketLink.ref)
        )
    ]  # fmt: skip
    events = [
        EventOut(kind=e.kind, actor_id=e.actor_id, data=e.data, created_at=e.created_at)
        for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    ]  # fmt: skip
    holder = _holder_card(session, vault, ticket.holder_id) if ticket.holder_id else None
    if ticket.holder_id is not None and staff.kind == "staff":
        _log_read(session, staff, ticket.holder_id, ticket.reference, now)
    return StaffTicketOut(
        id=ticket.id, reference=ticket.reference, subject=ticket_subject(session, vault, ticket),
        status=ticket.status, priority=ticket.priority, category=ticket.category,
        category_source=ticket.category_source, category_confidence=ticket.category_confidence,
        language=ticket.language, channel=ticket.channel, holder=holder,
        contact=_masked_contact(session, vault, ticket), assignee_id=ticket.assignee_id,
        escalated=ticket.escalated, merged_into_id=ticket.merged_into_id,
        reopen_count=ticket.reopen_count, created_at=ticket.created_at,
        updated_at=ticket.updated_at, first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at, reopen_until=ticket.reopen_until,
        closed_at=ticket.closed_at, expected_answer_at=sla.expected_answer_at(session, ticket),
        clocks=clocks, links=links, messages=messages, events=events,
        csat=_csat(session, vault, ticket),
    )  # fmt: skip
