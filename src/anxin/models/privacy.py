"""Per-owner data keys for envelope encryption of personal data.

Each holder (and staff member) has one random AES-256 data key. It is stored only wrapped
by a key-encryption key (KEK) that never touches the database. Destroying the wrapped data
key makes everything encrypted under it unrecoverable (crypto-shredding) while rows that
reference the owner, such as ledger entries, stay intact.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from anxin.kit.types import UTCDateTime
from anxin.models.base import Base


class DataKey(Base):
    __tablename__ = "privacy_data_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once shredded
    kek_id: Mapped[str] = mapped_column(String(64))
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
