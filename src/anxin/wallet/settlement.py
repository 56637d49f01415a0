"""Applying the provider's answers to top-ups and withdrawals.

``settled``: the order's holds are posted (linked), the order is completed. ``failed``:
the holds are voided (nothing credited, or the money is available again, and no fee
taken). If the wallet is frozen for all movement when the bank settles, the ledger refuses
to post; the order is then ``blocked`` and posted when the freeze is lifted, since the bank
has already moved the money.

Orders are locked and re-checked before any change, so the request that sent an
instruction and the settlement job can both try to apply the same answer safely.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, PostOp, VoidOp
from anxin.ledger.service import balance_of
from anxin.models import FundingOrder, User
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, notify, sources
from anxin.wallet.funding import Direction, FundingProvider, Instruction, ProviderStatus
from anxin.wallet.topup import instruction_for

log = logging.getLogger(__name__)


def expected_bank_amount(order: FundingOrder) -> int:
    """What the bank should move: a top-up collects amount + fee, a withdrawal pays out
    the amount (the fee stays with us)."""
    return order.amount + order.fee if order.direction == "topup" else order.amount


def lock_order(session: Session, order_id: uuid.UUID) -> FundingOrder | None:
    return session.scalars(
        select(FundingOrder)
        .where(FundingOrder.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _holds(order: FundingOrder) -> list[uuid.UUID]:
    return [order.hold_id, *([order.fee_hold_id] if order.fee_hold_id else [])]


def _notice(session: Session, vault: Vault, order: FundingOrder, outcome: str,
            now: datetime) -> None:  # fmt: skip
    holder = session.get(User, order.user_id)
    assert holder is not None
    source = sources.get(session, order.user_id, order.source_id, active=False)
    wallet = accounts.find_wallet_account(session, order.user_id, order.asset)
    balance = balance_of(wallet).posted if wallet is not None else None
    notify.money_moved(
        session, vault, holder, f"{order.direction}.{outcome}", amount=order.amount,
        asset=order.asset, fee=order.fee, counterparty=sources.describe(source, holder.locale),
        balance_after=balance, reference=str(order.id), reason=order.failure_reason, now=now,
        incoming=order.direction == "topup", data={"order_id": str(order.id)},
    )  # fmt: skip


def _post(session: Session, vault: Vault, order: FundingOrder, now: datetime) -> None:
    ops = tuple(PostOp(hold) for hold in _holds(order))
    [result] = apply_batch(session.connection(), [Command(ops)], now)
    errors = {o["error"] for o in result.outcomes if "error" in o}
    order.updated_at = now
    if not errors:
        order.status, order.settled_at, order.failure_reason = "completed", now, None
        session.flush()
        _notice(session, vault, order, "completed", now)
        return
    if "account_frozen" in errors:
        order.status, order.failure_reason = "blocked", "the wallet is frozen"
        if order.settled_at is None:
            order.settled_at = now
            if order.direction == "topup":
                holder = session.get(User, order.user_id)
                assert holder is not None
                notify.money_moved(
                    session, vault, holder, "topup.on_hold", amount=order.amount,
                    asset=order.asset, reference=str(order.id), now=now,
                )  # fmt: skip
        session.flush()
        return
    # Expired or otherwise unpostable: the bank moved money the ledger cannot follow.
    # Reconciliation reports it to staff; the order stays pending with the reason.
    order.failure_reason = f"cannot post: {', '.join(sorted(errors))}"
    session.flush()
    log.warning("funding order %s settled but not posted: %s", order.id, errors)


def _void(session: Session, vault: Vault, order: FundingOrder, reason: str | None,
          now: datetime) -> None:  # fmt: skip
    ops = tuple(VoidOp(hold) for hold in _holds(order))
    [result] = apply_batch(session.connection(), [Command(ops)], now)
    # A hold that already expired has given its money back; anything else is a bug.
    unexpected = {o["error"] for o in result.outcomes if "error" in o} - {
        "pending_transfer_already_resolved"
    }
    if unexpected:
        raise RuntimeError(f"voiding order {order.id}: {unexpected}")
    order.status, order.failure_reason = "failed", reason or "refused by the bank"
    order.settled_at = order.updated_at = now
    fees.release_charges(session, str(order.id), now)
    session.flush()
    _notice(session, vault, order, "failed", now)


def apply_status(
    session: Session, vault: Vault, order_id: uuid.UUID, status: ProviderStatus, now: datetime
) -> FundingOrder | None:
    """Apply one provider answer to a pending order, in the caller's transaction."""
    order = lock_order(session, order_id)
    if order is None:
        return None
    if order.provider_ref is None:
        order.provider_ref = status.provider_ref
        order.updated_at = now
    if order.status != "pending" or status.status == "pending":
        session.flush()
        return order
    if status.status == "failed":
        _void(session, vault, order, status.reason, now)
    elif status.amount != expected_bank_amount(order):
        # The bank moved a different amount: do not guess, let reconciliation report it.
        order.failure_reason = f"the bank settled {status.amount}"
        session.flush()
    else:
        _post(session, vault, order, now)
    return order


