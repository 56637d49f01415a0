"""Demo holders: made by the identity services like anyone's account (personal data
encrypted under their own data key, the password hashed, an authenticator app enrolled),
and a way for the seed to answer step-up as the holder would.

The identity policy asks for a second factor to link a card, to pay a new payee, to send
money to a person and to sign a mandate, so demo holders have an authenticator app (the
`anxin demo totp` command prints its current code). The seed itself answers its step-ups
with the holder's recovery codes, so that the app's codes stay unused for the person
exploring the demo.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from anxin.demo import staff
from anxin.identity import contacts, recovery, sessions, stepup, totp
from anxin.identity.passwords import PasswordHasher, check_new_password, context_words
from anxin.models import User
from anxin.privacy.vault import Vault
from anxin.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    password: str
    locale: str
    card: str  # a test card of the simulated bank (Luhn-valid, settles)
    topup: int  # minor units of CNY put in through the bank


# Known passwords on purpose: this is demo data for a development machine only.
PEOPLE = (
    Person("张明", "zhang@example.com", "tea-garden-lantern-42", "zh-CN",
           "4111 1111 1111 1111", 800_00),
    Person("Alice Chen", "alice@example.com", "harbour-kite-morning-7", "en",
           "5555 5555 5555 4444", 500_00),
)  # fmt: skip
EMAILS = frozenset(p.email for p in PEOPLE)


@dataclass
class DemoHolder:
    person: Person
    user_id: uuid.UUID
    auth_session_id: uuid.UUID  # the seed's own session, ended when it is done
    recovery_codes: list[str] = field(repr=False)

    def user(self, session: Session) -> User:
        found = session.get(User, self.user_id)
        assert found is not None
        return found


def find(session: Session, vault: Vault, email: str) -> User | None:
    """The demo holder (or demo staff member) with ``email``, if the demo made one."""
    if email not in EMAILS | staff.EMAILS:
        return None
    row = contacts.find_contact(session, vault, contacts.parse_contact("email", email))
    return session.get(User, row.user_id) if row is not None else None


def create(
    session: Session, vault: Vault, settings: Settings, person: Person, now: datetime
) -> DemoHolder:
    """An active holder with a verified email, a password, an authenticator app and
    recovery codes, signed in (the seed acts in that session)."""
    check_new_password(person.password, staff=False,
                       context=context_words(person.email, person.name))  # fmt: skip
    user = contacts.new_user(
        session, vault, kind="holder", role=None, status="active",
        password_hash=PasswordHasher.from_settings(settings).hash(person.password),
        name=person.name, locale=person.locale, now=now,
    )  # fmt: skip
    contacts.add_contact(
        session, vault, user, contacts.parse_contact("email", person.email), now=now,
        verified=True,
    )  # fmt: skip
    enrolment = totp.start_enrolment(session, vault, user.id, label=person.email, now=now)
    # Confirmed with the previous step's code (inside the drift window), so the code shown
    # now is still unused when someone signs in straight after the seed.
    previous = totp.code_at(enrolment.secret, totp.time_step(now) - 1)
    totp.confirm_enrolment(session, vault, user.id, code=previous, now=now)
    codes = recovery.generate(session, vault, user.id, now)
    started = sessions.start(
        session, settings, user, methods=["password", "totp"], device=None,
        user_agent="anxin demo seed", now=now,
    )  # fmt: skip
    return DemoHolder(person, user.id, started.session.id, codes)


def stepped(
    session: Session, vault: Vault, holder: DemoHolder, now: datetime,
    act: Callable[[str | None], T],
) -> T:  # fmt: skip
    """Run ``act`` as the holder; if it asks for a second factor, answer the challenge
    with a recovery code and run it again with the step-up token (as a client would)."""
    try:
        return act(None)
    except stepup.StepUpRequired as asked:
        stepup.persist_challenge(session, asked)
        grant = stepup.satisfy(
            session, vault, holder.user(session), holder.auth_session_id, asked.pending.id,
            method="recovery_code", proof={"code": holder.recovery_codes.pop()}, now=now,
        )  # fmt: skip
        return act(grant.token)


def current_code(session: Session, vault: Vault, email: str, now: datetime) -> str | None:
    """The code a demo holder's (or staff member's) authenticator app would show now
    (None: no such person)."""
    user = find(session, vault, email)
    factor = totp.active_factor(session, user.id) if user is not None else None
    if user is None or factor is None:
        return None
    secret = vault.decrypt(
        session, user.id, table=totp.TABLE, column=totp.COLUMN, row_id=factor.id,
        ciphertext=factor.secret_enc,
    )  # fmt: skip
    return totp.code_at(secret, totp.time_step(now))
