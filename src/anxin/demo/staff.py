"""Demo staff for the agent console: made by ``create_staff`` like anyone's work account,
with a known password and an authenticator app enrolled, so a newcomer can sign in to
``/console`` straight after ``make run`` (the console asks for both factors).

Two members, because remediation needs four eyes: a senior agent who works complaints and
incidents and prepares remediation plans, and a risk officer who approves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.identity import totp
from anxin.identity.passwords import PasswordHasher, check_new_password, context_words
from anxin.identity.staff import create_staff
from anxin.models import User
from anxin.privacy.vault import Vault
from anxin.settings import Settings


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    password: str
    role: str


# Known passwords on purpose: this is demo data for a development machine only.
STAFF = (
    Member("王芳", "wang.fang@staff.example.com", "lantern-river-cedar-harvest-81",
           "senior_agent"),
    Member("Li Wei", "li.wei@staff.example.com", "copper-meadow-signal-orbit-27",
           "risk_officer"),
)  # fmt: skip
EMAILS = frozenset(m.email for m in STAFF)


def create(
    session: Session, vault: Vault, settings: Settings, member: Member, now: datetime
) -> User:
    made = create_staff(session, vault, settings, role=member.role, email=member.email,
                        name=member.name, now=now)  # fmt: skip
    # A real member sets the password with the printed set-up code; the demo sets a known
    # one, checked by the same staff rules (length, not guessable from name or address).
    check_new_password(member.password, staff=True,
                       context=context_words(member.email, member.name))  # fmt: skip
    made.user.password_hash = PasswordHasher.from_settings(settings).hash(member.password)
    made.user.password_changed_at = now
    enrolment = totp.start_enrolment(session, vault, made.user.id, label=member.email, now=now)
    # The previous step's code (inside the drift window) leaves the one shown now unused.
    previous = totp.code_at(enrolment.secret, totp.time_step(now) - 1)
    totp.confirm_enrolment(session, vault, made.user.id, code=previous, now=now)
    return made.user
