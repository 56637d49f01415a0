"""Payment intents: a merchant asks for an amount, the holder confirms it, the merchant
captures or cancels it.

    requires_confirmation --holder confirms--> confirmed --merchant captures--> captured
        |  (merchant cancels, or too late)         |  (cancel, or too late)           |
        +--> canceled / expired <-------------------+                     refunds <---+

Confirming shows the holder the amount, the fee and the payee first (``quote``), checks
limits and freezes, asks for step-up as the risk policy says (action ``payment``), and puts
a ledger hold on amount and fee, linked. A confirmed intent is therefore money reserved,
not moved: capturing posts the holds (all or part of the amount, the fee in proportion),
cancelling voids them, and a hold nobody captures expires by itself in the ledger. A
merchant cannot capture anything the holder did not confirm.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.identity.stepup import require_step_up
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, ExpireOp, PostOp, TransferOp, VoidOp
from anxin.ledger.service import balance_of
from anxin.models import Merchant, PaymentIntent, User
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.wallet import webhooks
from anxin.wallet.accounts import wallet_account
from anxin.wallet.fees import (
    FeeChanged,
    FeeQuote,
    charge_fee,
    fee_leg,
    quote_fee,
    release_charges,
)
from anxin.wallet.merchants import get_merchant, settlement_account
from anxin.wallet.notify import money_moved
from anxin.wallet.payment_moves import check_payment, run_linked
from anxin.wallet.points import award_points

CONFIRM_WITHIN = timedelta(minutes=30)  # default time a holder has to confirm
MAX_CONFIRM_WITHIN = timedelta(days=7)
CAPTURE_WITHIN = timedelta(days=7)  # a confirmed, uncaptured hold lapses after this
FEE_OPERATION = "payment"
CATEGORY = "shopping"


class IntentNotFound(NotFound):
    code = "payment_intent_not_found"
    title = "No such payment intent"


class IntentStateConflict(Conflict):
    code = "payment_intent_state_conflict"
    title = "The payment intent is not in a state that allows this"


class IntentExpired(Conflict):
    code = "payment_intent_expired"
    title = "The payment intent expired"


def payee_ref(merchant_id: uuid.UUID) -> str:
    """How step-up and trusted payees name a merchant."""
    return f"merchant:{merchant_id}"


def reference_of(intent: PaymentIntent) -> str:
    return f"payment_intent:{intent.id}"


def effective_status(intent: PaymentIntent, now: datetime) -> str:
    if intent.status in ("requires_confirmation", "confirmed") and intent.expires_at <= now:
        return "expired"
    return intent.status


def intent_data(intent: PaymentIntent, now: datetime) -> dict[str, Any]:
    """What the merchant sees (in answers and webhooks): nothing about the holder."""
    return {
        "id": str(intent.id), "object": "payment_intent", "amount": intent.amount,
        "currency": intent.currency, "status": effective_status(intent, now),
        "captured_amount": intent.captured_amount, "refunded_amount": intent.refunded_amount,
        "description": intent.description, "reference": intent.reference,
        "mandate_id": str(intent.mandate_id) if intent.mandate_id else None,
        "expires_at": intent.expires_at.isoformat(), "created_at": intent.created_at.isoformat(),
        "confirmed_at": intent.confirmed_at.isoformat() if intent.confirmed_at else None,
        "captured_at": intent.captured_at.isoformat() if intent.captured_at else None,
        "canceled_at": intent.canceled_at.isoformat() if intent.canceled_at else None,
    }  # fmt: skip


# -- merchant side --------------------------------------------------------------------------


def create_intent(
    session: Session, merchant: Merchant, *, amount: int, currency: str,
    description: str | None, reference: str | None, confirm_within: timedelta | None,
    now: datetime,
) -> PaymentIntent:  # fmt: skip
    get_asset(session, currency)  # refuses unknown currencies
    window = confirm_within or CONFIRM_WITHIN
    if not timedelta(minutes=1) <= window <= MAX_CONFIRM_WITHIN:
        raise Unprocessable("confirm within 1 minute to 7 days", code="validation_failed")
    intent = PaymentIntent(
        id=new_id(), merchant_id=merchant.id, holder_id=None, mandate_id=None, amount=amount,
        currency=currency, fee=0, captured_amount=0, captured_fee=0, refunded_amount=0,
        refunded_fee=0, description=description, reference=reference,
        status="requires_confirmation", hold_id=None, fee_hold_id=None, capture_id=None,
        fee_capture_id=None, expires_at=now + window, created_at=now, updated_at=now,
        confirmed_at=None, captured_at=None, canceled_at=None,
    )  # fmt: skip
    session.add(intent)
    session.flush()
    return intent


def for_merchant(
    session: Session, merchant: Merchant, intent_id: uuid.UUID, *, lock: bool = False
) -> PaymentIntent:
    query = select(PaymentIntent).where(PaymentIntent.id == intent_id)
    if lock:
        query = query.with_for_update()
    intent = session.scalars(query).one_or_none()
    # Another merchant's intent is "not found": ids disclose nothing.
    if intent is None or intent.merchant_id != merchant.id:
        raise IntentNotFound(f"no payment intent {intent_id}")
    return intent


def list_for_merchant(
    session: Session, merchant: Merchant, *, limit: int, before: uuid.UUID | None = None
) -> list[PaymentIntent]:
    query = select(PaymentIntent).where(PaymentIntent.merchant_id == merchant.id)
    if before is not None:
        query = query.where(PaymentIntent.id < before)
    return list(session.scalars(query.order_by(PaymentIntent.id.desc()).limit(limit)))


def _holder(session: Session, intent: PaymentIntent) -> User:
    holder = session.get(User, intent.holder_id)
    assert holder is not None
    return holder


def _balance(session: Session, user_id: uuid.UUID, currency: str, now: datetime) -> int:
    return balance_of(wallet_account(session, user_id, currency, now)).posted


def capture(
    session: Session, vault: Vault, merchant: Merchant, intent: PaymentIntent, now: datetime
) -> PaymentIntent:
    """Post the holds: the amount to the merchant, the fee to fee revenue, linked. (A
    merchant that delivers less captures all and refunds the difference.)"""
    status = effective_status(intent, now)
    if status == "expired":
        raise IntentExpired("the holder's confirmation lapsed before the capture")
    if status != "confirmed":
        raise IntentStateConflict(f"only a confirmed payment intent can be captured ({status})")
    assert intent.hold_id is not None
    ops = [PostOp(intent.hold_id)]
    if intent.fee_hold_id is not None:
        ops.append(PostOp(intent.fee_hold_id))
    made = run_linked(session, ops, now)
    intent.capture_id = made[0]
    intent.fee_capture_id = made[1] if len(made) > 1 else None
    intent.captured_amount, intent.captured_fee = intent.amount, intent.fee
    intent.status, intent.captured_at, intent.updated_at = "captured", now, now
    session.flush()
    finish_payment(session, vault, merchant, intent, now)
    return intent


def finish_payment(
    session: Session, vault: Vault, merchant: Merchant, intent: PaymentIntent, now: datetime
) -> None:
    """After money reached the merchant: points, the holder's notice, the webhook."""
    holder = _holder(session, intent)
    award_points(
        session, holder.id, intent.captured_amount, intent.currency, now,
        reference=reference_of(intent), vault=vault,
    )  # fmt: skip
    money_moved(
        session, vault, holder, "mandate.debited" if intent.mandate_id else "payment.sent",
        amount=intent.captured_amount,
        asset=intent.currency, fee=intent.captured_fee, counterparty=merchant.name,
        balance_after=_balance(session, holder.id, intent.currency, now),
        reference=reference_of(intent), incoming=False, now=now,
        data={"payment_intent_id": str(intent.id), "merchant_id": str(merchant.id)},
    )  # fmt: skip
    event = "mandate.debited" if intent.mandate_id else "payment_intent.captured"
    webhooks.emit(session, merchant, event, intent_data(intent, now), now=now)


