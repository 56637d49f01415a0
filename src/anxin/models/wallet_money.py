"""Wallet money: holders' ledger accounts, funding (top-up and withdrawal), fees and
waivers, reward points, freezes, reconciliation and the simulated bank rail.

Money itself lives only in the ledger; these tables say what a movement was for (an order,
a fee charge, a points lot) and carry the state machines around it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from anxin.kit.types import JSONDocument, UTCDateTime
from anxin.models.base import Base


class WalletAccount(Base):
    """Which ledger account holds an owner's money in one asset. The primary key makes
    "get or create" safe under concurrency: a second creator conflicts and re-reads."""

    __tablename__ = "wallet_accounts"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)  # user:<id> | system:<n>
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalletRequest(Base):
    """The first answer to a holder's keyed money-moving request (idempotency)."""

    __tablename__ = "wallet_requests"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FundingSource(Base):
    """A holder's bank card or bank account. The number is personal data: encrypted, found
    through a blind index, shown masked."""

    __tablename__ = "wallet_funding_sources"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # card | bank_account
    number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    lookup: Mapped[str] = mapped_column(String(64))
    masked: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # active | removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('card', 'bank_account')", name="kind_known"),
        CheckConstraint("status IN ('active', 'removed')", name="status_known"),
        UniqueConstraint("user_id", "kind", "lookup"),
    )


class FundingOrder(Base):
    """A top-up (money in from the bank) or a withdrawal (money out to the bank).

    Both hold the ledger money while the provider works (``hold_id``, ``fee_hold_id``) and
    post or void the holds once it answers. ``blocked``: the bank settled a top-up while
    the wallet was frozen for all movement; it is credited when the freeze is lifted.
    """

    __tablename__ = "wallet_funding_orders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))  # topup | withdrawal
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_funding_sources.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    hold_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    fee_hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("direction IN ('topup', 'withdrawal')", name="direction_known"),
        CheckConstraint(
            "status IN ('pending', 'completed', 'failed', 'blocked')", name="status_known"
        ),
        CheckConstraint("amount > 0 AND fee >= 0", name="amounts_valid"),
        Index("ix_wallet_funding_orders_status", "status", "created_at"),
        Index("ix_wallet_funding_orders_settled", "settled_at"),
    )


class FeeRule(Base):
    """Fee for one operation in one asset: ``basis_points`` of the amount plus ``fixed``,
    rounded by ``rounding``, then clamped to [minimum, maximum]. The latest rule in force
    at a moment applies; rules are never edited, only superseded (``valid_until``)."""

    __tablename__ = "wallet_fee_rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    basis_points: Mapped[int] = mapped_column(Integer, default=0)
    fixed: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum: Mapped[int | None] = mapped_column(BigInteger)
    maximum: Mapped[int | None] = mapped_column(BigInteger)
    rounding: Mapped[str] = mapped_column(String(16))  # half_up | up | down
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("basis_points >= 0 AND basis_points <= 10000", name="bps_range"),
        CheckConstraint("fixed >= 0", name="fixed_non_negative"),
        CheckConstraint("rounding IN ('half_up', 'up', 'down')", name="rounding_known"),
        Index("ix_wallet_fee_rules_lookup", "operation", "asset", "valid_from"),
    )


class FeeWaiver(Base):
    """A discount on fees: for everyone in a campaign or time window, or for one holder
    (goodwill or compensation). Every use is a ``FeeCharge`` row naming the waiver."""

    __tablename__ = "wallet_fee_waivers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # campaign | holder | time_window | compensation
    campaign: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    operation: Mapped[str | None] = mapped_column(String(32))  # None: every operation
    asset: Mapped[str | None] = mapped_column(String(16))  # None: every asset
    discount_bps: Mapped[int] = mapped_column(Integer)  # 10000 waives the whole fee
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('campaign', 'holder', 'time_window', 'compensation')", name="kind_known"
        ),
        CheckConstraint("discount_bps > 0 AND discount_bps <= 10000", name="discount_range"),
        CheckConstraint(
            "(kind IN ('holder', 'compensation')) = (user_id IS NOT NULL)", name="holder_scope"
        ),
        CheckConstraint("kind <> 'campaign' OR campaign IS NOT NULL", name="campaign_named"),
    )


