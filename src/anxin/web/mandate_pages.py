"""Auto-pay: the mandates a holder signed (merchant, limits per debit and period, state, the
last debits), a merchant's proposal to accept (always with step-up, bound to exactly its
terms), and cancelling one (a confirmation page first; later debits are refused).

The pages call the services as ``/v1/me/mandates`` does (``anxin.wallet.pay_endpoints``);
someone else's mandate is the same 404 page as a missing one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError, Conflict
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models import Mandate, PaymentIntent
from anxin.wallet import accounts, mandates, payments
from anxin.wallet.idempotency import step_up_kept
from anxin.wallet.merchants import get_merchant
from anxin.web import guard, stepup_flow
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.render import format_money, gettext
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=100)]
WORDS = (
    N_("proposed"), N_("active"), N_("cancelled"), N_("expired"), N_("daily"), N_("weekly"),
    N_("monthly"), N_("accept_mandate"), N_("Merchant"), N_("Most per debit"),
    N_("Debits allowed"), N_("Ends"),
)  # fmt: skip
ERRORS = (
    N_("No such mandate"), N_("This mandate can no longer be accepted"),
    N_("The holder has not accepted this mandate"), N_("The mandate was cancelled"),
)  # fmt: skip
PERIOD = {"daily": N_("day"), "weekly": N_("week"), "monthly": N_("month")}


class MandateNotOpen(Conflict):
    code = "mandate_state_conflict"
    title = "This mandate can no longer be accepted"


def _mine(uow: UnitOfWork, holder: Holder, text: str, *, lock: bool = False) -> Mandate | None:
    try:
        wanted = uuid.UUID(text)
        return mandates.for_holder(uow.session, holder.user, wanted, lock=lock)
    except (ValueError, mandates.MandateNotFound):
        return None


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "mandates/missing.html", holder=holder, status_code=404)


def _shown(uow: UnitOfWork, holder: Holder, mandate: Mandate) -> dict[str, Any]:
    merchant = get_merchant(uow.session, mandate.merchant_id)
    return {
        "id": str(mandate.id), "merchant": merchant.name, "currency": mandate.currency,
        "max_per_debit": mandate.max_per_debit, "frequency": mandate.frequency,
        "period": PERIOD.get(mandate.frequency, mandate.frequency),
        "debits_per_period": mandate.debits_per_period, "ends_at": mandate.ends_at,
        "description": mandate.description,
        "status": mandates.effective_status(mandate, holder.now),
        "accepted_at": mandate.accepted_at, "cancelled_at": mandate.cancelled_at,
        "cancelled_by": mandate.cancelled_by,
        "scale": get_asset(uow.session, mandate.currency).scale,
    }  # fmt: skip


def _debits(uow: UnitOfWork, holder: Holder, mandate: Mandate, limit: int) -> list[Any]:
    query = (
        select(PaymentIntent)
        .where(PaymentIntent.mandate_id == mandate.id, PaymentIntent.holder_id == holder.user.id)
        .order_by(PaymentIntent.created_at.desc(), PaymentIntent.id.desc())
        .limit(limit)
    )
    return [
        {"at": d.captured_at or d.created_at, "amount": d.amount, "fee": d.fee,
         "description": d.description, "status": payments.effective_status(d, holder.now),
         "refunded": d.refunded_amount}
        for d in uow.session.scalars(query)
    ]  # fmt: skip


@router.get("/mandates", response_class=HTMLResponse)
def mandate_list(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    found = reversed(mandates.list_for_holder(uow.session, holder.user))  # newest first
    rows = [{**_shown(uow, holder, m), "last": _debits(uow, holder, m, 1)} for m in found]
    context = {"mandates": rows, "tz": accounts.BUSINESS_TZ}
    return show(request, container, "mandates/list.html", context, holder=holder)


def _mandate_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder,
    mandate: Mandate, **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    context = {
        "m": _shown(uow, holder, mandate), "debits": _debits(uow, holder, mandate, 50),
        "tz": accounts.BUSINESS_TZ, "done": request.query_params.get("done"), **extra,
    }  # fmt: skip
    return show(request, container, "mandates/show.html", context, holder=holder,
                status_code=status)  # fmt: skip


@router.get("/mandates/{mandate_id}", response_class=HTMLResponse)
def mandate_page(
    mandate_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    mandate = _mine(uow, holder, mandate_id)
    if mandate is None:
        return _missing(request, container, holder)
    return _mandate_page(request, container, uow, holder, mandate)


def _summary(m: dict[str, Any], locale: str) -> list[tuple[str, str]]:
    cap = f"{format_money(m['max_per_debit'], m['scale'])} {m['currency']}"
    allowed = f"{m['debits_per_period']} / {gettext(locale, m['frequency'])}"
    ends = m["ends_at"].astimezone(accounts.BUSINESS_TZ).strftime("%Y-%m-%d")
    return [("Merchant", m["merchant"]), ("Most per debit", cap), ("Debits allowed", allowed),
            ("Ends", ends)]  # fmt: skip


@router.post("/mandates/{mandate_id}/accept", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def accept(
    mandate_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    challenge_id: Field = "", code: Field = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    mandate = _mine(uow, holder, mandate_id)
    if mandate is None:
        return _missing(request, container, holder)
    shown = _shown(uow, holder, mandate)
    try:
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        with step_up_kept(uow):
            locked = _mine(uow, holder, mandate_id, lock=True)
            if locked is None:
                raise mandates.MandateNotFound()
            if mandates.effective_status(locked, holder.now) != "proposed":
                raise MandateNotOpen(f"this mandate is {shown['status']}")
            mandates.accept(
                uow.session, holder.vault, holder.user, holder.session.id, locked,
                step_up_token=token, now=holder.now,
            )  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return stepup_flow.prompt(request, container, holder, required, action="accept_mandate",
                                  summary=_summary(shown, locale), fields={})  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="accept_mandate",
            summary=_summary(shown, locale), fields={}, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        again = _mine(uow, holder, mandate_id)
        if again is None:
            return _missing(request, container, holder)
        return _mandate_page(request, container, uow, holder, again,
                             error=explain(error, locale), status_code=error.status)  # fmt: skip
    return see_other(f"/mandates/{mandate.id}?done=accepted")


@router.get("/mandates/{mandate_id}/cancel", response_class=HTMLResponse)
def cancel_page(
    mandate_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    """Are you sure? (The cancellation itself is a form post from this page.)"""
    holder = guard.require_holder(request, container, uow)
    mandate = _mine(uow, holder, mandate_id)
    if mandate is None or mandate.holder_id != holder.user.id:
        return _missing(request, container, holder)
    context = {"m": _shown(uow, holder, mandate), "tz": accounts.BUSINESS_TZ}
    return show(request, container, "mandates/cancel.html", context, holder=holder)


@router.post("/mandates/{mandate_id}/cancel", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def cancel(mandate_id: str, request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    holder = guard.require_holder(request, container, uow)
    mandate = _mine(uow, holder, mandate_id, lock=True)
    if mandate is None or mandate.holder_id != holder.user.id:
        return _missing(request, container, holder)
    try:
        mandates.cancel_by_holder(uow.session, holder.vault, holder.user, mandate, holder.now)
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return _mandate_page(request, container, uow, holder, mandate,
                             error=explain(error, locale_of(request)),
                             status_code=error.status)  # fmt: skip
    return see_other(f"/mandates/{mandate.id}?done=cancelled")
