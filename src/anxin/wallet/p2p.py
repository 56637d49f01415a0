"""Person-to-person transfers, in two steps so the payer sees whom they pay.

1. ``quote``: the payer names the payee by phone number or email; we find them through the
   contacts' blind index (verified contacts of active holders only) and answer with the
   payee masked (``张*明``, ``138****5678``), the amount and the fee. Nothing else about
   the payee is disclosed, and an unknown number is a plain "not found".
2. ``confirm``: the payer confirms that quote (it lasts ``QUOTE_LIFETIME``): limits and
   freezes are checked, step-up is asked as the risk policy says (action ``transfer`` with
   amount, currency and payee), and amount and fee move in one linked ledger command.

The optional note is personal data (anything may be written in it), so it is stored only
encrypted under the payer's data key and shown to the two people concerned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.identity import contacts
from anxin.identity.limits import LimitExceeded, check_balance
from anxin.identity.stepup import require_step_up
from anxin.kit.errors import Conflict, Gone, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.ledger.commands import TransferOp
from anxin.ledger.service import balance_of
from anxin.models import P2PTransfer, User
from anxin.privacy.masking import mask_name
from anxin.privacy.vault import Vault
from anxin.wallet.accounts import wallet_account
from anxin.wallet.fees import FeeChanged, charge_fee, fee_leg, quote_fee
from anxin.wallet.freeze import WalletFrozen, ensure_can_receive
from anxin.wallet.notify import money_moved
from anxin.wallet.payment_moves import check_payment, ensure_can_pay, run_linked

QUOTE_LIFETIME = timedelta(minutes=10)
FEE_OPERATION = "p2p"
CATEGORY = "transfers"
_TABLE = "wallet_p2p_transfers"
_NOTE = "note_enc"


class PayeeNotFound(NotFound):
    code = "payee_not_found"
    title = "No wallet holder with this phone number or email"


class TransferNotFound(NotFound):
    code = "p2p_transfer_not_found"
    title = "No such transfer"


class QuoteExpired(Gone):
    code = "quote_expired"
    title = "The quote expired; ask for a new one"


class AlreadyConfirmed(Conflict):
    code = "transfer_already_confirmed"
    title = "This transfer was already confirmed"


class PayeeCannotReceive(Unprocessable):
    code = "payee_cannot_receive"
    title = "The payee's wallet cannot receive this amount now"


@dataclass(frozen=True)
class Payee:
    user: User
    name: str | None  # masked
    contact: str  # masked


def payee_ref(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def _masked_name(session: Session, vault: Vault, user: User) -> str | None:
    name = contacts.display_name(session, vault, user)
    return mask_name(name) if name else None


def find_payee(session: Session, vault: Vault, payer: User, identifier: str) -> Payee:
    value = contacts.parse_identifier(identifier)
    row = contacts.find_contact(session, vault, value)
    user = session.get(User, row.user_id) if row is not None else None
    if (
        row is None or row.verified_at is None or user is None or user.kind != "holder"
        or user.status != "active"
    ):  # fmt: skip
        raise PayeeNotFound("check the number or address, or ask the payee to join Anxin")
    if user.id == payer.id:
        raise Unprocessable("you cannot send money to yourself", code="payee_is_payer")
    return Payee(user, _masked_name(session, vault, user), row.masked)


def _payee_masks(session: Session, vault: Vault, payee_id: uuid.UUID) -> tuple[str | None, str]:
    user = session.get(User, payee_id)
    assert user is not None
    found = contacts.contacts_of(session, payee_id, verified=True)
    return _masked_name(session, vault, user), (found[0].masked if found else "")


def note_of(session: Session, vault: Vault, transfer: P2PTransfer) -> str | None:
    if transfer.note_enc is None:
        return None
    return vault.decrypt(
        session, transfer.payer_id, table=_TABLE, column=_NOTE, row_id=transfer.id,
        ciphertext=transfer.note_enc,
    )  # fmt: skip


@dataclass(frozen=True)
class TransferView:
    transfer: P2PTransfer
    direction: str  # sent | received
    counterparty_name: str | None  # masked
    counterparty_contact: str  # masked
    note: str | None


def view(session: Session, vault: Vault, user: User, transfer: P2PTransfer) -> TransferView:
    sent = transfer.payer_id == user.id
    other = transfer.payee_id if sent else transfer.payer_id
    name, contact = _payee_masks(session, vault, other)
    return TransferView(
        transfer, "sent" if sent else "received", name, contact,
        note_of(session, vault, transfer),
    )  # fmt: skip


def quote(
    session: Session, vault: Vault, payer: User, *, to: str, amount: int, currency: str,
    note: str | None, now: datetime,
) -> TransferView:  # fmt: skip
    get_asset(session, currency)
    ensure_can_pay(session, payer)
    payee = find_payee(session, vault, payer, to)
    fee = quote_fee(session, FEE_OPERATION, currency, amount, payer.id, now).fee
    row_id = new_id()
    note_enc = None
    if note:
        note_enc = vault.encrypt(
            session, payer.id, table=_TABLE, column=_NOTE, row_id=row_id, plaintext=note
        )
    row = P2PTransfer(
        id=row_id, payer_id=payer.id, payee_id=payee.user.id, amount=amount,
        currency=currency, fee=fee, note_enc=note_enc, status="quoted", transfer_id=None,
        fee_transfer_id=None, expires_at=now + QUOTE_LIFETIME, created_at=now,
        completed_at=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return TransferView(row, "sent", payee.name, payee.contact, note)


def get_for(session: Session, user: User, row_id: uuid.UUID, *, lock: bool = False) -> P2PTransfer:
    query = select(P2PTransfer).where(P2PTransfer.id == row_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    # A quote is the payer's alone; a completed transfer is also the payee's to see.
    visible = row is not None and (
        row.payer_id == user.id or (row.payee_id == user.id and row.status == "completed")
    )
    if row is None or not visible:
        raise TransferNotFound(f"no transfer {row_id}")
    return row


def list_for(session: Session, user: User, *, limit: int) -> list[P2PTransfer]:
    query = (
        select(P2PTransfer)
        .where(
            P2PTransfer.status == "completed",
            or_(P2PTransfer.payer_id == user.id, P2PTransfer.payee_id == user.id),
        )
        .order_by(P2PTransfer.completed_at.desc(), P2PTransfer.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def _check_payee(session: Session, payee: User, currency: str, amount: int,
                 now: datetime) -> None:  # fmt: skip
    """The payee must still be able to receive it; the reason stays private to them."""
    try:
        if payee.status != "active":
            raise PayeeCannotReceive("the payee's wallet cannot receive money now")
        ensure_can_receive(session, payee)
    except WalletFrozen as error:  # why is between the payee and us
        raise PayeeCannotReceive("the payee's wallet cannot receive money now") from error
    balance = balance_of(wallet_account(session, payee.id, currency, now)).posted
    try:
        check_balance(session, payee, currency=currency, balance_after=balance + amount)
    except LimitExceeded as error:  # their limits and balance are not the payer's business
        raise PayeeCannotReceive("the payee's wallet cannot receive this amount now") from error


def confirm(
    session: Session, vault: Vault, payer: User, auth_session_id: uuid.UUID,
    transfer: P2PTransfer, *, step_up_token: str | None, now: datetime,
) -> TransferView:  # fmt: skip
    if transfer.status != "quoted":
        raise AlreadyConfirmed("this transfer was already made")
    if transfer.expires_at <= now:
        raise QuoteExpired("quotes last ten minutes; ask for a new one")
    fee_quote = quote_fee(session, FEE_OPERATION, transfer.currency, transfer.amount, payer.id, now)
    if fee_quote.fee != transfer.fee:
        raise FeeChanged(f"the fee is now {fee_quote.fee}; ask for a new quote", fee=fee_quote.fee)
    payee = session.get(User, transfer.payee_id)
    assert payee is not None
    total = transfer.amount + transfer.fee
    source = check_payment(session, payer, currency=transfer.currency, total=total, now=now)
    _check_payee(session, payee, transfer.currency, transfer.amount, now)
    require_step_up(
        session, payer, auth_session_id, step_up_token=step_up_token, now=now,
        action={"type": "transfer", "amount": transfer.amount, "currency": transfer.currency,
                "payee": payee_ref(payee.id), "transfer": str(transfer.id)},
    )  # fmt: skip
    name, contact = _payee_masks(session, vault, payee.id)
    payer_name, payer_contact = _payee_masks(session, vault, payer.id)
    ref = f"p2p:{transfer.id}"
    # ``counterparty`` is who the payer sees, ``payer`` who the payee sees (both masked).
    meta: dict[str, Any] = {"category": CATEGORY, "counterparty": name or contact,
                            "payer": payer_name or payer_contact}  # fmt: skip
    destination = wallet_account(session, payee.id, transfer.currency, now)
    ops = [TransferOp(source.id, destination.id, transfer.amount, transfer.currency, kind="p2p",
                      reference=ref, metadata=meta)]  # fmt: skip
    fee_op = fee_leg(session, fee_quote, source, now, reference=ref)
    if fee_op is not None:
        ops.append(fee_op)
    made = run_linked(session, ops, now)
    transfer.transfer_id = made[0]
    transfer.fee_transfer_id = made[1] if fee_op is not None else None
    transfer.status, transfer.completed_at = "completed", now
    session.flush()
    charge_fee(session, fee_quote, reference=ref, now=now, transfer_id=transfer.fee_transfer_id)
    note = note_of(session, vault, transfer)
    data = {"p2p_transfer_id": str(transfer.id)}
    money_moved(
        session, vault, payer, "transfer.sent", amount=transfer.amount,
        asset=transfer.currency, fee=transfer.fee, counterparty=name or contact,
        balance_after=balance_of(wallet_account(session, payer.id, transfer.currency, now)).posted,
        reference=ref, incoming=False, now=now, data=data,
    )  # fmt: skip
    money_moved(
        session, vault, payee, "transfer.received", amount=transfer.amount,
        asset=transfer.currency, counterparty=payer_name or payer_contact or None,
        balance_after=balance_of(destination).posted, reference=ref, incoming=True, now=now,
        data=data,
    )  # fmt: skip
    return TransferView(transfer, "sent", name, contact, note)
