"""Privacy against insiders: the tamper-evident audit log, what staff did with holders' data
(visible to the holder), purpose-bound reveals, cases, compliance alerts and honeytokens.

``audit_log`` and ``audit_checkpoints`` are append-only (database triggers refuse UPDATE
and DELETE, and TRUNCATE on PostgreSQL); every audit entry carries the SHA-256 of the one
before it (see ``anxin.audit.chain``), and ``audit_head`` pins the last one. No table here
holds personal data in plaintext: holders and staff appear by id (and staff by pseudonym).
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

from anxin.kit.types import JSONDocument, SequenceKey, UTCDateTime
from anxin.models.base import Base

CASE_KINDS = ("ticket", "dispute", "incident", "risk_case")


class AuditEntry(Base):
    """One security-relevant event. Append-only; ``hash`` chains it to the entry before."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(SequenceKey, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The single row every audit append locks: last sequence number and hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditCheckpoint(Base):
    """A signed statement "the audit log's entry ``seq`` has hash ``hash``" (Ed25519), to
    publish: once published, history before it cannot be rewritten unnoticed."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class AccessLogEntry(Base):
    """A staff action on a holder's account or data, as the holder sees it."""

    __tablename__ = "privacy_access_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    staff_pseudonym: Mapped[str] = mapped_column(String(32))
    staff_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))  # reveal | export | freeze | ...
    fields: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    purpose: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_privacy_access_log_holder_at", "holder_id", "at"),
        # The bulk-access guard counts a staff member's recent accesses through this one.
        Index("ix_privacy_access_log_staff_at", "staff_id", "at"),
    )


class Case(Base):
    """Something a staff member works on for a holder: a support ticket, a dispute, an
    incident or a risk case. Revealing a holder's data needs an open case assigned to you."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(100))
    holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_users.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    summary: Mapped[str | None] = mapped_column(String(500))  # no personal data
    opened_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('ticket', 'dispute', 'incident', 'risk_case')", name="kind_known"
        ),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        UniqueConstraint("kind", "reference"),
    )


class Reveal(Base):
    """Unmasked fields of one holder granted to one staff member for a short time, for a
    case or (break-glass) a written reason that compliance reviews afterwards."""

    __tablename__ = "privacy_reveals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    fields: Mapped[list[str]] = mapped_column(JSONDocument)
    break_glass_reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Break-glass only: pending until a compliance officer reviews it, overdue (and
    # escalated) once review_due_at passes, then justified or unjustified.
    review_status: Mapped[str | None] = mapped_column(String(16))
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        CheckConstraint(
            "review_status IS NULL OR review_status IN "
            "('pending', 'overdue', 'justified', 'unjustified')",
            name="review_status_known",
        ),
        Index("ix_privacy_reveals_staff_created", "staff_id", "created_at"),
        Index("ix_privacy_reveals_review", "review_status", "review_due_at"),
    )


class ComplianceAlert(Base):
    """Something compliance must look at now: bulk access, a honeytoken touched, a
    break-glass reveal, an unusual pattern, an overdue review."""

    __tablename__ = "compliance_alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))  # warning | critical
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    holder_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        CheckConstraint("severity IN ('warning', 'critical')", name="severity_known"),
        Index("ix_compliance_alerts_open", "acknowledged_at", "created_at"),
    )


class Honeytoken(Base):
    """A decoy holder, known only by a keyed marker (HMAC of its id under the blind-index
    key), so that a database reader cannot tell decoys from real holders."""

    __tablename__ = "privacy_honeytokens"

    marker: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
