"""The holder's care desk (``/v1/me/care/tickets``): file a complaint, follow it, answer,
and rate the help once it is resolved. Someone else's ticket is 404, like a missing one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.care import complaints, csat, views
from anxin.care.errors import TicketNotFound
from anxin.care.schemas import (
    ComplaintIn,
    CsatOut,
    HolderMessageIn,
    HolderReplyOut,
    HolderTicketList,
    HolderTicketOut,
    RatingIn,
)
from anxin.identity.deps import AuthContext, HolderAuth
from anxin.models.care import Ticket

router = APIRouter(prefix="/v1/me/care/tickets", tags=["care"])


def _mine(session: Session, auth: AuthContext, ticket_id: uuid.UUID, *,
          for_update: bool = False) -> Ticket:  # fmt: skip
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.holder_id == auth.user.id)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound()
    return ticket


@router.post("", status_code=201, response_model=HolderTicketOut)
def file_complaint(body: ComplaintIn, auth: HolderAuth, uow: WriteUoW) -> HolderTicketOut:
    """File a complaint, optionally about transfers in your statement (404 for any that is
    not yours). It is categorised automatically and answered within the published times."""
    ticket = complaints.file_complaint(
        uow.session, auth.vault, auth.user, subject=body.subject, body=body.body,
        transfer_ids=body.transfer_ids, now=auth.now,
    )  # fmt: skip
    out = views.holder_ticket(uow.session, auth.vault, ticket)
    uow.commit()
    return out


@router.get("", response_model=HolderTicketList)
def list_tickets(
    auth: HolderAuth, uow: ReadUoW,
    status: Annotated[str | None, Query(pattern="^(new|open|pending_customer|resolved|closed)$")]
    = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HolderTicketList:  # fmt: skip
    """Your tickets, newest first."""
    query = select(Ticket).where(Ticket.holder_id == auth.user.id)
    if status is not None:
        query = query.where(Ticket.status == status)
    rows = uow.session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id).limit(limit))
    return HolderTicketList(data=[views.holder_summary(uow.session, auth.vault, t) for t in rows])


@router.get("/{ticket_id}", response_model=HolderTicketOut)
def get_ticket(ticket_id: uuid.UUID, auth: HolderAuth, uow: ReadUoW) -> HolderTicketOut:
    """One of your tickets: every public reply, its state and when to expect an answer."""
    return views.holder_ticket(uow.session, auth.vault, _mine(uow.session, auth, ticket_id))


@router.post("/{ticket_id}/messages", status_code=201, response_model=HolderReplyOut)
def answer(
    ticket_id: uuid.UUID, body: HolderMessageIn, auth: HolderAuth, uow: WriteUoW
) -> HolderReplyOut:
    """Answer on your ticket. A resolved ticket reopens within its window; on a closed one
    your message opens a new ticket linked to it (``new_ticket``)."""
    ticket = _mine(uow.session, auth, ticket_id, for_update=True)
    landed, new = complaints.answer(uow.session, auth.vault, auth.user, ticket, body=body.body,
                                    now=auth.now)  # fmt: skip
    out = HolderReplyOut(ticket=views.holder_ticket(uow.session, auth.vault, landed),
                         new_ticket=new)  # fmt: skip
    uow.commit()
    return out


@router.post("/{ticket_id}/rating", status_code=201, response_model=CsatOut)
def rate(ticket_id: uuid.UUID, body: RatingIn, auth: HolderAuth, uow: WriteUoW) -> CsatOut:
    """Rate the help on a resolved ticket, 1 to 5, with an optional comment; once only."""
    ticket = _mine(uow.session, auth, ticket_id, for_update=True)
    row = csat.answer(uow.session, auth.vault, ticket, rating=body.rating, comment=body.comment,
                      now=auth.now)  # fmt: skip
    out = CsatOut(requested_at=row.requested_at, rating=row.rating,
                  comment=(body.comment or "").strip() or None,
                  answered_at=row.answered_at)  # fmt: skip
    uow.commit()
    return out
