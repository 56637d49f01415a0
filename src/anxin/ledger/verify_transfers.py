"""Transfer rows against the journal (part of ``anxin ledger verify``).

A transfer's two entries are always ``first_seq`` (the debit of its source) and
``first_seq + 1`` (the credit of its destination). What they must carry depends on the
action; the mutable bookkeeping on transfer rows (a hold's status and settled amount, how
much of a transfer was reversed) must agree with the transfers that changed it, because
later operations trust it (a reversal may move at most ``amount - settled_amount``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from anxin.ledger.verify_report import MAX_PROBLEMS_PER_CHECK, Report
from anxin.models import Entry, Transfer

_RESOLVED_STATUS = {"post": "posted", "void": "voided", "expire": "expired"}


def _expected_legs(action: str, amount: int, hold_amount: int | None) -> tuple[int, int] | None:
    """(posted, pending) each leg must carry, or None when it cannot be known."""
    if action in ("transfer", "reverse"):
        return amount, 0
    if action == "hold":
        return 0, amount
    if action == "post":
        return None if hold_amount is None else (amount, -hold_amount)
    if action in ("void", "expire"):
        return 0, -amount
    return None


def check_transfers(connection: Connection, report: Report) -> None:
    t = Transfer.__table__.c
    debit = aliased(Entry)
    credit = aliased(Entry)
    query = (
        select(
            t.id,
            t.action,
            t.status,
            t.source_id,
            t.destination_id,
            t.amount,
            t.settled_amount,
            t.pending_id,
            t.reverses_id,
            debit.transfer_id.label("d_transfer"),
            debit.account_id.label("d_account"),
            debit.side.label("d_side"),
            debit.posted.label("d_posted"),
            debit.pending.label("d_pending"),
            credit.transfer_id.label("c_transfer"),
            credit.account_id.label("c_account"),
            credit.side.label("c_side"),
            credit.posted.label("c_posted"),
            credit.pending.label("c_pending"),
        )
        .outerjoin(debit, debit.seq == t.first_seq)
        .outerjoin(credit, credit.seq == t.first_seq + 1)
        .order_by(t.first_seq)
    )
    problems: list[str] = []
    holds: dict[uuid.UUID, tuple[int, str, int]] = {}  # id -> amount, status, settled
    resolutions: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    settled: dict[uuid.UUID, tuple[int, int]] = {}  # reversible id -> amount, settled
    reversed_sum: dict[uuid.UUID, int] = defaultdict(int)
    for row in connection.execution_options(yield_per=10_000).execute(query):
        report.transfers_checked += 1
        _check_row(row, holds, problems)
        if row.action == "hold":
            holds[row.id] = (row.amount, row.status, row.settled_amount)
        elif row.action in _RESOLVED_STATUS and row.pending_id is not None:
            resolutions[row.pending_id].append((row.action, row.amount))
        if row.action in ("transfer", "post", "reverse") and row.settled_amount:
            settled[row.id] = (row.amount, row.settled_amount)
        if row.action == "reverse" and row.reverses_id is not None:
            reversed_sum[row.reverses_id] += row.amount
    _check_holds(holds, resolutions, problems)
    for transfer_id in settled.keys() | reversed_sum.keys():
        amount, recorded = settled.get(transfer_id, (0, 0))
        if recorded != reversed_sum.get(transfer_id, 0) or recorded > amount > 0:
            problems.append(
                f"transfer {transfer_id}: records {recorded} reversed but its reversals "
                f"add up to {reversed_sum.get(transfer_id, 0)}"
            )
    entries = connection.execute(select(func.count()).select_from(Entry)).scalar_one()
    if entries != 2 * report.transfers_checked:
        problems.append(
            f"the journal has {entries} entries for {report.transfers_checked} transfers "
            f"(expected {2 * report.transfers_checked}): entries without a transfer"
        )
    report.problems.extend(problems[:MAX_PROBLEMS_PER_CHECK])
    if len(problems) > MAX_PROBLEMS_PER_CHECK:
        report.problems.append(f"... and {len(problems) - MAX_PROBLEMS_PER_CHECK} more")


def _check_row(row: Any, holds: dict[uuid.UUID, tuple[int, str, int]], problems: list[str]) -> None:
    hold_amount = holds[row.pending_id][0] if row.pending_id in holds else None
    expected = _expected_legs(row.action, row.amount, hold_amount)
    legs_ok = (
        row.d_transfer == row.id
        and row.c_transfer == row.id
        and row.d_side == "D"
        and row.c_side == "C"
        and row.d_account == row.source_id
        and row.c_account == row.destination_id
        and expected is not None
        and (row.d_posted, row.d_pending) == expected
        and (row.c_posted, row.c_pending) == expected
    )
    if not legs_ok:
        problems.append(
            f"transfer {row.id} ({row.action} of {row.amount}): its journal entries do not "
            f"match it (debit {row.d_account} {row.d_posted}/{row.d_pending}, credit "
            f"{row.c_account} {row.c_posted}/{row.c_pending})"
        )


def _check_holds(
    holds: dict[uuid.UUID, tuple[int, str, int]],
    resolutions: dict[uuid.UUID, list[tuple[str, int]]],
    problems: list[str],
) -> None:
    for hold_id, (amount, status, settled_amount) in holds.items():
        resolved = resolutions.pop(hold_id, [])
        if not resolved:
            if status != "pending":
                problems.append(f"hold {hold_id} is {status} but nothing resolved it")
            continue
        if len(resolved) > 1:
            problems.append(f"hold {hold_id} was resolved {len(resolved)} times")
            continue
        action, resolved_amount = resolved[0]
        want_settled = resolved_amount if action == "post" else 0
        if status != _RESOLVED_STATUS[action] or settled_amount != want_settled:
            problems.append(
                f"hold {hold_id}: status {status}, settled {settled_amount}, but a {action} "
                f"of {resolved_amount} resolved it"
            )
        elif action == "post" and resolved_amount > amount:
            problems.append(f"hold {hold_id} of {amount} was posted for {resolved_amount}")
    for hold_id in resolutions:
        problems.append(f"transfers resolve {hold_id}, which is not a hold")
