"""Revealing a ticket's holder's personal data for a purpose, from the ticket page.

The purpose is one the privacy layer accepts (``anxin.privacy.reveal``): this ticket, when
it is assigned to the agent (recorded as a case of kind ``ticket``, as other capabilities
register theirs), another open case of theirs about the holder, or a written break-glass
reason. The role decides the fields; the bulk-access guard, the access log the holder
reads and the audit log are the service's. The values are in this one response only,
never in a URL (pages are sent ``no-store``): a reload shows the masked page again.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.care.errors import InvalidTicket
from anxin.identity.deps import MissingPermission
from anxin.identity.permissions import has_permission
from anxin.kit.errors import AnxinError
from anxin.models.care import Ticket
from anxin.models.insider import Case
from anxin.privacy import cases, guard
from anxin.privacy import reveal as reveals
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import Staff, require_staff
from anxin.web.console_common import TICKET_CASE, find_ticket, missing, ticket_case, ticket_page
from anxin.web.pages import explain, locale_of
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
REVEAL = "holders:reveal"
ERRORS = (
    N_("Your role may not reveal this field"),
    N_("Name an open case assigned to you, or give a break-glass reason"),
    N_("No such case"), N_("This case is closed"), N_("This case is not assigned to you"),
    N_("No such wallet holder"), N_("Too many reveals in a minute; slow down"),
    N_("Too much personal data revealed: access blocked and compliance alerted"),
)  # fmt: skip
REVIEW = (N_("pending"), N_("overdue"), N_("justified"), N_("unjustified"))


def _ticket_purpose(session: Session, staff: Staff, ticket: Ticket) -> Case:
    """The ticket as a case assigned to the agent revealing (registered on first use, and
    following the ticket when it changed hands)."""
    if ticket.assignee_id != staff.user.id:
        raise cases.NotYourCase("assign the ticket to yourself first, or give a break-glass "
                                "reason")  # fmt: skip
    if ticket.status == "closed":
        raise cases.CaseClosed("a closed ticket is no reason to see the holder's data")
    case = ticket_case(session, ticket)
    if case is None:
        return cases.register(session, kind=TICKET_CASE, reference=ticket.reference,
                              holder_id=ticket.holder_id, assignee_id=staff.user.id,
                              opened_by=staff.user, now=staff.now)  # fmt: skip
    if case.status != "open":
        raise cases.CaseClosed("this ticket's case is closed")
    if case.assignee_id != staff.user.id:
        cases.assign(session, case_id=case.id, assignee_id=staff.user.id, by=staff.user,
                     now=staff.now)  # fmt: skip
    return case


def _purpose(session: Session, staff: Staff, ticket: Ticket, purpose: str,
             reason: str) -> tuple[uuid.UUID | None, str | None]:  # fmt: skip
    if purpose == "ticket":
        return _ticket_purpose(session, staff, ticket).id, None
    if purpose == "break_glass":
        return None, reason
    try:
        return uuid.UUID(purpose), None
    except ValueError:
        return None, None  # the service says a purpose is needed


@router.post("/console/tickets/{ticket_id}/reveal", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def reveal(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    purpose: Annotated[str, Form(max_length=36)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
) -> Response:  # fmt: skip
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id)
    if ticket is None:
        return missing(request, container, staff)
    wanted = [f[:40] for f in (fields or [])][: len(reveals.FIELDS) + 1]
    kept: dict[str, Any] = {"reveal_purpose": purpose, "reveal_reason": reason,
                            "reveal_fields": wanted}  # fmt: skip
    error: AnxinError | None = None
    try:
        if not has_permission(staff.user.role, REVEAL):
            raise MissingPermission(f"the {staff.user.role} role lacks {REVEAL!r}",
                                    permission=REVEAL)  # fmt: skip
        if ticket.holder_id is None:
            raise InvalidTicket("this ticket is not about a wallet holder")
        case_id, why = _purpose(uow.session, staff, ticket, purpose, reason)
        revealed = reveals.reveal(
            uow.session, staff.vault, container.settings, staff=staff.user,
            holder_id=ticket.holder_id, fields=wanted, case_id=case_id, reason=why,
            now=staff.now,
        )  # fmt: skip
        uow.commit()
    except guard.GuardTripped as tripped:
        # What the guard recorded (alert, audit, ended sessions) stays, as in the API.
        uow.commit()
        error = tripped.error
    except AnxinError as refused:
        uow.session.rollback()
        error = refused
    if error is not None:
        return ticket_page(request, container, uow, staff, ticket, **kept,
                           reveal_error=explain(error, locale_of(request)),
                           status_code=error.status)  # fmt: skip
    row = revealed.row
    shown = {
        "pairs": [(f, revealed.values.get(f)) for f in row.fields],
        "case": revealed.case, "break_glass": revealed.case is None,
        "review": row.review_status, "review_due_at": row.review_due_at,
        "expires_at": row.expires_at,
    }  # fmt: skip
    return ticket_page(request, container, uow, staff, ticket, revealed=shown,
                       reveal_purpose=purpose)  # fmt: skip
