"""Sign-up, contact verification, sign-in (with the second-factor step), password change
and password reset.

Answers never tell whether an account exists or which factor failed: an unknown
identifier costs the same password-hash time and gets the same error as a wrong password,
a sign-up with a taken phone or email gets the same answer as a new one (the owner of the
contact gets a notice instead of a code), and a reset is "sent if it exists".

Services do not commit. When a refusal must still keep what it counted (a wrong password,
code or second factor), they raise ``Rejected``: the edge commits, updates the shared
throttles, then raises the wrapped error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.identity import sessions
from anxin.identity.contacts import InvalidCode
from anxin.identity.delivery import Senders, build_senders
from anxin.identity.notifications import notify, send_to_contact
from anxin.identity.passwords import PasswordHasher, WeakPassword, check_new_password, context_words
from anxin.identity.sessions import Client, SignInOutcome, open_session
from anxin.identity.throttle import (
    MAX_FACTOR_FAILURES,
    Rejected,
    Throttle,
    build_storage,
    ensure_factors_not_blocked,
    factor_failure_error,
    record_factor_failure,
    reset_factor_failures,
)
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import Forbidden, Unauthorized
from anxin.kit.ids import new_id, parse_id
from anxin.models import Challenge, Contact, User
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings

SIGNIN_PURPOSE = "signin_second_factor"
VERIFY, RESET = "verify_contact", "reset_password"


@dataclass
class IdentityRuntime:
    """What the identity endpoints share in one process."""

    settings: Settings
    hasher: PasswordHasher
    throttle: Throttle
    senders: Senders

    @classmethod
    def build(
        cls, settings: Settings, database: Database, clock: Clock, keys: KeyService
    ) -> IdentityRuntime:
        index = keys.vault()  # only its blind-index keys are used: shared by every worker
        return cls(
            settings=settings, hasher=PasswordHasher.from_settings(settings),
            throttle=Throttle(
                build_storage(settings, database, clock),
                pseudonymise=lambda value: index.blind_index("rate_limit_counters.key", value),
            ),
            senders=build_senders(settings),
        )  # fmt: skip


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "The phone number, email or password is not right"


class ContactNotVerified(Forbidden):
    code = "contact_not_verified"
    title = "Verify your phone number or email first"


class AccountSuspended(Forbidden):
    code = "account_suspended"
    title = "This account is suspended"


class SignInExpired(Unauthorized):
    code = "signin_expired"
    title = "This sign-in attempt is not valid any more; start again"


class SecondFactorProofRequired(Unauthorized):
    code = "second_factor_proof_required"
    title = "Also give your second factor"


def _factors() -> Any:
    from anxin.identity import factors  # imported late: factors imports the step-up module

    return factors


# -- sign-up and verification -------------------------------------------------------------


def _send_code(
    session: Session, vault: Vault, rt: IdentityRuntime, contact: Contact, *, purpose: str,
    locale: str, now: datetime, lifetime: int | None = None,
) -> str:  # fmt: skip
    if lifetime is None:
        s = rt.settings
        lifetime = (
            s.verification_code_lifetime_seconds
            if purpose == VERIFY
            else s.reset_code_lifetime_seconds
        )
    code = book.issue_code(
        session, vault, contact, purpose=purpose, now=now, lifetime_seconds=lifetime
    )
    send_to_contact(
        session, vault, contact, template=purpose, locale=locale, now=now, code=code,
        minutes=max(1, lifetime // 60),
    )  # fmt: skip
    return code


def signup(
    session: Session, vault: Vault, rt: IdentityRuntime, *, contact: book.ContactValue,
    password: str, name: str | None, locale: str, now: datetime,
) -> None:  # fmt: skip
    """Create a pending account and send a code to its contact. A contact that already
    has an account gets a notice instead, and the caller sees no difference."""
    check_new_password(password, staff=False, context=context_words(contact.value, name))
    password_hash = rt.hasher.hash(password)  # also when unused: same time either way
    existing = book.find_contact(session, vault, contact)
    if existing is not None:
        owner = session.get(User, existing.user_id)
        assert owner is not None
        if owner.status == "pending":
            # Never verified: whoever proves the contact (with this password) gets it.
            owner.password_hash, owner.password_changed_at, owner.updated_at = (
                password_hash,
                now,
                now,
            )
            owner.display_name_enc = book.seal_name(session, vault, owner.id, name)
            owner.locale = locale
            _send_code(session, vault, rt, existing, purpose=VERIFY, locale=locale, now=now)
            return
        if existing.verified_at is not None:
            send_to_contact(session, vault, existing, template="already_registered",
                            locale=owner.locale, now=now)  # fmt: skip
            return
        book.drop_contact(session, existing)  # another account's unfinished contact change
    user = book.new_user(
        session, vault, kind="holder", role=None, status="pending",
        password_hash=password_hash, name=name, locale=locale, now=now,
    )  # fmt: skip
    row = book.add_contact(session, vault, user, contact, now=now)
    _send_code(session, vault, rt, row, purpose=VERIFY, locale=locale, now=now)


def _owner(session: Session, contact: Contact | None, *, pending_ok: bool) -> User | None:
    if contact is None:
        return None
    user = session.get(User, contact.user_id)
    if user is None or user.status == "closed":
        return None
    if contact.verified_at is None and not (pending_ok and user.status == "pending"):
        return None
    return user


def verify_contact(
    session: Session, vault: Vault, rt: IdentityRuntime, *, contact: book.ContactValue,
    password: str, code: str, client: Client, now: datetime,
) -> SignInOutcome:  # fmt: skip
    """Activate a pending account: its contact's code and its password; then sign in."""
    row = book.find_contact(session, vault, contact)
    user = _owner(session, row, pending_ok=True)
    password_ok = rt.hasher.verify(user.password_hash if user else None, password)
    if not password_ok or user is None or row is None or user.status != "pending":
        raise Rejected(InvalidCode(), password_failed=not password_ok, code_failed=True)
    matched = book.check_code(session, vault, user.id, purpose=VERIFY, code=code, now=now)
    if matched is None or matched.contact_id != row.id:
        raise Rejected(InvalidCode(), commit=True, code_failed=True)
    row.verified_at = now
    user.status, user.updated_at = "active", now
    return open_session(session, vault, rt.settings, user, methods=["password", "contact_code"],
                        client=client, now=now)  # fmt: skip