def cancel(
    session: Session, vault: Vault, merchant: Merchant, intent: PaymentIntent, now: datetime
) -> PaymentIntent:
    """Cancel before capture; a confirmed intent's holds are released at once."""
    if intent.status not in ("requires_confirmation", "confirmed"):
        raise IntentStateConflict(f"a {intent.status} payment intent cannot be canceled")
    released = False
    if intent.status == "confirmed" and effective_status(intent, now) == "confirmed":
        assert intent.hold_id is not None
        ops = [VoidOp(intent.hold_id)]
        if intent.fee_hold_id is not None:
            ops.append(VoidOp(intent.fee_hold_id))
        run_linked(session, ops, now)
        release_charges(session, reference_of(intent), now)  # the fee was never taken
        released = True
    intent.status, intent.canceled_at, intent.updated_at = "canceled", now, now
    session.flush()
    if released:
        money_moved(
            session, vault, _holder(session, intent), "payment.released",
            amount=intent.amount + intent.fee, asset=intent.currency,
            counterparty=merchant.name, reference=reference_of(intent), incoming=True, now=now,
            data={"payment_intent_id": str(intent.id)},
        )  # fmt: skip
    webhooks.emit(session, merchant, "payment_intent.canceled", intent_data(intent, now), now=now)
    return intent