class FeeCharge(Base):
    """One fee as charged: the rule's fee, what a waiver or points took off, what was paid."""

    __tablename__ = "wallet_fee_charges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # what the fee was computed on
    rule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallet_fee_rules.id"))
    gross_fee: Mapped[int] = mapped_column(BigInteger)
    waiver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallet_fee_waivers.id"))
    waived: Mapped[int] = mapped_column(BigInteger)
    points_used: Mapped[int] = mapped_column(BigInteger)
    points_discount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the operation failed after all and the fee was given back (a failed top-up or
    # withdrawal); the waiver's use is given back too.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("fee = gross_fee - waived - points_discount", name="fee_adds_up"),
        CheckConstraint("fee >= 0 AND waived >= 0 AND points_discount >= 0", name="non_negative"),
    )


class PointsRule(Base):
    """How merchant payments in one currency earn points, what a point is worth when
    redeemed, and how long points last."""

    __tablename__ = "wallet_points_rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    asset: Mapped[str] = mapped_column(String(16))  # the payment currency
    earn_points: Mapped[int] = mapped_column(Integer)  # earn this many points ...
    earn_per: Mapped[int] = mapped_column(BigInteger)  # ... per this many minor units paid
    max_points_per_payment: Mapped[int | None] = mapped_column(BigInteger)
    redeem_points: Mapped[int] = mapped_column(Integer)  # this many points ...
    redeem_value: Mapped[int] = mapped_column(BigInteger)  # ... are worth this many minor units
    expiry_days: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "earn_points >= 0 AND earn_per > 0 AND redeem_points > 0 AND redeem_value > 0 "
            "AND expiry_days > 0",
            name="values_valid",
        ),
        Index("ix_wallet_points_rules_lookup", "asset", "valid_from"),
    )


class PointsLot(Base):
    """Points earned together, spent first-to-expire first; what is left at ``expires_at``
    is taken back by the expiry job."""

    __tablename__ = "wallet_points_lots"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(200))
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_range"),
        Index("ix_wallet_points_lots_user", "user_id", "expires_at"),
        Index("ix_wallet_points_lots_due", "expires_at", "remaining"),
    )


class Freeze(Base):
    """A freeze of a holder's wallet by risk or compliance staff, with a fixed reason code,
    a note, and a review deadline the holder is told. Staff notes are about the holder and
    may name them: encrypted under the holder's data key, like the rest of their data."""

    __tablename__ = "wallet_freezes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    scope: Mapped[str] = mapped_column(String(16))  # all | outgoing
    reason_code: Mapped[str] = mapped_column(String(48))
    note_enc: Mapped[bytes] = mapped_column(LargeBinary)
    review_by: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # active | lifted
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("scope IN ('all', 'outgoing')", name="scope_known"),
        CheckConstraint("status IN ('active', 'lifted')", name="status_known"),
    )


class FreezeAppeal(Base):
    """A holder's appeal against a freeze; the message is encrypted (it is free text)."""

    __tablename__ = "wallet_freeze_appeals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    freeze_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_freezes.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    message_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    care_ticket_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReconciliationRun(Base):
    __tablename__ = "wallet_recon_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    records_checked: Mapped[int] = mapped_column(Integer)
    orders_checked: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    exceptions_found: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReconciliationException(Base):
    """A mismatch between the provider's settlement records and the ledger, for staff.
    ``match_key`` makes re-running reconciliation find, not duplicate, a known mismatch."""

    __tablename__ = "wallet_recon_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_recon_runs.id"))
    match_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    asset: Mapped[str] = mapped_column(String(16))
    ledger_amount: Mapped[int] = mapped_column(BigInteger)  # what our books moved
    bank_amount: Mapped[int] = mapped_column(BigInteger)  # what the bank settled
    status: Mapped[str] = mapped_column(String(16))  # open | resolved
    resolution: Mapped[str | None] = mapped_column(String(16))  # credit | debit | dismiss
    resolution_note: Mapped[str | None] = mapped_column(String(2000))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        Index("ix_wallet_recon_exceptions_status", "status", "detected_at"),
    )


class NotificationPreference(Base):
    """Whether a holder also wants money-movement notices by email and SMS (security
    notices always go to every verified contact)."""

    __tablename__ = "wallet_notification_prefs"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)
    sms: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SimulatedBankRecord(Base):
    """The simulated bank's own books (a stand-in for a real provider's systems): each
    collection or payout it was asked for, and how it settled."""

    __tablename__ = "wallet_sim_bank_records"

    provider_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))  # collection | payout
    reference: Mapped[str] = mapped_column(String(64))  # the wallet's order id
    customer_ref: Mapped[str | None] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(32))  # masked card or account
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # pending | settled | failed
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("direction", "reference"),
        Index("ix_wallet_sim_bank_records_status", "status", "settled_at"),
    )
