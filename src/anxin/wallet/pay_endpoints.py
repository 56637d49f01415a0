"""The holder's side of merchant payments and mandates, under /v1/me.

A holder opens a payment intent by its id (from the merchant's QR code or link) and sees
the amount, the fee and the merchant before confirming; confirming may ask for step-up
(`step_up_required`: answer the challenge, then repeat the request with the same
Idempotency-Key and the `X-Step-Up-Token` header). Mandates are listed, read, signed (always
with step-up) and cancelled here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.deps import HolderAuth, StepUpToken
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Mandate, Merchant
from anxin.wallet import mandates, payments
from anxin.wallet.idempotency import step_up_kept
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.merchant_schemas import (
    ConfirmIntent,
    Empty,
    HolderIntentOut,
    HolderMandateList,
    HolderMandateOut,
    PayeeOut,
)
from anxin.wallet.merchants import get_merchant

router = APIRouter(prefix="/v1/me", tags=["payments"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required. A replay with the same key and body returns the first answer.",
    ),
]
STEP_UP: dict[int | str, dict[str, Any]] = {
    401: {"description": "`step_up_required`: answer the challenge, then repeat the call."}
}


def _merchant_payee(merchant: Merchant) -> PayeeOut:
    return PayeeOut(kind="merchant", name=merchant.name)


def _intent_out(shown: payments.IntentQuote) -> HolderIntentOut:
    intent = shown.intent
    return HolderIntentOut(
        id=intent.id, status=shown.status, payee=_merchant_payee(shown.merchant),
        amount=intent.amount, fee=shown.fee, total=shown.total, currency=intent.currency,
        description=intent.description, expires_at=intent.expires_at,
    )  # fmt: skip


@router.get("/payment-intents/{intent_id}", response_model=HolderIntentOut)
def show_intent(intent_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW) -> HolderIntentOut:
    """What you would pay, the fee, and to whom, before you confirm."""
    intent = payments.for_holder(uow.session, auth.user, intent_id)
    return _intent_out(payments.quote(uow.session, auth.user, intent, auth.now))


@router.post(
    "/payment-intents/{intent_id}/confirm", response_model=HolderIntentOut, responses=STEP_UP
)
def confirm_intent(
    intent_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None, step_up_token: StepUpToken = None,
    body: ConfirmIntent | None = None,
) -> Any:  # fmt: skip
    """Confirm the payment: the amount and fee are held for the merchant to capture."""
    now = c.clock.now()
    payload = body.model_dump(mode="json") if body is not None else {}

    def work() -> HolderIntentOut:
        intent = payments.for_holder(uow.session, auth.user, intent_id, lock=True)
        shown = payments.confirm(
            uow.session, c.keys.vault(), auth.user, auth.session.id, intent,
            shown_fee=body.fee if body is not None else None, step_up_token=step_up_token,
            now=now,
        )  # fmt: skip
        return _intent_out(shown)

    with step_up_kept(uow):
        return run_holder_keyed(
            uow, auth.user.id, idempotency_key, route=f"confirm:{intent_id}", body=payload,
            now=now, status_code=200, work=work,
        )  # fmt: skip


# -- mandates -------------------------------------------------------------------------------


def _mandate_out(uow: UnitOfWork, mandate: Mandate, now: datetime) -> HolderMandateOut:
    merchant = get_merchant(uow.session, mandate.merchant_id)
    return HolderMandateOut.model_validate(
        mandates.mandate_data(mandate, now) | {"payee": _merchant_payee(merchant)}
    )


@router.get("/mandates", response_model=HolderMandateList)
def list_mandates(auth: HolderAuth, uow: WriteUoW) -> HolderMandateList:
    """Every mandate you signed, including cancelled and ended ones."""
    found = mandates.list_for_holder(uow.session, auth.user)
    return HolderMandateList(items=[_mandate_out(uow, m, auth.now) for m in found])


@router.get("/mandates/{mandate_id}", response_model=HolderMandateOut)
def show_mandate(mandate_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW) -> HolderMandateOut:
    """A mandate's terms: who may debit you, how much each time, how often, until when."""
    return _mandate_out(uow, mandates.for_holder(uow.session, auth.user, mandate_id), auth.now)


@router.post("/mandates/{mandate_id}/accept", response_model=HolderMandateOut, responses=STEP_UP)
def accept_mandate(
    mandate_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    step_up_token: StepUpToken = None, body: Empty | None = None,
) -> HolderMandateOut:  # fmt: skip
    """Sign the mandate (always with a second factor, bound to exactly these terms)."""
    now = c.clock.now()
    with step_up_kept(uow):
        mandate = mandates.for_holder(uow.session, auth.user, mandate_id, lock=True)
        mandates.accept(
            uow.session, c.keys.vault(), auth.user, auth.session.id, mandate,
            step_up_token=step_up_token, now=now,
        )  # fmt: skip
        out = _mandate_out(uow, mandate, now)
        uow.commit()
    return out


@router.post("/mandates/{mandate_id}/cancel", response_model=HolderMandateOut)
def cancel_mandate(
    mandate_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    body: Empty | None = None,
) -> HolderMandateOut:  # fmt: skip
    """Withdraw a mandate at once: the merchant cannot debit you under it any more."""
    now = c.clock.now()
    mandate = mandates.for_holder(uow.session, auth.user, mandate_id, lock=True)
    mandates.cancel_by_holder(uow.session, c.keys.vault(), auth.user, mandate, now)
    out = _mandate_out(uow, mandate, now)
    uow.commit()
    return out
