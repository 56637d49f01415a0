"""``anxin ledger verify``: prove the ledger is consistent, or say exactly where it is not.

Checks, each over the whole database:
1. per asset, all posted balances sum to zero and so do pending ones;
2. each account's stored counters equal the sums over its journal entries;
3. no account breaks its balance rule;
4. every transfer row agrees with its two journal entries (accounts, sides, amounts for its
   action), holds' statuses and settled amounts agree with what resolved them, and
   reversed amounts with the reversals (see ``verify_transfers``);
5. the hash chain: sequence numbers are gapless from 1, every hash matches its content and
   its predecessor, and the head row points at the last entry (nothing altered, removed,
   inserted, reordered or cut off).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.exc import OperationalError

from anxin.kit.clock import to_micros
from anxin.ledger.chain import GENESIS, entry_digest
from anxin.ledger.verify_report import MAX_PROBLEMS_PER_CHECK as _MAX_PROBLEMS_PER_CHECK
from anxin.ledger.verify_report import Report
from anxin.ledger.verify_transfers import check_transfers
from anxin.models import Account, ChainHead, Entry


def verify_ledger(
    connection: Connection, *, progress: Callable[[int], None] | None = None
) -> Report:
    report = Report()
    _check_asset_sums(connection, report)
    _check_accounts(connection, report)
    check_transfers(connection, report)
    _check_chain(connection, report, progress)
    return report


def _check_asset_sums(connection: Connection, report: Report) -> None:
    # Summed in Python: balances are each within 64 bits, but their running total need not
    # be, and SQLite's SUM() fails on integer overflow where Python's ints do not.
    a = Account.__table__.c
    posted: dict[str, int] = {}
    pending: dict[str, int] = {}
    query = select(a.asset, a.credits_posted, a.debits_posted, a.credits_pending, a.debits_pending)
    for asset, cp, dp, cpend, dpend in connection.execution_options(yield_per=10_000).execute(
        query
    ):
        posted[asset] = posted.get(asset, 0) + cp - dp
        pending[asset] = pending.get(asset, 0) + cpend - dpend
    for asset in sorted(posted):
        if posted[asset] != 0 or pending[asset] != 0:
            report.problems.append(
                f"asset {asset}: balances sum to {posted[asset]} posted and {pending[asset]} "
                "pending, not zero"
            )


def _journal_sums(connection: Connection) -> dict[Any, tuple[int, int, int, int]]:
    """Per account: (debits posted, credits posted, debits pending, credits pending)."""
    e = Entry.__table__.c
    query = select(
        e.account_id,
        func.sum(case((e.side == "D", e.posted), else_=0)),
        func.sum(case((e.side == "C", e.posted), else_=0)),
        func.sum(case((e.side == "D", e.pending), else_=0)),
        func.sum(case((e.side == "C", e.pending), else_=0)),
    ).group_by(e.account_id)
    try:
        return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in connection.execute(query)}  # type: ignore[misc]
    except OperationalError:
        # Only a tampered journal can overflow SQLite's 64-bit SUM (a consistent one sums to
        # each account's counters); add it up exactly in Python to report what is wrong.
        sums: dict[Any, list[int]] = {}
        rows = select(e.account_id, e.side, e.posted, e.pending)
        for account_id, side, posted, pending in connection.execution_options(
            yield_per=10_000
        ).execute(rows):
            acc = sums.setdefault(account_id, [0, 0, 0, 0])
            offset = 0 if side == "D" else 1
            acc[offset] += posted
            acc[offset + 2] += pending
        return {k: (v[0], v[1], v[2], v[3]) for k, v in sums.items()}


def _check_accounts(connection: Connection, report: Report) -> None:
    a = Account.__table__.c
    journal_sums = _journal_sums(connection)
    query = select(
        a.id, a.allow_negative, a.debits_posted, a.credits_posted, a.debits_pending,
        a.credits_pending,
    )  # fmt: skip
    found = 0
    for row in connection.execution_options(yield_per=10_000).execute(query):
        report.accounts_checked += 1
        stored = (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending)
        journal = journal_sums.pop(row.id, (0, 0, 0, 0))
        if stored != journal and found < _MAX_PROBLEMS_PER_CHECK:
            found += 1
            report.problems.append(
                f"account {row.id}: stored counters (debits posted, credits posted, debits "
                f"pending, credits pending) {stored} differ from its journal {journal}"
            )
        if not row.allow_negative and (row.debits_posted + row.debits_pending > row.credits_posted):
            report.problems.append(
                f"account {row.id}: balance below zero "
                f"({row.credits_posted - row.debits_posted - row.debits_pending} available) "
                "but it does not allow negative balances"
            )
    if journal_sums:  # what is left belongs to no account
        report.problems.append(f"journal entries belong to {len(journal_sums)} unknown account(s)")


def _check_chain(
    connection: Connection, report: Report, progress: Callable[[int], None] | None
) -> None:
    e = Entry.__table__.c
    head = connection.execute(select(ChainHead.__table__)).one_or_none()
    if head is None:
        report.problems.append("the chain head row is missing")
        return
    previous = GENESIS
    expected_seq = 1
    query = select(
        e.seq, e.transfer_id, e.account_id, e.side, e.posted, e.pending, e.debits_posted,
        e.credits_posted, e.debits_pending, e.credits_pending, e.created_at, e.hash,
    ).order_by(e.seq)  # fmt: skip
    result = connection.execution_options(yield_per=10_000).execute(query)
    for row in result:
        if row.seq != expected_seq:
            report.problems.append(
                f"journal: entry {expected_seq} is missing or out of place (found {row.seq}); "
                "entries were removed or inserted"
            )
            return
        digest = entry_digest(
            previous, row.seq, row.transfer_id.hex, row.account_id.hex, row.side, row.posted,
            row.pending, row.debits_posted, row.credits_posted, row.debits_pending,
            row.credits_pending, to_micros(row.created_at),
        )  # fmt: skip
        if digest != bytes(row.hash):
            report.problems.append(
                f"journal: entry {row.seq} does not match its hash; it or an entry before it "
                "was altered or reordered"
            )
            return
        previous = digest
        expected_seq += 1
        report.entries_checked += 1
        if progress is not None and report.entries_checked % 100_000 == 0:
            progress(report.entries_checked)
    if head.last_seq != expected_seq - 1 or bytes(head.last_hash) != previous:
        report.problems.append(
            f"journal: the head records entry {head.last_seq} as the last but the journal "
            f"ends at {expected_seq - 1}; entries were removed from the end or the head altered"
        )
