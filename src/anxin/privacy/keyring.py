"""Key-encryption keys (KEKs) and the KMS protocol.

KEKs come from a key file (``ANXIN_KEY_FILE``, JSON) or the environment
(``ANXIN_KEK``, base64 of 32 bytes). A key file holds every version ever used, so data
keys wrapped under an old version still open while ``anxin keys rotate`` re-wraps them
under the new one — rotation needs no downtime. Another KMS (a cloud or hardware one) fits
behind the ``Kms`` protocol.

Key file format::

    {"active": 2, "development": false,
     "keks": [{"version": 1, "key": "<base64>"}, {"version": 2, "key": "<base64>"}],
     "blind_index_key": "<base64>", "audit_signing_key": "<base64>"}

``audit_signing_key`` (an Ed25519 private key, 32 bytes) signs the audit log's checkpoints.
Key files written before it existed have none: ``anxin audit keygen`` adds one, and in
development it is added on first use.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anxin.kit.errors import AnxinError

NONCE_BYTES = 12


class KeyError_(AnxinError):  # noqa: N801 - "KeyError" is a builtin
    status = 500
    code = "key_unavailable"
    title = "Encryption key unavailable"


class Kms(Protocol):
    """Wraps and unwraps data keys; the KEK itself never leaves the KMS."""

    key_id: str

    @property
    def active_version(self) -> int: ...
    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[int, bytes]: ...
    def unwrap(self, version: int, wrapped: bytes, *, context: bytes) -> bytes: ...


@dataclass(frozen=True)
class Keyring:
    """The parsed key file (or environment)."""

    keks: dict[int, bytes]
    active: int
    blind_index_key: bytes
    development: bool = False
    source: str = "environment"
    audit_signing_key: bytes | None = None

    def as_json(self) -> str:
        doc: dict[str, object] = {
            "active": self.active,
            "development": self.development,
            "keks": [
                {"version": v, "key": base64.b64encode(k).decode()}
                for v, k in sorted(self.keks.items())
            ],
            "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
        }
        if self.audit_signing_key is not None:
            doc["audit_signing_key"] = base64.b64encode(self.audit_signing_key).decode()
        return json.dumps(doc, indent=2)

    def with_new_version(self) -> Keyring:
        version = max(self.keks) + 1
        return replace(self, keks={**self.keks, version: secrets.token_bytes(32)}, active=version)

    def with_audit_key(self) -> Keyring:
        return replace(self, audit_signing_key=secrets.token_bytes(32))


def generate_keyring(*, development: bool) -> Keyring:
    return Keyring(
        keks={1: secrets.token_bytes(32)},
        active=1,
        blind_index_key=secrets.token_bytes(32),
        development=development,
        source="generated",
        audit_signing_key=secrets.token_bytes(32),
    )


def _b64key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as error:
        raise KeyError_(f"{what} is not valid base64") from error
    if len(key) != 32:
        raise KeyError_(f"{what} must be 32 bytes (256 bits), got {len(key)}")
    return key


def parse_keyring(text: str, source: str) -> Keyring:
    try:
        doc = json.loads(text)
        keks = {
            int(k["version"]): _b64key(k["key"], f"KEK version {k['version']}") for k in doc["keks"]
        }
        active = int(doc["active"])
        index_key = _b64key(doc["blind_index_key"], "blind_index_key")
        audit_key = doc.get("audit_signing_key")
        audit_key = None if audit_key is None else _b64key(audit_key, "audit_signing_key")
    except (ValueError, KeyError, TypeError) as error:
        raise KeyError_(f"key file {source} is malformed: {error}") from error
    if active not in keks:
        raise KeyError_(f"key file {source}: active version {active} is not among its KEKs")
    return Keyring(
        keks=keks,
        active=active,
        blind_index_key=index_key,
        development=bool(doc.get("development", False)),
        source=source,
        audit_signing_key=audit_key,
    )


def load_keyring(
    key_file: Path | None, env_kek: str | None, env_index_key: str | None
) -> Keyring | None:
    """The configured keyring, or None when nothing is configured."""
    if key_file is not None and key_file.exists():
        return parse_keyring(key_file.read_text(), str(key_file))
    if env_kek:
        if not env_index_key:
            raise KeyError_("ANXIN_KEK is set but ANXIN_BLIND_INDEX_KEY is not")
        return Keyring(
            keks={1: _b64key(env_kek, "ANXIN_KEK")},
            active=1,
            blind_index_key=_b64key(env_index_key, "ANXIN_BLIND_INDEX_KEY"),
            source="environment",
        )
    return None


def write_keyring(path: Path, keyring: Keyring) -> None:
    """Write atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(keyring.as_json())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


class LocalKms:
    """Wraps data keys with AES-256-GCM under the keyring's KEKs. The owner id is bound in
    as associated data, so a wrapped key copied to another owner does not open."""

    key_id = "local"

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def active_version(self) -> int:
        return self._keyring.active

    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[int, bytes]:
        version = self._keyring.active
        nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = AESGCM(self._keyring.keks[version]).encrypt(nonce, data_key, context)
        return version, nonce + wrapped

    def unwrap(self, version: int, wrapped: bytes, *, context: bytes) -> bytes:
        kek = self._keyring.keks.get(version)
        if kek is None:
            raise KeyError_(f"KEK version {version} is not in the keyring")
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
