"""Second factors as one thing: which a user has, checking a proof, removing one.

Authenticator apps (TOTP) and passkeys are factors; recovery codes are a fallback that only
counts while the user has a factor (they are discarded with the last one). Removing a
factor needs step-up, and staff can never remove their last one: they must always sign in
with two factors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import passkeys, recovery, totp
from anxin.identity.passkeys import RelyingParty
from anxin.identity.stepup import require_step_up
from anxin.kit.errors import Conflict
from anxin.models import Passkey, TotpFactor, User
from anxin.privacy.vault import Vault

TOTP = "totp"
PASSKEY = "passkey"
RECOVERY_CODE = "recovery_code"
METHODS = (TOTP, PASSKEY, RECOVERY_CODE)


class LastFactor(Conflict):
    code = "last_factor"
    title = "Staff must keep at least one second factor"


@dataclass(frozen=True)
class FactorSummary:
    totp: TotpFactor | None
    passkeys: list[Passkey]
    recovery_codes_left: int


def summary(session: Session, user_id: uuid.UUID) -> FactorSummary:
    return FactorSummary(
        totp=totp.active_factor(session, user_id),
        passkeys=passkeys.active_passkeys(session, user_id),
        recovery_codes_left=recovery.remaining(session, user_id),
    )


def _real_factor_count(session: Session, user_id: uuid.UUID) -> int:
    found = summary(session, user_id)
    return (found.totp is not None) + len(found.passkeys)


def has_second_factor(session: Session, user_id: uuid.UUID) -> bool:
    return _real_factor_count(session, user_id) > 0


def require_step_up_to_add(
    session: Session, user: User, auth_session_id: uuid.UUID, *, method: str,
    step_up_token: str | None, now: datetime,
) -> None:  # fmt: skip
    """A stolen session alone must not be able to add an attacker's factor: once the user
    has one, adding another needs a step-up bound to that (``add_factor``, ``method``)."""
    if has_second_factor(session, user.id):
        require_step_up(
            session, user, auth_session_id, action={"type": "add_factor", "method": method},
            step_up_token=step_up_token, now=now,
        )  # fmt: skip


def enrolled_methods(session: Session, user_id: uuid.UUID) -> list[str]:
    found = summary(session, user_id)
    methods: list[str] = []
    if found.totp is not None:
        methods.append(TOTP)
    if found.passkeys:
        methods.append(PASSKEY)
    if methods and found.recovery_codes_left > 0:
        methods.append(RECOVERY_CODE)
    return methods


def verify_second_factor(
    session: Session, vault: Vault, user: User, *, method: str, proof: dict[str, Any],
    now: datetime, origin: str | None = None,
) -> bool:  # fmt: skip
    """True if ``proof`` is a valid, unused proof of ``method`` for ``user``.

    Single-use things (TOTP step, recovery code, WebAuthn challenge) are consumed. A wrong
    proof returns False and never raises: the caller counts the failure and commits.
    ``origin`` overrides the WebAuthn origin recorded with the challenge (from settings).
    """
    if not isinstance(proof, dict):
        return False
    if method == TOTP:
        code = proof.get("code")
        return isinstance(code, str) and totp.verify(session, vault, user.id, code, now)
    if method == RECOVERY_CODE:
        code = proof.get("code")
        if not isinstance(code, str) or not has_second_factor(session, user.id):
            return False
        return recovery.verify(session, vault, user.id, code, now)
    if method == PASSKEY:
        challenge_id, credential = proof.get("challenge_id"), proof.get("credential")
        if not isinstance(challenge_id, str) or not isinstance(credential, dict):
            return False
        found = passkeys.verify_assertion(
            session, challenge_id=challenge_id, credential=credential, user_id=user.id,
            now=now, origin=origin,
        )  # fmt: skip
        return found is not None
    return False


def start_passkey_assertion(
    session: Session, user_id: uuid.UUID | None, now: datetime, *,
    rp: RelyingParty | None = None, auth_session_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, dict[str, Any]]:  # fmt: skip
    """A WebAuthn login challenge: ``(challenge_id, options)`` where ``options`` is the
    JSON-ready dict for ``navigator.credentials.get()``. ``rp`` defaults to settings."""
    return passkeys.assertion_options(
        session, user_id, rp=rp or RelyingParty.from_settings(), now=now,
        auth_session_id=auth_session_id,
    )  # fmt: skip


# -- removing factors -----------------------------------------------------------------------


def _check_can_remove(session: Session, user: User) -> None:
    if user.kind == "staff" and _real_factor_count(session, user.id) <= 1:
        raise LastFactor("enrol another factor before removing this one")


def _after_removal(session: Session, user_id: uuid.UUID) -> None:
    if not has_second_factor(session, user_id):
        recovery.discard_all(session, user_id)


def disable_totp(
    session: Session, user: User, auth_session_id: uuid.UUID, *,
    step_up_token: str | None, now: datetime,
) -> None:  # fmt: skip
    factor = totp.active_factor(session, user.id)
    if factor is None:
        totp.disable(session, user.id, now)  # raises the not-found error
        return
    require_step_up(
        session, user, auth_session_id,
        action={"type": "disable_factor", "method": TOTP, "factor_id": str(factor.id)},
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    _check_can_remove(session, user)
    totp.disable(session, user.id, now)
    _after_removal(session, user.id)
    audit.account_event(session, user.id, "auth.factor_removed", now=now, method=TOTP)


def disable_passkey(
    session: Session, user: User, auth_session_id: uuid.UUID, passkey_id: uuid.UUID, *,
    step_up_token: str | None, now: datetime,
) -> None:  # fmt: skip
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id or passkey.disabled_at is not None:
        passkeys.disable(session, user.id, passkey_id, now)  # raises the not-found error
        return
    require_step_up(
        session, user, auth_session_id,
        action={"type": "disable_factor", "method": PASSKEY, "factor_id": str(passkey_id)},
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    _check_can_remove(session, user)
    passkeys.disable(session, user.id, passkey_id, now)
    _after_removal(session, user.id)
    audit.account_event(session, user.id, "auth.factor_removed", now=now, method=PASSKEY,
                        passkey_id=passkey_id)  # fmt: skip
