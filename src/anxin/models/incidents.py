"""Collective complaints and incidents: the detector's groups, incidents with their
timeline, public updates and subscribers, affected holders, and remediation plans paid
through the ledger under four-eyes approval."""

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

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "reviewed")
SEVERITIES = ("minor", "major", "critical")


class CollectiveGroup(Base):
    """A burst of complaints the detector raised (or an operator grouped by hand)."""

    __tablename__ = "collective_groups"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # What the complaints share: structured facts ("merchant=M1|category=refund") or a
    # text cluster's id; an incident for the same key is joined rather than duplicated.
    key: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_complaint_at: Mapped[datetime] = mapped_column(UTCDateTime)
    distinct_holders: Mapped[int] = mapped_column(Integer)
    # The detector's evidence (its statistic, the baseline rate, the counts by hour).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"), index=True)


class CollectiveMember(Base):
    """A ticket the detector assigned to a group."""

    __tablename__ = "collective_members"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collective_groups.id"), primary_key=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_tickets.id"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # "INC-2026-0042"
    title: Mapped[str] = mapped_column(String(200))
    cause_key: Mapped[str | None] = mapped_column(String(200), index=True)
    category: Mapped[str | None] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"))
    opened_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # NULL: the detector
    root_cause: Mapped[str | None] = mapped_column(String(4000))
    # When the problem began, if known (the first complaint, or what staff established).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    monitoring_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    compensated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "status IN ('investigating', 'identified', 'monitoring', 'resolved', 'reviewed')",
            name="status_known",
        ),
        CheckConstraint("severity IN ('minor', 'major', 'critical')", name="severity_known"),
    )


class IncidentEvent(Base):
    """The timeline: recorded automatically for every detection, linked ticket,
    announcement, notification and remediation step, plus staff entries."""

    __tablename__ = "incident_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)


class IncidentUpdate(Base):
    """One public update on the status page, in Chinese and English."""

    __tablename__ = "incident_updates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # the incident's status it announces
    template: Mapped[str | None] = mapped_column(String(40))
    texts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # {locale: {title, body}}
    published_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StatusSubscriber(Base):
    """Someone (holder or not) who asked for status updates by email; confirmed by a link."""

    __tablename__ = "status_subscribers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # data key sealing the address
    email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    email_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    locale: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # confirm/unsubscribe
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AffectedQuery(Base):
    """How an incident finds its affected holders from the ledger and complaints, e.g.
    {"kind": "merchant_debits", "merchant_id": ..., "from": ..., "to": ...}."""

    __tablename__ = "incident_queries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AffectedHolder(Base):
    """A holder an incident affected, how we know, and whether they have been told."""

    __tablename__ = "incident_affected"

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    holder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_users.id"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # complaint | query | staff
    # What the query found for this holder (transfer ids, amounts), for the remediation plan.
    facts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RemediationPlan(Base):
    """What an incident pays back. Whoever prepared it cannot approve it (also refused by
    the database); execution is resumable and pays each item at most once."""

    __tablename__ = "remediation_plans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    # The recipe: refund named transfers, goodwill credit, fee waiver period, unfreeze.
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16))
    # Totals per asset in minor units: {"CNY": 123400}; items counted per kind.
    totals: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    item_count: Mapped[int] = mapped_column(Integer)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    prepared_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'approved', 'rejected', 'executing', 'done')",
            name="status_known",
        ),
        CheckConstraint("approved_by IS NULL OR approved_by <> prepared_by", name="four_eyes"),
    )


class RemediationItem(Base):
    """One holder's part of a plan. ``transfer_key`` is the ledger idempotency key, so a
    resumed run that re-submits an item gets the first result back instead of paying twice."""

    __tablename__ = "remediation_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("remediation_plans.id"))
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # refund | goodwill | fee_waiver | unfreeze
    asset: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # The refunded transfer or the lifted freeze; "" for a goodwill credit or a fee waiver.
    ref: Mapped[str] = mapped_column(String(100))
    transfer_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8))  # pending | done | failed
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    error: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('refund', 'goodwill', 'fee_waiver', 'unfreeze')", name="kind_known"
        ),
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        UniqueConstraint("plan_id", "holder_id", "kind", "ref"),
        UniqueConstraint("transfer_key"),
        Index("ix_remediation_items_plan_status", "plan_id", "status"),
    )
