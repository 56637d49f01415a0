"""Deciding a dispute (staff with ``care:disputes``): upheld or rejected, through the ledger.

Upheld: the holder keeps the provisional credit for good, or, if none was given, is
credited now from the operator's ``compensation`` account. Where the debit was a merchant
payment, the money is recovered from the merchant through the ordinary refund path (the
merchant is told by webhook) and the provisional credit is reversed by what the refund
gave, so the operator's budget only carries what the merchant could not repay.

Rejected: the provisional credit is reversed (a ledger reversal, never an edit). A holder's
wallet never goes negative, so if they already spent some of it, the reversal takes what
is available and the rest is recorded as ``unrecovered_amount`` for staff to pursue.

Either way the holder gets a public reply on the ticket (which notifies them), staff get
an internal note of what moved, the ticket is resolved, and the decision is audited.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.care import notify, states
from anxin.care.disputes import OPERATOR_ACCOUNT, get_dispute
from anxin.care.tickets import add_message
from anxin.kit.errors import AnxinError, Conflict, Unprocessable
from anxin.ledger.commands import ReverseOp, TransferOp
from anxin.ledger.errors import LedgerRejection
from anxin.ledger.service import balance_of
from anxin.models import Account, Merchant, PaymentIntent, Transfer, User
from anxin.models.care import Dispute, Ticket
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, refunds, staff_log
from anxin.wallet.notify import money, money_moved
from anxin.wallet.payment_moves import run_linked

OUTCOMES = ("upheld", "rejected")


class DisputeDecided(Conflict):
    code = "dispute_decided"
    title = "This dispute was already decided"


class InvalidDecision(Unprocessable):
    code = "invalid_dispute_decision"
    title = "The decision is not valid"


@dataclass(frozen=True)
class Decision:
    dispute: Dispute
    credited: int  # given to the holder now (upheld without a provisional credit)
    recovered_from_merchant: int  # refunded by the merchant
    reversed: int  # taken back from the holder (rejected)
    unrecovered: int  # what the holder had spent and could not be taken back
    recovery_failed: str | None  # why the merchant could not be charged back, if not


_REPLY = {
    ("upheld", "zh"): "经核查，您对 {amount} 扣款的争议成立，款项已退回您的钱包，不会再被扣回。",
    ("upheld", "en"): (
        "We looked into the debit of {amount} and agree with you: the money is back in your "
        "wallet for good."
    ),
    ("rejected", "zh"): (
        "经核查，{amount} 的扣款确由您的账户正常发起，争议未能成立。{reversal}如有新的情况，"
        "请直接回复本工单。"
    ),
    ("rejected", "en"): (
        "We looked into the debit of {amount} and found it was properly made from your "
        "account, so we cannot uphold the dispute. {reversal}If you have anything new, reply "
        "to this ticket."
    ),
}
_REVERSAL = {
    "zh": "此前临时退回的 {amount} 已从您的钱包扣回。",
    "en": "The provisional credit of {amount} has been taken back from your wallet. ",
}


def _intent_of(session: Session, transfer: Transfer) -> PaymentIntent | None:
    """The merchant payment a debit belongs to (its hold, or a mandate's direct capture)."""
    query = select(PaymentIntent).where(
        or_(PaymentIntent.hold_id == transfer.id, PaymentIntent.capture_id == transfer.id)
    )
    return session.scalars(query).first()


def _credit(session: Session, vault: Vault, holder: User, dispute: Dispute, amount: int,
            now: datetime) -> uuid.UUID:  # fmt: skip
    operator = accounts.system_account(session, OPERATOR_ACCOUNT, dispute.asset, now)
    wallet = accounts.wallet_account(session, holder.id, dispute.asset, now)
    [made] = run_linked(session, [TransferOp(
        operator.id, wallet.id, amount, dispute.asset, kind="dispute_credit",
        reference=f"dispute:{dispute.id}",
        metadata={"counterparty": "Anxin", "category": "refunds", "dispute_id": str(dispute.id),
                  "provisional": False},
    )], now)  # fmt: skip
    money_moved(
        session, vault, holder, "dispute.credited", amount=amount, asset=dispute.asset,
        counterparty="Anxin", reference=f"dispute:{dispute.id}", incoming=True, now=now,
        data={"dispute_id": str(dispute.id), "provisional": False},
    )  # fmt: skip
    return made


def _reverse(
    session: Session, dispute: Dispute, amount: int, kind: str, now: datetime
) -> uuid.UUID:
    assert dispute.provisional_transfer_id is not None
    [made] = run_linked(session, [ReverseOp(
        dispute.provisional_transfer_id, amount, kind=kind, reference=f"dispute:{dispute.id}",
        metadata={"counterparty": "Anxin", "category": "refunds", "dispute_id": str(dispute.id)},
    )], now)  # fmt: skip
    return made


def _recover(session: Session, vault: Vault, dispute: Dispute, transfer: Transfer,
             now: datetime) -> tuple[int, str | None]:  # fmt: skip
    """Charge a merchant payment back through a refund; (amount recovered, why not)."""
    intent = _intent_of(session, transfer)
    if intent is None:
        return 0, None
    merchant = session.get(Merchant, intent.merchant_id)
    remaining = intent.captured_amount - intent.refunded_amount
    wanted = min(dispute.amount, remaining)
    if merchant is None or intent.status not in ("captured", "refunded") or wanted <= 0:
        return 0, "nothing_left_to_refund"
    try:
        # A savepoint: the refund and the provisional credit's reversal both, or neither.
        with session.begin_nested():
            row = refunds.refund(session, vault, merchant, intent, amount=wanted,
                                 reason=f"dispute {dispute.id}", now=now)  # fmt: skip
            if dispute.provisional_transfer_id is not None:
                _reverse(session, dispute, wanted, "dispute_recovered", now)
    except AnxinError as error:  # e.g. the merchant's settlement account is empty
        session.expire_all()
        return 0, error.code
    dispute.recovery_refund_id = row.id
    return wanted, None


def _uphold(session: Session, vault: Vault, holder: User, dispute: Dispute,
            now: datetime) -> Decision:  # fmt: skip
    transfer = session.get(Transfer, dispute.transfer_id)
    assert transfer is not None
    recovered, failed = _recover(session, vault, dispute, transfer, now)
    credited = 0
    if dispute.provisional_transfer_id is None and recovered < dispute.amount:
        credited = dispute.amount - recovered
        dispute.outcome_transfer_id = _credit(session, vault, holder, dispute, credited, now)
    return Decision(dispute, credited, recovered, 0, 0, failed)


def _reject(session: Session, vault: Vault, holder: User, dispute: Dispute,
            now: datetime) -> Decision:  # fmt: skip
    if dispute.provisional_transfer_id is None:
        return Decision(dispute, 0, 0, 0, 0, None)
    credit = session.get(Transfer, dispute.provisional_transfer_id)
    assert credit is not None
    wallet = session.get(Account, credit.destination_id)
    assert wallet is not None
    session.refresh(wallet)
    outstanding = credit.amount - credit.settled_amount
    available = max(balance_of(wallet).available, 0)
    take = outstanding if wallet.allow_negative else min(outstanding, available)
    if take > 0:
        try:
            dispute.outcome_transfer_id = _reverse(session, dispute, take, "dispute_reversal", now)
        except LedgerRejection:  # a wallet frozen meanwhile: nothing can be taken now
            take = 0
    if take > 0:
        money_moved(
            session, vault, holder, "dispute.reversed", amount=take, asset=dispute.asset,
            counterparty="Anxin", reference=f"dispute:{dispute.id}", incoming=False, now=now,
            data={"dispute_id": str(dispute.id)},
        )  # fmt: skip
    dispute.unrecovered_amount = outstanding - take
    return Decision(dispute, 0, 0, take, outstanding - take, None)


def _staff_note(session: Session, decision: Decision) -> str:
    d = decision.dispute

    def shown(amount: int) -> str:
        return money(session, amount, d.asset)

    parts = [f"Dispute {d.status}."]
    if decision.credited:
        parts.append(f"Credited {shown(decision.credited)} from {OPERATOR_ACCOUNT}.")
    if decision.recovered_from_merchant:
        parts.append(f"Recovered {shown(decision.recovered_from_merchant)} from the merchant.")
    if decision.recovery_failed:
        parts.append(f"Merchant recovery failed ({decision.recovery_failed}).")
    if decision.reversed:
        parts.append(f"Provisional credit reversed: {shown(decision.reversed)}.")
    if decision.unrecovered:
        parts.append(
            f"NOT recovered: {shown(decision.unrecovered)} (already spent; follow up with "
            "the holder)."
        )
    return " ".join(parts)


def decide(
    session: Session, vault: Vault, staff: User, dispute_id: uuid.UUID, *, outcome: str,
    note: str, now: datetime,
) -> Decision:  # fmt: skip
    """Decide ``dispute_id``; the caller commits. ``note`` (the staff's reasons) is kept as
    an internal note on the ticket, encrypted like every message."""
    if outcome not in OUTCOMES:
        raise InvalidDecision(f"outcome is one of {', '.join(OUTCOMES)}", field="outcome")
    if not note.strip():
        raise InvalidDecision("write a note saying why", code="note_required", field="note")
    dispute = get_dispute(session, dispute_id, lock=True)
    if dispute.status != "investigating":
        raise DisputeDecided(f"this dispute was already {dispute.status}")
    holder = session.get(User, dispute.holder_id)
    ticket = session.get(Ticket, dispute.ticket_id)
    assert holder is not None and ticket is not None
    accounts.lock_holder(session, holder.id)
    dispute.status, dispute.decided_by, dispute.decided_at = outcome, staff.id, now
    act = _uphold if outcome == "upheld" else _reject
    decision = act(session, vault, holder, dispute, now)
    session.flush()
    lang = "zh" if ticket.language == "zh" else "en"
    reversal = _REVERSAL[lang].format(amount=money(session, decision.reversed, dispute.asset))
    reply = _REPLY[(outcome, lang)].format(
        amount=money(session, dispute.amount, dispute.asset),
        reversal=reversal if decision.reversed else "",
    )
    if ticket.status != "closed":
        add_message(session, vault, ticket, author_kind="agent", author_id=staff.id,
                    body=f"{note.strip()}\n\n{_staff_note(session, decision)}",
                    channel="app", now=now, visibility="internal")  # fmt: skip
        # The public reply tells the holder (in-app and per their preferences) and resolves.
        add_message(session, vault, ticket, author_kind="agent", author_id=staff.id, body=reply,
                    channel="app", now=now, status="resolved")  # fmt: skip
    else:  # closed meanwhile: the holder still hears the outcome
        notify.tell_customer(session, vault, ticket, "care.reply", now=now, reply_text=reply)
    states.record(
        session, ticket, "dispute_decided", now=now, actor_id=staff.id,
        dispute_id=str(dispute.id), outcome=outcome, credited=decision.credited,
        recovered_from_merchant=decision.recovered_from_merchant, reversed=decision.reversed,
        unrecovered=decision.unrecovered, recovery_failed=decision.recovery_failed,
    )  # fmt: skip
    staff_log.record(
        session, staff=staff, holder_id=holder.id, event="care.dispute_decided",
        action="dispute_decision",
        data={"dispute_id": str(dispute.id), "outcome": outcome, "amount": dispute.amount,
              "asset": dispute.asset, "unrecovered": decision.unrecovered},
        purpose={"dispute_id": str(dispute.id)}, now=now,
    )  # fmt: skip
    session.flush()
    return decision
