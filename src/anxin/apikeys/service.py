"""Creating, checking and revoking operator API keys.

A key looks like ``anx_<prefix>_<secret>``. The prefix finds the row; the secret is
compared by its SHA-256 in constant time. The plaintext exists only in the creator's hands.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import ApiKey

# Scopes an operator key can carry. "ledger" may read and move money; "ledger:read" only
# reads. Later capabilities add their own.
SCOPES: dict[str, str] = {
    "ledger": "read and write accounts, transfers and assets",
    "ledger:read": "read accounts, transfers and assets",
    "care:import": "import social-media posts as care tickets (POST /v1/care/import/social)",
}
IMPLIED: dict[str, set[str]] = {"ledger": {"ledger:read"}}
NAME_MAX = 100  # the api_keys.name column


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    plaintext: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the API key and the scopes it grants."""

    key_id: uuid.UUID
    name: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope", code="insufficient_scope")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise Unprocessable(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(SCOPES)}",
            code="invalid_scopes",
        )
    return scopes


def create_key(session: Session, *, name: str, scopes: list[str], now: datetime) -> CreatedKey:
    if not name.strip():
        raise Unprocessable("an API key needs a name", code="invalid_name")
    # Checked here rather than left to the column: SQLite would store any length.
    if len(name.strip()) > NAME_MAX or "\x00" in name:
        raise Unprocessable(
            f"an API key name is at most {NAME_MAX} characters, without NUL",
            code="invalid_name",
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(), name=name.strip(), prefix=prefix, secret_hash=_digest(secret),
        scopes=scopes, created_at=now, last_used_at=None, revoked_at=None,
    )  # fmt: skip
    session.add(key)
    session.flush()
    return CreatedKey(key=key, plaintext=f"anx_{prefix}_{secret}")


def authenticate(session: Session, presented: str) -> Principal:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "anx":
        raise Unauthorized("malformed API key", code="invalid_api_key")
    _, prefix, secret = parts
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    # Compare even when no key matched, so timing does not tell which prefixes exist.
    expected = key.secret_hash if key is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or key is None:
        raise Unauthorized("invalid API key", code="invalid_api_key")
    if key.revoked_at is not None:
        raise Unauthorized("this API key was revoked", code="api_key_revoked")
    granted = set(key.scopes)
    for scope in key.scopes:
        granted |= IMPLIED.get(scope, set())
    return Principal(key_id=key.id, name=key.name, scopes=frozenset(granted))


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, key_ref: str, *, now: datetime) -> ApiKey:
    """Revoke by id or by prefix."""
    query = select(ApiKey).where(ApiKey.prefix == key_ref)
    with contextlib.suppress(ValueError):  # not an id: a prefix, then
        query = select(ApiKey).where((ApiKey.id == uuid.UUID(key_ref)) | (ApiKey.prefix == key_ref))
    key = session.scalars(query).one_or_none()
    if key is None:
        raise NotFound(f"no API key {key_ref!r}", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key
