"""Top-up: money in from a holder's bank card or bank account.

A top-up is two linked ledger holds made when the holder confirms: the amount from
``bank_settlement`` to the holder's wallet, and the fee from ``bank_settlement`` to
``fee_revenue`` (the bank collects amount + fee from the card). An incoming hold is pending,
not available: the holder sees it coming but cannot spend it. When the provider confirms
the collection, both holds are posted and only then is the money available; when it fails,
both are voided and nothing was ever credited. The bank instruction is sent after the
order is committed, so a crash in between leaves a pending order that the settlement job
sends again (the provider deduplicates by the order id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.identity import limits
from anxin.identity.service import AccountSuspended
from anxin.kit.errors import Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.commands import TransferOp
from anxin.ledger.service import balance_of
from anxin.models import FundingOrder, User
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, freeze, moves, sources
from anxin.wallet.funding import Instruction

MAX_TOPUP = 10**15


class InvalidAmount(Unprocessable):
    code = "invalid_amount"
    title = "The amount is not valid"


@dataclass(frozen=True)
class Started:
    order: FundingOrder
    instruction: Instruction
    quote: fees.FeeQuote


def ensure_active(user: User) -> None:
    if user.status != "active":
        raise AccountSuspended("this account cannot move money now")


def check_amount(amount: int) -> None:
    if not 0 < amount <= MAX_TOPUP:
        raise InvalidAmount("the amount is a positive integer in minor units")


def start_topup(
    session: Session, vault: Vault, user: User, *, source_id: uuid.UUID, amount: int,
    asset: str, provider: str, now: datetime, shown_fee: int | None = None,
) -> Started:  # fmt: skip
    """Hold the top-up in the ledger and build the bank instruction; the caller commits,
    then sends the instruction (``settlement.submit``)."""
    ensure_active(user)
    check_amount(amount)
    accounts.lock_holder(session, user.id)  # concurrent top-ups check the balance cap in turn
    freeze.ensure_can_receive(session, user)
    source = sources.get(session, user.id, source_id)
    quote = fees.quote_fee(session, "topup", asset, amount, user.id, now)
    if shown_fee is not None and shown_fee != quote.fee:
        raise fees.FeeChanged(f"the fee is now {quote.fee}", fee=quote.fee)
    wallet = accounts.wallet_account(session, user.id, asset, now)
    balance = balance_of(wallet)
    # Pending top-ups count: the balance cap must hold once they all arrive.
    limits.check_balance(
        session, user, currency=asset, balance_after=balance.posted + balance.pending + amount
    )
    bank = accounts.system_account(session, "bank_settlement", asset, now)
    order_id = new_id()
    reference = str(order_id)
    described = sources.describe(source)
    ops = [
        TransferOp(
            bank.id,
            wallet.id,
            amount,
            asset,
            kind="topup",
            reference=reference,
            pending=True,
            metadata={"counterparty": described, "category": "top_up"},
        )
    ]
    if quote.fee:
        revenue = accounts.system_account(session, "fee_revenue", asset, now)
        ops.append(TransferOp(
            bank.id, revenue.id, quote.fee, asset, kind="fee", reference=reference, pending=True,
            metadata={"fee_for": "topup", "category": "fees"},
        ))  # fmt: skip
    transfer_ids = moves.apply_linked(session, ops, now)
    order = FundingOrder(
        id=order_id, direction="topup", user_id=user.id, source_id=source.id, asset=asset,
        amount=amount, fee=quote.fee, status="pending", hold_id=transfer_ids[0],
        fee_hold_id=transfer_ids[1] if quote.fee else None, provider=provider,
        provider_ref=None, failure_reason=None, created_at=now, updated_at=now,
        settled_at=None,
    )  # fmt: skip
    session.add(order)
    session.flush()
    fees.charge_fee(
        session, quote, reference=reference, now=now,
        transfer_id=transfer_ids[1] if quote.fee else None,
    )  # fmt: skip
    return Started(order, instruction_for(session, vault, order), quote)


def instruction_for(session: Session, vault: Vault, order: FundingOrder) -> Instruction:
    source = sources.get(session, order.user_id, order.source_id, active=False)
    return Instruction(
        reference=str(order.id),
        direction="collection" if order.direction == "topup" else "payout",
        asset=order.asset,
        # A top-up collects the fee too; a withdrawal pays out the amount only.
        amount=order.amount + order.fee if order.direction == "topup" else order.amount,
        instrument_kind=source.kind,
        instrument_number=sources.reveal(session, vault, source),
        instrument_masked=source.masked,
        customer_ref=str(order.user_id),
    )