# -- sign-in ------------------------------------------------------------------------------


def _pending_token(session: Session, rt: IdentityRuntime, user: User, now: datetime) -> str:
    secret = secrets.token_urlsafe(32)
    row = Challenge(
        id=new_id(), user_id=user.id, session_id=None, purpose=SIGNIN_PURPOSE,
        challenge=hashlib.sha256(secret.encode()).digest(), action=None, action_hash=None,
        expires_at=now + timedelta(seconds=rt.settings.signin_challenge_lifetime_seconds),
        satisfied_at=None, satisfied_by=None, consumed_at=None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return f"{row.id.hex}.{secret}"


def signin(
    session: Session, vault: Vault, rt: IdentityRuntime, *, contact: book.ContactValue,
    password: str, client: Client, now: datetime,
) -> SignInOutcome:  # fmt: skip
    user = _owner(session, book.find_contact(session, vault, contact), pending_ok=True)
    if not rt.hasher.verify(user.password_hash if user else None, password) or user is None:
        if user is not None:
            user.failed_passwords += 1
            audit.account_event(session, user.id, "auth.signin_failed", now=now, reason="password")
        raise Rejected(InvalidCredentials(), commit=True, password_failed=True)
    if user.status == "pending":
        raise ContactNotVerified("enter the code we sent; sign up again to get a new one")
    if user.status != "active":
        raise AccountSuspended("contact support to find out why and what to do")
    if rt.hasher.needs_rehash(user.password_hash):
        user.password_hash = rt.hasher.hash(password)  # parameters were raised since
    user.failed_passwords = 0
    factors = _factors()
    methods: list[str] = factors.enrolled_methods(session, user.id)
    if not methods:
        # Staff without a factor get a session good only for enrolling one.
        return open_session(
            session, vault, rt.settings, user, methods=["password"], client=client, now=now
        )
    passkey = None
    if "passkey" in methods:
        challenge_id, options = factors.start_passkey_assertion(session, user.id, now)
        passkey = {"challenge_id": str(challenge_id), "options": options}
    return SignInOutcome(
        "second_factor_required", user, pending_token=_pending_token(session, rt, user, now),
        methods=methods, passkey=passkey,
    )  # fmt: skip


def _check_factor(
    session: Session, vault: Vault, user: User, *, method: str, proof: dict[str, Any],
    now: datetime, origin: str | None = None,
) -> None:  # fmt: skip
    factors = _factors()
    ensure_factors_not_blocked(session, user, now)
    valid = method in factors.enrolled_methods(session, user.id) and factors.verify_second_factor(
        session, vault, user, method=method, proof=proof, now=now, origin=origin
    )
    if not valid:
        failures = record_factor_failure(session, user, now)
        audit.account_event(session, user.id, "auth.second_factor_failed", now=now, method=method)
        if failures == MAX_FACTOR_FAILURES:
            notify(session, vault, user, "security.factors_blocked", now=now)
        raise Rejected(factor_failure_error(failures), commit=True, code_failed=True)
    reset_factor_failures(session, user)


def signin_second_factor(
    session: Session, vault: Vault, rt: IdentityRuntime, *, pending_token: str, method: str,
    proof: dict[str, Any], client: Client, now: datetime, origin: str | None = None,
) -> SignInOutcome:  # fmt: skip
    head, _, secret = pending_token.partition(".")
    challenge_id = parse_id(head) if len(head) == 32 else None
    row = session.get(Challenge, challenge_id) if challenge_id else None
    if (
        row is None or row.purpose != SIGNIN_PURPOSE or row.consumed_at is not None
        or row.expires_at <= now or row.user_id is None
        or not hmac.compare_digest(row.challenge, hashlib.sha256(secret.encode()).digest())
    ):  # fmt: skip
        raise SignInExpired()
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        raise SignInExpired()
    _check_factor(session, vault, user, method=method, proof=proof, now=now, origin=origin)
    row.consumed_at, row.satisfied_at, row.satisfied_by = now, now, method
    methods = ["password", method]
    return open_session(session, vault, rt.settings, user, methods=methods, client=client, now=now)


# -- passwords ----------------------------------------------------------------------------


def password_context(session: Session, vault: Vault, user: User) -> list[str]:
    values = [book.reveal(session, vault, c) for c in book.contacts_of(session, user.id)]
    return context_words(*values, book.display_name(session, vault, user))


def set_password(
    session: Session, vault: Vault, rt: IdentityRuntime, user: User, new_password: str, *,
    now: datetime, keep_session: uuid.UUID | None = None,
) -> None:  # fmt: skip
    check_new_password(
        new_password, staff=user.kind == "staff", context=password_context(session, vault, user)
    )
    if rt.hasher.verify(user.password_hash, new_password):
        raise WeakPassword("choose a password other than the current one", reason="unchanged")
    user.password_hash = rt.hasher.hash(new_password)
    user.password_changed_at = user.updated_at = now
    user.failed_passwords = 0
    sessions.revoke_all(session, user.id, now, keep=keep_session)
    audit.account_event(session, user.id, "auth.password_changed", now=now)
    notify(session, vault, user, "security.password_changed", now=now)


def change_password(
    session: Session, vault: Vault, rt: IdentityRuntime, user: User,
    auth_session_id: uuid.UUID, *, current: str, new: str, step_up_token: str | None,
    now: datetime,
) -> None:  # fmt: skip
    if not rt.hasher.verify(user.password_hash, current):
        user.failed_passwords += 1
        raise Rejected(
            InvalidCredentials("the current password is not right", code="invalid_password"),
            commit=True, password_failed=True,
        )  # fmt: skip
    from anxin.identity.stepup import require_step_up

    require_step_up(
        session, user, auth_session_id, action={"type": "change_password"},
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    set_password(session, vault, rt, user, new, now=now, keep_session=auth_session_id)


def request_reset(
    session: Session, vault: Vault, rt: IdentityRuntime, *, contact: book.ContactValue,
    now: datetime,
) -> None:  # fmt: skip
    row = book.find_contact(session, vault, contact)
    user = _owner(session, row, pending_ok=False)
    if user is not None and row is not None and user.status == "active":
        _send_code(session, vault, rt, row, purpose=RESET, locale=user.locale, now=now)


def confirm_reset(
    session: Session, vault: Vault, rt: IdentityRuntime, *, contact: book.ContactValue,
    code: str, new_password: str, second_factor: dict[str, Any] | None, now: datetime,
    origin: str | None = None,
) -> User:  # fmt: skip
    """Set a new password with a code sent to a verified contact, plus the second factor
    when one is enrolled. Every session of the account ends."""
    row = book.find_contact(session, vault, contact)
    user = _owner(session, row, pending_ok=False)
    if user is None or row is None or user.status != "active":
        raise Rejected(InvalidCode(), code_failed=True)
    matched = book.check_code(
        session, vault, user.id, purpose=RESET, code=code, now=now, consume=False
    )
    if matched is None or matched.contact_id != row.id:
        raise Rejected(InvalidCode(), commit=True, code_failed=True)
    factors = _factors()
    methods: list[str] = factors.enrolled_methods(session, user.id)
    if methods:
        ensure_factors_not_blocked(session, user, now)
        if not second_factor:
            passkey = None
            if "passkey" in methods:
                challenge_id, options = factors.start_passkey_assertion(session, user.id, now)
                passkey = {"challenge_id": str(challenge_id), "options": options}
            error = SecondFactorProofRequired(
                "this account has a second factor: send `second_factor` with the code",
                methods=methods, passkey=passkey,
            )  # fmt: skip
            raise Rejected(error, commit=passkey is not None)
        _check_factor(
            session, vault, user, method=str(second_factor.get("method", "")),
            proof=second_factor.get("proof") or {}, now=now, origin=origin,
        )  # fmt: skip
    set_password(session, vault, rt, user, new_password, now=now)
    matched.consumed_at = now
    reset_factor_failures(session, user)
    return user
