"""Disputes: a holder says "I did not make this" about a debit in their statement.

A dispute opens a high-priority ``unauthorized_debit`` ticket linked to the transfer, and
the provisional-credit policy decides at once whether the holder gets the money back while
we investigate: a transfer from the operator's ``compensation`` account into the wallet,
applied with ``apply_batch`` in the request's own transaction (the dispute, its ticket and
the credit commit together or not at all). The outcome (``dispute_outcomes``) makes the
credit final or reverses it, always through the ledger.

Only the holder's own debits can be disputed, and each transfer once; anything else is as
absent as a transfer that does not exist (404), so ids cannot be probed.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.care import states
from anxin.care.tickets import NewTicket, add_message, open_ticket
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.commands import TransferOp
from anxin.ledger.errors import LedgerRejection
from anxin.models import Account, Transfer, User
from anxin.models.care import Dispute, Ticket
from anxin.privacy.vault import Vault
from anxin.wallet import accounts
from anxin.wallet.notify import money, money_moved
from anxin.wallet.payment_moves import run_linked

REASONS = ("not_me", "unrecognised", "duplicate", "amount_wrong", "other")
# Kinds a holder cannot dispute: the dispute's own credits and reversals.
_NOT_DISPUTABLE = frozenset({"dispute_credit", "dispute_reversal", "dispute_recovered"})
OPERATOR_ACCOUNT = "compensation"  # may go negative: it is the operator's own budget
MAX_NOTE = 4000


@dataclass(frozen=True)
class DisputePolicy:
    """When a dispute gets its money back at once, before anyone investigates: the amount
    is at most the asset's limit (an asset without a limit never does) and the holder
    filed fewer than ``max_recent`` other disputes in the last ``window_days``."""

    limits: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"CNY": 500_00, "USD": 100_00})
    )
    max_recent: int = 2
    window_days: int = 90


DEFAULT_POLICY = DisputePolicy()


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    title = "No such dispute"


class DebitNotFound(NotFound):
    code = "debit_not_found"
    title = "No such debit in your statement"


class DisputeExists(Conflict):
    code = "dispute_exists"
    title = "This debit is already disputed"


class NothingToDispute(Conflict):
    code = "nothing_to_dispute"
    title = "This debit was already given back in full"


class DebitPending(Conflict):
    code = "debit_pending"
    title = "This debit is still pending; it can be disputed once it is completed"


class InvalidDispute(Unprocessable):
    code = "invalid_dispute"
    title = "The dispute is not valid"


@dataclass(frozen=True)
class Debit:
    """What a dispute is about: the statement line's transfer and what is left of it."""

    transfer: Transfer
    account: Account  # the holder's wallet account it left
    outstanding: int  # what it took, less what was already given back


def _posted_part(session: Session, transfer: Transfer) -> Transfer | None:
    """The posted transfer that carries the money: the transfer itself, or a hold's post."""
    if transfer.action == "transfer":
        return transfer
    query = select(Transfer).where(Transfer.pending_id == transfer.id, Transfer.action == "post")
    return session.scalars(query).first()


def find_debit(session: Session, holder: User, transfer_id: uuid.UUID) -> Debit:
    """The holder's completed debit ``transfer_id`` (a statement line's id), else 404."""
    transfer = session.get(Transfer, transfer_id)
    owner = accounts.holder_owner(holder.id)
    if (
        transfer is None
        or transfer.action not in ("transfer", "hold")
        or transfer.kind in _NOT_DISPUTABLE
        or accounts.owner_of(session, transfer.source_id) != owner
    ):
        raise DebitNotFound(f"no debit {transfer_id} in your statement")
    if transfer.status == "pending":
        raise DebitPending()
    posted = _posted_part(session, transfer) if transfer.status == "posted" else None
    if posted is None:  # a released hold moved nothing
        raise DebitNotFound(f"no debit {transfer_id} in your statement")
    account = session.get(Account, transfer.source_id)
    assert account is not None
    return Debit(transfer, account, posted.amount - posted.settled_amount)


def recent_disputes(session: Session, holder_id: uuid.UUID, now: datetime, days: int) -> int:
    query = select(func.count()).where(
        Dispute.holder_id == holder_id, Dispute.created_at >= now - timedelta(days=days)
    )
    return int(session.scalar(query) or 0)


def credit_decision(policy: DisputePolicy, asset: str, amount: int, recent: int) -> str | None:
    """None if the policy grants a provisional credit, else why not."""
    limit = policy.limits.get(asset)
    if limit is None:
        return "asset_not_covered"
    if amount > limit:
        return "over_limit"
    if recent >= policy.max_recent:
        return "too_many_recent_disputes"
    return None


def _language(holder: User) -> str:
    return "zh" if holder.locale.startswith("zh") else "en"


_SUBJECT = {"zh": "交易争议：{amount}（{when}）", "en": "Disputed debit: {amount} on {when}"}
_BODY = {
    "not_me": ("这笔扣款不是我本人操作的。", "I did not make this payment."),
    "unrecognised": ("我不认识这笔扣款。", "I do not recognise this debit."),
    "duplicate": ("这笔扣款重复了。", "I was charged twice for this."),
    "amount_wrong": ("扣款金额不对。", "The amount charged is wrong."),
    "other": ("我对这笔扣款有异议。", "I dispute this debit."),
}
_CREDITED = {
    "zh": "已按争议政策向客户钱包临时入账 {amount}（调查期间）。",
    "en": "Provisional credit of {amount} granted under the dispute policy while we investigate.",
}
_NO_CREDIT = {
    "zh": "未给予临时入账：{why}。",
    "en": "No provisional credit: {why}.",
}


