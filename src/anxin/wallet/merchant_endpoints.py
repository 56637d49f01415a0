"""The merchant API under /v1/merchant, authenticated with a merchant API key.

A merchant can ask for money (payment intents the holder confirms), capture or cancel what
a holder confirmed, refund what it captured, propose mandates, and debit under a mandate
the holder signed. Nothing else lets a merchant take money. Every request that changes
money carries an ``Idempotency-Key``; a replay answers as the first request did.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, status
from sqlalchemy import select

from anxin.api.deps import ContainerDep, WriteUoW, get_principal
from anxin.apikeys.service import Principal
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Merchant, PaymentIntent, Refund, WebhookDelivery
from anxin.wallet import mandates, payments, refunds, webhooks
from anxin.wallet.merchant_requests import keyed, run_keyed
from anxin.wallet.merchant_schemas import (
    DebitCreate,
    DeliveryList,
    DeliveryOut,
    Empty,
    IntentCreate,
    IntentList,
    IntentOut,
    MandateCreate,
    MandateOut,
    MerchantOut,
    RefundCreate,
    RefundList,
    RefundOut,
)
from anxin.wallet.merchants import merchant_of

router = APIRouter(prefix="/v1/merchant", tags=["merchant"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on requests that change money. A replay with the same key "
        "and body returns the first answer; the same key with another body is refused.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100)]
MerchantKey = Annotated[Principal, Depends(get_principal)]


def _merchant(uow: UnitOfWork, principal: Principal) -> Merchant:
    return merchant_of(uow.session, principal)


def _scope(merchant: Merchant) -> str:
    return f"merchant:{merchant.id}"


def intent_out(intent: PaymentIntent, c: ContainerDep) -> IntentOut:
    return IntentOut.model_validate(payments.intent_data(intent, c.clock.now()))


def _refund_out(refund: Refund) -> RefundOut:
    return RefundOut.model_validate(refunds.refund_data(refund))


def _mandate_out(mandate: Any, c: ContainerDep) -> MandateOut:
    return MandateOut.model_validate(mandates.mandate_data(mandate, c.clock.now()))


def _body(body: Empty | None) -> dict[str, Any]:
    return body.model_dump(mode="json") if body is not None else {}


@router.get("/me", response_model=MerchantOut)
def who_am_i(principal: MerchantKey, uow: WriteUoW) -> MerchantOut:
    merchant = _merchant(uow, principal)
    return MerchantOut(id=merchant.id, name=merchant.name, status=merchant.status,
                       webhook_url=merchant.webhook_url)  # fmt: skip


# -- payment intents ------------------------------------------------------------------------


@router.post("/payment-intents", response_model=IntentOut, status_code=status.HTTP_201_CREATED)
def create_intent(
    body: IntentCreate, principal: MerchantKey, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Ask for a payment. Give the holder its id (a QR code, a link): they see amount, fee
    and your name, and confirm it; you capture it afterwards."""
    merchant = _merchant(uow, principal)
    now = c.clock.now()
    request = keyed(_scope(merchant), idempotency_key, "intents", body.model_dump(mode="json"))

    def work() -> IntentOut:
        from datetime import timedelta

        window = body.confirm_within_seconds
        intent = payments.create_intent(
            uow.session, merchant, amount=body.amount, currency=body.currency,
            description=body.description, reference=body.reference,
            confirm_within=timedelta(seconds=window) if window else None, now=now,
        )  # fmt: skip
        return intent_out(intent, c)

    return run_keyed(uow, request, now, 201, work)


@router.get("/payment-intents", response_model=IntentList)
def list_intents(
    principal: MerchantKey, uow: WriteUoW, c: ContainerDep, limit: Limit = 50,
    before: uuid.UUID | None = None,
) -> IntentList:  # fmt: skip
    """Newest first; page with `before=<the last id>`."""
    merchant = _merchant(uow, principal)
    found = payments.list_for_merchant(uow.session, merchant, limit=limit, before=before)
    return IntentList(items=[intent_out(i, c) for i in found])


@router.get("/payment-intents/{intent_id}", response_model=IntentOut)
def get_intent(intent_id: uuid.UUID, principal: MerchantKey, uow: WriteUoW,
               c: ContainerDep) -> IntentOut:  # fmt: skip
    merchant = _merchant(uow, principal)
    return intent_out(payments.for_merchant(uow.session, merchant, intent_id), c)


def _intent_action(action: str) -> Any:
    def endpoint(
        intent_id: uuid.UUID, principal: MerchantKey, uow: WriteUoW, c: ContainerDep,
        idempotency_key: IdempotencyKey = None, body: Empty | None = None,
    ) -> Any:  # fmt: skip
        merchant = _merchant(uow, principal)
        now = c.clock.now()
        route = f"{action}:{intent_id}"
        request = keyed(_scope(merchant), idempotency_key, route, _body(body))

        def work() -> IntentOut:
            vault = c.keys.vault()
            intent = payments.for_merchant(uow.session, merchant, intent_id, lock=True)
            if action == "capture":
                payments.capture(uow.session, vault, merchant, intent, now)
            else:
                payments.cancel(uow.session, vault, merchant, intent, now)
            return intent_out(intent, c)

        return run_keyed(uow, request, now, 200, work)

    endpoint.__name__ = f"{action}_intent"
    return endpoint


router.add_api_route(
    "/payment-intents/{intent_id}/capture", _intent_action("capture"), methods=["POST"],
    response_model=IntentOut, summary="Capture a confirmed payment intent",
    description="Posts the holder's held amount to you and the fee to Anxin. Only a "
    "confirmed intent can be captured; a merchant that delivers less refunds the rest.",
)  # fmt: skip
router.add_api_route(
    "/payment-intents/{intent_id}/cancel", _intent_action("cancel"), methods=["POST"],
    response_model=IntentOut, summary="Cancel a payment intent",
    description="Before capture only; a confirmed intent's held money goes back at once.",
)  # fmt: skip


