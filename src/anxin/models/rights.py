"""Data rights and breach response: four-eyes approvals, staff exports of holders' data,
account closures (with their payouts), breaches and the notices about them, and the public
status announcements.

None of these tables holds personal data in plaintext. Exports list holders by id and the
file is generated on download, never stored; a closure payout keeps the destination bank
account only encrypted under a data key of its own, destroyed once the payout is done.
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
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from anxin.kit.types import JSONDocument, UTCDateTime
from anxin.models.base import Base

APPROVAL_STATUSES = ("pending", "approved", "rejected", "expired", "cancelled")
EXPORT_STATUSES = ("pending_approval", "approved", "rejected", "expired", "cancelled")
BREACH_STATUSES = ("open", "notified", "closed")


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Approval(Base):
    """A request that a second staff member must approve (four-eyes) before it expires.
    ``kind`` says what is asked (``export``, ``breach_notice``, ...) and ``subject_ref``
    which thing (``export:<id>``); ``payload`` is what the approver sees and approves."""

    __tablename__ = "privacy_approvals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_ref: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        CheckConstraint(_known("status", APPROVAL_STATUSES), name="status_known"),
        # Nobody approves their own request; the service refuses it first.
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
        Index("ix_privacy_approvals_open", "status", "expires_at"),
        Index("ix_privacy_approvals_subject", "kind", "subject_ref"),
    )


class Export(Base):
    """A staff member's export of holders' data. Only its definition is stored: the file
    is generated when it is downloaded, with a watermark naming the export."""

    __tablename__ = "privacy_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    approval_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("privacy_approvals.id"))
    status: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))  # csv | json
    fields: Mapped[list[str]] = mapped_column(JSONDocument)
    purpose: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    holder_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Links can be made until then; each link works once, for a short time.
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    last_downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint(_known("status", EXPORT_STATUSES), name="status_known"),)


class ExportHolder(Base):
    """Who is in an export, in file order: fixed when it is requested, so the approver
    approves exactly these holders."""

    __tablename__ = "privacy_export_holders"

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("privacy_exports.id"), primary_key=True)
    holder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_users.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)


class Closure(Base):
    """A closed holder account: personal data erased (data key destroyed), ledger records
    kept under a pseudonym until ``retain_until``, then anonymised by the purge job."""

    __tablename__ = "privacy_closures"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The goodbye message is encrypted under a key of its own (the holder's is destroyed);
    # that key is destroyed too once the message is out.
    notice_owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    notice_shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClosurePayout(Base):
    """A closed account's remaining balance, owed to the holder's bank account. The
    account number is encrypted under a data key owned by this row (``id``), destroyed
    when the payout is settled."""

    __tablename__ = "privacy_closure_payouts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # wallet -> closure_payouts
    destination_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    destination_masked: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | paid | failed
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    settled_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'failed')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class Breach(Base):
    """A suspected personal-data breach and its notification clock."""

    __tablename__ = "privacy_breaches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(4000))  # systems and how; no personal data
    data_categories: Mapped[list[str]] = mapped_column(JSONDocument)
    # {locale: {what_happened, what_we_are_doing, what_you_should_do}}, from compliance.
    facts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    holders_query: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    affected_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Prepared texts ({"notice": {locale: {title, body}}, "statement": {...}}), approved as
    # a whole: ``texts_hash`` is what the approval covers.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    texts_hash: Mapped[str | None] = mapped_column(String(64))
    approval_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("privacy_approvals.id"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announcement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holders_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    near_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint(_known("status", BREACH_STATUSES), name="status_known"),)


class BreachHolder(Base):
    """A holder affected by a breach, and whether (and in which language) they were told."""

    __tablename__ = "privacy_breach_holders"

    breach_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_breaches.id"), primary_key=True
    )
    holder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_users.id"), primary_key=True, index=True
    )
    locale: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str | None] = mapped_column(String(16))  # notified | unreachable
    notification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusAnnouncement(Base):
    """A public statement on the status page (minimal: the incident capability extends it)."""

    __tablename__ = "status_announcements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # breach | incident | maintenance
    source_ref: Mapped[str | None] = mapped_column(String(100))
    texts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # {locale: {title, body}}
    status: Mapped[str] = mapped_column(String(16))  # published | resolved
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('published', 'resolved')", name="status_known"),
        UniqueConstraint("source_ref"),
    )
