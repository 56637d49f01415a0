"""TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of drift).

The seed is 160 random bits (RFC 4226 section 4 asks for at least 128, recommends 160),
stored only encrypted under the user's data key. The time step of the last accepted code is
stored and only later steps are accepted afterwards, so a code (or an older one seen over a
shoulder) can never be used twice.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.kit.clock import to_micros
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import TotpFactor
from anxin.privacy.vault import Vault

ISSUER = "Anxin"
SECRET_CHARS = 32  # base32: 32 characters x 5 bits = 160 bits
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
TABLE = "identity_totp"
COLUMN = "secret_enc"


class TotpAlreadyEnrolled(Conflict):
    code = "totp_already_enrolled"
    title = "An authenticator app is already enrolled"


class TotpEnrolmentNotFound(NotFound):
    code = "totp_enrolment_not_found"
    title = "No authenticator app enrolment was started"


class InvalidTotpCode(Unprocessable):
    code = "invalid_code"
    title = "The code is not valid"


@dataclass(frozen=True)
class TotpEnrolment:
    factor_id: uuid.UUID
    secret: str  # base32, for typing into the app by hand
    uri: str  # otpauth:// URI, for a QR code


def time_step(now: datetime, step_seconds: int = STEP_SECONDS) -> int:
    """RFC 6238 T: whole steps since the Unix epoch (integer arithmetic, no float drift)."""
    return to_micros(now) // 1_000_000 // step_seconds


def code_at(secret: str, step: int, *, digits: int = DIGITS) -> str:
    """The code for one time step (an HOTP value with the step as counter)."""
    return str(pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).generate_otp(step))


def matching_step(
    secret: str, code: str, now: datetime, *, last_used_step: int | None
) -> int | None:
    """The step (within the drift window, after the last used one) whose code is ``code``."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    current = time_step(now)
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        # Check every candidate so the time taken does not tell which step matched.
        if hmac.compare_digest(code_at(secret, step), code) and found is None:
            found = step
    return found


def _secret(session: Session, vault: Vault, factor: TotpFactor) -> str:
    return vault.decrypt(
        session, factor.user_id, table=TABLE, column=COLUMN, row_id=factor.id,
        ciphertext=factor.secret_enc,
    )  # fmt: skip


def active_factor(session: Session, user_id: uuid.UUID) -> TotpFactor | None:
    return session.scalars(
        select(TotpFactor).where(
            TotpFactor.user_id == user_id,
            TotpFactor.confirmed_at.is_not(None),
            TotpFactor.disabled_at.is_(None),
        )
    ).first()


def start_enrolment(
    session: Session, vault: Vault, user_id: uuid.UUID, *, label: str, now: datetime
) -> TotpEnrolment:
    """A new seed for the user's app. It counts only once confirmed with a valid code."""
    if active_factor(session, user_id) is not None:
        raise TotpAlreadyEnrolled("remove the enrolled authenticator app first")
    # An abandoned enrolment is simply replaced.
    session.execute(
        delete(TotpFactor).where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_(None))
    )
    secret = pyotp.random_base32(SECRET_CHARS)
    factor_id = new_id()
    session.add(
        TotpFactor(
            id=factor_id, user_id=user_id, last_used_step=None, confirmed_at=None,
            disabled_at=None, created_at=now,
            secret_enc=vault.encrypt(
                session, user_id, table=TABLE, column=COLUMN, row_id=factor_id, plaintext=secret
            ),
        )
    )  # fmt: skip
    session.flush()
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=label, issuer_name=ISSUER
    )
    return TotpEnrolment(factor_id=factor_id, secret=secret, uri=uri)


def confirm_enrolment(
    session: Session, vault: Vault, user_id: uuid.UUID, *, code: str, now: datetime
) -> TotpFactor:
    """Prove the app holds the seed; only then does TOTP become a factor."""
    if active_factor(session, user_id) is not None:
        raise TotpAlreadyEnrolled("an authenticator app is already enrolled")
    factor = session.scalars(
        select(TotpFactor)
        .where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_(None))
        .with_for_update()
    ).first()
    if factor is None:
        raise TotpEnrolmentNotFound("start the enrolment first")
    step = matching_step(_secret(session, vault, factor), code, now, last_used_step=None)
    if step is None:
        raise InvalidTotpCode("check the time on your phone and enter the current code")
    factor.last_used_step = step
    factor.confirmed_at = now
    session.flush()
    audit.account_event(session, user_id, "auth.factor_added", now=now, method="totp")
    return factor


def verify(session: Session, vault: Vault, user_id: uuid.UUID, code: str, now: datetime) -> bool:
    """True if ``code`` is valid now and was not used before (its step is then consumed)."""
    factor = session.scalars(
        select(TotpFactor)
        .where(
            TotpFactor.user_id == user_id,
            TotpFactor.confirmed_at.is_not(None),
            TotpFactor.disabled_at.is_(None),
        )
        .with_for_update()  # two requests with the same code: only one wins the step
    ).first()
    if factor is None:
        return False
    secret = _secret(session, vault, factor)
    step = matching_step(secret, code, now, last_used_step=factor.last_used_step)
    if step is None:
        return False
    factor.last_used_step = step
    session.flush()
    return True


def disable(session: Session, user_id: uuid.UUID, now: datetime) -> TotpFactor:
    factor = active_factor(session, user_id)
    if factor is None:
        raise NotFound("no authenticator app is enrolled", code="factor_not_found")
    factor.disabled_at = now
    session.flush()
    return factor
