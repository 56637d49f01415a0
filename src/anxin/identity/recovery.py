"""Single-use recovery codes, for when the phone with the authenticator is lost.

Ten codes of 60 random bits each, shown once. They are stored as HMAC-SHA256 under a server
key that is not in the database (the vault's blind-index key, derived for this column),
not with Argon2: a slow hash protects low-entropy secrets such as passwords, but 60 random
bits cannot be guessed anyway, while a keyed hash means a copied database alone does not
allow testing a single guess offline. It also lets a code be found by one indexed equality
instead of up to ten Argon2 runs per attempt, which would be a cheap way to load the server.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.kit.ids import new_id
from anxin.models import RecoveryCode
from anxin.privacy.vault import Vault

CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so codes survive being read aloud or handwritten.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_CHARS = 12  # 12 x 5 bits = 60 bits
GROUP = 4
_INDEX_COLUMN = "identity_recovery_codes.code_hash"
_CONFUSABLE = str.maketrans({"o": "0", "i": "1", "l": "1"})


def normalise(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "").translate(_CONFUSABLE)


def _format(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def _digest(vault: Vault, user_id: uuid.UUID, normalised: str) -> str:
    # The user id is hashed in so that equal codes of two users do not look alike.
    return vault.blind_index(_INDEX_COLUMN, f"{user_id}:{normalised}")


def generate(session: Session, vault: Vault, user_id: uuid.UUID, now: datetime) -> list[str]:
    """Replace all of the user's codes with ten new ones; returns them for showing once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS)) for _ in range(CODE_COUNT)
    ]
    for raw in codes:
        session.add(
            RecoveryCode(
                id=new_id(), user_id=user_id, code_hash=_digest(vault, user_id, raw),
                used_at=None, created_at=now,
            )
        )  # fmt: skip
    session.flush()
    audit.account_event(session, user_id, "auth.recovery_codes_generated", now=now)
    return [_format(raw) for raw in codes]


def verify(session: Session, vault: Vault, user_id: uuid.UUID, code: str, now: datetime) -> bool:
    """True if ``code`` is one of the user's unused codes; it is used up at once."""
    normalised = normalise(code)
    if len(normalised) != CODE_CHARS or any(c not in ALPHABET for c in normalised):
        return False
    row = session.scalars(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(vault, user_id, normalised),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    ).first()
    if row is None:
        return False
    row.used_at = now
    session.flush()
    return True


def remaining(session: Session, user_id: uuid.UUID) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def discard_all(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.flush()
