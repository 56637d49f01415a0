"""Ledger tables: assets, accounts, transfers, the append-only journal and its chain head.

Accounts keep four running counters (TigerBeetle's model), so every balance read is O(1):
    posted    = credits_posted - debits_posted
    pending   = credits_pending - debits_pending
    available = posted - debits_pending      (incoming holds are not spendable yet)
The journal (``ledger_entries``) is the source of truth the counters are checked against;
each entry stores the counters after it and a SHA-256 hash chained to the entry before.
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
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from anxin.kit.types import JSONDocument, SequenceKey, UTCDateTime
from anxin.models.base import Base


class Asset(Base):
    """An operator-defined asset such as reward points. ISO 4217 currencies are not stored:
    they come from the iso4217 data package (see ``anxin.ledger.assets``)."""

    __tablename__ = "ledger_assets"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scale: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("scale >= 0 AND scale <= 18", name="scale_range"),)


class Account(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    asset: Mapped[str] = mapped_column(String(16))
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    owner_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'frozen', 'closed')", name="status_known"),
        CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
            "AND credits_pending >= 0",
            name="counters_non_negative",
        ),
        # The balance rule is also enforced by the engine; the database is the last line.
        CheckConstraint(
            "allow_negative OR debits_posted + debits_pending <= credits_posted",
            name="balance_rule",
        ),
    )


class Transfer(Base):
    __tablename__ = "ledger_transfers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # transfer (immediate), hold (pending), post / void / expire (resolve a hold), reverse.
    action: Mapped[str] = mapped_column(String(16))
    # Operator's own classification, e.g. "payment", "fee", "topup".
    kind: Mapped[str] = mapped_column(String(64), default="transfer")
    # posted | pending | voided | expired. Only a hold's status ever changes, once.
    status: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    destination_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    # For a hold: how much was finally posted. For a posted transfer: how much was reversed.
    settled_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    link_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reference: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("source_id <> destination_id", name="distinct_accounts"),
        # Partial indexes: most transfers have no hold, reversal or reference, and should
        # not pay for maintaining index entries they will never be found by.
        *(
            Index(
                f"ix_ledger_transfers_{column}",
                column,
                sqlite_where=text(f"{column} IS NOT NULL"),
                postgresql_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("pending_id", "reverses_id", "reference")
        ),
        Index(
            "ix_ledger_transfers_pending_due",
            "expires_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class Entry(Base):
    """One leg of a transfer on one account. Append-only: never updated or deleted."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(SequenceKey, primary_key=True, autoincrement=False)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    side: Mapped[str] = mapped_column(String(1))  # "D" debit, "C" credit
    posted: Mapped[int] = mapped_column(BigInteger)  # added to the posted counter of that side
    pending: Mapped[int] = mapped_column(BigInteger)  # signed change to the pending counter
    debits_posted: Mapped[int] = mapped_column(BigInteger)
    credits_posted: Mapped[int] = mapped_column(BigInteger)
    debits_pending: Mapped[int] = mapped_column(BigInteger)
    credits_pending: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        CheckConstraint("side IN ('D', 'C')", name="side_known"),
        # History pages and "balance as of T" both walk this index; created_at never goes
        # backwards along the chain, so (created_at, seq) order is the journal order.
        Index("ix_ledger_entries_account_time", "account_id", "created_at", "seq"),
        # No index on transfer_id: a transfer's two entries are always first_seq and
        # first_seq + 1 (see Transfer.first_seq), found through the primary key.
    )


class ChainHead(Base):
    """The single row every ledger write locks: last sequence number, hash and time."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """The first result of every keyed ledger command, written in the same transaction."""

    __tablename__ = "ledger_idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
