"""Field-level envelope encryption of personal data, and keyed blind indexes.

Ciphertext layout: ``b"\\x01" || nonce (12 bytes) || AES-256-GCM(ciphertext || tag)``.
The associated data is ``table/column/row id``, so a ciphertext copied into another row or
column fails to decrypt instead of silently showing someone else's data.

Lookups by phone or email use a blind index: HMAC-SHA256 of the normalised value under a
key derived per column (HKDF), never the plaintext or an unkeyed hash, which anyone could
brute-force over the small space of phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from anxin.kit.errors import AnxinError, Gone
from anxin.models.privacy import DataKey
from anxin.privacy.keyring import NONCE_BYTES, Kms

FORMAT_VERSION = b"\x01"


class DecryptionFailed(AnxinError):
    status = 500
    code = "decryption_failed"
    title = "Stored personal data could not be decrypted"


class DataShredded(Gone):
    code = "personal_data_erased"
    title = "This personal data was erased"


def _aad(table: str, column: str, row_id: uuid.UUID) -> bytes:
    return f"{table}/{column}/{row_id}".encode()


class Vault:
    """Encrypts and decrypts personal fields of one owner at a time.

    Unwrapped data keys are cached per Vault instance (one per request or job), never
    across requests, so a shredded key stops working everywhere at once.
    """

    def __init__(self, kms: Kms, blind_index_key: bytes) -> None:
        self._kms = kms
        self._index_root = blind_index_key
        self._column_keys: dict[str, bytes] = {}
        self._data_keys: dict[uuid.UUID, bytes] = {}

    # -- data keys --------------------------------------------------------------------------

    def create_data_key(self, session: Session, owner_id: uuid.UUID, now: datetime) -> None:
        data_key = secrets.token_bytes(32)
        version, wrapped = self._kms.wrap(data_key, context=owner_id.bytes)
        session.add(
            DataKey(
                owner_id=owner_id, wrapped_key=wrapped, kek_id=self._kms.key_id,
                kek_version=version, created_at=now, rewrapped_at=None, destroyed_at=None,
            )
        )  # fmt: skip
        session.flush()
        self._data_keys[owner_id] = data_key

    def _data_key(self, session: Session, owner_id: uuid.UUID) -> bytes:
        cached = self._data_keys.get(owner_id)
        if cached is not None:
            return cached
        row = session.get(DataKey, owner_id)
        if row is None:
            raise DecryptionFailed(f"no data key for owner {owner_id}")
        if row.wrapped_key is None:
            raise DataShredded("the holder closed the account and their personal data was erased")
        data_key = self._kms.unwrap(row.kek_version, row.wrapped_key, context=owner_id.bytes)
        self._data_keys[owner_id] = data_key
        return data_key

    def shred(self, session: Session, owner_id: uuid.UUID, now: datetime) -> None:
        """Destroy the owner's data key: their encrypted fields become unrecoverable."""
        row = session.get(DataKey, owner_id)
        if row is not None and row.wrapped_key is not None:
            row.wrapped_key = None
            row.destroyed_at = now
            session.flush()
        self._data_keys.pop(owner_id, None)

    def rewrap(self, row: DataKey, now: datetime) -> bool:
        """Re-wrap one data key under the active KEK version. True if it changed."""
        if row.wrapped_key is None or row.kek_version == self._kms.active_version:
            return False
        data_key = self._kms.unwrap(row.kek_version, row.wrapped_key, context=row.owner_id.bytes)
        row.kek_version, row.wrapped_key = self._kms.wrap(data_key, context=row.owner_id.bytes)
        row.kek_id = self._kms.key_id
        row.rewrapped_at = now
        return True

    # -- fields -----------------------------------------------------------------------------

    def encrypt(
        self, session: Session, owner_id: uuid.UUID, *, table: str, column: str,
        row_id: uuid.UUID, plaintext: str,
    ) -> bytes:  # fmt: skip
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._data_key(session, owner_id)).encrypt(
            nonce, plaintext.encode(), _aad(table, column, row_id)
        )
        return FORMAT_VERSION + nonce + sealed

    def decrypt(
        self, session: Session, owner_id: uuid.UUID, *, table: str, column: str,
        row_id: uuid.UUID, ciphertext: bytes,
    ) -> str:  # fmt: skip
        if not ciphertext or ciphertext[:1] != FORMAT_VERSION:
            raise DecryptionFailed(f"{table}.{column} of {row_id} has an unknown format")
        nonce, sealed = ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :]
        try:
            plain = AESGCM(self._data_key(session, owner_id)).decrypt(
                nonce, sealed, _aad(table, column, row_id)
            )
        except InvalidTag as error:
            raise DecryptionFailed(
                f"{table}.{column} of {row_id} does not decrypt: altered or moved"
            ) from error
        return plain.decode()

    # -- blind indexes ----------------------------------------------------------------------

    def _column_key(self, column: str) -> bytes:
        key = self._column_keys.get(column)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"anxin blind index/{column}".encode(),
            ).derive(self._index_root)  # fmt: skip
            self._column_keys[column] = key
        return key

    def blind_index(self, column: str, normalised_value: str) -> str:
        """HMAC-SHA256 (hex) of an already normalised value, keyed per column."""
        return hmac.new(
            self._column_key(column), normalised_value.encode(), hashlib.sha256
        ).hexdigest()
