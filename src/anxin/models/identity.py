"""Identity: holders and staff, their contacts, credentials, factors and sessions.

Personal values (names, phone numbers, emails) are stored only encrypted (``*_enc``
columns, see ``anxin.privacy.vault``); lookups go through keyed blind indexes. Secrets that
are only ever compared (passwords, session tokens, codes, recovery codes) are stored only
as hashes.
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

STAFF_ROLES = ("agent", "senior_agent", "risk_officer", "compliance_officer", "admin")
TIERS = ("unverified", "basic", "full")


class User(Base):
    __tablename__ = "identity_users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # holder | staff
    role: Mapped[str | None] = mapped_column(String(32))  # staff only, one of STAFF_ROLES
    # pending (contact not verified yet) | active | suspended | closed
    status: Mapped[str] = mapped_column(String(16))
    # Staff appear to holders under this pseudonym in access logs, never by name.
    pseudonym: Mapped[str | None] = mapped_column(String(32), unique=True)
    display_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    tier: Mapped[str] = mapped_column(String(16), default="unverified")
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Consecutive failures, for the growing delay and the second-factor block.
    failed_passwords: Mapped[int] = mapped_column(Integer, default=0)
    failed_factors: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Holder-chosen daily payment limit in minor units of their main currency (None = tier's).
    daily_limit: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('holder', 'staff')", name="kind_known"),
        CheckConstraint(
            "status IN ('pending', 'active', 'suspended', 'closed')", name="status_known"
        ),
        CheckConstraint("tier IN ('unverified', 'basic', 'full')", name="tier_known"),
    )


class Contact(Base):
    """A phone number or email address. ``lookup`` is the blind index of the normalised
    value (E.164 phone, lower-cased email)."""

    __tablename__ = "identity_contacts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # phone | email
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    lookup: Mapped[str] = mapped_column(String(64))
    # Masked form kept for display without decrypting (e.g. 138****5678, z***@example.com).
    masked: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('phone', 'email')", name="kind_known"),
        UniqueConstraint("kind", "lookup"),
    )


class OneTimeCode(Base):
    """A code sent to a contact: verify the contact, reset a password."""

    __tablename__ = "identity_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_contacts.id"))
    purpose: Mapped[str] = mapped_column(String(32))  # verify_contact | reset_password
    code_hash: Mapped[str] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Session(Base):
    """A signed-in session. Only the SHA-256 of the token is stored."""

    __tablename__ = "identity_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_devices.id"))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # How the session was established: password, password+totp, passkey, ...
    auth_methods: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_timeout_seconds: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # absolute lifetime
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Device(Base):
    """A browser or app that signed in before (by a long-lived random device cookie,
    stored hashed); a sign-in from an unknown device notifies the user."""

    __tablename__ = "identity_devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(300))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TotpFactor(Base):
    __tablename__ = "identity_totp"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)  # >= 160-bit seed, encrypted
    # RFC 6238 time step of the last accepted code: a code is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    __tablename__ = "identity_recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Passkey(Base):
    __tablename__ = "identity_passkeys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)  # up to 2^32-1
    transports: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    name: Mapped[str] = mapped_column(String(100))
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Challenge(Base):
    """A single-use challenge: WebAuthn registration or authentication, or a step-up
    challenge bound to one exact action (``action_hash`` over its canonical JSON)."""

    __tablename__ = "identity_challenges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("identity_users.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(32))  # webauthn_register | webauthn_login | step_up
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    action: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    action_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    satisfied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfied_by: Mapped[str | None] = mapped_column(String(32))
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrustedPayee(Base):
    """Payees a holder confirmed with step-up; small payments to them may be exempt."""

    __tablename__ = "identity_trusted_payees"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    payee: Mapped[str] = mapped_column(String(100))  # an account id or merchant id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "payee"),)


class ExemptionLedger(Base):
    """Running totals of step-up exemptions since the last strong authentication, per
    holder and currency (PSD2-style cumulative cap)."""

    __tablename__ = "identity_exemptions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(16), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)
    reset_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KycCheck(Base):
    __tablename__ = "identity_kyc_checks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16))  # the tier applied for
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    # Encrypted submission (name, ID number, address) as JSON text.
    submission_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """The in-app inbox. Email/SMS copies go through the delivery outbox."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_users.id"))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. security.new_device
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)


class OutboxMessage(Base):
    """Email and SMS to send, written in the same transaction as what caused them and
    delivered at least once by the outbox worker (retried with backoff)."""

    __tablename__ = "delivery_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    # Recipient and content are personal data: encrypted under the user's data key when
    # there is a user, else under the system owner key (see delivery service).
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    subject_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # Extra email headers as sealed JSON (the status emails' List-Unsubscribe), if any.
    headers_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # whose data key encrypts the above
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_delivery_outbox_due", "sent_at", "next_attempt_at"),)


class RateLimitCounter(Base):
    """Moving-window counters for the ``limits`` library when no Redis is configured, so
    that every worker process shares the same counts."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
