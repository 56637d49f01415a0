"""Refunds: money back to the holder by reversing the captured ledger transfers.

A refund is full or partial, and all refunds of a payment together never exceed what was
captured: checked here against the intent (a clear ``refund_exceeds_captured``) and again by
the ledger, which never reverses more than a transfer moved. The holder also gets back the
same share of the fee they paid (rounded down, so the total given back never exceeds the
fee), in a reversal linked to the refund, and loses the same share of the points the
payment earned (``points_clawback``): all of it or none of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.errors import Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.commands import Operation, ReverseOp
from anxin.ledger.service import balance_of
from anxin.models import Merchant, PaymentIntent, Refund, User
from anxin.privacy.vault import Vault
from anxin.wallet import webhooks
from anxin.wallet.accounts import find_wallet_account
from anxin.wallet.notify import money_moved
from anxin.wallet.payment_moves import run_linked
from anxin.wallet.payments import IntentStateConflict, intent_data, reference_of
from anxin.wallet.points import notify_points
from anxin.wallet.points_clawback import clawback


class RefundExceedsCaptured(Unprocessable):
    code = "refund_exceeds_captured"
    title = "Refunds cannot exceed what was captured"


def refund_data(refund: Refund) -> dict[str, Any]:
    return {
        "id": str(refund.id), "object": "refund", "payment_intent_id": str(refund.intent_id),
        "amount": refund.amount, "reason": refund.reason,
        "created_at": refund.created_at.isoformat(),
    }  # fmt: skip


def refund(
    session: Session, vault: Vault, merchant: Merchant, intent: PaymentIntent, *,
    amount: int | None, reason: str | None, now: datetime,
) -> Refund:  # fmt: skip
    """Give back ``amount`` (default: all not yet refunded) of a captured payment."""
    if intent.status not in ("captured", "refunded"):
        raise IntentStateConflict(f"only a captured payment can be refunded ({intent.status})")
    remaining = intent.captured_amount - intent.refunded_amount
    wanted = remaining if amount is None else amount
    if wanted > remaining or wanted <= 0:
        raise RefundExceedsCaptured(
            f"{remaining} of the {intent.captured_amount} captured is left to refund",
            remaining=remaining,
        )
    assert intent.capture_id is not None
    refunded = intent.refunded_amount + wanted
    fee_back = intent.captured_fee * refunded // intent.captured_amount - intent.refunded_fee
    refund_id = new_id()
    # Its own reference: each refund's legs form one line on the holder's statement.
    ref = f"{reference_of(intent)}:refund:{refund_id}"
    assert intent.holder_id is not None
    points = clawback(
        session, intent.holder_id, reference=reference_of(intent),
        captured=intent.captured_amount, refunded_before=intent.refunded_amount,
        refunding=wanted, transfer_reference=ref, now=now,
    )  # fmt: skip
    # What the holder's statement shows: the merchant, and that it was a refund.
    meta: dict[str, Any] = {"counterparty": merchant.name, "category": "refunds"}
    if points.due:  # kept with the refund for good: what was and was not taken back
        meta |= {"points_clawed_back": points.taken, "points_unrecovered": points.unrecovered}
    ops: list[Operation] = [
        ReverseOp(intent.capture_id, wanted, kind="refund", reference=ref, metadata=meta)
    ]
    if fee_back and intent.fee_capture_id is not None:
        ops.append(ReverseOp(intent.fee_capture_id, fee_back, kind="fee_refund", reference=ref,
                             metadata=meta))  # fmt: skip
    if points.op is not None:
        ops.append(points.op)
    made = run_linked(session, ops, now)
    row = Refund(
        id=refund_id, intent_id=intent.id, merchant_id=merchant.id, amount=wanted, fee=fee_back,
        reason=reason, transfer_id=made[0],
        fee_transfer_id=made[1] if fee_back and intent.fee_capture_id is not None else None,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    intent.refunded_amount, intent.refunded_fee = refunded, intent.refunded_fee + fee_back
    if intent.refunded_amount == intent.captured_amount:
        intent.status = "refunded"
    intent.updated_at = now
    session.flush()
    holder = session.get(User, intent.holder_id)
    assert holder is not None
    wallet = find_wallet_account(session, holder.id, intent.currency)
    money_moved(
        session, vault, holder, "refund.received", amount=wanted, fee=fee_back,
        asset=intent.currency, counterparty=merchant.name, reference=reference_of(intent),
        balance_after=balance_of(wallet).posted if wallet is not None else None,
        incoming=True, now=now,
        data={"payment_intent_id": str(intent.id), "refund_id": str(row.id),
              "points_clawed_back": points.taken, "points_unrecovered": points.unrecovered},
    )  # fmt: skip
    if points.taken:
        notify_points(session, vault, holder, "points.clawed_back", points.taken, now)
    data = refund_data(row) | {"payment_intent": intent_data(intent, now)}
    webhooks.emit(session, merchant, "refund.succeeded", data, now=now)
    return row


def refunds_of(session: Session, intent: PaymentIntent) -> list[Refund]:
    query = select(Refund).where(Refund.intent_id == intent.id).order_by(Refund.created_at)
    return list(session.scalars(query))