# -- refunds --------------------------------------------------------------------------------


@router.post(
    "/payment-intents/{intent_id}/refunds", response_model=RefundOut,
    status_code=status.HTTP_201_CREATED,
)  # fmt: skip
def create_refund(
    intent_id: uuid.UUID, body: RefundCreate, principal: MerchantKey, uow: WriteUoW,
    c: ContainerDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Refund all or part of a captured payment; all refunds together never exceed what
    was captured (`refund_exceeds_captured`)."""
    merchant = _merchant(uow, principal)
    now = c.clock.now()
    route = f"refund:{intent_id}"
    request = keyed(_scope(merchant), idempotency_key, route, body.model_dump(mode="json"))

    def work() -> RefundOut:
        intent = payments.for_merchant(uow.session, merchant, intent_id, lock=True)
        made = refunds.refund(
            uow.session, c.keys.vault(), merchant, intent, amount=body.amount,
            reason=body.reason, now=now,
        )  # fmt: skip
        return _refund_out(made)

    return run_keyed(uow, request, now, 201, work)


@router.get("/payment-intents/{intent_id}/refunds", response_model=RefundList)
def list_refunds(intent_id: uuid.UUID, principal: MerchantKey, uow: WriteUoW) -> RefundList:
    merchant = _merchant(uow, principal)
    intent = payments.for_merchant(uow.session, merchant, intent_id)
    return RefundList(items=[_refund_out(r) for r in refunds.refunds_of(uow.session, intent)])


# -- mandates -------------------------------------------------------------------------------


@router.post("/mandates", response_model=MandateOut, status_code=status.HTTP_201_CREATED)
def propose_mandate(
    body: MandateCreate, principal: MerchantKey, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Propose terms; give the holder the mandate's id. Nothing can be debited until the
    holder signs it (with a second factor)."""
    merchant = _merchant(uow, principal)
    now = c.clock.now()
    request = keyed(_scope(merchant), idempotency_key, "mandates", body.model_dump(mode="json"))

    def work() -> MandateOut:
        mandate = mandates.propose(
            uow.session, merchant, currency=body.currency, max_per_debit=body.max_per_debit,
            frequency=body.frequency, debits_per_period=body.debits_per_period,
            ends_at=body.ends_at, description=body.description, now=now,
        )  # fmt: skip
        return _mandate_out(mandate, c)

    return run_keyed(uow, request, now, 201, work)


@router.get("/mandates/{mandate_id}", response_model=MandateOut)
def get_mandate(mandate_id: uuid.UUID, principal: MerchantKey, uow: WriteUoW,
                c: ContainerDep) -> MandateOut:  # fmt: skip
    merchant = _merchant(uow, principal)
    return _mandate_out(mandates.for_merchant(uow.session, merchant, mandate_id), c)


@router.post("/mandates/{mandate_id}/cancel", response_model=MandateOut)
def cancel_mandate(
    mandate_id: uuid.UUID, principal: MerchantKey, uow: WriteUoW, c: ContainerDep,
    body: Empty | None = None,
) -> MandateOut:  # fmt: skip
    """Stop debiting under a mandate (cancelling twice is harmless)."""
    merchant = _merchant(uow, principal)
    now = c.clock.now()
    mandate = mandates.for_merchant(uow.session, merchant, mandate_id, lock=True)
    mandates.cancel_by_merchant(uow.session, c.keys.vault(), merchant, mandate, now)
    out = _mandate_out(mandate, c)
    uow.commit()
    return out


@router.post(
    "/mandates/{mandate_id}/debits", response_model=IntentOut, status_code=status.HTTP_201_CREATED
)
def debit_mandate(
    mandate_id: uuid.UUID, body: DebitCreate, principal: MerchantKey, uow: WriteUoW,
    c: ContainerDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Take money under a mandate the holder signed: checked against its cap per debit,
    debits per period and end date (`mandate_exceeded`, `mandate_expired`,
    `mandate_cancelled`). The holder is notified; the answer is a captured payment intent."""
    merchant = _merchant(uow, principal)
    now = c.clock.now()
    route = f"debit:{mandate_id}"
    request = keyed(_scope(merchant), idempotency_key, route, body.model_dump(mode="json"))

    def work() -> IntentOut:
        mandate = mandates.for_merchant(uow.session, merchant, mandate_id, lock=True)
        intent = mandates.debit(
            uow.session, c.keys.vault(), merchant, mandate, amount=body.amount,
            currency=body.currency, description=body.description, reference=body.reference,
            now=now,
        )  # fmt: skip
        return intent_out(intent, c)

    return run_keyed(uow, request, now, 201, work)


# -- webhook deliveries ---------------------------------------------------------------------


def _delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=webhooks.message_id(row.id), event_type=row.event_type, status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        delivered_at=row.delivered_at, last_status=row.last_status, last_error=row.last_error,
        created_at=row.created_at,
    )  # fmt: skip


@router.get("/webhook-deliveries", response_model=DeliveryList)
def list_deliveries(
    principal: MerchantKey, uow: WriteUoW, limit: Limit = 50,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|delivered|failed)$")]
    = None,
) -> DeliveryList:  # fmt: skip
    """Your events, newest first, with how their delivery went."""
    merchant = _merchant(uow, principal)
    query = select(WebhookDelivery).where(WebhookDelivery.merchant_id == merchant.id)
    if status_ is not None:
        query = query.where(WebhookDelivery.status == status_)
    rows = uow.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))
    return DeliveryList(items=[_delivery_out(r) for r in rows])
