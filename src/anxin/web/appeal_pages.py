"""Appealing against a wallet freeze: the dashboard's freeze box links here; the appeal goes
through the same service as ``POST /v1/me/freezes/{id}/appeals`` (it opens a care ticket on
the SLA clock), and the freeze box then says when it was filed, its reference and when we
answer. One appeal per freeze: a second one is refused while the first is open (the holder
follows and adds to it through the care ticket instead).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.care import views
from anxin.kit.errors import AnxinError, Conflict, Unprocessable
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Freeze
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, freeze, freeze_endpoints
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
ERRORS = (
    N_("No such freeze"), N_("The freeze is not valid"),
    N_("You already appealed against this freeze"), N_("This freeze was already lifted"),
    N_("Say why the freeze should be lifted"),
)  # fmt: skip


class AppealExists(Conflict):
    code = "appeal_exists"
    title = "You already appealed against this freeze"


class AppealTextMissing(Unprocessable):
    code = "message_required"
    title = "Say why the freeze should be lifted"


class FreezeLifted(Conflict):
    code = "freeze_not_active"
    title = "This freeze was already lifted"


def appeal_status(session: Session, vault: Vault, row: Freeze) -> dict[str, Any] | None:
    """The holder's open appeal against ``row``, with its care ticket, for the freeze box."""
    found = [a for a in freeze.appeals_of(session, row.id) if a.status == "open"]
    if not found:
        return None
    appeal = found[0]
    ticket = session.get(Ticket, appeal.care_ticket_id) if appeal.care_ticket_id else None
    summary = views.holder_summary(session, vault, ticket) if ticket is not None else None
    return {
        "filed_at": appeal.created_at,
        "ticket_id": str(ticket.id) if ticket is not None else None,
        "reference": summary.reference if summary is not None else None,
        "answer_by": summary.expected_answer_at if summary is not None else None,
    }  # fmt: skip


def _active(uow: UnitOfWork, holder: Holder, text: str) -> Freeze | None:
    try:
        row = freeze.get_freeze(uow.session, holder.user.id, uuid.UUID(text))
    except (ValueError, freeze.FreezeNotFound):
        return None
    return row


def _form(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder, row: Freeze,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    context = {
        "f": freeze_endpoints.notice(row, holder.user.locale),
        "appeal": appeal_status(uow.session, holder.vault, row), "tz": accounts.BUSINESS_TZ,
        **extra,
    }  # fmt: skip
    return show(request, container, "appeal_new.html", context, holder=holder,
                status_code=status)  # fmt: skip


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "appeal_missing.html", holder=holder, status_code=404)


@router.get("/appeals/new", response_class=HTMLResponse)
def appeal_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    row = _active(uow, holder, request.query_params.get("freeze", ""))
    if row is None:
        return _missing(request, container, holder)
    return _form(request, container, uow, holder, row)


@router.post("/appeals/new", response_class=HTMLResponse, dependencies=[CheckedForm])
def file_appeal(
    request: Request, container: ContainerDep, uow: WriteUoW,
    freeze_id: Annotated[str, Form(max_length=36)],
    message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    row = _active(uow, holder, freeze_id)
    if row is None:
        return _missing(request, container, holder)
    try:
        if row.status != "active":
            raise FreezeLifted("this freeze was already lifted")
        if appeal_status(uow.session, holder.vault, row) is not None:
            raise AppealExists(
                "you already appealed against this freeze; follow it on its care ticket"
            )
        if not message.strip() or "\x00" in message:
            raise AppealTextMissing("say why the freeze should be lifted")
        freeze.appeal(uow.session, holder.vault, holder.user, row.id, message=message,
                      now=holder.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        message_error = explain(error, locale_of(request))
        return _form(request, container, uow, holder, row, message=message,
                     error=message_error, status_code=error.status)  # fmt: skip
    return see_other("/wallet?done=appeal")
