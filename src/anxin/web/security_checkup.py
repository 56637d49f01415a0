"""What the security checkup shows: the holder's factors, sessions, recent sign-ins, the
password's age, and tips computed from all of that, each with where to fix it.

Sign-ins come from the audit log (``auth.signin``, ``auth.signin_failed``,
``auth.second_factor_failed``, written by the identity services for the holder as subject):
it is the only record of failures, and it is append-only. Neither it nor the sessions
record network addresses, so none are shown; a session is described by its browser.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.identity import contacts as book
from anxin.identity import factors, sessions
from anxin.models import Session as AuthSession
from anxin.models.insider import AuditEntry
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.guard import Holder
from anxin.web.words import N_

PASSWORD_OLD_DAYS = 365  # older than this, suggest a new one
FEW_CODES = 3
NEW_DEVICE_DAYS = 14  # a sign-in from a new device this recent gets a tip
SIGNINS_SHOWN = 10
SIGNIN_EVENTS = ("auth.signin", "auth.signin_failed", "auth.second_factor_failed")
METHOD_WORDS = (
    N_("password"), N_("totp"), N_("passkey"), N_("recovery_code"), N_("contact_code"),
    N_("user_verification"),
)  # fmt: skip
TIPS = (
    N_("You have no second factor: anyone who learns your password could move your money. Set up an authenticator app or a passkey."),  # noqa: E501
    N_("You have no recovery codes. Make some, in case you lose the phone with your second factor."),  # noqa: E501
    N_("Only %(num)s recovery codes are left. Make new ones."),
    N_("Your password is %(days)s days old. Consider choosing a new one."),
    N_("Your new contact %(contact)s is not verified yet. Enter the code we sent to it."),
    N_("A new device (%(device)s) signed in on %(date)s. If it was not you, sign it out and change your password."),  # noqa: E501
    N_("There were %(num)s failed sign-in attempts recently. If they were not you, change your password."),  # noqa: E501
)  # fmt: skip


@dataclass(frozen=True)
class Tip:
    text: str  # an English source text of TIPS, translated by the template
    link: str
    link_text: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignIn:
    at: datetime
    ok: bool
    how: list[str]  # methods for a success; the failed step for a failure
    device: str | None
    new_device: bool = False
    session_id: str | None = None


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    device: str
    current: bool
    started: datetime
    last_seen: datetime
    methods: list[str]


@dataclass
class Checkup:
    totp: bool
    passkeys: int
    codes_left: int
    sessions: list[SessionRow]
    signins: list[SignIn]
    password_days: int
    unverified: list[str]
    tips: list[Tip] = field(default_factory=list)


def _signins(session: Session, user_id: uuid.UUID) -> list[SignIn]:
    rows = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_id == user_id, AuditEntry.event.in_(SIGNIN_EVENTS))
            .order_by(AuditEntry.seq.desc())
            .limit(SIGNINS_SHOWN)
        )
    )
    ids = [
        uuid.UUID(str(r.data["session_id"])) for r in rows if r.data.get("session_id") is not None
    ]
    agents = {
        s.id: s.user_agent
        for s in session.scalars(select(AuthSession).where(AuthSession.id.in_(ids)))
    }
    found = []
    for r in rows:
        if r.event == "auth.signin":
            sid = r.data.get("session_id")
            agent = agents.get(uuid.UUID(str(sid))) if sid else None
            found.append(SignIn(
                r.at, True, [str(m) for m in r.data.get("methods") or []],
                sessions.device_label(agent) if sid else None, bool(r.data.get("new_device")),
                str(sid) if sid else None,
            ))  # fmt: skip
        else:
            step = r.data.get("method") or r.data.get("reason") or "password"
            found.append(SignIn(r.at, False, [str(step)], None))
    return found


def _sessions(session: Session, holder: Holder) -> list[SessionRow]:
    return [
        SessionRow(
            id=r.id,
            device=sessions.device_label(r.user_agent),
            current=r.id == holder.session.id,
            started=r.created_at,
            last_seen=r.last_seen_at,
            methods=list(r.auth_methods),
        )
        for r in sessions.list_live(session, holder.user.id, holder.now)
    ]


def _tips(state: Checkup, holder: Holder) -> list[Tip]:
    tips: list[Tip] = []
    has_factor = state.totp or state.passkeys > 0
    if not has_factor:
        tips.append(Tip(TIPS[0], "/security/totp", N_("Set up an authenticator app")))
    elif state.codes_left == 0:
        tips.append(Tip(TIPS[1], "/security/recovery-codes", N_("Make recovery codes")))
    elif state.codes_left <= FEW_CODES:
        tips.append(Tip(TIPS[2], "/security/recovery-codes", N_("Make new codes"),
                        {"num": state.codes_left}))  # fmt: skip
    if state.password_days > PASSWORD_OLD_DAYS:
        tips.append(Tip(TIPS[3], "/security/password", N_("Change password"),
                        {"days": state.password_days}))  # fmt: skip
    for masked in state.unverified:
        tips.append(Tip(TIPS[4], "/security/contact", N_("Enter the code"), {"contact": masked}))
    recent = holder.now - timedelta(days=NEW_DEVICE_DAYS)
    mine = str(holder.session.id)
    for s in state.signins:
        # Not this very session, nor the sign-up's (its device is the account's first).
        first = "contact_code" in s.how
        if s.ok and s.new_device and s.at > recent and not first and s.session_id != mine:
            when = s.at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d")
            tips.append(Tip(TIPS[5], "#sessions", N_("Review sessions"),
                            {"device": s.device or "?", "date": when}))  # fmt: skip
            break
    failures = sum(1 for s in state.signins if not s.ok)
    if failures:
        tips.append(Tip(TIPS[6], "/security/password", N_("Change password"), {"num": failures}))
    return tips


def gather(session: Session, holder: Holder) -> Checkup:
    found = factors.summary(session, holder.user.id)
    state = Checkup(
        totp=found.totp is not None, passkeys=len(found.passkeys),
        codes_left=found.recovery_codes_left, sessions=_sessions(session, holder),
        signins=_signins(session, holder.user.id),
        password_days=max(0, (holder.now - holder.user.password_changed_at).days),
        unverified=[c.masked for c in book.contacts_of(session, holder.user.id)
                    if c.verified_at is None],
    )  # fmt: skip
    state.tips = _tips(state, holder)
    return state
