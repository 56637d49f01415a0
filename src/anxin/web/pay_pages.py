"""Paying a merchant's payment request: /pay/{intent_id} is the link (or QR code) a merchant
gives; the holder sees the merchant, amount, description, fee, the points it earns and the
balance after, confirms (step-up when the risk policy asks), and gets a receipt.

The confirmation is the same as ``POST /v1/me/payment-intents/{id}/confirm``: the same
service, the same holder-keyed idempotency store and route name (a replayed key answers
with the first result, money is held once). An intent that is not the holder's is "not
found", as in the API.
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
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.ledger.service import balance_of
from anxin.models import PaymentIntent
from anxin.wallet import accounts, payments, points
from anxin.wallet.idempotency import step_up_kept
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.merchant_schemas import ConfirmIntent, HolderIntentOut
from anxin.wallet.merchants import get_merchant
from anxin.wallet.pay_endpoints import _intent_out as intent_out
from anxin.web import guard, stepup_flow
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.render import format_money
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=100)]
STATUSES = (
    N_("requires_confirmation"), N_("confirmed"), N_("captured"), N_("refunded"),
    N_("canceled"), N_("expired"), N_("payment"), N_("Merchant"),
)  # fmt: skip
ERRORS = (
    N_("No such payment intent"), N_("The payment intent expired"),
    N_("The payment intent is not in a state that allows this"),
)  # fmt: skip


def _intent_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "pay/missing.html", holder=holder, status_code=404)


def _shown(uow: UnitOfWork, holder: Holder, found: payments.IntentQuote) -> dict[str, Any]:
    intent = found.intent
    session = uow.session
    rule = points.current_rule(session, intent.currency, holder.now)
    earns = points.points_for_payment(rule, intent.amount) if rule is not None else 0
    wallet = accounts.find_wallet_account(session, holder.user.id, intent.currency)
    available = balance_of(wallet).available if wallet is not None else 0
    return {
        "id": str(intent.id), "merchant": found.merchant.name, "amount": intent.amount,
        "fee": found.fee, "total": found.total, "currency": intent.currency,
        "description": intent.description, "reference": intent.reference,
        "status": found.status, "expires_at": intent.expires_at, "points": earns,
        "available": available, "after": available - found.total,
        "scale": get_asset(session, intent.currency).scale,
        "confirmed_at": intent.confirmed_at, "captured_at": intent.captured_at,
        "canceled_at": intent.canceled_at, "refunded": intent.refunded_amount,
    }  # fmt: skip


def _intent_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder,
    intent: PaymentIntent, **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    p = _shown(uow, holder, payments.quote(uow.session, holder.user, intent, holder.now))
    context = {"p": p, "tz": accounts.BUSINESS_TZ, "done": request.query_params.get("done"),
               "idempotency_key": str(uuid.uuid4()), **extra}  # fmt: skip
    template = "pay/confirm.html" if p["status"] == "requires_confirmation" else "pay/state.html"
    return show(request, container, template, context, holder=holder, status_code=status)


@router.get("/pay", response_class=HTMLResponse)
def payments_page(request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    """Open a payment link by its code, and the payments this holder confirmed."""
    holder = guard.require_holder(request, container, uow)
    opened = request.query_params.get("intent", "").strip()
    if opened:
        # The code alone, or the whole link a merchant gave.
        wanted = _intent_id(opened.rstrip("/").rsplit("/", 1)[-1])
        if wanted is not None:
            return see_other(f"/pay/{wanted}")
    rows = uow.session.scalars(
        select(PaymentIntent)
        .where(PaymentIntent.holder_id == holder.user.id, PaymentIntent.mandate_id.is_(None))
        .order_by(PaymentIntent.created_at.desc(), PaymentIntent.id.desc()).limit(20)
    )  # fmt: skip
    paid = [
        {"id": str(i.id), "merchant": get_merchant(uow.session, i.merchant_id).name,
         "total": i.amount + i.fee, "currency": i.currency, "description": i.description,
         "status": payments.effective_status(i, holder.now), "at": i.confirmed_at or i.created_at,
         "scale": get_asset(uow.session, i.currency).scale}
        for i in rows
    ]  # fmt: skip
    context = {"paid": paid, "tz": accounts.BUSINESS_TZ, "asked": opened}
    status = 404 if opened else 200  # a code that is no payment request's
    return show(request, container, "pay/list.html", context, holder=holder, status_code=status)


@router.get("/pay/{intent_id}", response_class=HTMLResponse)
def intent_page(
    intent_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    wanted = _intent_id(intent_id)
    try:
        if wanted is None:
            raise payments.IntentNotFound()
        intent = payments.for_holder(uow.session, holder.user, wanted)
    except payments.IntentNotFound:
        return _missing(request, container, holder)
    return _intent_page(request, container, uow, holder, intent)


def _summary(p: dict[str, Any]) -> list[tuple[str, str]]:
    money = f"{format_money(p['total'], p['scale'])} {p['currency']}"
    return [("Merchant", p["merchant"]), ("total", money)]


@router.post("/pay/{intent_id}/confirm", response_class=HTMLResponse, dependencies=[CheckedForm])
def confirm(
    intent_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    idempotency_key: Field, fee: Field, challenge_id: Field = "", code: Field = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    wanted = _intent_id(intent_id)
    try:
        if wanted is None:
            raise payments.IntentNotFound()
        intent = payments.for_holder(uow.session, holder.user, wanted)
    except payments.IntentNotFound:
        return _missing(request, container, holder)
    p = _shown(uow, holder, payments.quote(uow.session, holder.user, intent, holder.now))
    fields = {"idempotency_key": idempotency_key, "fee": fee}
    try:
        shown_fee = int(fee) if fee.isdigit() and len(fee) <= 18 else None
        body = ConfirmIntent(fee=shown_fee).model_dump(mode="json")
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        with step_up_kept(uow):
            run_holder_keyed(
                uow, holder.user.id, idempotency_key, route=f"confirm:{wanted}", body=body,
                now=holder.now, status_code=200,
                work=lambda: _confirm(uow, holder, wanted, shown_fee, token),
            )  # fmt: skip
    except StepUpRequired as required:
        return stepup_flow.prompt(request, container, holder, required, action="payment",
                                  summary=_summary(p), fields=fields)  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="payment", summary=_summary(p),
            fields=fields, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        try:  # someone else may have paid it meanwhile: then it is not this holder's
            intent = payments.for_holder(uow.session, holder.user, wanted)
        except payments.IntentNotFound:
            return _missing(request, container, holder)
        return _intent_page(request, container, uow, holder, intent,
                            error=explain(error, locale), status_code=error.status)  # fmt: skip
    return see_other(f"/pay/{wanted}?done=paid")


def _confirm(
    uow: UnitOfWork, holder: Holder, intent_id: uuid.UUID, fee: int | None, token: str | None
) -> HolderIntentOut:
    intent = payments.for_holder(uow.session, holder.user, intent_id, lock=True)
    shown = payments.confirm(
        uow.session, holder.vault, holder.user, holder.session.id, intent, shown_fee=fee,
        step_up_token=token, now=holder.now,
    )  # fmt: skip
    return intent_out(shown)  # the API's answer, so that either can replay the other's key
