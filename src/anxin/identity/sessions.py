"""Sessions and devices.

A session token is 256 random bits handed to the client once; only its SHA-256 is stored,
so a copy of the database opens no session. Every sign-in makes a new token (no fixation).
A session ends when unused for its idle timeout (holders 5 minutes, as PSD2 requires;
staff 15), at its absolute lifetime (12 hours), or when revoked (sign-out, password
change, suspension, or by the user from their session list).

A device is a browser or app that signed in before, recognised by a long-lived random
device token (cookie or stored by the app), also kept only as a hash.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity.notifications import notify
from anxin.kit.errors import NotFound, Unauthorized
from anxin.kit.ids import new_id
from anxin.models import Device, User
from anxin.models import Session as AuthSession
from anxin.privacy.vault import Vault
from anxin.settings import Settings

SESSION_COOKIE = "__Host-anxin_session"
DEVICE_COOKIE = "__Host-anxin_device"
DEVICE_COOKIE_MAX_AGE = 400 * 86_400  # the longest browsers keep a cookie
TOKEN_BYTES = 32


class NotSignedIn(Unauthorized):
    code = "not_signed_in"
    title = "Sign in first"


class SessionInvalid(Unauthorized):
    code = "session_invalid"
    title = "This session is not valid; sign in again"


class SessionExpired(Unauthorized):
    code = "session_expired"
    title = "This session expired; sign in again"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


@dataclass(frozen=True)
class Started:
    session: AuthSession
    token: str


def idle_timeout(settings: Settings, user: User) -> int:
    if user.kind == "staff":
        return settings.staff_idle_timeout_seconds
    return settings.holder_idle_timeout_seconds


def start(
    session: Session, settings: Settings, user: User, *, methods: list[str],
    device: Device | None, user_agent: str | None, now: datetime,
) -> Started:  # fmt: skip
    token, digest = _new_token()
    row = AuthSession(
        id=new_id(), user_id=user.id, token_hash=digest,
        device_id=device.id if device else None,
        user_agent=(user_agent or "")[:300] or None, auth_methods=methods,
        created_at=now, last_seen_at=now, idle_timeout_seconds=idle_timeout(settings, user),
        expires_at=now + timedelta(seconds=settings.session_lifetime_seconds), revoked_at=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return Started(row, token)


def idle_deadline(row: AuthSession) -> datetime:
    return row.last_seen_at + timedelta(seconds=row.idle_timeout_seconds)


def is_live(row: AuthSession, now: datetime) -> bool:
    return row.revoked_at is None and row.expires_at > now and idle_deadline(row) > now


def authenticate(session: Session, token: str, now: datetime) -> tuple[AuthSession, User]:
    """The live session for a token (touched: its idle timer restarts) and its user."""
    if not token or len(token) > 200:
        raise SessionInvalid()
    row = session.scalars(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise SessionInvalid()
    if row.expires_at <= now or idle_deadline(row) <= now:
        raise SessionExpired(
            "this session ended after being unused too long"
            if row.expires_at > now
            else "this session reached its maximum lifetime"
        )
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        raise SessionInvalid("this account cannot be used")
    row.last_seen_at = now
    session.flush()
    return row, user


def list_live(session: Session, user_id: uuid.UUID, now: datetime) -> list[AuthSession]:
    rows = session.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
    )
    return [row for row in rows if is_live(row, now)]


def revoke(session: Session, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> None:
    row = session.get(AuthSession, session_id)
    # Another user's session is "not found": its id tells the caller nothing.
    if row is None or row.user_id != user_id or not is_live(row, now):
        raise NotFound("no such session", code="session_not_found")
    row.revoked_at = now
    session.flush()


def revoke_all(
    session: Session, user_id: uuid.UUID, now: datetime, *, keep: uuid.UUID | None = None
) -> int:
    query = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    result = session.execute(
        query.values(revoked_at=now).execution_options(synchronize_session="fetch")
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


# -- devices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recognised:
    device: Device
    token: str | None  # set when a new device token was issued
    new: bool  # first sign-in from this device
    first_ever: bool  # the user had no device before (sign-up): nothing to warn about


def recognise_device(
    session: Session, user: User, token: str | None, *, label: str | None, now: datetime
) -> Recognised:
    if token and len(token) <= 200:
        known = session.scalars(
            select(Device).where(Device.token_hash == token_hash(token), Device.user_id == user.id)
        ).one_or_none()
        if known is not None:
            known.last_seen_at = now
            session.flush()
            return Recognised(known, None, new=False, first_ever=False)
    had_any = session.scalar(select(Device.id).where(Device.user_id == user.id).limit(1))
    fresh, digest = _new_token()
    device = Device(
        id=new_id(), user_id=user.id, token_hash=digest, label=(label or "")[:300] or None,
        first_seen_at=now, last_seen_at=now,
    )  # fmt: skip
    session.add(device)
    session.flush()
    return Recognised(device, fresh, new=True, first_ever=had_any is None)


@dataclass(frozen=True)
class Client:
    """Who is on the other end of a sign-in: address (for throttles), browser, device."""

    address: str
    user_agent: str | None = None
    device_token: str | None = None


@dataclass
class SignInOutcome:
    status: str  # signed_in | second_factor_required
    user: User
    started: Started | None = None
    device: Recognised | None = None
    pending_token: str | None = None
    methods: list[str] = field(default_factory=list)
    passkey: dict[str, Any] | None = None


def open_session(
    session: Session, vault: Vault, settings: Settings, user: User, *, methods: list[str],
    client: Client, now: datetime,
) -> SignInOutcome:  # fmt: skip
    """Start a session (new token) and note the device; warn about an unknown device."""
    label = device_label(client.user_agent)
    device = recognise_device(session, user, client.device_token, label=label, now=now)
    started = start(
        session, settings, user, methods=methods, device=device.device,
        user_agent=client.user_agent, now=now,
    )  # fmt: skip
    audit.account_event(session, user.id, "auth.signin", now=now, methods=methods,
                        session_id=started.session.id, new_device=device.new)  # fmt: skip
    if device.new and not device.first_ever:
        notify(
            session, vault, user, "security.new_device", now=now, device=label,
            data={"device_id": str(device.device.id), "session_id": str(started.session.id)},
        )  # fmt: skip
    return SignInOutcome("signed_in", user, started=started, device=device)


def device_label(user_agent: str | None) -> str:
    """A short, non-identifying description of a browser for notifications."""
    agent = (user_agent or "").lower()
    browser = next(
        (name for key, name in (("micromessenger", "WeChat"), ("edg", "Edge"), ("chrome", "Chrome"),
                                ("firefox", "Firefox"), ("safari", "Safari")) if key in agent),
        "an app",
    )  # fmt: skip
    system = next(
        (name for key, name in (("android", "Android"), ("iphone", "iPhone"), ("ipad", "iPad"),
                                ("windows", "Windows"), ("mac os", "macOS"), ("linux", "Linux"))
         if key in agent),
        "",
    )  # fmt: skip
    return f"{browser} on {system}" if system else browser
