"""Merchants, payment intents, refunds, mandates, webhooks and person-to-person transfers.

Money itself only ever lives in the ledger; these rows say why it moved (which intent,
refund, mandate or transfer) and hold the ids of the ledger transfers that moved it, so
every state here can be checked against the journal. Amounts are minor units of
``currency``. Free text a person typed about another person (a transfer's note) is
personal data and stored only encrypted; secrets we must be able to use again (a merchant's
webhook signing secret) are encrypted under the merchant's own data key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from anxin.kit.types import JSONDocument, UTCDateTime
from anxin.models.base import Base

INTENT_STATUSES = (
    "requires_confirmation", "confirmed", "captured", "refunded", "canceled", "expired",
)  # fmt: skip
MANDATE_STATUSES = ("proposed", "active", "cancelled")
FREQUENCIES = ("daily", "weekly", "monthly")


def _known(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class Merchant(Base):
    __tablename__ = "wallet_merchants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # a business name, shown to payers
    status: Mapped[str] = mapped_column(String(16))  # active | suspended
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (_known("status", ("active", "suspended"), "status_known"),)


class MerchantKey(Base):
    """Which operator API key (scope ``merchant``) acts for which merchant."""

    __tablename__ = "wallet_merchant_keys"

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_merchants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Mandate(Base):
    """A holder's signed permission for one merchant to debit them without asking each time,
    within a cap per debit, a number of debits per period, and an end date."""

    __tablename__ = "wallet_mandates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_merchants.id"), index=True)
    holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(16))
    max_per_debit: Mapped[int] = mapped_column(BigInteger)
    frequency: Mapped[str] = mapped_column(String(16))
    debits_per_period: Mapped[int] = mapped_column(Integer)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(16))  # holder | merchant

    __table_args__ = (
        _known("status", MANDATE_STATUSES, "status_known"),
        _known("frequency", FREQUENCIES, "frequency_known"),
        CheckConstraint("max_per_debit > 0 AND debits_per_period > 0", name="terms_positive"),
    )


class PaymentIntent(Base):
    """One payment to a merchant: confirmed by the holder (a ledger hold), then captured or
    cancelled; or taken at once under a mandate. Refunds reverse the captured transfers."""

    __tablename__ = "wallet_payment_intents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_merchants.id"), index=True)
    holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    mandate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("wallet_mandates.id"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(16))
    fee: Mapped[int] = mapped_column(BigInteger)  # quoted to (and paid by) the holder
    captured_amount: Mapped[int] = mapped_column(BigInteger)
    captured_fee: Mapped[int] = mapped_column(BigInteger)
    refunded_amount: Mapped[int] = mapped_column(BigInteger)
    refunded_fee: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    # Ledger transfers: the holds made at confirmation, and the posted transfers of the
    # capture (a post of each hold, or direct transfers under a mandate).
    hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fee_hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    capture_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fee_capture_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # confirm by, then capture by
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        _known("status", INTENT_STATUSES, "status_known"),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_valid"),
        CheckConstraint(
            "captured_amount <= amount AND refunded_amount <= captured_amount "
            "AND refunded_fee <= captured_fee",
            name="never_more_than_paid",
        ),
        # Counting a mandate's debits in a period walks this index.
        Index("ix_wallet_payment_intents_mandate_time", "mandate_id", "created_at"),
    )


class Refund(Base):
    __tablename__ = "wallet_refunds"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    intent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallet_payment_intents.id"), index=True
    )
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_merchants.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)  # the share of the fee given back
    reason: Mapped[str | None] = mapped_column(String(200))
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fee_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount > 0 AND fee >= 0", name="amounts_valid"),)


class WebhookDelivery(Base):
    """One event for a merchant, sent at least once (written with its cause)."""

    __tablename__ = "wallet_webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_merchants.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        _known("status", ("pending", "delivered", "failed"), "status_known"),
        Index("ix_wallet_webhook_deliveries_due", "status", "next_attempt_at"),
    )


class P2PTransfer(Base):
    """Money from one holder to another: a quote shown (masked payee, fee), then confirmed."""

    __tablename__ = "wallet_p2p_transfers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    payer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    payee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(16))
    fee: Mapped[int] = mapped_column(BigInteger)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # under the payer's data key
    status: Mapped[str] = mapped_column(String(16))  # quoted | completed
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fee_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        _known("status", ("quoted", "completed"), "status_known"),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_valid"),
        CheckConstraint("payer_id <> payee_id", name="distinct_people"),
    )


class MerchantRequest(Base):
    """The answer to a completed money-moving request, by who sent it and its
    Idempotency-Key: a replay gets the same answer, the same key with another body a 422."""

    __tablename__ = "wallet_merchant_requests"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