def expire_lapsed(session: Session, vault: Vault, now: datetime, *, limit: int = 100) -> int:
    """Close intents nobody confirmed or captured in time: a lapsed confirmation's holds are
    expired (unless the ledger's sweeper got there first), its fee charge is released, the
    holder is told the money is back and the merchant gets ``payment_intent.expired``.
    Returns how many intents were closed (run by the webhook worker on each pass)."""
    lapsed = session.scalars(
        select(PaymentIntent)
        .where(
            PaymentIntent.status.in_(("requires_confirmation", "confirmed")),
            PaymentIntent.expires_at <= now,
        )
        .order_by(PaymentIntent.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for intent in lapsed:
        merchant = get_merchant(session, intent.merchant_id)
        if intent.status == "confirmed":
            holds = [h for h in (intent.hold_id, intent.fee_hold_id) if h is not None]
            # Independent, not linked: one the sweeper already expired must not stop the other.
            command = Command(tuple(ExpireOp(h) for h in holds), linked=False)
            session.flush()
            apply_batch(session.connection(), [command], now)
            session.expire_all()
            release_charges(session, reference_of(intent), now)
            money_moved(
                session, vault, _holder(session, intent), "payment.released",
                amount=intent.amount + intent.fee, asset=intent.currency,
                counterparty=merchant.name, reference=reference_of(intent), incoming=True,
                now=now, data={"payment_intent_id": str(intent.id)},
            )  # fmt: skip
        intent.status, intent.updated_at = "expired", now
        session.flush()
        webhooks.emit(session, merchant, "payment_intent.expired", intent_data(intent, now),
                      now=now)  # fmt: skip
    return len(lapsed)


def close_lapsed(database: Database, keys: KeyService, clock: Clock) -> int:
    """``expire_lapsed`` as a background job: its own unit of work, committed."""
    with UnitOfWork(database) as uow:
        closed = expire_lapsed(uow.session, keys.vault(), clock.now())
        uow.commit()
    return closed


# -- holder side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentQuote:
    intent: PaymentIntent
    merchant: Merchant
    fee: int
    status: str
    fee_quote: FeeQuote | None = None  # while the holder has yet to confirm

    @property
    def total(self) -> int:
        return self.intent.amount + self.fee


def for_holder(
    session: Session, user: User, intent_id: uuid.UUID, *, lock: bool = False
) -> PaymentIntent:
    """An intent the holder may see: one waiting for anyone holding its id (a checkout
    link), or one they confirmed; any other holder's is "not found"."""
    query = select(PaymentIntent).where(PaymentIntent.id == intent_id)
    if lock:
        query = query.with_for_update()
    intent = session.scalars(query).one_or_none()
    if intent is None or intent.mandate_id is not None:
        raise IntentNotFound(f"no payment intent {intent_id}")
    if intent.holder_id is not None and intent.holder_id != user.id:
        raise IntentNotFound(f"no payment intent {intent_id}")
    if intent.holder_id is None and intent.status != "requires_confirmation":
        raise IntentNotFound(f"no payment intent {intent_id}")
    return intent


def quote(session: Session, user: User, intent: PaymentIntent, now: datetime) -> IntentQuote:
    """What the holder is shown before confirming: amount, fee, payee."""
    merchant = get_merchant(session, intent.merchant_id)
    status = effective_status(intent, now)
    if status != "requires_confirmation":
        return IntentQuote(intent, merchant, intent.fee, status)
    found = quote_fee(session, FEE_OPERATION, intent.currency, intent.amount, user.id, now)
    return IntentQuote(intent, merchant, found.fee, status, found)


def confirm(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID,
    intent: PaymentIntent, *, shown_fee: int | None, step_up_token: str | None, now: datetime,
) -> IntentQuote:  # fmt: skip
    """The holder's yes: checks, step-up, then hold amount and fee (linked)."""
    shown = quote(session, user, intent, now)
    if shown.status == "expired":
        raise IntentExpired("this payment request expired; ask the merchant for a new one")
    if shown.status != "requires_confirmation" or shown.fee_quote is None:
        raise IntentStateConflict(f"this payment intent is {shown.status}")
    merchant = shown.merchant
    if merchant.status != "active":
        raise IntentStateConflict("this merchant cannot take payments now")
    if shown_fee is not None and shown_fee != shown.fee:
        raise FeeChanged(f"the fee is now {shown.fee}", fee=shown.fee)
    payer = check_payment(session, user, currency=intent.currency, total=shown.total, now=now)
    require_step_up(
        session, user, auth_session_id, step_up_token=step_up_token, now=now,
        action={"type": "payment", "amount": shown.total, "currency": intent.currency,
                "payee": payee_ref(merchant.id), "payment_intent": str(intent.id)},
    )  # fmt: skip
    timeout = int(CAPTURE_WITHIN.total_seconds())
    ref = reference_of(intent)
    meta = {"counterparty": merchant.name, "category": CATEGORY}
    ops = [
        TransferOp(payer.id, settlement_account(session, merchant.id, intent.currency, now).id,
                   intent.amount, intent.currency, kind="payment", reference=ref,
                   metadata=meta, pending=True, timeout_seconds=timeout),
    ]  # fmt: skip
    fee_op = fee_leg(session, shown.fee_quote, payer, now, reference=ref, pending=True,
                     metadata={"counterparty": merchant.name})  # fmt: skip
    if fee_op is not None:
        ops.append(replace(fee_op, timeout_seconds=timeout))
    made = run_linked(session, ops, now)
    intent.holder_id, intent.fee, intent.status = user.id, shown.fee, "confirmed"
    intent.hold_id = made[0]
    intent.fee_hold_id = made[1] if fee_op is not None else None
    intent.confirmed_at, intent.updated_at = now, now
    intent.expires_at = now + CAPTURE_WITHIN
    session.flush()
    # The fee is recorded (and a waiver used up) when the holder commits to it; the fee
    # hold it names is posted on capture or released on cancel.
    charge_fee(session, shown.fee_quote, reference=ref, now=now, transfer_id=intent.fee_hold_id)
    webhooks.emit(session, merchant, "payment_intent.confirmed", intent_data(intent, now), now=now)
    return IntentQuote(intent, merchant, shown.fee, "confirmed")
