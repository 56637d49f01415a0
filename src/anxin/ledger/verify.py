"""``anxin ledger verify``: prove the ledger is consistent, or say exactly where it is not.

Checks, each over the whole database:
1. per asset, all posted balances sum to zero and so do pending ones;
2. each account's stored counters equal the sums over its journal entries;
3. no account breaks its balance rule;
4. every transfer's entries balance (one debit, one credit, same amounts);
5. the hash chain: sequence numbers are gapless from 1, every hash matches its content and
   its predecessor, and the head row points at the last entry (nothing altered, removed,
   inserted, reordered or cut off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, select

from anxin.kit.clock import to_micros
from anxin.ledger.chain import GENESIS, entry_digest
from anxin.models import Account, ChainHead, Entry, Transfer

_MAX_PROBLEMS_PER_CHECK = 20


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    entries_checked: int = 0
    accounts_checked: int = 0
    transfers_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(
    connection: Connection, *, progress: Callable[[int], None] | None = None
) -> Report:
    report = Report()
    _check_asset_sums(connection, report)
    _check_accounts(connection, report)
    _check_transfers(connection, report)
    _check_chain(connection, report, progress)
    return report


def _check_asset_sums(connection: Connection, report: Report) -> None:
    a = Account.__table__.c
    query = select(
        a.asset,
        func.sum(a.credits_posted - a.debits_posted),
        func.sum(a.credits_pending - a.debits_pending),
    ).group_by(a.asset)
    for asset, posted, pending in connection.execute(query):
        if posted != 0 or pending != 0:
            report.problems.append(
                f"asset {asset}: balances sum to {posted} posted and {pending} pending, not zero"
            )


def _check_accounts(connection: Connection, report: Report) -> None:
    a = Account.__table__.c
    e = Entry.__table__.c
    sums = (
        select(
            e.account_id,
            func.sum(case((e.side == "D", e.posted), else_=0)).label("dp"),
            func.sum(case((e.side == "C", e.posted), else_=0)).label("cp"),
            func.sum(case((e.side == "D", e.pending), else_=0)).label("dpend"),
            func.sum(case((e.side == "C", e.pending), else_=0)).label("cpend"),
        )
        .group_by(e.account_id)
        .subquery()
    )
    query = select(
        a.id, a.allow_negative, a.debits_posted, a.credits_posted, a.debits_pending,
        a.credits_pending, sums.c.dp, sums.c.cp, sums.c.dpend, sums.c.cpend,
    ).outerjoin(sums, sums.c.account_id == a.id)  # fmt: skip
    found = 0
    for row in connection.execute(query):
        report.accounts_checked += 1
        stored = (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending)
        journal = tuple(int(v or 0) for v in (row.dp, row.cp, row.dpend, row.cpend))
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
    # Entries that point at no account at all.
    orphans = connection.execute(
        select(func.count()).select_from(Entry.__table__).where(e.account_id.not_in(select(a.id)))
    ).scalar_one()
    if orphans:
        report.problems.append(f"{orphans} journal entries belong to no account")


def _check_transfers(connection: Connection, report: Report) -> None:
    t = Transfer.__table__.c
    e = Entry.__table__.c
    legs = (
        select(
            e.transfer_id,
            func.count().label("n"),
            func.sum(case((e.side == "D", e.posted), else_=0)).label("dp"),
            func.sum(case((e.side == "C", e.posted), else_=0)).label("cp"),
            func.sum(case((e.side == "D", e.pending), else_=0)).label("dpend"),
            func.sum(case((e.side == "C", e.pending), else_=0)).label("cpend"),
        )
        .group_by(e.transfer_id)
        .subquery()
    )
    query = select(t.id, legs.c.n, legs.c.dp, legs.c.cp, legs.c.dpend, legs.c.cpend).outerjoin(
        legs, legs.c.transfer_id == t.id
    )
    found = 0
    for row in connection.execute(query):
        report.transfers_checked += 1
        balanced = row.n == 2 and row.dp == row.cp and row.dpend == row.cpend
        if not balanced and found < _MAX_PROBLEMS_PER_CHECK:
            found += 1
            report.problems.append(
                f"transfer {row.id}: entries do not balance ({row.n or 0} legs, posted "
                f"{row.dp} debit vs {row.cp} credit, pending {row.dpend} vs {row.cpend})"
            )


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
