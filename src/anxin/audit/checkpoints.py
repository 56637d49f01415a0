"""Signed checkpoints of the audit log (Ed25519).

A checkpoint says "entry ``seq`` of Anxin's audit log has hash ``hash``", signed with the
keyring's audit signing key. Published (on a status page, in a newspaper, to a regulator),
it pins all history up to that entry: rewriting any of it, even re-hashing the whole chain
afterwards, no longer matches the published hash, and only the holder of the private key
could sign a replacement. Each checkpoint is also recorded as an ``audit.checkpoint`` entry,
so deleting a checkpoint row is seen too.

The signed message is the canonical JSON of ``{"at", "hash", "key_id", "log", "seq"}``
(sorted keys, no spaces, UTF-8); ``hash`` is hex, ``at`` is RFC 3339 UTC, ``key_id`` is the
first 32 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.kit.canonical import canonical_json
from anxin.kit.errors import AnxinError, Conflict
from anxin.kit.ids import new_id
from anxin.models.insider import AuditCheckpoint
from anxin.privacy.keyring import Keyring

LOG_NAME = "anxin-audit"


class NoSigningKey(AnxinError):
    status = 500
    code = "audit_signing_key_missing"
    title = "No audit signing key"


class NothingToCheckpoint(Conflict):
    code = "audit_log_empty"
    title = "The audit log has no entries yet"


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def signer_of(keyring: Keyring) -> Signer:
    if keyring.audit_signing_key is None:
        raise NoSigningKey(
            f"{keyring.source} has no audit signing key: add one with `anxin audit keygen`"
        )
    return Signer(Ed25519PrivateKey.from_private_bytes(keyring.audit_signing_key))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def message(*, seq: int, digest: bytes, at: datetime, signer_key_id: str) -> bytes:
    return canonical_json(
        {"at": _rfc3339(at), "hash": digest.hex(), "key_id": signer_key_id, "log": LOG_NAME,
         "seq": seq}
    )  # fmt: skip


def create(session: Session, signer: Signer, now: datetime) -> AuditCheckpoint:
    """Sign the current head. Holds the audit head lock until the caller commits."""
    audit.flush(session)
    seq, digest, restored = audit.lock_head(session.connection())
    if seq == 0:
        raise NothingToCheckpoint("nothing to sign: the audit log is empty")
    row = AuditCheckpoint(
        id=new_id(), seq=seq, hash=digest, at=now, key_id=signer.key_id,
        signature=signer.sign(message(seq=seq, digest=digest, at=now,
                                      signer_key_id=signer.key_id)),
    )  # fmt: skip
    session.add(row)
    session.flush()
    if restored:
        audit.append(session, event="audit.head_restored", actor_id=None, actor_role=None,
                     subject_id=None, data={"last_seq": seq}, now=now)  # fmt: skip
    audit.append(
        session, event="audit.checkpoint", actor_id=None, actor_role=None, subject_id=None,
        data={"checkpoint_id": row.id, "seq": seq, "hash": digest.hex(),
              "key_id": row.key_id, "signature": base64.b64encode(row.signature).decode()},
        now=now,
    )  # fmt: skip
    return row


def published(row: AuditCheckpoint, public_key: bytes | None) -> dict[str, Any]:
    """The checkpoint as a JSON document to publish."""
    doc: dict[str, Any] = {
        "log": LOG_NAME, "seq": row.seq, "hash": row.hash.hex(), "at": _rfc3339(row.at),
        "key_id": row.key_id, "signature": base64.b64encode(row.signature).decode(),
    }  # fmt: skip
    if public_key is not None:
        doc["public_key"] = base64.b64encode(public_key).decode()
    return doc


def signature_valid(
    public_key: bytes, *, seq: int, digest: bytes, at: datetime, signer_key_id: str,
    signature: bytes,
) -> bool:  # fmt: skip
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, message(seq=seq, digest=digest, at=at, signer_key_id=signer_key_id)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.at.desc())
    ).first()
