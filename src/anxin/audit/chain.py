"""The audit log's hash chain.

An entry's hash is ``SHA-256(previous hash || seq || SHA-256(canonical content))``. The
content (time, event, actor, role, subject, data) is hashed on its own first so that
``verify`` can test an entry against another position without keeping its content, which is
how it tells an entry that was moved (renumbered to hide a deletion or an insertion) from
one that was altered.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from hashlib import sha256
from typing import Any

from anxin.kit.canonical import canonical_json
from anxin.kit.clock import to_micros

GENESIS = bytes(32)


def content_digest(
    *, at: datetime, event: str, actor_id: uuid.UUID | None, actor_role: str | None,
    subject_id: uuid.UUID | None, data: dict[str, Any],
) -> bytes:  # fmt: skip
    return sha256(
        canonical_json(
            {
                "at": to_micros(at),
                "event": event,
                "actor_id": actor_id.hex if actor_id else None,
                "actor_role": actor_role,
                "subject_id": subject_id.hex if subject_id else None,
                "data": data,
            }
        )
    ).digest()


def entry_hash(previous: bytes, seq: int, content: bytes) -> bytes:
    return sha256(previous + f"|{seq}|".encode() + content).digest()


def _plain(value: Any) -> Any:
    """JSON that reads back exactly as written on SQLite and PostgreSQL (JSONB keeps no
    float spelling, so floats are refused: amounts are integers anyway)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("audit data cannot hold NUL characters")
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("audit data keys must be strings")
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    raise TypeError(f"audit data cannot hold {type(value).__name__}")


def normalise_data(data: dict[str, Any]) -> dict[str, Any]:
    plain = _plain(data)
    assert isinstance(plain, dict)
    # Round-trip once so what is hashed is exactly what a JSON column gives back.
    loaded: dict[str, Any] = json.loads(canonical_json(plain))
    return loaded
