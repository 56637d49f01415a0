"""Reconciliation: the provider's settlement records against the ledger.

First every pending order is brought up to date with the provider (``sync_pending``), so
that ordinary lag is not reported. Then, for the period:

- each record the bank settled must match a completed order of the same amount (a top-up
  collects amount + fee, a withdrawal pays out the amount); a settled collection with no
  credit is ``taken_not_credited``, a settled payout whose hold was released (or with no
  order) is ``paid_not_debited``, a different amount is ``amount_mismatch``;
- each order the ledger completed in the period must have a settled record: otherwise
  ``credited_not_settled`` (top-up) or ``debited_not_paid`` (withdrawal).

Orders ``blocked`` by a freeze are known, not mismatches. Each mismatch becomes one
exception row for staff (found again, not duplicated, by later runs) and the affected
holder is told that we are looking into it. Staff resolve it with a correcting transfer
(``credit`` or ``debit``, recorded and notified) or ``dismiss`` it with a note.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id, parse_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import Operation, TransferOp, VoidOp
from anxin.models import (
    FundingOrder,
    ReconciliationException,
    ReconciliationRun,
    Transfer,
    User,
)
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, messages, moves, notify, staff_log
from anxin.wallet.funding import Direction, FundingProvider, SettlementRecord
from anxin.wallet.settlement import SyncReport, expected_bank_amount, lock_order, sync_pending

KINDS = (
    "taken_not_credited", "paid_not_debited", "amount_mismatch", "credited_not_settled",
    "debited_not_paid",
)  # fmt: skip
RESOLUTIONS = ("credit", "debit", "dismiss")


class ExceptionNotFound(NotFound):
    code = "reconciliation_exception_not_found"
    title = "No such reconciliation exception"


@dataclass
class RunReport:
    run_id: uuid.UUID
    since: datetime
    until: datetime
    sync: SyncReport
    records_checked: int = 0
    orders_checked: int = 0
    matched: int = 0
    new_exceptions: list[ReconciliationException] = field(default_factory=list)
    known_exceptions: int = 0


def _order_by_reference(session: Session, reference: str) -> FundingOrder | None:
    order_id = parse_id(reference)
    return session.get(FundingOrder, order_id) if order_id is not None else None


def _holder_id(session: Session, order: FundingOrder | None, record: SettlementRecord | None
               ) -> uuid.UUID | None:  # fmt: skip
    if order is not None:
        return order.user_id
    if record is not None and record.customer_ref:
        found = parse_id(record.customer_ref)
        if found is not None and session.get(User, found) is not None:
            return found
    return None


def _flag(
    session: Session, vault: Vault, report: RunReport, *, kind: str,
    order: FundingOrder | None, record: SettlementRecord | None, ledger_amount: int,
    bank_amount: int, asset: str, now: datetime,
) -> None:  # fmt: skip
    key = f"{kind}:{order.id if order is not None else record.provider_ref if record else ''}"
    known = session.scalar(
        select(ReconciliationException.id).where(ReconciliationException.match_key == key)
    )
    if known is not None:
        report.known_exceptions += 1
        return
    user_id = _holder_id(session, order, record)
    row = ReconciliationException(
        id=new_id(), run_id=report.run_id, match_key=key, kind=kind,
        order_id=order.id if order else None,
        provider_ref=record.provider_ref if record else (order.provider_ref if order else None),
        user_id=user_id, asset=asset, ledger_amount=ledger_amount, bank_amount=bank_amount,
        status="open", resolution=None, resolution_note=None, resolved_by=None,
        resolved_at=None, transfer_id=None, detected_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    report.new_exceptions.append(row)
    if user_id is not None:
        holder = session.get(User, user_id)
        assert holder is not None
        _tell(session, vault, holder, row, "reconciliation.discrepancy", now)


def _what(row: ReconciliationException, locale: str) -> str:
    return messages.word(
        "topup" if row.kind in ("taken_not_credited", "credited_not_settled") else "withdrawal",
        locale,
    )


def _tell(session: Session, vault: Vault, holder: User, row: ReconciliationException,
          kind: str, now: datetime, outcome: str = "") -> None:  # fmt: skip
    amount = max(row.bank_amount, row.ledger_amount)
    notify.security_event(
        session, vault, holder, kind, now=now,
        data={"exception_id": str(row.id), "order_id": str(row.order_id or "")},
        what=_what(row, holder.locale), amount=notify.money(session, amount, row.asset),
        outcome=outcome,
    )  # fmt: skip


def _moved_by_reference(session: Session, record: SettlementRecord) -> int:
    """What posted ledger transfers with the record's reference moved out of (collection)
    or into (payout) the bank settlement account."""
    bank = accounts.system_account(session, "bank_settlement", record.asset, record.settled_at)
    t = Transfer
    side = t.source_id if record.direction == "collection" else t.destination_id
    moved = 0
    for action, status, amount, settled in session.execute(
        select(t.action, t.status, t.amount, t.settled_amount).where(
            t.reference == record.reference, side == bank.id
        )
    ):
        if action == "transfer" and status == "posted":
            moved += amount - settled  # less what was reversed since
        elif action == "hold" and status == "posted":
            moved += settled
    return moved


def _check_record(session: Session, vault: Vault, report: RunReport, record: SettlementRecord,
                  now: datetime) -> None:  # fmt: skip
    report.records_checked += 1
    order = _order_by_reference(session, record.reference)
    expected_direction = "topup" if record.direction == "collection" else "withdrawal"
    if order is not None and order.direction != expected_direction:
        order = None
    if record.status != "settled":
        return  # a failed record moved no money; a completed order is caught below
    lost_kind = "taken_not_credited" if record.direction == "collection" else "paid_not_debited"
    if order is None:
        # Not a top-up or withdrawal: other parts of Anxin (account-closure payouts) send
        # their own instructions; the ledger must then show the same money moving against
        # the bank settlement account under the record's reference.
        moved = _moved_by_reference(session, record)
        if moved == record.amount:
            report.matched += 1
            return
        _flag(
            session, vault, report, kind=lost_kind if moved == 0 else "amount_mismatch",
            order=None, record=record, ledger_amount=moved, bank_amount=record.amount,
            asset=record.asset, now=now,
        )  # fmt: skip
        return
    if order.status in ("pending", "failed"):
        _flag(
            session, vault, report, kind=lost_kind, order=order, record=record,
            ledger_amount=0, bank_amount=record.amount, asset=record.asset, now=now,
        )  # fmt: skip
    elif record.amount != expected_bank_amount(order):
        _flag(
            session, vault, report, kind="amount_mismatch", order=order, record=record,
            ledger_amount=expected_bank_amount(order), bank_amount=record.amount,
            asset=record.asset, now=now,
        )  # fmt: skip
    else:
        report.matched += 1


def _check_order(session: Session, vault: Vault, report: RunReport, order: FundingOrder,
                 seen: dict[tuple[Direction, str], SettlementRecord], provider: FundingProvider,
                 now: datetime) -> None:  # fmt: skip
    report.orders_checked += 1
    direction: Direction = "collection" if order.direction == "topup" else "payout"
    record = seen.get((direction, str(order.id)))
    if record is not None and record.status == "settled":
        return  # compared from the bank's side already
    found = provider.find(direction, str(order.id)) if record is None else None
    if found is not None and found.status == "settled":
        if found.amount == expected_bank_amount(order):
            report.matched += 1
            return
        kind, bank_amount = "amount_mismatch", found.amount
    else:
        # The bank has no record, or says it failed (maybe after settling: a charge-back).
        kind = "credited_not_settled" if order.direction == "topup" else "debited_not_paid"
        bank_amount = 0
    _flag(
        session, vault, report, kind=kind, order=order, record=None,
        ledger_amount=expected_bank_amount(order), bank_amount=bank_amount, asset=order.asset,
        now=now,
    )  # fmt: skip


def reconcile(
    database: Database, provider: FundingProvider, vault: Vault, clock: Clock, *,
    since: datetime, until: datetime, started_by: uuid.UUID | None = None,
) -> RunReport:  # fmt: skip
    """One run over [since, until): its own edge (commits)."""
    if until <= since:
        raise Unprocessable("the period must end after it starts", code="invalid_period")
    synced = sync_pending(database, provider, vault, clock)
    records = provider.settlement_records(since, until)
    now = clock.now()
    with UnitOfWork(database) as uow:
        session = uow.session
        run = ReconciliationRun(
            id=new_id(), provider=provider.name, since=since, until=until, records_checked=0,
            orders_checked=0, matched=0, exceptions_found=0, started_by=started_by,
            created_at=now,
        )  # fmt: skip
        session.add(run)
        session.flush()
        report = RunReport(run.id, since, until, synced)
        seen = {(r.direction, r.reference): r for r in records}
        for record in records:
            _check_record(session, vault, report, record, now)
        completed = session.scalars(
            select(FundingOrder).where(
                FundingOrder.provider == provider.name,
                FundingOrder.status == "completed",
                FundingOrder.settled_at >= since,
                FundingOrder.settled_at < until,
            )
        ).all()
        for order in completed:
            _check_order(session, vault, report, order, seen, provider, now)
        run.records_checked, run.orders_checked = report.records_checked, report.orders_checked
        run.matched, run.exceptions_found = report.matched, len(report.new_exceptions)
        uow.commit()
    return report


# -- staff ------------------------------------------------------------------------------------


def list_exceptions(session: Session, *, status: str | None, limit: int = 100
                    ) -> list[ReconciliationException]:  # fmt: skip
    query = select(ReconciliationException).order_by(ReconciliationException.detected_at.desc())
    if status is not None:
        query = query.where(ReconciliationException.status == status)
    return list(session.scalars(query.limit(limit)))


def get_exception(session: Session, exception_id: uuid.UUID) -> ReconciliationException:
    row = session.scalars(
        select(ReconciliationException)
        .where(ReconciliationException.id == exception_id)
        .with_for_update()
    ).first()
    if row is None:
        raise ExceptionNotFound()
    return row


_OUTCOME = {
    "credit": ("已向您的钱包补记 {amount}。", "we credited {amount} to your wallet."),
    "debit": ("已从您的钱包扣回 {amount}。", "we took {amount} back from your wallet."),
    "dismiss": ("您的钱包无需调整。", "no change to your wallet was needed."),
}


def resolve(
    session: Session, vault: Vault, staff: User, exception_id: uuid.UUID, *, action: str,
    note: str, now: datetime, amount: int | None = None,
) -> ReconciliationException:  # fmt: skip
    """Close an exception: ``credit`` or ``debit`` the holder's wallet against
    ``bank_settlement`` (the difference by default), or ``dismiss`` it. A still-pending
    order's holds are released in the same linked batch, so nothing is counted twice."""
    if action not in RESOLUTIONS:
        raise Unprocessable(f"action is one of {', '.join(RESOLUTIONS)}", code="invalid_action")
    if not note.strip():
        raise Unprocessable("write a note saying what was found", code="note_required")
    row = get_exception(session, exception_id)
    if row.status != "open":
        raise Conflict("this exception is already resolved", code="exception_resolved")
    moved = 0
    if action != "dismiss":
        if row.user_id is None:
            raise Unprocessable("no holder is known for this record; dismiss it with a note",
                                code="holder_unknown")  # fmt: skip
        moved = amount if amount is not None else abs(row.bank_amount - row.ledger_amount)
        if moved <= 0:
            raise Unprocessable("the correction must be a positive amount", code="invalid_amount")
        ops: list[Operation] = []
        order = lock_order(session, row.order_id) if row.order_id else None
        if order is not None and order.status == "pending":
            ops += [VoidOp(h) for h in [order.hold_id, order.fee_hold_id] if h is not None]
            order.status, order.updated_at = "failed", now
            order.failure_reason = f"corrected by reconciliation {row.id}"
            fees.release_charges(session, str(order.id), now)
        bank = accounts.system_account(session, "bank_settlement", row.asset, now)
        wallet = accounts.wallet_account(session, row.user_id, row.asset, now)
        source, destination = (bank, wallet) if action == "credit" else (wallet, bank)
        ops.append(TransferOp(
            source.id, destination.id, moved, row.asset, kind=f"reconciliation_{action}",
            reference=str(row.id),
            metadata={"counterparty": "Anxin", "category": "adjustment",
                      "exception": str(row.id)},
        ))  # fmt: skip
        row.transfer_id = moves.apply_linked(session, ops, now)[-1]
        row.ledger_amount += moved if action == "credit" else -moved
    row.status, row.resolution, row.resolution_note = "resolved", action, note.strip()
    row.resolved_by, row.resolved_at = staff.id, now
    session.flush()
    staff_log.record(
        session, staff=staff, holder_id=row.user_id, event="wallet.reconciliation_resolved",
        action="money_movement" if action != "dismiss" else "review",
        data={"exception_id": str(row.id), "resolution": action, "kind": row.kind},
        purpose={"reconciliation_exception": str(row.id)}, now=now,
    )  # fmt: skip
    if row.user_id is not None:
        holder = session.get(User, row.user_id)
        assert holder is not None
        zh, en = _OUTCOME[action]
        text = zh if holder.locale.startswith("zh") else en
        shown = notify.money(session, moved, row.asset)
        _tell(session, vault, holder, row, "reconciliation.resolved", now,
              text.format(amount=shown))  # fmt: skip
    return row
