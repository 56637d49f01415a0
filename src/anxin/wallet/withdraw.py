"""Withdrawal: money out to a holder's linked bank account.

Before anything moves: the wallet must not be frozen, the identity tier's daily and monthly
outflow limits and the holder's own daily limit must allow amount + fee, and the holder
must confirm with a second factor for exactly this amount, currency and destination. Then
the amount (to ``bank_settlement``) and the fee (to ``fee_revenue``) are held, linked, while
the bank pays out; they are posted when it confirms, or voided (the money is available
again, no fee taken) when it fails.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.identity import limits
from anxin.identity.stepup import require_step_up
from anxin.kit.ids import new_id
from anxin.ledger.commands import TransferOp
from anxin.ledger.errors import rejection_error
from anxin.ledger.service import balance_of
from anxin.models import FundingOrder, User
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, freeze, moves, sources
from anxin.wallet.topup import Started, check_amount, ensure_active, instruction_for


def check_outflow(
    session: Session, user: User, *, asset: str, total: int, now: datetime,
    policy: limits.LimitPolicy | None = None,
) -> None:  # fmt: skip
    """The identity tier's limits and the holder's own daily limit, for ``total`` leaving
    the ``asset`` wallet now (``LimitExceeded`` names the limit)."""
    wallet = accounts.find_wallet_account(session, user.id, asset)
    posted = balance_of(wallet).posted if wallet is not None else 0
    spent = accounts.outflow_totals(session, user.id, asset, now)
    limits.check_outflow(
        session, user, currency=asset, amount=total, balance_after=posted - total,
        outflow_today=spent.today, outflow_month=spent.month, policy=policy,
    )  # fmt: skip


def start_withdrawal(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID, *,
    destination_id: uuid.UUID, amount: int, asset: str, provider: str,
    step_up_token: str | None, now: datetime, shown_fee: int | None = None,
    policy: limits.LimitPolicy | None = None,
) -> Started:  # fmt: skip
    ensure_active(user)
    check_amount(amount)
    # First, so that a freeze or another outflow of this holder cannot slip in between the
    # checks below and the money moving.
    accounts.lock_holder(session, user.id)
    freeze.ensure_can_send(session, user)
    destination = sources.get(session, user.id, destination_id)
    if destination.kind != "bank_account":
        raise sources.InvalidNumber(
            "withdrawals go to a bank account, not a card", code="not_a_bank_account"
        )
    quote = fees.quote_fee(session, "withdrawal", asset, amount, user.id, now)
    if shown_fee is not None and shown_fee != quote.fee:
        raise fees.FeeChanged(f"the fee is now {quote.fee}", fee=quote.fee)
    total = amount + quote.fee
    wallet = accounts.find_wallet_account(session, user.id, asset)
    if wallet is None or balance_of(wallet).available < total:
        available = balance_of(wallet).available if wallet is not None else 0
        raise rejection_error(
            "insufficient_funds", f"{total} needed with the fee, {available} available"
        )
    check_outflow(session, user, asset=asset, total=total, now=now, policy=policy)
    require_step_up(
        session, user, auth_session_id,
        action={"type": "withdrawal", "amount": amount, "currency": asset,
                "destination": str(destination.id)},
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    bank = accounts.system_account(session, "bank_settlement", asset, now)
    order_id = new_id()
    reference = str(order_id)
    ops = [
        TransferOp(
            wallet.id,
            bank.id,
            amount,
            asset,
            kind="withdrawal",
            reference=reference,
            pending=True,
            metadata={"counterparty": sources.describe(destination), "category": "withdrawal"},
        )
    ]
    leg = fees.fee_leg(session, quote, wallet, now, reference=reference, pending=True)
    if leg is not None:
        ops.append(leg)
    transfer_ids = moves.apply_linked(session, ops, now)
    order = FundingOrder(
        id=order_id, direction="withdrawal", user_id=user.id, source_id=destination.id,
        asset=asset, amount=amount, fee=quote.fee, status="pending", hold_id=transfer_ids[0],
        fee_hold_id=transfer_ids[1] if leg is not None else None, provider=provider,
        provider_ref=None, failure_reason=None, created_at=now, updated_at=now,
        settled_at=None,
    )  # fmt: skip
    session.add(order)
    session.flush()
    fees.charge_fee(
        session, quote, reference=reference, now=now,
        transfer_id=transfer_ids[1] if leg is not None else None,
    )  # fmt: skip
    return Started(order, instruction_for(session, vault, order), quote)