def _ticket(session: Session, vault: Vault, holder: User, debit: Debit, reason: str,
            note: str, now: datetime) -> Ticket:  # fmt: skip
    lang = _language(holder)
    t = debit.transfer
    shown = money(session, debit.outstanding, t.asset)
    when = f"{t.created_at.astimezone(accounts.BUSINESS_TZ):%Y-%m-%d %H:%M}"
    said = _BODY[reason][0 if lang == "zh" else 1]
    new = NewTicket(
        channel="app", subject=_SUBJECT[lang].format(amount=shown, when=when),
        body=f"{said}\n{note}" if note else said, holder_id=holder.id,
        category="unauthorized_debit", priority="high", language=lang,
        links=(("transfer", str(t.id)), ("account", str(debit.account.id))),
        author_id=holder.id,
    )  # fmt: skip
    return open_ticket(session, vault, new, now=now)


def _provisional_credit(session: Session, vault: Vault, holder: User, dispute: Dispute,
                        account: Account, now: datetime) -> uuid.UUID | None:  # fmt: skip
    operator = accounts.system_account(session, OPERATOR_ACCOUNT, dispute.asset, now)
    op = TransferOp(
        operator.id, account.id, dispute.amount, dispute.asset, kind="dispute_credit",
        reference=f"dispute:{dispute.id}",
        metadata={"counterparty": "Anxin", "category": "refunds", "dispute_id": str(dispute.id),
                  "provisional": True},
    )  # fmt: skip
    try:
        [made] = run_linked(session, [op], now)
    except LedgerRejection:  # e.g. the wallet is frozen: the dispute still goes ahead
        return None
    money_moved(
        session, vault, holder, "dispute.credited", amount=dispute.amount, asset=dispute.asset,
        counterparty="Anxin", reference=f"dispute:{dispute.id}", incoming=True, now=now,
        data={"dispute_id": str(dispute.id), "provisional": True},
    )  # fmt: skip
    return made


def open_dispute(
    session: Session, vault: Vault, holder: User, *, transfer_id: uuid.UUID, reason: str,
    note: str | None, now: datetime, policy: DisputePolicy = DEFAULT_POLICY,
) -> Dispute:  # fmt: skip
    """File a dispute on one of the holder's debits: a ticket, and a provisional credit
    if the policy grants one. The caller commits."""
    if reason not in REASONS:
        raise InvalidDispute(f"reason is one of {', '.join(REASONS)}", field="reason")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidDispute(f"the note is at most {MAX_NOTE} characters", field="note")
    # One holder's disputes one after another: the policy counts the earlier ones.
    accounts.lock_holder(session, holder.id)
    debit = find_debit(session, holder, transfer_id)
    if session.scalar(select(Dispute.id).where(Dispute.transfer_id == transfer_id)) is not None:
        raise DisputeExists()
    if debit.outstanding <= 0:
        raise NothingToDispute()
    recent = recent_disputes(session, holder.id, now, policy.window_days)
    ticket = _ticket(session, vault, holder, debit, reason, text, now)
    dispute = Dispute(
        id=new_id(), ticket_id=ticket.id, holder_id=holder.id, transfer_id=transfer_id,
        asset=debit.transfer.asset, amount=debit.outstanding, reason=reason,
        status="investigating", unrecovered_amount=0, created_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError as error:  # a concurrent dispute of the same transfer won
        raise DisputeExists() from error
    why = credit_decision(policy, dispute.asset, dispute.amount, recent)
    if why is None:
        made = _provisional_credit(session, vault, holder, dispute, debit.account, now)
        dispute.provisional_transfer_id = made
        why = None if made is not None else "wallet_cannot_receive"
    lang = ticket.language if ticket.language in ("zh", "en") else "en"
    shown = money(session, dispute.amount, dispute.asset)
    line = _CREDITED[lang].format(amount=shown) if why is None else _NO_CREDIT[lang].format(why=why)
    add_message(session, vault, ticket, author_kind="system", body=line, channel="app", now=now,
                visibility="internal")  # fmt: skip
    states.record(
        session, ticket, "dispute_opened", now=now, actor_id=holder.id,
        dispute_id=str(dispute.id), transfer_id=str(transfer_id), amount=dispute.amount,
        asset=dispute.asset, provisional_credit=why is None, no_credit_reason=why,
    )  # fmt: skip
    session.flush()
    return dispute


def get_dispute(session: Session, dispute_id: uuid.UUID, *, lock: bool = False) -> Dispute:
    query = select(Dispute).where(Dispute.id == dispute_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise DisputeNotFound(f"no dispute {dispute_id}")
    return found


def dispute_of(session: Session, holder: User, dispute_id: uuid.UUID) -> Dispute:
    """The holder's own dispute (another holder's is 404, like one that does not exist)."""
    found = session.get(Dispute, dispute_id)
    if found is None or found.holder_id != holder.id:
        raise DisputeNotFound(f"no dispute {dispute_id}")
    return found


def disputes_of(session: Session, holder_id: uuid.UUID) -> list[Dispute]:
    query = select(Dispute).where(Dispute.holder_id == holder_id)
    return list(session.scalars(query.order_by(Dispute.created_at.desc())))


def list_disputes(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[Dispute]:
    query = select(Dispute)
    if status is not None:
        query = query.where(Dispute.status == status)
    return list(session.scalars(query.order_by(Dispute.created_at).limit(limit)))
