"""Mandates: the only way a merchant takes money without the holder confirming each time.

A merchant proposes terms (currency, most per debit, how many debits per day, week or
month, an end date); the holder reads them and signs with step-up (action
``create_mandate``, bound to exactly these terms). From then on the merchant may debit,
and every debit is checked against the mandate under a row lock (so concurrent debits
cannot both squeeze into the last slot of a period): still active, not past its end, same
currency, at most the cap, and fewer debits than allowed in the current period (calendar
day, ISO week or calendar month in the wallet's business time zone). The holder is
notified of every debit and can list and cancel mandates at any time; a cancelled or
expired mandate refuses every debit.

A debit is a payment intent captured at once (``mandate_id`` set, ledger kind
``mandate_debit``, fee by the ``mandate_debit`` schedule): the same points, notices,
webhooks and refunds as any other payment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.identity.stepup import require_step_up
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.ledger.commands import TransferOp
from anxin.models import Mandate, Merchant, PaymentIntent, User
from anxin.privacy.vault import Vault
from anxin.wallet import webhooks
from anxin.wallet.accounts import day_start, month_start
from anxin.wallet.fees import charge_fee, fee_leg, quote_fee
from anxin.wallet.merchant_notices import mandate_notice
from anxin.wallet.merchants import get_merchant, settlement_account
from anxin.wallet.payment_moves import HolderUnavailable, check_payment, run_linked
from anxin.wallet.payments import CATEGORY, finish_payment, payee_ref

MAX_TERM = timedelta(days=5 * 366)
FEE_OPERATION = "mandate_debit"


class MandateNotFound(NotFound):
    code = "mandate_not_found"
    title = "No such mandate"


class MandateNotActive(Conflict):
    code = "mandate_not_active"
    title = "The holder has not accepted this mandate"


class MandateCancelled(Unprocessable):
    code = "mandate_cancelled"
    title = "The mandate was cancelled"


class MandateExpired(Unprocessable):
    code = "mandate_expired"
    title = "The mandate has ended"


class MandateExceeded(Unprocessable):
    code = "mandate_exceeded"
    title = "The debit is outside what the mandate allows"


class InvalidMandateTerms(Unprocessable):
    code = "invalid_mandate_terms"
    title = "The mandate's terms are not valid"


def mandate_data(mandate: Mandate, now: datetime) -> dict[str, Any]:
    """What merchant and holder see of a mandate (the holder is never named)."""
    return {
        "id": str(mandate.id), "object": "mandate", "merchant_id": str(mandate.merchant_id),
        "currency": mandate.currency, "max_per_debit": mandate.max_per_debit,
        "frequency": mandate.frequency, "debits_per_period": mandate.debits_per_period,
        "ends_at": mandate.ends_at.isoformat(), "description": mandate.description,
        "status": effective_status(mandate, now), "created_at": mandate.created_at.isoformat(),
        "accepted_at": mandate.accepted_at.isoformat() if mandate.accepted_at else None,
        "cancelled_at": mandate.cancelled_at.isoformat() if mandate.cancelled_at else None,
        "cancelled_by": mandate.cancelled_by,
    }  # fmt: skip


def effective_status(mandate: Mandate, now: datetime) -> str:
    if mandate.status != "cancelled" and mandate.ends_at <= now:
        return "expired"
    return mandate.status


def terms_action(mandate: Mandate) -> dict[str, Any]:
    """The step-up action: a token signs exactly these terms, for exactly this mandate."""
    return {
        "type": "create_mandate", "mandate": str(mandate.id),
        "payee": payee_ref(mandate.merchant_id), "currency": mandate.currency,
        "max_per_debit": mandate.max_per_debit, "frequency": mandate.frequency,
        "debits_per_period": mandate.debits_per_period, "ends_at": mandate.ends_at.isoformat(),
    }  # fmt: skip


def period_start(frequency: str, now: datetime) -> datetime:
    today = day_start(now)
    if frequency == "daily":
        return today
    if frequency == "weekly":
        return today - timedelta(days=today.weekday())
    return month_start(now)


# -- merchant side --------------------------------------------------------------------------


def propose(
    session: Session, merchant: Merchant, *, currency: str, max_per_debit: int,
    frequency: str, debits_per_period: int, ends_at: datetime, description: str | None,
    now: datetime,
) -> Mandate:  # fmt: skip
    get_asset(session, currency)
    if ends_at <= now or ends_at > now + MAX_TERM:
        raise InvalidMandateTerms("the end must be in the future and within five years")
    mandate = Mandate(
        id=new_id(), merchant_id=merchant.id, holder_id=None, currency=currency,
        max_per_debit=max_per_debit, frequency=frequency, debits_per_period=debits_per_period,
        ends_at=ends_at, description=description, status="proposed", created_at=now,
        accepted_at=None, cancelled_at=None, cancelled_by=None,
    )  # fmt: skip
    session.add(mandate)
    session.flush()
    return mandate


def for_merchant(
    session: Session, merchant: Merchant, mandate_id: uuid.UUID, *, lock: bool = False
) -> Mandate:
    query = select(Mandate).where(Mandate.id == mandate_id)
    if lock:
        query = query.with_for_update()
    mandate = session.scalars(query).one_or_none()
    if mandate is None or mandate.merchant_id != merchant.id:
        raise MandateNotFound(f"no mandate {mandate_id}")
    return mandate


def _cancel(session: Session, mandate: Mandate, by: str, now: datetime) -> bool:
    if mandate.status == "cancelled":
        return False
    mandate.status, mandate.cancelled_at, mandate.cancelled_by = "cancelled", now, by
    session.flush()
    return True


def cancel_by_merchant(
    session: Session, vault: Vault, merchant: Merchant, mandate: Mandate, now: datetime
) -> Mandate:
    if _cancel(session, mandate, "merchant", now):
        if mandate.holder_id is not None:
            mandate_notice(session, vault, mandate.holder_id, "mandate.cancelled", merchant.name,
                           now=now, data={"mandate_id": str(mandate.id)})  # fmt: skip
        webhooks.emit(session, merchant, "mandate.cancelled", mandate_data(mandate, now), now=now)
    return mandate


def debits_in_period(session: Session, mandate: Mandate, now: datetime) -> int:
    since = period_start(mandate.frequency, now)
    count = session.scalar(
        select(func.count())
        .select_from(PaymentIntent)
        .where(PaymentIntent.mandate_id == mandate.id, PaymentIntent.created_at >= since)
    )
    return int(count or 0)


def _check_debit(session: Session, mandate: Mandate, amount: int, currency: str,
                 now: datetime) -> None:  # fmt: skip
    if mandate.status == "proposed":
        raise MandateNotActive("the holder has not accepted this mandate")
    if mandate.status == "cancelled":
        raise MandateCancelled("the mandate was cancelled; no more debits under it")
    if mandate.ends_at <= now:
        raise MandateExpired(f"the mandate ended at {mandate.ends_at.isoformat()}")
    if currency != mandate.currency:
        raise MandateExceeded(f"the mandate is for {mandate.currency}", limit="currency")
    if amount > mandate.max_per_debit:
        raise MandateExceeded(
            f"{amount} is more than the {mandate.max_per_debit} allowed per debit",
            limit="max_per_debit", maximum=mandate.max_per_debit,
        )  # fmt: skip
    done = debits_in_period(session, mandate, now)
    if done >= mandate.debits_per_period:
        raise MandateExceeded(
            f"{done} debit(s) already this {mandate.frequency.removesuffix('ly')} period; "
            f"the mandate allows {mandate.debits_per_period}",
            limit="frequency", maximum=mandate.debits_per_period,
        )  # fmt: skip


def debit(
    session: Session, vault: Vault, merchant: Merchant, mandate: Mandate, *, amount: int,
    currency: str, description: str | None, reference: str | None, now: datetime,
) -> PaymentIntent:  # fmt: skip
    """Take ``amount`` from the holder under ``mandate`` (which the caller locked)."""
    _check_debit(session, mandate, amount, currency, now)
    holder = session.get(User, mandate.holder_id)
    if holder is None:  # pragma: no cover - an accepted mandate always has its holder
        raise HolderUnavailable("the mandate has no holder")
    fee_quote = quote_fee(session, FEE_OPERATION, currency, amount, holder.id, now)
    fee = fee_quote.fee
    payer = check_payment(session, holder, currency=currency, total=amount + fee, now=now)
    intent_id = new_id()
    ref = f"payment_intent:{intent_id}"
    meta = {"counterparty": merchant.name, "category": CATEGORY, "mandate_id": str(mandate.id)}
    ops = [
        TransferOp(
            payer.id,
            settlement_account(session, merchant.id, currency, now).id,
            amount,
            currency,
            kind="mandate_debit",
            reference=ref,
            metadata=meta,
        )
    ]
    fee_op = fee_leg(session, fee_quote, payer, now, reference=ref,
                     metadata={"counterparty": merchant.name})  # fmt: skip
    if fee_op is not None:
        ops.append(fee_op)
    made = run_linked(session, ops, now)
    intent = PaymentIntent(
        id=intent_id, merchant_id=merchant.id, holder_id=holder.id, mandate_id=mandate.id,
        amount=amount, currency=currency, fee=fee, captured_amount=amount, captured_fee=fee,
        refunded_amount=0, refunded_fee=0, description=description, reference=reference,
        status="captured", hold_id=None, fee_hold_id=None, capture_id=made[0],
        fee_capture_id=made[1] if fee else None, expires_at=now, created_at=now,
        updated_at=now, confirmed_at=now, captured_at=now, canceled_at=None,
    )  # fmt: skip
    session.add(intent)
    session.flush()
    charge_fee(session, fee_quote, reference=ref, now=now, transfer_id=intent.fee_capture_id)
    finish_payment(session, vault, merchant, intent, now)
    return intent


# -- holder side ----------------------------------------------------------------------------


def for_holder(
    session: Session, user: User, mandate_id: uuid.UUID, *, lock: bool = False
) -> Mandate:
    """A mandate the holder accepted, or a proposal waiting for anyone holding its id."""
    query = select(Mandate).where(Mandate.id == mandate_id)
    if lock:
        query = query.with_for_update()
    mandate = session.scalars(query).one_or_none()
    if mandate is None:
        raise MandateNotFound(f"no mandate {mandate_id}")
    if mandate.holder_id is None and mandate.status != "proposed":
        raise MandateNotFound(f"no mandate {mandate_id}")
    if mandate.holder_id is not None and mandate.holder_id != user.id:
        raise MandateNotFound(f"no mandate {mandate_id}")
    return mandate


def list_for_holder(session: Session, user: User) -> list[Mandate]:
    query = select(Mandate).where(Mandate.holder_id == user.id).order_by(Mandate.created_at)
    return list(session.scalars(query))


def accept(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID, mandate: Mandate,
    *, step_up_token: str | None, now: datetime,
) -> Mandate:  # fmt: skip
    """The holder signs the mandate: always with step-up, bound to exactly its terms."""
    status = effective_status(mandate, now)
    if status != "proposed":
        raise Conflict(f"this mandate is {status}", code="mandate_state_conflict")
    merchant = get_merchant(session, mandate.merchant_id)
    if merchant.status != "active":
        raise Conflict("this merchant cannot take payments now", code="mandate_state_conflict")
    require_step_up(
        session, user, auth_session_id, action=terms_action(mandate),
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    mandate.holder_id, mandate.status, mandate.accepted_at = user.id, "active", now
    session.flush()
    mandate_notice(session, vault, user.id, "mandate.accepted", merchant.name, now=now,
                   data={"mandate_id": str(mandate.id)})  # fmt: skip
    webhooks.emit(session, merchant, "mandate.accepted", mandate_data(mandate, now), now=now)
    return mandate


def cancel_by_holder(
    session: Session, vault: Vault, user: User, mandate: Mandate, now: datetime
) -> Mandate:
    if mandate.holder_id != user.id:  # a proposal nobody accepted is not the holder's
        raise MandateNotFound(f"no mandate {mandate.id}")
    if _cancel(session, mandate, "holder", now):
        merchant = get_merchant(session, mandate.merchant_id)
        mandate_notice(session, vault, user.id, "mandate.cancelled", merchant.name, now=now,
                       data={"mandate_id": str(mandate.id)})  # fmt: skip
        webhooks.emit(session, merchant, "mandate.cancelled", mandate_data(mandate, now), now=now)
    return mandate
