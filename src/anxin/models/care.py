"""The care desk: tickets from every channel, their messages and history, SLA clocks on a
business-hours calendar, macros, CSAT, disputes, and unauthenticated contact requests.

What a person wrote (subjects, messages, comments) and how to reach them are personal data:
stored encrypted under ``owner_id``'s data key (the holder's, or for someone without a wallet
a key created for that ticket or contact request), never in plaintext.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
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

TICKET_CHANNELS = ("app", "email", "web_form", "chat", "phone", "social")
TICKET_STATUSES = ("new", "open", "pending_customer", "resolved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
CATEGORIES = (
    "unauthorized_debit", "funds_frozen", "topup_withdrawal", "verification_login", "fees",
    "points", "refund", "service_quality", "privacy", "feature_request", "other",
)  # fmt: skip
SLA_CLOCKS = ("first_response", "next_response", "resolution")


def _known(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class Ticket(Base):
    __tablename__ = "care_tickets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Short and unguessable enough to quote in an email subject ("[AX-7K2M9Q]") for threading.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # whose data key seals the text
    channel: Mapped[str] = mapped_column(String(16))
    # Email or phone to answer someone without a wallet account (or who wrote from elsewhere).
    contact_kind: Mapped[str | None] = mapped_column(String(8))
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_lookup: Mapped[str | None] = mapped_column(String(64), index=True)
    subject_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(24))
    category_source: Mapped[str] = mapped_column(String(8))  # auto | agent
    # The classifier's confidence in thousandths (a ranking aid, kept integral like the rest).
    category_confidence: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))  # zh | en
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identity_users.id"), index=True
    )
    escalated: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_tickets.id"))
    # An imported post's platform id ("weibo:123"), so a second import does not duplicate it.
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_sla_policies.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_agent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on resolution: a customer message before then reopens the ticket; after it the
    # ticket is closed (auto-close job) and a new message opens a new ticket.
    reopen_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        _known("channel", TICKET_CHANNELS, "channel_known"),
        _known("status", TICKET_STATUSES, "status_known"),
        _known("priority", TICKET_PRIORITIES, "priority_known"),
        _known("category", CATEGORIES, "category_known"),
        CheckConstraint("category_source IN ('auto', 'agent')", name="category_source_known"),
        CheckConstraint(
            "contact_kind IS NULL OR contact_kind IN ('email', 'phone')", name="contact_kind_known"
        ),
        Index("ix_care_tickets_queue", "status", "category", "language"),
    )


class TicketMessage(Base):
    """One message on a ticket: the customer's words, an agent's public reply, an internal
    note (never shown to the customer), or a system line."""

    __tablename__ = "care_messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), index=True)
    author_kind: Mapped[str] = mapped_column(String(8))  # customer | agent | system
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # staff or holder user id
    visibility: Mapped[str] = mapped_column(String(8))  # public | internal
    channel: Mapped[str] = mapped_column(String(16))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # RFC 5322 Message-ID of an inbound or outbound email, to thread replies.
    email_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("author_kind IN ('customer', 'agent', 'system')", name="author_known"),
        CheckConstraint("visibility IN ('public', 'internal')", name="visibility_known"),
        _known("channel", TICKET_CHANNELS, "channel_known"),
        Index("ix_care_messages_ticket_at", "ticket_id", "created_at"),
    )


class TicketEvent(Base):
    """The ticket's history: every change of state, assignment, category, priority, merge,
    link, SLA warning, breach and escalation, with who did it."""

    __tablename__ = "care_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketLink(Base):
    """What a ticket is about: a holder, a ledger account or transfer, another ticket."""

    __tablename__ = "care_links"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('holder', 'account', 'transfer', 'ticket', 'incident', 'freeze')",
            name="kind_known",
        ),
    )


class BusinessCalendar(Base):
    """Working hours per weekday in a time zone. ``hours`` maps "0".."6" (Monday = 0) to a
    list of ["09:00", "18:00"] spans."""

    __tablename__ = "care_calendars"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalendarDay(Base):
    """An exception to the weekly hours: a public holiday, or a make-up working day on a
    weekend (调休) that follows the weekday hours of ``works_as`` (Monday = 0)."""

    __tablename__ = "care_calendar_days"

    calendar_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_calendars.id"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    works_as: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)


class SlaPolicy(Base):
    """Targets in business minutes for tickets of a category and priority (NULL matches any;
    the most specific policy wins)."""

    __tablename__ = "care_sla_policies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(24))
    priority: Mapped[str | None] = mapped_column(String(8))
    calendar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_calendars.id"))
    # The resolution target's own calendar (24x7 for "within 15 calendar days"); NULL: the
    # policy's calendar.
    resolution_calendar_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("care_calendars.id")
    )
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    next_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # Warn when this share (in percent) of a target's business time is used up.
    warn_at_percent: Mapped[int] = mapped_column(Integer, default=75)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "first_response_minutes > 0 AND next_response_minutes > 0 AND resolution_minutes > 0",
            name="targets_positive",
        ),
        CheckConstraint("warn_at_percent > 0 AND warn_at_percent < 100", name="warn_in_range"),
    )


class SlaClock(Base):
    """One running SLA target of a ticket. Business seconds used are accumulated across
    pauses; ``due_at`` is recomputed on every resume so queues can sort by it."""

    __tablename__ = "care_sla_clocks"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_seconds: Mapped[int] = mapped_column(BigInteger)  # business seconds
    used_seconds: Mapped[int] = mapped_column(BigInteger, default=0)  # before running_since
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL: paused/stopped
    status: Mapped[str] = mapped_column(String(8))  # running | paused | met
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        _known("kind", SLA_CLOCKS, "kind_known"),
        CheckConstraint("status IN ('running', 'paused', 'met')", name="status_known"),
    )


class Macro(Base):
    """A saved reply with placeholders such as {holder_name} or {ticket_reference}."""

    __tablename__ = "care_macros"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(String(4000))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name", "language"),)


class Csat(Base):
    """The one satisfaction rating asked for when a ticket is resolved."""

    __tablename__ = "care_csat"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
    )


class Dispute(Base):
    """A holder's "I did not make this" on one debit. A provisional credit (if the policy
    grants one) is a ledger transfer; the outcome either makes it final or reverses it."""

    __tablename__ = "care_disputes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_tickets.id"), index=True)
    holder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    provisional_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    outcome_transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # A merchant payment upheld: the refund that took the money back from the merchant.
    recovery_refund_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # A rejection: what the holder had already spent of the provisional credit, which the
    # reversal could not take back (holders' wallets never go negative).
    unrecovered_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decision_note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('investigating', 'upheld', 'rejected', 'withdrawn')", name="status_known"
        ),
    )


class ContactRequest(Base):
    """A complaint from the public contact form, held until the sender proves the email or
    phone is theirs with a code; then it becomes a ticket."""

    __tablename__ = "care_contact_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    contact_kind: Mapped[str] = mapped_column(String(8))
    contact_enc: Mapped[bytes] = mapped_column(LargeBinary)
    contact_lookup: Mapped[str] = mapped_column(String(64), index=True)
    subject_enc: Mapped[bytes] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str | None] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        CheckConstraint("contact_kind IN ('email', 'phone')", name="contact_kind_known"),
    )