def submit(
    database: Database, provider: FundingProvider, vault: Vault, order_id: uuid.UUID,
    instruction: Instruction, now: datetime,
) -> None:  # fmt: skip
    """Send an instruction (with no transaction open: the provider is an outside system)
    and apply its first answer. A provider error leaves the order pending for the job."""
    try:
        answer = provider.submit(instruction, now)
    except Exception:  # any outage: the settlement job sends it again later
        log.exception("funding provider %s did not take order %s", provider.name, order_id)
        return
    with UnitOfWork(database) as uow:
        apply_status(uow.session, vault, order_id, answer, now)
        uow.commit()


@dataclass
class SyncReport:
    checked: int = 0
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    still_pending: int = 0


def sync_pending(
    database: Database, provider: FundingProvider, vault: Vault, clock: Clock, *,
    limit: int = 1000,
) -> SyncReport:  # fmt: skip
    """Ask the provider about every pending order and apply its answers; send again the
    instructions a crash may have kept from the provider. The job's own edge: it commits
    per order."""
    report = SyncReport()
    with UnitOfWork(database, write=False) as uow:
        pending = list(
            uow.session.scalars(
                select(FundingOrder.id)
                .where(FundingOrder.status == "pending", FundingOrder.provider == provider.name)
                .order_by(FundingOrder.created_at)
                .limit(limit)
            )
        )
    for order_id in pending:
        report.checked += 1
        with UnitOfWork(database, write=False) as uow:
            order = uow.session.get(FundingOrder, order_id)
            assert order is not None
            direction: Direction = "collection" if order.direction == "topup" else "payout"
            answer = (
                provider.status(order.provider_ref)
                if order.provider_ref
                else provider.find(direction, str(order.id))
            )
            instruction = instruction_for(uow.session, vault, order) if answer is None else None
        if instruction is not None:
            report.submitted += 1
            answer = provider.submit(instruction, clock.now())
        assert answer is not None
        with UnitOfWork(database) as uow:
            done = apply_status(uow.session, vault, order_id, answer, clock.now())
            uow.commit()
        status = done.status if done is not None else "pending"
        if status == "completed":
            report.completed += 1
        elif status == "failed":
            report.failed += 1
        else:
            report.still_pending += 1
    return report


def release_blocked(session: Session, vault: Vault, holder: User, now: datetime) -> int:
    """Post the orders the bank settled while the wallet was frozen (on unfreezing)."""
    blocked = list(
        session.scalars(
            select(FundingOrder.id).where(
                FundingOrder.user_id == holder.id, FundingOrder.status == "blocked"
            )
        )
    )
    for order_id in blocked:
        order = lock_order(session, order_id)
        if order is not None and order.status == "blocked":
            _post(session, vault, order, now)
    return len(blocked)
