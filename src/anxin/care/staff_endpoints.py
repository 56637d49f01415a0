"""The agents' care desk (``/v1/staff/care/...``, permission ``care:work``): queues by
category and language, most urgent first; the ticket with the holder masked; public
replies (typed or from a macro), internal notes, assignment, state, category and priority,
links; merges and assigning a ticket to someone else need ``care:lead``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.care import macros, merge, queues, states, triage, views
from anxin.care.errors import InvalidTicket
from anxin.care.schemas import (
    AssignIn,
    Category,
    Language,
    LinkIn,
    MergeIn,
    NoteIn,
    QueueCountOut,
    QueueCounts,
    QueueList,
    ReplyIn,
    StaffTicketOut,
    Status,
    StatusIn,
    TicketPatch,
)
from anxin.care.tickets import add_link, add_message, get_ticket
from anxin.identity.deps import AuthContext, MissingPermission, require_permission
from anxin.identity.permissions import has_permission
from anxin.kit.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1/staff/care", tags=["care staff"])
CareWork = Annotated[AuthContext, Depends(require_permission("care:work"))]
CareLead = Annotated[AuthContext, Depends(require_permission("care:lead"))]


def _window(container: ContainerDep) -> timedelta:
    return timedelta(days=container.settings.care_reopen_days)


def _view(uow: UnitOfWork, auth: AuthContext, ticket_id: uuid.UUID) -> StaffTicketOut:
    ticket = get_ticket(uow.session, ticket_id)
    return views.staff_ticket(uow.session, auth.vault, ticket, staff=auth.user, now=auth.now)


@router.get("/queues", response_model=QueueCounts)
def queue_counts(auth: CareWork, uow: ReadUoW) -> QueueCounts:
    """Open work per category and language: tickets, unassigned, escalated."""
    return QueueCounts(data=[QueueCountOut(**vars(c)) for c in queues.counts(uow.session)])


@router.get("/tickets", response_model=QueueList)
def list_tickets(
    auth: CareWork, uow: ReadUoW,
    category: Category | None = None, language: Language | None = None,
    status: Annotated[list[Status] | None, Query()] = None,
    assigned: Annotated[str, Query(pattern="^(any|me|unassigned)$")] = "any",
    holder_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> QueueList:  # fmt: skip
    """A queue, soonest SLA due time first (tickets waiting for the customer last).
    Default: new, open and pending-customer tickets."""
    items = queues.queue(
        uow.session, category=category, language=language,
        statuses=tuple(status) if status else queues.ACTIVE_STATUSES,
        assignee_id=auth.user.id if assigned == "me" else None,
        unassigned=assigned == "unassigned", holder_id=holder_id, limit=limit, offset=offset,
    )  # fmt: skip
    return QueueList(
        data=[views.queue_item(uow.session, auth.vault, i.ticket, i.due_at) for i in items]
    )


@router.get("/tickets/{ticket_id}", response_model=StaffTicketOut)
def read_ticket(ticket_id: uuid.UUID, auth: CareWork, uow: WriteUoW) -> StaffTicketOut:
    """The whole ticket: conversation with internal notes (and merged duplicates), history,
    links, SLA clocks, CSAT; the holder masked. Recorded in the holder's access log."""
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/replies", status_code=201, response_model=StaffTicketOut)
def reply(
    ticket_id: uuid.UUID, body: ReplyIn, auth: CareWork, uow: WriteUoW, container: ContainerDep
) -> StaffTicketOut:
    """A public reply, typed (``body``) or from a macro (``macro_id``), optionally moving
    the ticket (``pending_customer`` to wait for the customer, ``resolved``). The customer
    is told in the app or by email/SMS."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    if (body.body is None) == (body.macro_id is None):
        raise InvalidTicket("send either body or macro_id", field="body")
    text = body.body
    if body.macro_id is not None:
        macro = macros.get(uow.session, body.macro_id)
        text = macros.render(uow.session, auth.vault, macro, ticket, agent=auth.user)
    assert text is not None
    add_message(uow.session, auth.vault, ticket, author_kind="agent", body=text,
                channel=ticket.channel, now=auth.now, author_id=auth.user.id,
                status=body.status, reopen_window=_window(container))  # fmt: skip
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/notes", status_code=201, response_model=StaffTicketOut)
def note(ticket_id: uuid.UUID, body: NoteIn, auth: CareWork, uow: WriteUoW) -> StaffTicketOut:
    """An internal note: for colleagues only, never shown or sent to the customer."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    add_message(uow.session, auth.vault, ticket, author_kind="agent", body=body.body,
                channel=ticket.channel, now=auth.now, visibility="internal",
                author_id=auth.user.id)  # fmt: skip
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/assign", response_model=StaffTicketOut)
def assign(ticket_id: uuid.UUID, body: AssignIn, auth: CareWork, uow: WriteUoW) -> StaffTicketOut:
    """Take a ticket (your own id), release it (null), or, as a care lead, give it to
    someone else."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    own = body.assignee_id == auth.user.id or (
        body.assignee_id is None and ticket.assignee_id in (None, auth.user.id)
    )
    if not own and not has_permission(auth.user.role, "care:lead"):
        raise MissingPermission("only care leads assign tickets to others", permission="care:lead")
    triage.assign(uow.session, ticket, body.assignee_id, actor=auth.user, now=auth.now)
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/status", response_model=StaffTicketOut)
def change_status(
    ticket_id: uuid.UUID, body: StatusIn, auth: CareWork, uow: WriteUoW, container: ContainerDep
) -> StaffTicketOut:
    """Move the ticket: open, pending_customer (SLA paused), resolved (CSAT asked; a reply
    within the reopen window reopens it), closed. The customer is told."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    states.change_status(uow.session, auth.vault, ticket, body.status, now=auth.now,
                         actor_id=auth.user.id, reopen_window=_window(container))  # fmt: skip
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.patch("/tickets/{ticket_id}", response_model=StaffTicketOut)
def patch_ticket(
    ticket_id: uuid.UUID, body: TicketPatch, auth: CareWork, uow: WriteUoW
) -> StaffTicketOut:
    """Correct the category (it becomes the agent's) or set the priority; SLA targets
    follow the policy that now applies."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    if body.category is not None:
        triage.set_category(uow.session, ticket, body.category, actor=auth.user, now=auth.now)
    if body.priority is not None:
        triage.set_priority(uow.session, ticket, body.priority, actor=auth.user, now=auth.now)
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/merge", response_model=StaffTicketOut)
def merge_ticket(
    ticket_id: uuid.UUID, body: MergeIn, auth: CareLead, uow: WriteUoW
) -> StaffTicketOut:
    """Merge this ticket (a duplicate) into ``into_ticket_id`` (care leads); returns the
    survivor."""
    duplicate = get_ticket(uow.session, ticket_id, for_update=True)
    survivor = get_ticket(uow.session, body.into_ticket_id, for_update=True)
    merge.merge(uow.session, auth.vault, duplicate, survivor, actor=auth.user, now=auth.now)
    out = _view(uow, auth, survivor.id)
    uow.commit()
    return out


@router.post("/tickets/{ticket_id}/links", status_code=201, response_model=StaffTicketOut)
def link(ticket_id: uuid.UUID, body: LinkIn, auth: CareWork, uow: WriteUoW) -> StaffTicketOut:
    """Link the ticket to a holder, account, transfer, ticket, incident or freeze."""
    ticket = get_ticket(uow.session, ticket_id, for_update=True)
    add_link(uow.session, ticket, body.kind, body.ref, now=auth.now, actor_id=auth.user.id)
    out = _view(uow, auth, ticket_id)
    uow.commit()
    return out
