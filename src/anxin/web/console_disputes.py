"""Disputes in the console (permission ``care:disputes``): the open ones, soonest due first
(their ticket's SLA clock), and one dispute with the disputed transfer, the holder's words,
the provisional credit, and the decision (uphold or reject, with a reason), made as
``POST /v1/staff/care/disputes/{id}/decision`` makes it: through
``dispute_outcomes.decide``, under an idempotency key shown with the form, so a double
submit moves money once; the service refuses a second decision."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.care import dispute_outcomes, views
from anxin.care.disputes import DisputeNotFound, get_dispute
from anxin.identity import contacts as book
from anxin.identity.permissions import has_permission
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models import Transfer, User
from anxin.models.care import Dispute, SlaClock, Ticket, TicketEvent
from anxin.privacy.masking import mask_name
from anxin.privacy.vault import DataShredded
from anxin.wallet.idempotency import claim, remember
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import ConsoleClosed, Staff, require_staff
from anxin.web.console_common import base
from anxin.web.console_transfers import holder_accounts, row_of
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
DISPUTES = "care:disputes"
Field = Annotated[str, Form(max_length=100)]
WORDS = (
    N_("not_me"), N_("unrecognised"), N_("duplicate"), N_("amount_wrong"), N_("other"),
    N_("upheld"), N_("rejected"), N_("withdrawn"), N_("investigating"),
    N_("asset_not_covered"), N_("over_limit"), N_("too_many_recent_disputes"),
    N_("wallet_cannot_receive"), N_("nothing_left_to_refund"),
)  # fmt: skip
ERRORS = (
    N_("Your role cannot decide disputes"), N_("This dispute was already decided"),
    N_("The decision is not valid"), N_("No such dispute"),
    N_("Idempotency key was already used with a different request"),
)  # fmt: skip


class DisputesClosed(ConsoleClosed):
    code = "disputes_closed"
    title = "Your role cannot decide disputes"


def require_decider(request: Request, container: Container, uow: UnitOfWork) -> Staff:
    staff = require_staff(request, container, uow)
    if not has_permission(staff.user.role, DISPUTES):
        raise DisputesClosed(f"the {staff.user.role} role lacks {DISPUTES!r}")
    return staff


def _holder(session: Session, staff: Staff, holder_id: uuid.UUID) -> str:
    """The holder masked: their name's mask, else their first contact's."""
    user = session.get(User, holder_id)
    if user is None:
        return "—"
    try:
        name = book.display_name(session, staff.vault, user) if user.status != "closed" else None
    except DataShredded:
        name = None
    if name:
        return mask_name(name)
    known = book.contacts_of(session, holder_id)
    return known[0].masked if known else "—"


def _due(session: Session, ticket_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ticket_ids:
        return {}
    query = (
        select(SlaClock.ticket_id, func.min(SlaClock.due_at))
        .where(SlaClock.status == "running", SlaClock.ticket_id.in_(ticket_ids))
        .group_by(SlaClock.ticket_id)
    )
    return {row[0]: row[1] for row in session.execute(query).all()}


def _row(session: Session, staff: Staff, d: Dispute, due: Any) -> dict[str, Any]:
    ticket = session.get(Ticket, d.ticket_id)
    transfer = session.get(Transfer, d.transfer_id)
    payee = (transfer.meta or {}).get("counterparty") if transfer is not None else None
    return {
        "d": d, "due": due, "holder": _holder(session, staff, d.holder_id),
        "scale": get_asset(session, d.asset).scale, "payee": payee if payee else None,
        "ticket": ticket, "credited": d.provisional_transfer_id is not None,
    }  # fmt: skip


@router.get("/console/disputes", response_class=HTMLResponse)
def dispute_list(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    staff = require_decider(request, container, uow)
    session = uow.session
    found = list(session.scalars(
        select(Dispute).where(Dispute.status == "investigating").limit(500)
    ))  # fmt: skip
    due = _due(session, [d.ticket_id for d in found])
    # Soonest due first; a ticket waiting for the customer (no running clock) last.
    found.sort(key=lambda d: (due.get(d.ticket_id) is None, due.get(d.ticket_id) or d.created_at,
                              d.created_at, d.id))  # fmt: skip
    decided = list(session.scalars(
        select(Dispute).where(Dispute.status != "investigating")
        .order_by(Dispute.decided_at.desc(), Dispute.id).limit(20)
    ))  # fmt: skip
    context = {
        **base(request, staff),
        "rows": [_row(session, staff, d, due.get(d.ticket_id)) for d in found],
        "decided": [_row(session, staff, d, None) for d in decided],
    }  # fmt: skip
    return show(request, container, "console/disputes/list.html", context)


def _outcome(session: Session, d: Dispute) -> dict[str, Any] | None:
    """What the decision moved, as the ticket's ``dispute_decided`` event recorded it."""
    if d.decided_at is None:
        return None
    event = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == d.ticket_id,
                                  TicketEvent.kind == "dispute_decided")
        .order_by(TicketEvent.created_at.desc())
    ).first()  # fmt: skip
    data = dict(event.data) if event is not None else {}
    decider = session.get(User, d.decided_by) if d.decided_by else None
    return {**data, "by": decider.pseudonym if decider is not None else None}


