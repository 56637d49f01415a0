"""The holder's care desk as pages: file a complaint (optionally about a statement line),
follow it (every public reply, its state, when to expect the next answer), answer, and
rate the help once it is resolved. Someone else's ticket is 404, like a missing one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.care import complaints, csat, views
from anxin.care.macros import CATEGORY_LABELS
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models.care import Ticket
from anxin.wallet import statements
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
STATUSES = (
    N_("new"), N_("open"), N_("pending_customer"), N_("resolved"), N_("closed"),
)  # fmt: skip
AUTHORS = (N_("you"), N_("agent"), N_("system"))
ERRORS = (
    N_("No such ticket"), N_("The ticket is closed; a new message opens a new ticket"),
    N_("The ticket cannot move to that state from its current one"),
    N_("The ticket request is not valid"), N_("No such macro"),
    N_("This ticket has not asked for a rating"), N_("This ticket was already rated"),
    N_("No such transfer or account"), N_("Your role cannot work tickets"),
)  # fmt: skip


def category_label(category: str, locale: str) -> str:
    labels = CATEGORY_LABELS.get(category, CATEGORY_LABELS["other"])
    return labels["en" if locale == "en" else "zh"]


def _mine(uow: UnitOfWork, holder: Holder, ticket_id: str) -> Ticket | None:
    try:
        wanted = uuid.UUID(ticket_id)
    except ValueError:
        return None
    query = select(Ticket).where(Ticket.id == wanted, Ticket.holder_id == holder.user.id)
    return uow.session.scalars(query).one_or_none()


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "care/missing.html", holder=holder, status_code=404)


def _base(request: Request, holder: Holder) -> dict[str, Any]:
    locale = locale_of(request)
    return {"tz": BUSINESS_TZ, "label": lambda c: category_label(c, locale)}


@router.get("/care", response_class=HTMLResponse)
def ticket_list(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    rows = uow.session.scalars(
        select(Ticket).where(Ticket.holder_id == holder.user.id)
        .order_by(Ticket.created_at.desc(), Ticket.id).limit(100)
    )  # fmt: skip
    tickets = [views.holder_summary(uow.session, holder.vault, t) for t in rows]
    context = {**_base(request, holder), "tickets": tickets}
    return show(request, container, "care/list.html", context, holder=holder)


def _new_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder, **extra: Any
) -> HTMLResponse:
    status = extra.pop("status_code", 200)
    lines = statements.statement(uow.session, holder.user.id, "CNY", statements.Filters(),
                                 limit=20).lines  # fmt: skip
    context = {
        **_base(request, holder), "lines": lines, "scale": get_asset(uow.session, "CNY").scale,
        "chosen": request.query_params.get("transfer", ""), **extra,
    }  # fmt: skip
    return show(request, container, "care/new.html", context, holder=holder, status_code=status)


@router.get("/care/new", response_class=HTMLResponse)
def new_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return _new_page(request, container, uow, holder)


@router.post("/care/new", response_class=HTMLResponse, dependencies=[CheckedForm])
def file_complaint(
    request: Request, container: ContainerDep, uow: WriteUoW,
    subject: Annotated[str, Form(max_length=200)], body: Annotated[str, Form(max_length=20_000)],
    transfer: Annotated[str, Form(max_length=36)] = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        transfer_ids = [uuid.UUID(transfer)] if transfer else []
    except ValueError:
        transfer_ids = []
    try:
        ticket = complaints.file_complaint(
            uow.session, holder.vault, holder.user, subject=subject, body=body,
            transfer_ids=transfer_ids, now=holder.now,
        )  # fmt: skip
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return _new_page(request, container, uow, holder, error=explain(error, locale_of(request)),
                         subject=subject, body=body, chosen=transfer,
                         status_code=error.status)  # fmt: skip
    return see_other(f"/care/{ticket.id}?done=filed")


def _ticket_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder, ticket: Ticket,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    context = {
        **_base(request, holder), "t": views.holder_ticket(uow.session, holder.vault, ticket),
        "done": request.query_params.get("done"), **extra,
    }  # fmt: skip
    return show(request, container, "care/ticket.html", context, holder=holder,
                status_code=status)  # fmt: skip


@router.get("/care/{ticket_id}", response_class=HTMLResponse)
def ticket_page(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    ticket = _mine(uow, holder, ticket_id)
    if ticket is None:
        return _missing(request, container, holder)
    return _ticket_page(request, container, uow, holder, ticket)


@router.post("/care/{ticket_id}/reply", response_class=HTMLResponse, dependencies=[CheckedForm])
def reply(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    body: Annotated[str, Form(max_length=20_000)],
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    ticket = _mine(uow, holder, ticket_id)
    if ticket is None:
        return _missing(request, container, holder)
    try:
        landed, new = complaints.answer(uow.session, holder.vault, holder.user, ticket,
                                        body=body, now=holder.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return _ticket_page(request, container, uow, holder, ticket, body=body,
                            reply_error=explain(error, locale_of(request)),
                            status_code=error.status)  # fmt: skip
    return see_other(f"/care/{landed.id}?done={'new_ticket' if new else 'reply'}")


@router.post("/care/{ticket_id}/rating", response_class=HTMLResponse, dependencies=[CheckedForm])
def rate(
    ticket_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    rating: Annotated[str, Form(max_length=2)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    ticket = _mine(uow, holder, ticket_id)
    if ticket is None:
        return _missing(request, container, holder)
    try:
        stars = int(rating) if rating.isdigit() else 0
        csat.answer(uow.session, holder.vault, ticket, rating=stars, comment=comment,
                    now=holder.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return _ticket_page(request, container, uow, holder, ticket, comment=comment,
                            rating_error=explain(error, locale_of(request)),
                            status_code=error.status)  # fmt: skip
    return see_other(f"/care/{ticket.id}?done=rated")
