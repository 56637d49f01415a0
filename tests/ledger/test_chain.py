"""The journal's hash input is fixed: journals written before any rewrite still verify."""

from __future__ import annotations

from hashlib import sha256

from anxin.ledger.chain import GENESIS, encoded_entry_digest, entry_digest


def as_first_written(previous: bytes, *fields: object) -> bytes:
    """The definition every stored hash was made with: the fields' text joined by "|"."""
    return sha256(previous + "|".join(str(f) for f in fields).encode()).digest()


def test_both_forms_hash_what_the_journal_always_hashed() -> None:
    transfer, account = "0192" + "ab" * 14, "7f" * 16
    cases = [
        (1, transfer, account, "D", 500, 0, 500, 0, 0, 0, 1_893_456_000_000_000),
        (2**40, transfer, account, "C", 0, -750, 0, 9 * 10**18, 3, 2**63 - 1, 0),
    ]
    previous = GENESIS
    for seq, t, a, side, *numbers in cases:
        expected = as_first_written(previous, seq, t, a, side, *numbers)
        assert entry_digest(previous, seq, t, a, side, *numbers) == expected
        encoded = (t.encode(), a.encode(), side.encode())
        assert encoded_entry_digest(previous, seq, *encoded, *numbers) == expected
        previous = expected
