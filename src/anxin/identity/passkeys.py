"""Passkeys (WebAuthn) with py_webauthn: registration and authentication ceremonies.

Every ceremony uses a single-use, short-lived challenge stored in ``identity_challenges``;
it is consumed before the response is checked, so a failed attempt cannot be retried with
the same challenge either. The relying-party id and origin recorded with the challenge come
from settings, never from the request. User verification (PIN or biometrics on the device)
is required, so a passkey alone is two factors. A sign count that does not grow over the
stored one means a cloned authenticator and is refused.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from anxin.audit import service as audit
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id, parse_id
from anxin.models import Challenge, Passkey
from anxin.settings import Settings, get_settings

REGISTER = "webauthn_register"
LOGIN = "webauthn_login"
CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = 300_000
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class PasskeyRejected(Unprocessable):
    code = "passkey_rejected"
    title = "The passkey could not be verified"


class PasskeyAlreadyRegistered(Conflict):
    code = "passkey_already_registered"
    title = "This passkey is already registered"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RelyingParty:
        settings = settings or get_settings()
        return cls(
            id=settings.webauthn_rp_id, name=settings.webauthn_rp_name,
            origin=settings.webauthn_origin,
        )  # fmt: skip


def _new_challenge(
    session: Session, *, purpose: str, user_id: uuid.UUID | None, session_id: uuid.UUID | None,
    rp: RelyingParty, now: datetime,
) -> Challenge:  # fmt: skip
    # The ceremony's expected RP id and origin are recorded with the challenge so that the
    # response is checked against exactly what the options announced.
    row = Challenge(
        id=new_id(), user_id=user_id, session_id=session_id, purpose=purpose,
        challenge=secrets.token_bytes(32), action={"rp_id": rp.id, "origin": rp.origin},
        action_hash=None, expires_at=now + CHALLENGE_TTL, satisfied_at=None,
        satisfied_by=None, consumed_at=None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _consume(
    session: Session, challenge_id: str | uuid.UUID, *, purpose: str, now: datetime
) -> Challenge | None:
    """The challenge if it is live, marked consumed; None if unknown, used or expired."""
    parsed = challenge_id if isinstance(challenge_id, uuid.UUID) else parse_id(str(challenge_id))
    if parsed is None:
        return None
    row = session.scalars(select(Challenge).where(Challenge.id == parsed).with_for_update()).first()
    if row is None or row.purpose != purpose or row.consumed_at is not None:
        return None
    if row.expires_at <= now:
        return None
    row.consumed_at = now
    session.flush()
    return row


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=p.credential_id,
            transports=[AuthenticatorTransport(t) for t in p.transports if t in known] or None,
        )
        for p in passkeys
    ]


def active_passkeys(session: Session, user_id: uuid.UUID) -> list[Passkey]:
    return list(
        session.scalars(
            select(Passkey)
            .where(Passkey.user_id == user_id, Passkey.disabled_at.is_(None))
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


# -- registration ---------------------------------------------------------------------------


def registration_options(
    session: Session, user_id: uuid.UUID, *, auth_session_id: uuid.UUID | None,
    user_name: str, rp: RelyingParty, now: datetime,
) -> tuple[uuid.UUID, dict[str, Any]]:  # fmt: skip
    challenge = _new_challenge(
        session, purpose=REGISTER, user_id=user_id, session_id=auth_session_id, rp=rp, now=now
    )
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=user_name,
        # The user handle is the opaque user id: no personal data goes to the authenticator.
        user_id=user_id.bytes, user_display_name=user_name, challenge=challenge.challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(active_passkeys(session, user_id)),
    )  # fmt: skip
    return challenge.id, options_to_json_dict(options)


def register(
    session: Session, user_id: uuid.UUID, *, challenge_id: str | uuid.UUID,
    credential: dict[str, Any], name: str, now: datetime,
) -> Passkey:  # fmt: skip
    """Check an attestation (``navigator.credentials.create()`` JSON) and store the key.

    The challenge is consumed even when the check fails: the caller should commit that.
    """
    challenge = _consume(session, challenge_id, purpose=REGISTER, now=now)
    if challenge is None or challenge.user_id != user_id or challenge.action is None:
        raise PasskeyRejected("the registration challenge is unknown, used or expired")
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge.challenge,
            expected_rp_id=challenge.action["rp_id"], expected_origin=challenge.action["origin"],
            require_user_verification=True,
        )  # fmt: skip
    except _MALFORMED as error:
        raise PasskeyRejected(str(error) or "the registration response is malformed") from error
    existing = session.scalars(
        select(Passkey).where(Passkey.credential_id == verified.credential_id)
    ).first()
    if existing is not None:
        raise PasskeyAlreadyRegistered("this authenticator is already registered")
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        id=new_id(), user_id=user_id, credential_id=verified.credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=[t[:32] for t in transports if isinstance(t, str)][:8], name=name,
        backed_up=verified.credential_backed_up, created_at=now, last_used_at=None,
        disabled_at=None,
    )  # fmt: skip
    session.add(passkey)
    session.flush()
    audit.account_event(session, user_id, "auth.factor_added", now=now, method="passkey",
                        passkey_id=passkey.id)  # fmt: skip
    return passkey


# -- authentication -------------------------------------------------------------------------


def assertion_options(
    session: Session, user_id: uuid.UUID | None, *, rp: RelyingParty, now: datetime,
    auth_session_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, dict[str, Any]]:  # fmt: skip
    """Options for ``navigator.credentials.get()``. Without a user (passwordless sign-in)
    the browser offers the passkeys it holds for this relying party."""
    challenge = _new_challenge(
        session, purpose=LOGIN, user_id=user_id, session_id=auth_session_id, rp=rp, now=now
    )
    allowed = _descriptors(active_passkeys(session, user_id)) if user_id is not None else []
    options = generate_authentication_options(
        rp_id=rp.id, challenge=challenge.challenge, timeout=TIMEOUT_MS,
        allow_credentials=allowed, user_verification=UserVerificationRequirement.REQUIRED,
    )  # fmt: skip
    return challenge.id, options_to_json_dict(options)


def credential_id_of(credential: Any) -> bytes | None:
    try:
        raw = credential["rawId"]
        return base64url_to_bytes(raw) if isinstance(raw, str) else None
    except _MALFORMED:
        return None


def verify_assertion(
    session: Session, *, challenge_id: str | uuid.UUID, credential: Any,
    user_id: uuid.UUID | None, now: datetime, origin: str | None = None,
) -> Passkey | None:  # fmt: skip
    """The passkey that signed this assertion, or None if anything is wrong.

    With ``user_id`` the passkey must be that user's (second factor); without it, any
    active passkey identifies its owner (passwordless sign-in).
    """
    challenge = _consume(session, challenge_id, purpose=LOGIN, now=now)
    if challenge is None or challenge.action is None:
        return None
    if challenge.user_id is not None and challenge.user_id != user_id:
        return None
    raw_id = credential_id_of(credential) if isinstance(credential, dict) else None
    if raw_id is None:
        return None
    passkey = session.scalars(
        select(Passkey)
        .where(Passkey.credential_id == raw_id, Passkey.disabled_at.is_(None))
        .with_for_update()
    ).first()
    if passkey is None or (user_id is not None and passkey.user_id != user_id):
        return None
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge.challenge,
            expected_rp_id=challenge.action["rp_id"],
            expected_origin=origin or challenge.action["origin"],
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )  # fmt: skip
    except _MALFORMED:
        return None
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = now
    session.flush()
    return passkey


def disable(session: Session, user_id: uuid.UUID, passkey_id: uuid.UUID, now: datetime) -> None:
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user_id or passkey.disabled_at is not None:
        # Someone else's passkey is reported exactly like a missing one.
        raise NotFound("no such passkey", code="factor_not_found")
    passkey.disabled_at = now
    session.flush()


def encode_id(credential_id: bytes) -> str:
    return bytes_to_base64url(credential_id)