def _no_credit_reason(session: Session, d: Dispute) -> str | None:
    event = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == d.ticket_id,
                                  TicketEvent.kind == "dispute_opened")
    ).first()  # fmt: skip
    reason = event.data.get("no_credit_reason") if event is not None else None
    return str(reason) if reason else None


def _page(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, dispute: Dispute,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    session = uow.session
    ticket = session.get(Ticket, dispute.ticket_id)
    assert ticket is not None
    # The holder's words are read as on the ticket page, which logs the read for them.
    view = views.staff_ticket(session, staff.vault, ticket, staff=staff.user, now=staff.now)
    uow.commit()
    said = next((m.body for m in view.messages if m.author_kind == "customer"), "")
    transfer = session.get(Transfer, dispute.transfer_id)
    mine = holder_accounts(session, dispute.holder_id)
    credit = (session.get(Transfer, dispute.provisional_transfer_id)
              if dispute.provisional_transfer_id else None)  # fmt: skip
    context = {
        **base(request, staff), **_row(session, staff, dispute, None), "view": view,
        "said": said, "transfer": row_of(session, transfer, mine) if transfer else None,
        "credit": row_of(session, credit, mine) if credit else None,
        "no_credit": _no_credit_reason(session, dispute), "outcome": _outcome(session, dispute),
        "idempotency_key": str(uuid.uuid4()), "done": request.query_params.get("done"),
        **extra,
    }  # fmt: skip
    return show(request, container, "console/disputes/detail.html", context, status_code=status)


def _find(uow: UnitOfWork, dispute_id: str, *, lock: bool = False) -> Dispute | None:
    try:
        return get_dispute(uow.session, uuid.UUID(dispute_id), lock=lock)
    except (ValueError, DisputeNotFound):
        return None


def _missing(request: Request, container: Container, staff: Staff) -> HTMLResponse:
    return show(request, container, "console/disputes/missing.html", {"staff": staff},
                status_code=404)  # fmt: skip


@router.get("/console/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(
    dispute_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    staff = require_decider(request, container, uow)
    dispute = _find(uow, dispute_id)
    if dispute is None:
        return _missing(request, container, staff)
    return _page(request, container, uow, staff, dispute)


@router.post("/console/disputes/{dispute_id}/decision", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def decide(
    dispute_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    idempotency_key: Field, outcome: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:  # fmt: skip
    staff = require_decider(request, container, uow)
    dispute = _find(uow, dispute_id)
    if dispute is None:
        return _missing(request, container, staff)
    try:
        # The API's route name: a key used there and here is one request.
        found = claim(uow.session, staff.user.id, idempotency_key,
                      route=f"care:dispute:{dispute.id}:decision",
                      body={"outcome": outcome, "note": note}, now=staff.now)  # fmt: skip
        if found.replay is None:
            made = dispute_outcomes.decide(uow.session, staff.vault, staff.user, dispute.id,
                                           outcome=outcome, note=note, now=staff.now)  # fmt: skip
            remember(uow.session, found, 200, {"dispute_id": str(made.dispute.id),
                                               "status": made.dispute.status})  # fmt: skip
            uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        fresh = _find(uow, dispute_id)
        assert fresh is not None
        return _page(request, container, uow, staff, fresh, status_code=error.status,
                     error=explain(error, locale_of(request)), chosen=outcome,
                     note=note)  # fmt: skip
    return see_other(f"/console/disputes/{dispute.id}?done=decided")
