"""Transfers as the console shows them: from one holder's side (money in +, out -), the
counterparty as the wallet recorded it (already masked), and finding one of the holder's
transfers by what the holder can quote (its id, or the reference in their CSV export)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.care.errors import LinkNotAllowed
from anxin.ledger.assets import get_asset
from anxin.models import Transfer
from anxin.wallet import accounts
from anxin.web.words import N_

# Fee legs share their operation's reference; the line a holder sees is the operation.
_FEE_KINDS = ("fee", "fee_refund")
TRANSFER_STATES = (N_("posted"), N_("pending"), N_("voided"), N_("expired"), N_("given back"))
TRANSFER_KINDS = (
    N_("withdrawal"), N_("dispute_credit"), N_("dispute_reversal"), N_("dispute_recovered"),
    N_("fee"), N_("transfer"),
)  # fmt: skip


@dataclass(frozen=True)
class TransferRow:
    id: uuid.UUID
    kind: str
    amount: int  # signed from the holder's side: + in, - out
    asset: str
    scale: int
    state: str
    at: datetime
    counterparty: str | None
    reference: str


def _text(value: object) -> str | None:
    return str(value)[:200] if isinstance(value, str | int) and value != "" else None


def holder_accounts(session: Session, holder_id: uuid.UUID) -> set[uuid.UUID]:
    return {a.id for a in accounts.wallet_accounts_of(session, holder_id)}


def row_of(session: Session, transfer: Transfer, mine: set[uuid.UUID]) -> TransferRow:
    incoming = transfer.destination_id in mine
    meta = transfer.meta or {}
    # Money received from another holder: the payer is the other side.
    counterparty = _text(meta.get("payer")) if incoming and transfer.kind == "p2p" else None
    state = transfer.status
    if transfer.status == "posted" and transfer.settled_amount > 0 and transfer.action != "hold":
        state = "given back"
    return TransferRow(
        id=transfer.id, kind=transfer.kind,
        amount=transfer.amount if incoming else -transfer.amount, asset=transfer.asset,
        scale=get_asset(session, transfer.asset).scale, state=state, at=transfer.created_at,
        counterparty=counterparty or _text(meta.get("counterparty")),
        reference=transfer.reference or str(transfer.id),
    )  # fmt: skip


def linked_rows(
    session: Session, holder_id: uuid.UUID | None, refs: list[str]
) -> list[TransferRow]:
    """The ticket's linked transfers that still exist, in link order."""
    mine = holder_accounts(session, holder_id) if holder_id is not None else set()
    rows = []
    for ref in refs:
        try:
            transfer = session.get(Transfer, uuid.UUID(ref))
        except ValueError:
            continue
        if transfer is not None:
            rows.append(row_of(session, transfer, mine))
    return rows


def find_holder_transfer(session: Session, holder_id: uuid.UUID, quoted: str) -> Transfer:
    """The holder's statement line quoted by its id or reference; anything else, another
    holder's included, is ``LinkNotAllowed`` (as absent as a missing one)."""
    text = quoted.strip()
    mine = holder_accounts(session, holder_id)
    if not text or len(text) > 200 or not mine:
        raise LinkNotAllowed(f"no transfer {text!r} of this holder")
    query = select(Transfer).where(
        Transfer.action.in_(("transfer", "hold")), Transfer.kind.not_in(_FEE_KINDS),
        or_(Transfer.source_id.in_(mine), Transfer.destination_id.in_(mine)),
    )  # fmt: skip
    try:
        query = query.where(Transfer.id == uuid.UUID(text))
    except ValueError:
        query = query.where(Transfer.reference == text)
    found = session.scalars(query.order_by(Transfer.created_at, Transfer.id).limit(1)).first()
    if found is None:
        raise LinkNotAllowed(f"no transfer {text!r} of this holder")
    return found
