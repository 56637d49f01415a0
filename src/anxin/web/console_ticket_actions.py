"""What an agent does to a ticket besides writing: link one of the holder's transfers,
take it or give it to a colleague, merge it into another ticket (after a confirmation
showing both). The rules are the staff API's (``anxin.care.staff_endpoints``): anyone who
works tickets takes or releases one and links; giving a ticket to someone else and merging
need ``care:lead``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.care import merge, triage
from anxin.care.errors import CannotMerge, InvalidTicket, TicketNotFound
from anxin.care.tickets import add_link, find_by_reference, get_ticket
from anxin.care.views import ticket_subject
from anxin.identity.deps import MissingPermission
from anxin.identity.permissions import has_permission
from anxin.kit.errors import AnxinError
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import Staff, require_staff
from anxin.web.console_common import LEAD, find_ticket, missing, ticket_page
from anxin.web.console_transfers import find_holder_transfer
from anxin.web.pages import explain, locale_of, see_other
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]
ERRORS = (
    N_("Your role does not allow this"), N_("These tickets cannot be merged"),
    N_("The ticket was merged into another one"),
)  # fmt: skip


def _lead(staff: Staff, detail: str) -> None:
    if not has_permission(staff.user.role, LEAD):
        raise MissingPermission(detail, permission=LEAD)


def _failed(
    request: Request, container: ContainerDep, uow: WriteUoW, staff: Staff, ticket_id: str,
    field: str, error: AnxinError, **extra: str,
) -> Response:  # fmt: skip
    uow.session.rollback()
    fresh = find_ticket(uow, ticket_id)
    if fresh is None:
        return missing(request, container, staff)
    return ticket_page(request, container, uow, staff, fresh, **{
        f"{field}_error": explain(error, locale_of(request)), "status_code": error.status,
        **extra,
    })  # fmt: skip


@router.post("/console/tickets/{ticket_id}/links", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def link_transfer(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW, transfer: Short
) -> Response:
    """Link one of the ticket's holder's transfers, quoted by id or reference."""
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id, for_update=True)
    if ticket is None:
        return missing(request, container, staff)
    try:
        if ticket.holder_id is None:
            raise InvalidTicket("this ticket is not about a wallet holder", field="transfer")
        found = find_holder_transfer(uow.session, ticket.holder_id, transfer)
        add_link(uow.session, ticket, "transfer", str(found.id), now=staff.now,
                 actor_id=staff.user.id)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        return _failed(request, container, uow, staff, ticket_id, "link", error,
                       transfer_ref=transfer)  # fmt: skip
    return see_other(f"/console/tickets/{ticket.id}?done=linked")


@router.post("/console/tickets/{ticket_id}/assign", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def assign(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    assignee: Annotated[str, Form(max_length=36)] = "",
) -> Response:  # fmt: skip
    """``me``: take it; empty: back to the queue; a staff id: give it (care leads)."""
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id, for_update=True)
    if ticket is None:
        return missing(request, container, staff)
    try:
        if assignee == "me":
            wanted: uuid.UUID | None = staff.user.id
        elif not assignee:
            wanted = None
        else:
            try:
                wanted = uuid.UUID(assignee)
            except ValueError as error:
                raise InvalidTicket("choose someone from the list", field="assignee_id") from error
        own = wanted == staff.user.id or (
            wanted is None and ticket.assignee_id in (None, staff.user.id)
        )
        if not own:
            _lead(staff, "only care leads assign tickets to others")
        triage.assign(uow.session, ticket, wanted, actor=staff.user, now=staff.now)
        uow.commit()
    except AnxinError as error:
        return _failed(request, container, uow, staff, ticket_id, "assign", error)
    return see_other(f"/console/tickets/{ticket.id}?done=assigned")


@router.get("/console/tickets/{ticket_id}/merge", response_class=HTMLResponse)
def merge_check(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    into: Annotated[str, Query(max_length=40)] = "",
) -> Response:  # fmt: skip
    """The confirmation step: both tickets' references and subjects, nothing changed yet."""
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id)
    if ticket is None:
        return missing(request, container, staff)
    try:
        _lead(staff, "only care leads merge tickets")
        target = find_by_reference(uow.session, into)
        if target is None:
            raise TicketNotFound(f"no ticket {into.strip()[:20]!r}")
        if target.id == ticket.id:
            raise CannotMerge("a ticket cannot be merged into itself")
    except AnxinError as error:
        return _failed(request, container, uow, staff, ticket_id, "merge", error, into=into)
    check = {"id": str(target.id), "reference": target.reference,
             "subject": ticket_subject(uow.session, staff.vault, target)}  # fmt: skip
    return ticket_page(request, container, uow, staff, ticket, merge_check=check)


@router.post("/console/tickets/{ticket_id}/merge", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def merge_tickets(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    into_id: Annotated[str, Form(max_length=36)],
) -> Response:  # fmt: skip
    """Merge this ticket (the duplicate) into the confirmed one; the old ticket then says
    where it went."""
    staff = require_staff(request, container, uow)
    duplicate = find_ticket(uow, ticket_id, for_update=True)
    if duplicate is None:
        return missing(request, container, staff)
    try:
        _lead(staff, "only care leads merge tickets")
        try:
            survivor = get_ticket(uow.session, uuid.UUID(into_id), for_update=True)
        except ValueError as error:
            raise TicketNotFound() from error
        merge.merge(uow.session, staff.vault, duplicate, survivor, actor=staff.user,
                    now=staff.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        return _failed(request, container, uow, staff, ticket_id, "merge", error)
    return see_other(f"/console/tickets/{duplicate.id}?done=merged")
