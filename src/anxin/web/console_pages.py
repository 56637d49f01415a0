"""The agent console (permission ``care:work``): the queues by category, language and
assignee with their SLA due times, and a ticket with the holder masked, public replies
(typed or from a macro), internal notes and resolving. The pages call the care services as
the staff API does (``anxin.care.staff_endpoints``); opening a ticket is recorded in the
holder's access log, as there. Revealing for a purpose (console_reveal), linked transfers,
merging and assignment (console_ticket_actions) are their own modules, included here."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.care import macros, queues, states, views
from anxin.care.errors import MacroNotFound
from anxin.care.tickets import add_message
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import CATEGORIES
from anxin.web import console_reveal, console_ticket_actions
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import require_staff
from anxin.web.console_common import (
    LANGUAGES,
    NEAR_BREACH,
    SLA_LABELS,
    base,
    find_ticket,
    missing,
    sla_state,
    ticket_page,
    workers,
)
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.words import N_

__all__ = ["LANGUAGES", "NEAR_BREACH", "SLA_LABELS", "router", "sla_state"]

router = APIRouter(include_in_schema=False)
Body = Annotated[str, Form(max_length=20_000)]
SLA_WORDS = (N_("breached"), N_("near breach"), N_("on track"), N_("paused"))
CLOCKS = (N_("first_response"), N_("next_response"), N_("resolution"))
VISIBILITY = (N_("internal"), N_("public"), N_("customer"))
CLOCK_STATES = (N_("met"),)  # "paused" is above
PRIORITIES = (N_("low"), N_("normal"), N_("high"), N_("urgent"))
CHANNELS = (
    N_("app"), N_("email"), N_("web_form"), N_("chat"), N_("phone"), N_("social"),
)  # fmt: skip
ASSIGNED = ("me", "unassigned")


@router.get("/console", response_class=HTMLResponse)
def queue_page(
    request: Request, container: ContainerDep, uow: WriteUoW,
    category: Annotated[str, Query(max_length=40)] = "",
    language: Annotated[str, Query(max_length=4)] = "",
    assigned: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:  # fmt: skip
    staff = require_staff(request, container, uow)
    chosen_category = category if category in CATEGORIES else None
    chosen_language = language if language in LANGUAGES else None
    chosen_assigned = assigned if assigned in ASSIGNED else ""
    items = queues.queue(
        uow.session, category=chosen_category, language=chosen_language,
        assignee_id=staff.user.id if chosen_assigned == "me" else None,
        unassigned=chosen_assigned == "unassigned", limit=100,
    )  # fmt: skip
    names = {u.id: u.pseudonym or "staff" for u in workers(uow.session)}
    context = {
        **base(request, staff), "counts": queues.counts(uow.session),
        "items": [(views.queue_item(uow.session, staff.vault, i.ticket, i.due_at))
                  for i in items],
        "categories": CATEGORIES, "languages": LANGUAGES, "names": names,
        "f": {"category": chosen_category or "", "language": chosen_language or "",
              "assigned": chosen_assigned},
    }  # fmt: skip
    return show(request, container, "console/queue.html", context)


@router.get("/console/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_view(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    macro: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:  # fmt: skip
    """The ticket; ``?macro=`` fills the reply box with that macro for this ticket, to read
    and edit before sending (the picker works without scripts)."""
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id)
    if ticket is None:
        return missing(request, container, staff)
    extra: dict[str, Any] = {}
    if macro:
        try:
            chosen = macros.get(uow.session, uuid.UUID(macro))
            extra["reply"] = macros.render(uow.session, staff.vault, chosen, ticket,
                                           agent=staff.user)  # fmt: skip
            extra["macro_id"] = macro
        except (ValueError, MacroNotFound):
            extra["reply_error"] = explain(MacroNotFound(), locale_of(request))
    return ticket_page(request, container, uow, staff, ticket, **extra)


def _act(
    request: Request, container: ContainerDep, uow: UnitOfWork, ticket_id: str, action: str,
    text: str, status: str = "",
) -> Response:  # fmt: skip
    staff = require_staff(request, container, uow)
    ticket = find_ticket(uow, ticket_id, for_update=True)
    if ticket is None:
        return missing(request, container, staff)
    window = timedelta(days=container.settings.care_reopen_days)
    try:
        if action == "note":
            add_message(uow.session, staff.vault, ticket, author_kind="agent", body=text,
                        channel=ticket.channel, now=staff.now, visibility="internal",
                        author_id=staff.user.id)  # fmt: skip
        elif action == "reply":
            add_message(uow.session, staff.vault, ticket, author_kind="agent", body=text,
                        channel=ticket.channel, now=staff.now, author_id=staff.user.id,
                        status=status if status in ("pending_customer", "resolved") else None,
                        reopen_window=window)  # fmt: skip
        else:
            states.change_status(uow.session, staff.vault, ticket, action, now=staff.now,
                                 actor_id=staff.user.id, reopen_window=window)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        fresh = find_ticket(uow, ticket_id)
        assert fresh is not None
        field = "note" if action == "note" else "reply"
        return ticket_page(request, container, uow, staff, fresh, **{
            field: text, f"{field}_error": explain(error, locale_of(request)),
            "status_code": error.status,
        })  # fmt: skip
    return see_other(f"/console/tickets/{ticket.id}?done={action}")


@router.post("/console/tickets/{ticket_id}/reply", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def reply(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW, body: Body,
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:  # fmt: skip
    return _act(request, container, uow, ticket_id, "reply", body, status)


@router.post("/console/tickets/{ticket_id}/note", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def note(ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
         body: Body) -> Response:  # fmt: skip
    return _act(request, container, uow, ticket_id, "note", body)


@router.post("/console/tickets/{ticket_id}/resolve", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def resolve(ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    return _act(request, container, uow, ticket_id, "resolved", "")


router.include_router(console_ticket_actions.router)
router.include_router(console_reveal.router)
