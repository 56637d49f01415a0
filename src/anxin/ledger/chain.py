"""The journal's hash chain.

Every entry's hash covers its own content and the hash of the entry before it, so altering,
deleting, inserting or reordering any entry changes every hash after it; the chain head
row pins the last one, so truncating the tail is caught too.
"""

from __future__ import annotations

from hashlib import sha256

GENESIS = bytes(32)


def entry_digest(
    previous: bytes,
    seq: int,
    transfer_hex: str,
    account_hex: str,
    side: str,
    posted: int,
    pending: int,
    debits_posted: int,
    credits_posted: int,
    debits_pending: int,
    credits_pending: int,
    created_micros: int,
) -> bytes:
    """SHA-256 over the previous hash and this entry's fields (counters are those after it,
    time in integer microseconds since the epoch). Positional because it is the hot path."""
    return encoded_entry_digest(
        previous, seq, transfer_hex.encode(), account_hex.encode(), side.encode(), posted,
        pending, debits_posted, credits_posted, debits_pending, credits_pending, created_micros,
    )  # fmt: skip


# The hashed text: previous hash, then the fields joined by "|", integers in decimal.
_PAYLOAD = b"%b%d|%b|%b|%b|%d|%d|%d|%d|%d|%d|%d"


def encoded_entry_digest(
    previous: bytes,
    seq: int,
    transfer_hex: bytes,
    account_hex: bytes,
    side: bytes,
    posted: int,
    pending: int,
    debits_posted: int,
    credits_posted: int,
    debits_pending: int,
    credits_pending: int,
    created_micros: int,
) -> bytes:
    """``entry_digest`` with the ids and side already ASCII bytes, as the engine keeps them:
    one bytes formatting instead of text formatting, encoding and concatenation."""
    return sha256(
        _PAYLOAD % (previous, seq, transfer_hex, account_hex, side, posted, pending,
                    debits_posted, credits_posted, debits_pending, credits_pending,
                    created_micros)
    ).digest()  # fmt: skip
