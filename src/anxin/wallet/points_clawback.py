"""Points given back with a refund: a payment refunded in part loses the same part of the
points it earned.

What is due is cumulative and rounded down: after refunds totalling ``r`` of a payment that
captured ``c`` and earned ``p`` points, ``p * r // c`` points are due in all, so several
partial refunds never take back more than one full refund would. Points are never taken
below zero: if the holder already spent or lost them, what could not be taken back is
recorded (on the refund's ledger transfer and in the notice) and the refund still goes
through. The payment's own lot is taken from first, then the soonest-expiring.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.ledger.commands import TransferOp
from anxin.ledger.service import balance_of
from anxin.models import PointsLot
from anxin.wallet import accounts
from anxin.wallet.points import POINTS

KIND = "points_clawback"


@dataclass(frozen=True)
class Clawback:
    due: int  # points this refund takes back by the payment's proportion
    taken: int  # what the holder still had of them
    op: TransferOp | None  # the ledger leg moving ``taken`` back to the issuer

    @property
    def unrecovered(self) -> int:
        return self.due - self.taken


def earned_by(session: Session, user_id: uuid.UUID, reference: str) -> int:
    """Points the payment with this reference earned (0 if none)."""
    found = session.scalars(
        select(PointsLot.points).where(
            PointsLot.user_id == user_id, PointsLot.reference == reference
        )
    ).all()
    return sum(found)


def points_due(earned: int, captured: int, refunded_before: int, refunding: int) -> int:
    """Points a refund of ``refunding`` takes back, after ``refunded_before`` was."""
    if earned <= 0 or captured <= 0:
        return 0
    after = earned * (refunded_before + refunding) // captured
    return after - earned * refunded_before // captured


def _take(session: Session, user_id: uuid.UUID, reference: str, wanted: int) -> int:
    """Take up to ``wanted`` points off the holder's lots; how many were there."""
    # Locked in the order spending locks them (soonest expiring first), so a refund and a
    # redemption at once wait for each other instead of deadlocking; taken own lot first.
    locked = session.scalars(
        select(PointsLot)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at, PointsLot.id)
        .with_for_update()
    ).all()
    lots = sorted(locked, key=lambda lot: lot.reference != reference)  # stable: keeps expiry
    left = wanted
    for lot in lots:
        if left == 0:
            break
        used = min(lot.remaining, left)
        lot.remaining -= used
        left -= used
    session.flush()
    return wanted - left


def clawback(
    session: Session, user_id: uuid.UUID, *, reference: str, captured: int,
    refunded_before: int, refunding: int, transfer_reference: str, now: datetime,
) -> Clawback:  # fmt: skip
    """The points a refund of the payment with ``reference`` takes back, off the holder's
    lots, and the ledger leg (with ``transfer_reference``) for the caller to apply linked
    with the refund (None when nothing can be taken)."""
    earned = earned_by(session, user_id, reference)
    due = points_due(earned, captured, refunded_before, refunding)
    wallet = accounts.find_wallet_account(session, user_id, POINTS)
    if due == 0 or wallet is None:
        return Clawback(due, 0, None)
    # As every spending of points does: the holder first, then their lots.
    accounts.lock_holder(session, user_id)
    session.refresh(wallet)  # the balance as of the lock
    # The lots' remaining points add up to the balance, so both bound what can be taken.
    taken = _take(session, user_id, reference, min(due, max(balance_of(wallet).available, 0)))
    if taken == 0:
        return Clawback(due, 0, None)
    issuer = accounts.system_account(session, "points_issued", POINTS, now)
    op = TransferOp(
        wallet.id, issuer.id, taken, POINTS, kind=KIND, reference=transfer_reference,
        metadata={"counterparty": "points", "category": "rewards", "points_due": due,
                  "points_unrecovered": due - taken},
    )  # fmt: skip
    return Clawback(due, taken, op)
