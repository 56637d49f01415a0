"""Identifiers: time-ordered UUIDs (RFC 9562 version 7).

Time ordering keeps new rows at the right edge of B-tree indexes, which matters for the
ledger's insert throughput, and still leaks nothing but a millisecond timestamp.
"""

from __future__ import annotations

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
