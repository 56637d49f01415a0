"""What every payment out of a holder's wallet shares: the checks before money moves
(holder active, not frozen, within limits), and running linked ledger operations inside the
request's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.identity.limits import check_outflow
from anxin.kit.errors import Unprocessable
from anxin.ledger.commands import Operation
from anxin.ledger.errors import rejection_error
from anxin.ledger.service import balance_of
from anxin.models import Account, User
from anxin.wallet.accounts import outflow_totals, wallet_account
from anxin.wallet.freeze import ensure_can_send
from anxin.wallet.moves import apply_linked


class HolderUnavailable(Unprocessable):
    code = "holder_unavailable"
    title = "This wallet cannot take part in payments now"


def run_linked(session: Session, ops: Sequence[Operation], now: datetime) -> list[uuid.UUID]:
    """Apply ``ops`` all-or-none in the caller's transaction; the transfers made, in order."""
    made = apply_linked(session, ops, now)
    # The ledger wrote with Core statements: the ORM's copies of accounts are stale now.
    session.expire_all()
    return made


def ensure_can_pay(session: Session, user: User) -> None:
    """Refuse before anything else if the holder cannot send money at all now."""
    if user.status != "active":
        raise HolderUnavailable("the wallet's owner cannot make payments now")
    ensure_can_send(session, user)


def check_payment(
    session: Session, user: User, *, currency: str, total: int, now: datetime
) -> Account:
    """Holder active, not frozen, ``total`` (amount and fee) within every limit and the
    balance; returns the wallet account it leaves from."""
    ensure_can_pay(session, user)
    account = wallet_account(session, user.id, currency, now)
    spent = outflow_totals(session, user.id, currency, now)
    available = balance_of(account).available
    check_outflow(
        session, user, currency=currency, amount=total, balance_after=available - total,
        outflow_today=spent.today, outflow_month=spent.month,
    )  # fmt: skip
    if available < total:  # say so now rather than after asking for a second factor
        raise rejection_error("insufficient_funds", f"available {available}, needed {total}")
    return account
