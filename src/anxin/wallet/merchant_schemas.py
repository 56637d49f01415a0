"""Request and response bodies of the merchant API, the holder's side of payment intents
and mandates, and person-to-person transfers. Amounts are strict JSON integers in minor
units (``10.5``, ``"10"`` and ``true`` are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictInt

from anxin.ledger.schemas import Amount, AssetCode, Strict, no_nul

Text200 = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]


def aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2030-01-31T23:59:59+08:00")
    return value


AwareTime = Annotated[datetime, AfterValidator(aware)]


# -- merchant API ---------------------------------------------------------------------------


class MerchantOut(BaseModel):
    id: uuid.UUID
    name: str
    status: str
    webhook_url: str | None


class IntentCreate(Strict):
    amount: Amount
    currency: AssetCode
    description: Text200 | None = Field(default=None, description="Shown to the payer.")
    reference: Text200 | None = Field(default=None, description="Your order number.")
    confirm_within_seconds: Annotated[StrictInt, Field(ge=60, le=7 * 86400)] | None = Field(
        default=None, description="How long the payer has to confirm (default 30 minutes)."
    )


class IntentOut(BaseModel):
    id: uuid.UUID
    object: Literal["payment_intent"] = "payment_intent"
    amount: int
    currency: str
    status: str = Field(
        description="requires_confirmation, confirmed (funds held), captured, refunded, "
        "canceled or expired"
    )
    captured_amount: int
    refunded_amount: int
    description: str | None
    reference: str | None
    mandate_id: uuid.UUID | None
    expires_at: datetime = Field(description="Confirm by, or once confirmed, capture by.")
    created_at: datetime
    confirmed_at: datetime | None
    captured_at: datetime | None
    canceled_at: datetime | None


class IntentList(BaseModel):
    items: list[IntentOut]


class Empty(Strict):
    """No fields (the body may be omitted)."""


class RefundCreate(Strict):
    amount: Amount | None = Field(default=None, description="Default: all not yet refunded.")
    reason: Text200 | None = None


class RefundOut(BaseModel):
    id: uuid.UUID
    object: Literal["refund"] = "refund"
    payment_intent_id: uuid.UUID
    amount: int
    reason: str | None
    created_at: datetime


class RefundList(BaseModel):
    items: list[RefundOut]


class MandateCreate(Strict):
    currency: AssetCode
    max_per_debit: Amount
    frequency: Literal["daily", "weekly", "monthly"]
    debits_per_period: Annotated[StrictInt, Field(ge=1, le=1000)]
    ends_at: AwareTime
    description: Text200 | None = None


class MandateOut(BaseModel):
    id: uuid.UUID
    object: Literal["mandate"] = "mandate"
    merchant_id: uuid.UUID
    currency: str
    max_per_debit: int
    frequency: str
    debits_per_period: int
    ends_at: datetime
    description: str | None
    status: str = Field(description="proposed, active, cancelled or expired")
    created_at: datetime
    accepted_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None


class DebitCreate(Strict):
    amount: Amount
    currency: AssetCode
    description: Text200 | None = None
    reference: Text200 | None = None


class DeliveryOut(BaseModel):
    id: str = Field(description="The webhook-id header of its requests")
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


# -- holders --------------------------------------------------------------------------------


class PayeeOut(BaseModel):
    kind: Literal["merchant", "holder"]
    name: str | None = Field(description="A merchant's name; a person's masked name")
    contact: str | None = Field(default=None, description="A person's masked phone or email")


class HolderIntentOut(BaseModel):
    """What the holder is shown before (and after) confirming."""

    id: uuid.UUID
    status: str
    payee: PayeeOut
    amount: int
    fee: int
    total: int = Field(description="amount + fee: what leaves the wallet")
    currency: str
    description: str | None
    expires_at: datetime


class ConfirmIntent(Strict):
    fee: Annotated[StrictInt, Field(ge=0)] | None = Field(
        default=None,
        description="The fee you were shown; if it changed meanwhile, the payment is refused "
        "with `fee_changed` instead of charging a different fee.",
    )


class HolderMandateOut(MandateOut):
    payee: PayeeOut


class HolderMandateList(BaseModel):
    items: list[HolderMandateOut]


class TransferQuoteCreate(Strict):
    to: Annotated[str, Field(min_length=3, max_length=320), AfterValidator(no_nul)] = Field(
        description="The payee's phone number (+86 by default) or email address"
    )
    amount: Amount
    currency: AssetCode
    note: Annotated[str, Field(max_length=200), AfterValidator(no_nul)] | None = None


class TransferOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="quoted (confirm before expires_at) or completed")
    direction: Literal["sent", "received"]
    counterparty: PayeeOut
    amount: int
    fee: int
    total: int
    currency: str
    note: str | None
    expires_at: datetime
    created_at: datetime
    completed_at: datetime | None


class TransferList(BaseModel):
    items: list[TransferOut]
